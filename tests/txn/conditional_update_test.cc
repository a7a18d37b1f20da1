// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/txn/conditional_update.h"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "txn_testing.h"

namespace keel::txn {
namespace {

using testing::RowKey;

// An inventory row, as the hotel case study keeps it.
struct Row {
  int64_t total_inventory = 0;
  int64_t total_reserved = 0;
  [[nodiscard]] int64_t limit() const { return total_inventory * 11 / 10; }  // 110%
};

absl::Status WithinLimit(const RowKey&, const Row& row) {
  if (row.total_reserved <= row.limit()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      base::Cat("total_reserved would be ", row.total_reserved, ", over ", row.limit()));
}

absl::Status Book(VersionedStore<RowKey, Row>& store, std::span<const RowKey> nights,
                  int64_t rooms) {
  return UpdateIf(
      store, nights, [rooms](const RowKey&, Row& row) { row.total_reserved += rooms; },
      WithinLimit);
}

std::vector<RowKey> Nights(int64_t first_day, int64_t count) {
  std::vector<RowKey> out;
  for (int64_t d = first_day; d < first_day + count; ++d) out.push_back({1, 1, d});
  return out;
}

TEST_CASE("An update applies to every record when the constraint holds on all of them") {
  VersionedStore<RowKey, Row> store;
  for (const RowKey& key : Nights(0, 3)) REQUIRE(store.Insert(key, {10, 0}).ok());
  REQUIRE(Book(store, Nights(0, 3), 11).ok());  // 110% of 10
  for (const RowKey& key : Nights(0, 3)) {
    CHECK(store.Get(key)->value.total_reserved == 11);
    CHECK(store.Get(key)->version == 2);
  }
}

TEST_CASE("An update that breaks the constraint on one record names it and applies nowhere") {
  VersionedStore<RowKey, Row> store;
  for (const RowKey& key : Nights(0, 4)) REQUIRE(store.Insert(key, {10, 0}).ok());
  REQUIRE(Book(store, Nights(2, 1), 10).ok());  // day 2 has one room left
  const absl::Status refused = Book(store, Nights(0, 4), 2);
  CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(refused.message(), "record (1, 1, day 2)"));
  CHECK(absl::StrContains(refused.message(), "total_reserved would be 12, over 11"));
  for (const RowKey& key : Nights(0, 4)) {
    CHECK(store.Get(key)->value.total_reserved == (key.day == 2 ? 10 : 0));
    CHECK(store.Get(key)->version == (key.day == 2 ? 2 : 1));
  }
}

TEST_CASE("Bad update requests get statuses and write nothing") {
  VersionedStore<RowKey, Row> store;
  for (const RowKey& key : Nights(0, 2)) REQUIRE(store.Insert(key, {10, 0}).ok());
  CHECK(Book(store, {}, 1).code() == absl::StatusCode::kInvalidArgument);
  const std::vector<RowKey> twice = {{1, 1, 0}, {1, 1, 1}, {1, 1, 0}};
  const absl::Status duplicate = Book(store, twice, 1);
  CHECK(duplicate.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(duplicate.message(), "(1, 1, day 0) is listed twice"));
  const absl::Status missing = Book(store, Nights(0, 3), 1);
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(missing.message(), "(1, 1, day 2)"));
  const std::vector<RowKey> too_many(kMaxUpdateRecords + 1, RowKey{});
  CHECK(Book(store, too_many, 1).code() == absl::StatusCode::kInvalidArgument);
  for (const RowKey& key : Nights(0, 2)) CHECK(store.Get(key)->version == 1);
}

