// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Accounts, transfers and the ledger's other rows as bytes: commands, events and snapshots copy
// them whole. Their fields are laid out without padding in declaration order, so on a
// little-endian machine the struct's bytes are the format's (types.h's layout, TigerBeetle's).
#ifndef KEEL_SRC_LEDGER_RECORD_BYTES_H_
#define KEEL_SRC_LEDGER_RECORD_BYTES_H_

#include <bit>
#include <cstring>
#include <string>
#include <type_traits>

#include "keel/ledger/types.h"

namespace keel::ledger::internal {

static_assert(std::endian::native == std::endian::little,
              "the ledger's formats copy rows as bytes: a big-endian port must swap each field");

template <typename T>
concept Row = std::is_trivially_copyable_v<T> && std::has_unique_object_representations_v<T>;

template <Row T>
void PutRow(std::string& out, const T& row) {
  out.append(reinterpret_cast<const char*>(&row), sizeof(T));
}

template <Row T>
T GetRow(const char* in) {
  T row;
  std::memcpy(static_cast<void*>(&row), in, sizeof(T));
  return row;
}

}  // namespace keel::ledger::internal

#endif  // KEEL_SRC_LEDGER_RECORD_BYTES_H_
