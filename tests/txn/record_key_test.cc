// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/txn/record_key.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "txn_testing.h"

namespace keel::txn {
namespace {

struct Unprintable {
  int x = 0;
  friend auto operator<=>(const Unprintable&, const Unprintable&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Unprintable& u) {
    return H::combine(std::move(h), u.x);
  }
};

struct Unordered {
  int x = 0;
  friend bool operator==(const Unordered&, const Unordered&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Unordered& u) {
    return H::combine(std::move(h), u.x);
  }
  friend std::string DebugString(const Unordered& u) { return std::to_string(u.x); }
};

static_assert(RecordKey<int64_t>);
static_assert(RecordKey<std::string>);
static_assert(RecordKey<testing::RowKey>);
static_assert(!RecordKey<Unprintable>);  // no readable form for messages
static_assert(!RecordKey<Unordered>);    // no order to latch records in
static_assert(!RecordKey<std::vector<int>>);

TEST_CASE("KeyString prints integers strings and composite keys readably") {
  CHECK(KeyString(int64_t{-42}) == "-42");
  CHECK(KeyString(uint64_t{18446744073709551615u}) == "18446744073709551615");
  CHECK(KeyString(std::string("room\n7")) == "\"room\\n7\"");
  CHECK(KeyString(testing::RowKey{1, 2, 3}) == "(1, 2, day 3)");
  // A long binary key is cut short, so a message stays one line.
  const std::string long_key(1000, '\x01');
  CHECK(KeyString(long_key).size() < 400);
}

}  // namespace
}  // namespace keel::txn