TEST_CASE("Conditional updates match an all or nothing oracle on random bookings") {
  const uint64_t seed = keel::testing::TestSeed(2303);
  CAPTURE(seed);
  base::Random rng(seed);
  constexpr int64_t kDays = 20;
  VersionedStore<RowKey, Row> store;
  std::map<int64_t, Row> oracle;
  for (int64_t d = 0; d < kDays; ++d) {
    const Row row{static_cast<int64_t>(rng.Uniform(30)), 0};
    REQUIRE(store.Insert({1, 1, d}, row).ok());
    oracle[d] = row;
  }
  int booked = 0;
  int refused = 0;
  for (int step = 0; step < 5'000; ++step) {
    const int64_t first = static_cast<int64_t>(rng.Uniform(kDays));
    const int64_t nights =
        1 + static_cast<int64_t>(rng.Uniform(kDays + 2 - first));  // may run past
    // Cancellations too (negative rooms), refused below zero by a second constraint.
    const int64_t rooms = static_cast<int64_t>(rng.Uniform(9)) - 2;
    const std::vector<RowKey> keys = Nights(first, nights);
    bool exists = first + nights <= kDays;
    bool fits = true;
    for (int64_t d = first; d < std::min(first + nights, kDays); ++d) {
      const int64_t after = oracle[d].total_reserved + rooms;
      fits &= after >= 0 && after <= oracle[d].limit();
    }
    const absl::Status status = UpdateIf(
        store, std::span<const RowKey>(keys),
        [rooms](const RowKey&, Row& row) { row.total_reserved += rooms; },
        [](const RowKey& key, const Row& row) -> absl::Status {
          if (row.total_reserved < 0) return absl::FailedPreconditionError("negative");
          return WithinLimit(key, row);
        });
    if (!exists) {
      REQUIRE(status.code() == absl::StatusCode::kNotFound);
    } else if (!fits) {
      REQUIRE(status.code() == absl::StatusCode::kFailedPrecondition);
      ++refused;
    } else {
      REQUIRE(status.ok());
      for (int64_t d = first; d < first + nights; ++d) oracle[d].total_reserved += rooms;
      ++booked;
    }
    for (int64_t d = 0; d < kDays; ++d) {
      REQUIRE(store.Get({1, 1, d})->value.total_reserved == oracle[d].total_reserved);
    }
  }
  CHECK(booked > 100);
  CHECK(refused > 100);
}

TEST_CASE("Concurrent bookings never take a night over its limit and account for every room") {
  const int threads = testing::Threads();
  const int rounds = testing::RoundsPerThread();
  constexpr int64_t kDays = 10;
  constexpr int64_t kInventory = 50;
  VersionedStore<RowKey, Row> store;
  for (const RowKey& key : Nights(0, kDays)) REQUIRE(store.Insert(key, {kInventory, 0}).ok());
  std::atomic<bool> done{false};
  std::atomic<int64_t> over_limit{0};
  std::thread checker([&] {
    while (!done.load()) {
      for (const auto& [key, row] : store.Snapshot()) {
        if (row.value.total_reserved > row.value.limit()) over_limit.fetch_add(1);
      }
    }
  });
  std::mutex booked_mu;
  std::vector<int64_t> booked_rooms(kDays, 0);  // guarded by booked_mu
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      base::Random rng(keel::testing::TestSeed(29), static_cast<uint64_t>(t));
      for (int i = 0; i < rounds; ++i) {
        const int64_t first = static_cast<int64_t>(rng.Uniform(kDays));
        const int64_t nights =
            1 + static_cast<int64_t>(rng.Uniform(std::min<int64_t>(4, kDays - first)));
        const int64_t rooms = 1 + static_cast<int64_t>(rng.Uniform(3));
        const absl::Status status = Book(store, Nights(first, nights), rooms);
        CHECK((status.ok() || status.code() == absl::StatusCode::kFailedPrecondition));
        if (status.ok()) {
          std::lock_guard lock(booked_mu);
          for (int64_t d = first; d < first + nights; ++d) booked_rooms[d] += rooms;
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  done = true;
  checker.join();
  CHECK(over_limit.load() == 0);
  for (const auto& [key, row] : store.Snapshot()) {
    CHECK(row.value.total_reserved == booked_rooms[key.day]);
    CHECK(row.value.total_reserved <= row.value.limit());
  }
}

}  // namespace
}  // namespace keel::txn
