// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/txn/lock_manager.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "txn_testing.h"

namespace keel::txn {
namespace {

using Locks = LockManager<std::string>;
constexpr LockMode kS = LockMode::kShared;
constexpr LockMode kX = LockMode::kExclusive;

const base::Clock& RealClock() { return base::MonotonicClock::Default(); }

// Starts `txn`'s request for `key` on a thread of its own and returns once it is queued.
std::future<absl::Status> LockInBackground(Locks& locks, TxnId txn, const std::string& key,
                                           LockMode mode, int64_t timeout_ns = kNoTimeout) {
  const size_t queued = locks.Waiting(key);
  std::future<absl::Status> result = std::async(
      std::launch::async,
      [&locks, txn, key, mode, timeout_ns] { return locks.Lock(txn, key, mode, timeout_ns); });
  REQUIRE(keel::testing::Eventually([&] { return locks.Waiting(key) == queued + 1; }));
  return result;
}

bool IsReady(std::future<absl::Status>& f) {
  return f.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready;
}

TEST_CASE("Shared locks are shared and an exclusive lock excludes everyone else") {
  Locks locks(RealClock());
  const TxnId a = *locks.Begin();
  const TxnId b = *locks.Begin();
  const TxnId c = *locks.Begin();
  REQUIRE(locks.Lock(a, "r", kS, 0).ok());
  REQUIRE(locks.Lock(b, "r", kS, 0).ok());
  const absl::Status refused = locks.Lock(c, "r", kX, 0);
  CHECK(refused.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(absl::StrContains(refused.message(), "\"r\""));
  REQUIRE(locks.End(a).ok());
  REQUIRE(locks.End(b).ok());
  REQUIRE(locks.Lock(c, "r", kX, 0).ok());
  CHECK(locks.Lock(a, "r", kS, 0).code() == absl::StatusCode::kNotFound);  // a has ended
  const TxnId d = *locks.Begin();
  CHECK(locks.Lock(d, "r", kS, 0).code() == absl::StatusCode::kDeadlineExceeded);
  // Re-entrant: a lock held in the same or a stronger mode is granted again at once.
  CHECK(locks.Lock(c, "r", kX, 0).ok());
  CHECK(locks.Lock(c, "r", kS, 0).ok());
  CHECK(locks.HeldMode(c, "r") == kX);
  CHECK(locks.HeldMode(d, "r") == std::nullopt);
  REQUIRE(locks.End(c).ok());
  REQUIRE(locks.End(d).ok());
  CHECK(locks.transactions() == 0);
}

TEST_CASE("A sole shared holder upgrades at once and a shared holder among others waits for them") {
  Locks locks(RealClock());
  const TxnId a = *locks.Begin();
  const TxnId b = *locks.Begin();
  REQUIRE(locks.Lock(a, "r", kS).ok());
  REQUIRE(locks.Lock(a, "r", kX, 0).ok());
  CHECK(locks.HeldMode(a, "r") == kX);
  REQUIRE(locks.Unlock(a, "r").ok());
  REQUIRE(locks.Lock(a, "r", kS).ok());
  REQUIRE(locks.Lock(b, "r", kS).ok());
  std::future<absl::Status> upgrade = LockInBackground(locks, a, "r", kX);
  CHECK(!IsReady(upgrade));
  REQUIRE(locks.End(b).ok());
  CHECK(upgrade.get().ok());
  CHECK(locks.HeldMode(a, "r") == kX);
  REQUIRE(locks.End(a).ok());
}

TEST_CASE("Waiting requests are granted in arrival order and none overtakes an earlier conflict") {
  Locks locks(RealClock());
  const TxnId holder = *locks.Begin();
  REQUIRE(locks.Lock(holder, "r", kS).ok());
  const TxnId writer = *locks.Begin();
  std::future<absl::Status> w = LockInBackground(locks, writer, "r", kX);
  // A shared request is compatible with the shared holder, but a writer waits ahead of it.
  const TxnId reader = *locks.Begin();
  CHECK(locks.Lock(reader, "r", kS, 0).code() == absl::StatusCode::kDeadlineExceeded);
  std::future<absl::Status> r = LockInBackground(locks, reader, "r", kS);
  REQUIRE(locks.End(holder).ok());
  CHECK(w.get().ok());
  CHECK(!IsReady(r));
  REQUIRE(locks.End(writer).ok());
  CHECK(r.get().ok());
  REQUIRE(locks.End(reader).ok());
}

TEST_CASE("Random queues grant every conflicting pair in arrival order") {
  const uint64_t seed = keel::testing::TestSeed(2304);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int round = 0; round < 8; ++round) {
    Locks locks(RealClock());
    const TxnId holder = *locks.Begin();
    REQUIRE(locks.Lock(holder, "r", kX).ok());
    const int n = 6;
    std::vector<LockMode> modes;
    std::vector<std::future<absl::Status>> pending;
    std::mutex log_mu;
    std::vector<int> log;  // who was granted, in order; guarded by log_mu
    for (int i = 0; i < n; ++i) {
      modes.push_back(rng.Bernoulli(0.5) ? kS : kX);
      const TxnId txn = *locks.Begin();
      const size_t queued = locks.Waiting("r");
      pending.push_back(std::async(std::launch::async, [&, txn, i] {
        absl::Status s = locks.Lock(txn, "r", modes[i]);
        {
          std::lock_guard lock(log_mu);
          log.push_back(i);
        }
        if (s.ok()) s = locks.End(txn);
        return s;
      }));
      REQUIRE(keel::testing::Eventually([&] { return locks.Waiting("r") == queued + 1; }));
    }
    REQUIRE(locks.End(holder).ok());
    for (auto& f : pending) CHECK(f.get().ok());
    REQUIRE(log.size() == static_cast<size_t>(n));
    std::vector<size_t> position(n);
    for (size_t p = 0; p < log.size(); ++p) position[static_cast<size_t>(log[p])] = p;
    for (int i = 0; i < n; ++i) {
      for (int j = i + 1; j < n; ++j) {
        if (modes[i] == kS && modes[j] == kS) continue;  // compatible: may be granted together
        CAPTURE(i);
        CAPTURE(j);
        CHECK(position[i] < position[j]);
      }
    }
  }
}

TEST_CASE("A deadlock of two is found and the requester that closes it is the victim") {
  Locks locks(RealClock());
  const TxnId a = *locks.Begin();
  const TxnId b = *locks.Begin();
  REQUIRE(locks.Lock(a, "x", kX).ok());
  REQUIRE(locks.Lock(b, "y", kX).ok());
  std::future<absl::Status> a_waits = LockInBackground(locks, a, "y", kX);
  const absl::Status victim = locks.Lock(b, "x", kX);
  CHECK(victim.code() == absl::StatusCode::kAborted);
  CHECK(
      absl::StrContains(victim.message(), "transaction 2 waits on record \"x\" for transaction 1"));
  CHECK(
      absl::StrContains(victim.message(), "transaction 1 waits on record \"y\" for transaction 2"));
  CHECK(locks.HeldMode(b, "y") == kX);  // the victim keeps what it held until it ends
  CHECK(locks.stats().deadlocks == 1);
  REQUIRE(locks.End(b).ok());
  CHECK(a_waits.get().ok());
  REQUIRE(locks.End(a).ok());
}

TEST_CASE("A deadlock of three is found and named in order") {
  Locks locks(RealClock());
  const TxnId a = *locks.Begin();
  const TxnId b = *locks.Begin();
  const TxnId c = *locks.Begin();
  REQUIRE(locks.Lock(a, "x", kX).ok());
  REQUIRE(locks.Lock(b, "y", kS).ok());
  REQUIRE(locks.Lock(c, "z", kX).ok());
  std::future<absl::Status> a_waits = LockInBackground(locks, a, "y", kX);
  std::future<absl::Status> b_waits = LockInBackground(locks, b, "z", kS);
  const absl::Status victim = locks.Lock(c, "x", kS);
  CHECK(victim.code() == absl::StatusCode::kAborted);
  CHECK(absl::StrContains(victim.message(),
                          "transaction 3 waits on record \"x\" for transaction 1, transaction 1 "
                          "waits on record \"y\" for transaction 2, transaction 2 waits on record "
                          "\"z\" for transaction 3"));
  REQUIRE(locks.End(c).ok());
  CHECK(b_waits.get().ok());
  REQUIRE(locks.End(b).ok());
  CHECK(a_waits.get().ok());
  REQUIRE(locks.End(a).ok());
}

TEST_CASE("Two shared holders upgrading at once deadlock and the second is the victim") {
  Locks locks(RealClock());
  const TxnId a = *locks.Begin();
  const TxnId b = *locks.Begin();
  REQUIRE(locks.Lock(a, "r", kS).ok());
  REQUIRE(locks.Lock(b, "r", kS).ok());
  std::future<absl::Status> a_upgrades = LockInBackground(locks, a, "r", kX);
  CHECK(locks.Lock(b, "r", kX).code() == absl::StatusCode::kAborted);
  REQUIRE(locks.End(b).ok());
  CHECK(a_upgrades.get().ok());
  REQUIRE(locks.End(a).ok());
}

TEST_CASE("A wait ends at its deadline on the injected clock and names the holders") {
  base::ManualClock clock(1'000);
  Locks locks(clock);
  const TxnId a = *locks.Begin();
  const TxnId b = *locks.Begin();
  const TxnId c = *locks.Begin();
  REQUIRE(locks.Lock(a, "r", kX).ok());
  std::future<absl::Status> b_waits =
      LockInBackground(locks, b, "r", kS, /*timeout_ns=*/base::kNanosPerSecond);
  std::future<absl::Status> c_waits = LockInBackground(locks, c, "r", kS);  // no deadline
  clock.Advance(base::kNanosPerSecond - 1);
  locks.NotifyClockAdvanced();
  CHECK(b_waits.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout);
  clock.Advance(1);
  locks.NotifyClockAdvanced();
  const absl::Status timed_out = b_waits.get();
  CHECK(timed_out.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(absl::StrContains(timed_out.message(), "waited 1000000000 ns"));
  CHECK(absl::StrContains(timed_out.message(), "transaction(s) 1"));
  CHECK(locks.stats().timeouts == 1);
  CHECK(!IsReady(c_waits));
  REQUIRE(locks.End(a).ok());
  CHECK(c_waits.get().ok());
  REQUIRE(locks.End(b).ok());
  REQUIRE(locks.End(c).ok());
}

TEST_CASE("A withdrawn request lets the compatible requests behind it through") {
  Locks locks(RealClock());
  const TxnId reader = *locks.Begin();
  const TxnId writer = *locks.Begin();
  const TxnId late = *locks.Begin();
  REQUIRE(locks.Lock(reader, "r", kS).ok());
  std::future<absl::Status> w = LockInBackground(locks, writer, "r", kX, 20 * base::kNanosPerMilli);
  std::future<absl::Status> l = LockInBackground(locks, late, "r", kS);
  CHECK(w.get().code() == absl::StatusCode::kDeadlineExceeded);  // real clock: 20 ms
  CHECK(l.get().ok());  // shares with the reader once the writer ahead has gone
  for (TxnId t : {reader, writer, late}) REQUIRE(locks.End(t).ok());
}

TEST_CASE("Bad lock requests get statuses not crashes") {
  Locks locks(RealClock(), {.max_transactions = 2, .max_locks_per_transaction = 2});
  CHECK(locks.Lock(99, "r", kX).code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(locks.Lock(99, "r", kX).message(), "99"));
  CHECK(locks.Unlock(99, "r").code() == absl::StatusCode::kNotFound);
  CHECK(locks.End(99).code() == absl::StatusCode::kNotFound);
  const TxnId a = *locks.Begin();
  const TxnId b = *locks.Begin();
  CHECK(locks.Begin().status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(locks.Lock(a, "r", kX, -1).code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(locks.Lock(a, "r", kX).ok());
  REQUIRE(locks.Lock(a, "s", kX).ok());
  const absl::Status full = locks.Lock(a, "t", kX);
  CHECK(full.code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(full.message(), "\"t\""));
  REQUIRE(locks.Unlock(a, "s").ok());
  const absl::Status twice = locks.Unlock(a, "s");  // a double release
  CHECK(twice.code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(twice.message(), "holds no lock on record \"s\""));
  // A transaction waiting in one thread cannot be driven from another.
  std::future<absl::Status> b_waits = LockInBackground(locks, b, "r", kS);
  CHECK(locks.End(b).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(locks.Lock(b, "q", kS).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(locks.Unlock(b, "r").code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(locks.End(a).ok());
  CHECK(b_waits.get().ok());
  REQUIRE(locks.End(b).ok());
  CHECK(locks.End(b).code() == absl::StatusCode::kNotFound);  // ended twice
  CHECK(locks.Begin().ok());
}

TEST_CASE("Requests that never wait are granted exactly as a compatibility oracle says") {
  const uint64_t seed = keel::testing::TestSeed(2305);
  CAPTURE(seed);
  base::Random rng(seed);
  constexpr int kTxns = 4;
  const std::vector<std::string> keys = {"a", "b", "c"};
  Locks locks(RealClock());
  std::vector<std::optional<TxnId>> ids(kTxns);
  std::vector<std::map<std::string, LockMode>> oracle(kTxns);
  for (int step = 0; step < 20'000; ++step) {
    const size_t t = rng.Uniform(kTxns);
    if (!ids[t].has_value()) {
      ids[t] = *locks.Begin();
      oracle[t].clear();
    }
    const std::string& key = keys[rng.Uniform(keys.size())];
    const uint64_t op = rng.Uniform(10);
    if (op < 7) {
      const LockMode mode = rng.Bernoulli(0.5) ? kS : kX;
      auto held = oracle[t].find(key);
      bool grant = held != oracle[t].end() && (held->second == kX || mode == kS);
      if (!grant) {
        grant = true;
        for (size_t o = 0; o < kTxns; ++o) {
          if (o == t) continue;
          auto other = oracle[o].find(key);
          if (other != oracle[o].end() && (other->second == kX || mode == kX)) grant = false;
        }
        if (grant) oracle[t][key] = mode;
      }
      const absl::Status status = locks.Lock(*ids[t], key, mode, 0);
      REQUIRE(status.ok() == grant);
      if (!grant) REQUIRE(status.code() == absl::StatusCode::kDeadlineExceeded);
    } else if (op < 9) {
      const absl::Status status = locks.Unlock(*ids[t], key);
      REQUIRE(status.ok() == oracle[t].contains(key));
      oracle[t].erase(key);
    } else {
      REQUIRE(locks.End(*ids[t]).ok());
      ids[t].reset();
      oracle[t].clear();
    }
    for (size_t o = 0; o < kTxns; ++o) {
      if (!ids[o].has_value()) continue;
      for (const std::string& k : keys) {
        auto held = oracle[o].find(k);
        REQUIRE(locks.HeldMode(*ids[o], k) ==
                (held == oracle[o].end() ? std::nullopt : std::optional<LockMode>(held->second)));
      }
    }
  }
}

TEST_CASE("Two phase locking from many threads keeps writers exclusive and readers consistent") {
  const int threads = testing::Threads();
  const int rounds = testing::RoundsPerThread() / 2;
  constexpr int kKeys = 4;
  Locks locks(RealClock());
  // Every writer adds 1 to each record it locked. The values are plain ints, so the locks are
  // their only protection (ThreadSanitizer reports a race otherwise), and their total must be
  // what the writers say they added.
  int64_t values[kKeys] = {};
  std::atomic<int> inside[kKeys] = {};  // +1000 for a writer, +1 for a reader
  std::atomic<int64_t> added{0};
  std::atomic<int64_t> violations{0};
  std::atomic<int64_t> aborted{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      base::Random rng(keel::testing::TestSeed(31), static_cast<uint64_t>(t));
      for (int i = 0; i < rounds; ++i) {
        // Two or three records in random order: deadlocks happen, and are resolved.
        std::vector<int> keys = {0, 1, 2, 3};
        rng.Shuffle(keys);
        keys.resize(2 + rng.Uniform(2));
        const bool write = rng.Bernoulli(0.6);
        while (true) {
          const TxnId txn = *locks.Begin();
          bool ok = true;
          for (int k : keys) {
            const absl::Status s =
                locks.Lock(txn, std::string(1, static_cast<char>('a' + k)), write ? kX : kS);
            if (!s.ok()) {
              CHECK(s.code() == absl::StatusCode::kAborted);
              ok = false;
              break;
            }
          }
          if (ok) {
            for (int k : keys) {
              const int before = inside[k].fetch_add(write ? 1000 : 1);
              if (write ? before != 0 : before >= 1000) violations.fetch_add(1);
            }
            if (write) {
              for (int k : keys) ++values[k];
              added.fetch_add(static_cast<int64_t>(keys.size()));
            } else {
              for (int k : keys) CHECK(values[k] >= 0);  // a read the locks must order
            }
            for (int k : keys) inside[k].fetch_sub(write ? 1000 : 1);
          } else {
            aborted.fetch_add(1);
          }
          CHECK(locks.End(txn).ok());
          if (ok) break;
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  CHECK(violations.load() == 0);
  int64_t total = 0;
  for (int64_t v : values) total += v;
  CHECK(total == added.load());
  CHECK(locks.transactions() == 0);
  CHECK(locks.stats().deadlocks == static_cast<uint64_t>(aborted.load()));
  MESSAGE("deadlocks resolved: ", aborted.load(), ", waits: ", locks.stats().waited);
}

}  // namespace
}  // namespace keel::txn
