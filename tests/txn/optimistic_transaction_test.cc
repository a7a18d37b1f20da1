// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/txn/optimistic_transaction.h"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "txn_testing.h"

namespace keel::txn {
namespace {

using Store = VersionedStore<std::string, int64_t>;
using Txn = OptimisticTransaction<std::string, int64_t>;

TEST_CASE("A transaction reads its own writes and commits them atomically with versions up by 1") {
  Store store;
  REQUIRE(store.Insert("a", 10).ok());
  REQUIRE(store.Insert("b", 20).ok());
  Txn txn(store);
  CHECK(*txn.Read("a") == 10);
  REQUIRE(txn.Write("a", 11).ok());
  CHECK(*txn.Read("a") == 11);
  REQUIRE(txn.Write("b", 21).ok());
  // Nothing is visible before the commit.
  CHECK(store.Get("a")->value == 10);
  CHECK(store.Get("b")->version == 1);
  REQUIRE(txn.Commit().ok());
  CHECK(txn.finished());
  CHECK(store.Get("a")->value == 11);
  CHECK(store.Get("a")->version == 2);
  CHECK(store.Get("b")->value == 21);
  CHECK(store.Get("b")->version == 2);
}

TEST_CASE("A transaction whose read went stale aborts naming the record and installs nothing") {
  Store store;
  REQUIRE(store.Insert("room", 1).ok());
  REQUIRE(store.Insert("other", 0).ok());
  Txn late(store);
  CHECK(*late.Read("room") == 1);
  REQUIRE(late.Write("room", 0).ok());
  REQUIRE(late.Write("other", 5).ok());
  {
    Txn early(store);
    CHECK(*early.Read("room") == 1);
    REQUIRE(early.Write("room", 0).ok());
    REQUIRE(early.Commit().ok());
  }
  const absl::Status aborted = late.Commit();
  CHECK(aborted.code() == absl::StatusCode::kAborted);
  CHECK(absl::StrContains(aborted.message(), "\"room\" was read at version 1"));
  CHECK(absl::StrContains(aborted.message(), "now at version 2"));
  CHECK(store.Get("other")->value == 0);
  CHECK(store.Get("other")->version == 1);
  CHECK(late.Commit().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("Repeated reads return the first value and a blind write installs over any version") {
  Store store;
  REQUIRE(store.Insert("a", 1).ok());
  Txn txn(store);
  CHECK(*txn.Read("a") == 1);
  REQUIRE(store.Put("a", 2).ok());
  CHECK(*txn.Read("a") == 1);  // the version read is the first one
  CHECK(txn.Validate().code() == absl::StatusCode::kAborted);
  Txn blind(store);
  REQUIRE(blind.Write("a", 7).ok());
  REQUIRE(store.Put("a", 3).ok());
  REQUIRE(blind.Commit().ok());
  CHECK(store.Get("a")->value == 7);
  CHECK(store.Get("a")->version == 4);
}

TEST_CASE("Bad transaction requests get statuses not crashes") {
  Store store;
  REQUIRE(store.Insert("a", 1).ok());
  REQUIRE(store.Insert("b", 1).ok());
  Txn txn(store, /*max_records=*/1);
  CHECK(txn.Read("missing").status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(txn.Read("missing").status().message(), "\"missing\""));
  CHECK(txn.Write("missing", 1).code() == absl::StatusCode::kNotFound);
  REQUIRE(txn.Read("a").ok());
  const absl::Status full = txn.Write("b", 2);
  CHECK(full.code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(full.message(), "\"b\""));
  REQUIRE(txn.Write("a", 2).ok());  // a record already touched is no new record
  REQUIRE(txn.Commit().ok());
  CHECK(txn.Read("a").status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(txn.Write("a", 3).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(txn.Commit().code() == absl::StatusCode::kFailedPrecondition);

  const auto noop = [](Txn&) { return absl::OkStatus(); };
  CHECK(RunOptimistic(store, {.max_attempts = 0}, noop).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(RunOptimistic(store, {.max_attempts = kMaxRetryAttempts + 1}, noop).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("RunOptimistic returns a refusal made on current reads without retrying") {
  Store store;
  REQUIRE(store.Insert("a", 0).ok());
  RetryStats stats;
  const absl::Status status = RunOptimistic(
      store, {.max_attempts = 5},
      [](Txn& txn) -> absl::Status {
        KEEL_ASSIGN_OR_RETURN(int64_t left, txn.Read("a"));
        if (left == 0) return absl::FailedPreconditionError("sold out");
        return txn.Write("a", left - 1);
      },
      &stats);
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(stats.attempts == 1);
}

TEST_CASE("RunOptimistic retries a refusal made on stale reads and a conflicting commit") {
  Store store;
  REQUIRE(store.Insert("a", 0).ok());
  RetryStats stats;
  int calls = 0;
  // Attempt 1 sees 0 and refuses, but "a" changes under it: the refusal is stale. Attempt 2 sees
  // 5 and takes one, but "a" changes again before the commit. Attempt 3 commits.
  const absl::Status status = RunOptimistic(
      store, {.max_attempts = 5},
      [&](Txn& txn) -> absl::Status {
        ++calls;
        KEEL_ASSIGN_OR_RETURN(int64_t left, txn.Read("a"));
        if (calls <= 2) REQUIRE(store.Put("a", 5).ok());
        if (left == 0) return absl::FailedPreconditionError("sold out");
        return txn.Write("a", left - 1);
      },
      &stats);
  CHECK(status.ok());
  CHECK(stats.attempts == 3);
  CHECK(store.Get("a")->value == 4);

  const absl::Status gave_up = RunOptimistic(
      store, {.max_attempts = 3},
      [&](Txn& txn) -> absl::Status {
        KEEL_ASSIGN_OR_RETURN(int64_t left, txn.Read("a"));
        REQUIRE(store.Put("a", left).ok());  // always a conflicting writer
        return txn.Write("a", left - 1);
      },
      &stats);
  CHECK(gave_up.code() == absl::StatusCode::kAborted);
  CHECK(absl::StrContains(gave_up.message(), "gave up after 3 attempts"));
  CHECK(absl::StrContains(gave_up.message(), "\"a\""));
  CHECK(stats.attempts == 3);
}

// The oracle: the store as a map of (value, version), and each open transaction as its reads
// (key -> version read, value seen) and writes. A commit succeeds iff every version read is
// still current; then every write lands with its version one higher.
struct OracleTxn {
  std::map<int64_t, Versioned<int64_t>> reads;
  std::map<int64_t, int64_t> writes;
};

TEST_CASE("Interleaved transactions commit and abort exactly as the OCC rule says on random runs") {
  const uint64_t seed = keel::testing::TestSeed(2302);
  CAPTURE(seed);
  base::Random rng(seed);
  constexpr int64_t kKeys = 6;
  constexpr int kOpen = 4;
  VersionedStore<int64_t, int64_t> store;
  std::map<int64_t, Versioned<int64_t>> oracle;
  for (int64_t k = 0; k < kKeys; ++k) {
    REQUIRE(store.Insert(k, 0).ok());
    oracle[k] = {0, 1};
  }
  std::vector<std::unique_ptr<OptimisticTransaction<int64_t, int64_t>>> txns(kOpen);
  std::vector<OracleTxn> models(kOpen);
  int commits = 0;
  int aborts = 0;
  for (int step = 0; step < 20'000; ++step) {
    const size_t t = rng.Uniform(kOpen);
    if (txns[t] == nullptr) {
      txns[t] = std::make_unique<OptimisticTransaction<int64_t, int64_t>>(store);
      models[t] = {};
    }
    auto& txn = *txns[t];
    OracleTxn& model = models[t];
    const int64_t key = static_cast<int64_t>(rng.Uniform(kKeys));
    const uint64_t op = rng.Uniform(10);
    if (op < 4) {
      const int64_t got = *txn.Read(key);
      int64_t expected;
      if (auto w = model.writes.find(key); w != model.writes.end()) {
        expected = w->second;
      } else {
        auto [it, fresh] = model.reads.try_emplace(key, oracle[key]);
        expected = it->second.value;
      }
      REQUIRE(got == expected);
    } else if (op < 8) {
      const int64_t value = static_cast<int64_t>(rng.Uniform(1000));
      REQUIRE(txn.Write(key, value).ok());
      model.writes[key] = value;
    } else {
      bool valid = true;
      for (const auto& [k, read] : model.reads) valid &= oracle[k].version == read.version;
      const absl::Status committed = op == 8 ? txn.Commit() : txn.Validate();
      REQUIRE(committed.ok() == valid);
      if (op == 8) {
        if (valid) {
          for (const auto& [k, value] : model.writes) oracle[k] = {value, oracle[k].version + 1};
          ++commits;
        } else {
          REQUIRE(committed.code() == absl::StatusCode::kAborted);
          ++aborts;
        }
        txns[t].reset();
      }
    }
    for (int64_t k = 0; k < kKeys; ++k) {
      REQUIRE(store.Get(k)->value == oracle[k].value);
      REQUIRE(store.Get(k)->version == oracle[k].version);
    }
  }
  // The run exercised both outcomes.
  CHECK(commits > 100);
  CHECK(aborts > 100);
}

TEST_CASE("Concurrent transfers conserve the total in every snapshot and lose no update") {
  const int threads = testing::Threads();
  const int rounds = testing::RoundsPerThread();
  constexpr int64_t kAccounts = 5;
  constexpr int64_t kInitial = 1000;
  VersionedStore<int64_t, int64_t> store;
  for (int64_t a = 0; a < kAccounts; ++a) REQUIRE(store.Insert(a, kInitial).ok());
  std::atomic<bool> done{false};
  std::atomic<int64_t> bad_snapshots{0};
  std::thread checker([&] {
    while (!done.load()) {
      int64_t total = 0;
      bool negative = false;
      for (const auto& [account, row] : store.Snapshot()) {
        total += row.value;
        negative |= row.value < 0;
      }
      if (total != kAccounts * kInitial || negative) bad_snapshots.fetch_add(1);
    }
  });
  std::atomic<int64_t> transfers{0};
  std::atomic<int64_t> retries{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      base::Random rng(keel::testing::TestSeed(23), static_cast<uint64_t>(t));
      for (int i = 0; i < rounds; ++i) {
        const int64_t from = static_cast<int64_t>(rng.Uniform(kAccounts));
        const int64_t to =
            (from + 1 + static_cast<int64_t>(rng.Uniform(kAccounts - 1))) % kAccounts;
        const int64_t amount = 1 + static_cast<int64_t>(rng.Uniform(300));
        RetryStats stats;
        const absl::Status status = RunOptimistic(
            store, {.max_attempts = kMaxRetryAttempts},
            [&](OptimisticTransaction<int64_t, int64_t>& txn) -> absl::Status {
              KEEL_ASSIGN_OR_RETURN(int64_t a, txn.Read(from));
              KEEL_ASSIGN_OR_RETURN(int64_t b, txn.Read(to));
              if (a < amount) return absl::FailedPreconditionError("insufficient funds");
              KEEL_RETURN_IF_ERROR(txn.Write(from, a - amount));
              return txn.Write(to, b + amount);
            },
            &stats);
        CHECK((status.ok() || status.code() == absl::StatusCode::kFailedPrecondition));
        if (status.ok()) transfers.fetch_add(1);
        retries.fetch_add(stats.attempts - 1);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  done = true;
  checker.join();
  CHECK(bad_snapshots.load() == 0);
  int64_t total = 0;
  uint64_t writes = 0;
  for (const auto& [account, row] : store.Snapshot()) {
    total += row.value;
    writes += row.version - 1;
  }
  CHECK(total == kAccounts * kInitial);
  // Every committed transfer wrote two records once each: no write was lost or doubled.
  CHECK(writes == 2 * static_cast<uint64_t>(transfers.load()));
  MESSAGE("transfers: ", transfers.load(), ", retries: ", retries.load());
}

}  // namespace
}  // namespace keel::txn
