// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What the txn tests share: a composite key shaped like the hotel's inventory key, and the sizes
// of the multi-threaded runs (KEEL_TXN_THREADS threads, KEEL_TXN_ROUNDS operations per thread; the
// defaults keep the whole txn_test binary to a few seconds, under TSan too).
#ifndef KEEL_TESTS_TXN_TXN_TESTING_H_
#define KEEL_TESTS_TXN_TXN_TESTING_H_

#include <compare>
#include <cstdint>
#include <string>
#include <utility>

#include "keel/base/strings.h"
#include "testing/testing.h"

namespace keel::txn::testing {

// (hotel, room type, day), ordered field by field.
struct RowKey {
  int64_t hotel_id = 0;
  int64_t room_type_id = 0;
  int64_t day = 0;

  friend auto operator<=>(const RowKey&, const RowKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const RowKey& key) {
    return H::combine(std::move(h), key.hotel_id, key.room_type_id, key.day);
  }
  friend std::string DebugString(const RowKey& key) {
    return base::Cat("(", key.hotel_id, ", ", key.room_type_id, ", day ", key.day, ")");
  }
};

inline int Threads() { return static_cast<int>(keel::testing::TestRounds("KEEL_TXN_THREADS", 4)); }
inline int RoundsPerThread() {
  return static_cast<int>(keel::testing::TestRounds("KEEL_TXN_ROUNDS", 400));
}

}  // namespace keel::txn::testing

#endif  // KEEL_TESTS_TXN_TXN_TESTING_H_
