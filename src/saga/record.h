// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The saga log's records: one per transition, each a keel::wal::Log record. docs/saga.md gives
// the grammar:
//
//   record    := kind (byte) seq (varint64) time_ns (zigzag varint64) body
//   started   := id (length-prefixed) definition (length-prefixed) steps (varint32)
//                input (length-prefixed)
//   failed    := step (varint32) phase (byte) attempt (varint32) flags (byte: 1 timed out,
//                2 final) type (length-prefixed) message (length-prefixed)
//   succeeded := step (varint32) phase (byte) attempt (varint32) output (length-prefixed)
//   dismissed := (nothing)
//
// `seq` numbers sagas in the order they started (0, 1, ...), so later records name their saga in
// a byte or two instead of repeating its id. Decoding is strict: an unknown kind, phase or flag,
// or bytes left over, is kDataLoss.
//
// Internal to keel/saga.
#ifndef KEEL_SRC_SAGA_RECORD_H_
#define KEEL_SRC_SAGA_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keel/saga/definition.h"

namespace keel::saga::internal {

enum class RecordKind : uint8_t { kStarted = 1, kFailed = 2, kSucceeded = 3, kDismissed = 4 };

inline constexpr uint8_t kFlagTimedOut = 1;
inline constexpr uint8_t kFlagFinal = 2;

struct Record {
  RecordKind kind = RecordKind::kStarted;
  uint64_t seq = 0;
  int64_t time_ns = 0;
  // kStarted.
  std::string id;
  std::string definition;
  uint32_t steps = 0;
  std::string input;
  // kFailed and kSucceeded.
  uint32_t step = 0;
  Phase phase = Phase::kAction;
  uint32_t attempt = 0;
  // kFailed.
  bool timed_out = false;
  bool final = false;
  std::string error_type;
  std::string message;
  // kSucceeded.
  std::string output;
};

// Appends the encoding of `record` to `out`.
void EncodeRecord(const Record& record, std::string& out);

// Decodes one record. Errors: kDataLoss, naming what is wrong.
[[nodiscard]] absl::StatusOr<Record> DecodeRecord(std::string_view bytes);

}  // namespace keel::saga::internal

#endif  // KEEL_SRC_SAGA_RECORD_H_
