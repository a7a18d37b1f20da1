// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/txn/versioned_store.h"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "txn_testing.h"

namespace keel::txn {
namespace {

using testing::RowKey;

TEST_CASE("Records start at version 1 and every write adds exactly 1") {
  VersionedStore<RowKey, int64_t> store;
  const RowKey key{1, 2, 3};
  REQUIRE(store.Insert(key, 100).ok());
  absl::StatusOr<Versioned<int64_t>> row = store.Get(key);
  REQUIRE(row.ok());
  CHECK(row->value == 100);
  CHECK(row->version == 1);
  CHECK(*store.Put(key, 101) == 2);
  CHECK(*store.PutIfVersion(key, 102, 2) == 3);
  CHECK(store.Get(key)->value == 102);
  CHECK(store.Get(key)->version == 3);
  CHECK(store.size() == 1);
}

TEST_CASE("A write at a stale version is refused with both versions named and nothing written") {
  VersionedStore<RowKey, int64_t> store;
  const RowKey key{7, 1, 20};
  REQUIRE(store.Insert(key, 5).ok());
  REQUIRE(store.Put(key, 6).ok());
  const absl::StatusOr<uint64_t> stale = store.PutIfVersion(key, 99, 1);
  CHECK(stale.status().code() == absl::StatusCode::kAborted);
  CHECK(absl::StrContains(stale.status().message(), "(7, 1, day 20)"));
  CHECK(absl::StrContains(stale.status().message(), "version 1"));
  CHECK(absl::StrContains(stale.status().message(), "version 2"));
  CHECK(store.Get(key)->value == 6);
  CHECK(store.Get(key)->version == 2);
}

TEST_CASE("Bad requests get statuses naming the key") {
  VersionedStore<std::string, int> store({.max_records = 2});
  REQUIRE(store.Insert("a", 1).ok());
  const absl::Status again = store.Insert("a", 2);
  CHECK(again.code() == absl::StatusCode::kAlreadyExists);
  CHECK(absl::StrContains(again.message(), "\"a\""));
  CHECK(store.Get("a")->value == 1);
  REQUIRE(store.Insert("b", 1).ok());
  const absl::Status full = store.Insert("c", 1);
  CHECK(full.code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(full.message(), "\"c\""));
  CHECK(absl::StrContains(full.message(), "2 records"));
  CHECK(store.Get("zz").status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(store.Get("zz").status().message(), "\"zz\""));
  CHECK(store.Put("zz", 1).status().code() == absl::StatusCode::kNotFound);
  CHECK(store.PutIfVersion("zz", 1, 1).status().code() == absl::StatusCode::kNotFound);
  CHECK(store.size() == 2);
}

TEST_CASE("The store matches a map of values and versions on random operations") {
  const uint64_t seed = keel::testing::TestSeed(2301);
  CAPTURE(seed);
  base::Random rng(seed);
  VersionedStore<int64_t, int64_t> store({.max_records = 40});
  std::map<int64_t, Versioned<int64_t>> oracle;
  for (int step = 0; step < 20'000; ++step) {
    const int64_t key = static_cast<int64_t>(rng.Uniform(50));
    const int64_t value = static_cast<int64_t>(rng.Uniform(1000));
    auto it = oracle.find(key);
    switch (rng.Uniform(4)) {
      case 0: {
        const absl::StatusCode expected = it != oracle.end() ? absl::StatusCode::kAlreadyExists
                                          : oracle.size() >= 40
                                              ? absl::StatusCode::kResourceExhausted
                                              : absl::StatusCode::kOk;
        REQUIRE(store.Insert(key, value).code() == expected);
        if (expected == absl::StatusCode::kOk) oracle[key] = {value, 1};
        break;
      }
      case 1: {
        const absl::StatusOr<Versioned<int64_t>> got = store.Get(key);
        REQUIRE(got.ok() == (it != oracle.end()));
        if (got.ok()) {
          REQUIRE(got->value == it->second.value);
          REQUIRE(got->version == it->second.version);
        }
        break;
      }
      case 2: {
        const absl::StatusOr<uint64_t> put = store.Put(key, value);
        REQUIRE(put.ok() == (it != oracle.end()));
        if (put.ok()) {
          it->second = {value, it->second.version + 1};
          REQUIRE(*put == it->second.version);
        }
        break;
      }
      default: {
        const uint64_t expected_version = rng.Uniform(6);
        const absl::StatusOr<uint64_t> put = store.PutIfVersion(key, value, expected_version);
        if (it == oracle.end()) {
          REQUIRE(put.status().code() == absl::StatusCode::kNotFound);
        } else if (it->second.version != expected_version) {
          REQUIRE(put.status().code() == absl::StatusCode::kAborted);
        } else {
          REQUIRE(put.ok());
          it->second = {value, expected_version + 1};
          REQUIRE(*put == it->second.version);
        }
      }
    }
  }
  const auto snapshot = store.Snapshot();
  REQUIRE(snapshot.size() == oracle.size());
  size_t i = 0;
  for (const auto& [key, row] : oracle) {
    CHECK(snapshot[i].first == key);
    CHECK(snapshot[i].second.value == row.value);
    CHECK(snapshot[i].second.version == row.version);
    ++i;
  }
}

TEST_CASE(
    "Compare and set increments from many threads lose no update and values move with versions") {
  const int threads = testing::Threads();
  const int rounds = testing::RoundsPerThread();
  constexpr int64_t kKeys = 3;
  VersionedStore<int64_t, int64_t> store;
  for (int64_t k = 0; k < kKeys; ++k) REQUIRE(store.Insert(k, 0).ok());
  std::atomic<bool> done{false};
  std::atomic<int64_t> inconsistent{0};
  // Every write adds 1 to the value and 1 to the version, so value == version - 1 in any
  // consistent state.
  std::thread checker([&] {
    while (!done.load()) {
      for (const auto& [key, row] : store.Snapshot()) {
        if (row.value != static_cast<int64_t>(row.version) - 1) inconsistent.fetch_add(1);
      }
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      base::Random rng(keel::testing::TestSeed(17), static_cast<uint64_t>(t));
      for (int i = 0; i < rounds; ++i) {
        const int64_t key = static_cast<int64_t>(rng.Uniform(kKeys));
        while (true) {
          const Versioned<int64_t> row = *store.Get(key);
          if (store.PutIfVersion(key, row.value + 1, row.version).ok()) break;
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  done = true;
  checker.join();
  CHECK(inconsistent.load() == 0);
  int64_t total = 0;
  for (const auto& [key, row] : store.Snapshot()) {
    total += row.value;
    CHECK(row.value == static_cast<int64_t>(row.version) - 1);
  }
  CHECK(total == int64_t{threads} * rounds);
}

}  // namespace
}  // namespace keel::txn
