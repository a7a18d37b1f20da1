// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/idempotency/key_store.h"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "testing/testing.h"

namespace keel::idempotency {
namespace {

constexpr int64_t kHour = 3600 * base::kNanosPerSecond;

KeyStoreOptions WithClock(const base::Clock& clock) {
  KeyStoreOptions o;
  o.clock = &clock;
  o.retention_ns = 24 * kHour;
  return o;
}

Claim MustBegin(KeyStore& keys, std::string_view tenant, std::string_view key,
                std::string_view fingerprint) {
  absl::StatusOr<Claim> claim = keys.Begin(tenant, key, fingerprint);
  REQUIRE(claim.ok());
  return *std::move(claim);
}

TEST_CASE("The first request executes and its retries get its outcome byte for byte") {
  base::ManualClock clock;
  KeyStore keys(WithClock(clock));
  Claim first = MustBegin(keys, "acme", "order-1", "amount=100");
  REQUIRE(first.verdict == Verdict::kExecute);
  const std::string outcome("charged\0 100\xff", 13);
  REQUIRE(keys.Complete(first.ticket, outcome).ok());
  for (int retry = 0; retry < 3; ++retry) {
    const Claim again = MustBegin(keys, "acme", "order-1", "amount=100");
    CHECK(again.verdict == Verdict::kReplay);
    CHECK(again.outcome == outcome);
  }
  CHECK(keys.stats().executes == 1);
  CHECK(keys.stats().replays == 3);
}

TEST_CASE("The same key with another payload is a mismatch and executes nothing") {
  KeyStore keys({});
  Claim first = MustBegin(keys, "", "k", "a");
  REQUIRE(keys.Complete(first.ticket, "done").ok());
  CHECK(MustBegin(keys, "", "k", "b").verdict == Verdict::kMismatch);
  CHECK(MustBegin(keys, "", "k", "").verdict == Verdict::kMismatch);
  CHECK(MustBegin(keys, "", "k", "a").verdict == Verdict::kReplay);
  CHECK(keys.stats().mismatches == 2);
}

TEST_CASE("A retry while the first request executes is told the key is in use") {
  KeyStore keys({});
  Claim first = MustBegin(keys, "", "k", "a");
  CHECK(MustBegin(keys, "", "k", "a").verdict == Verdict::kInUse);
  CHECK(MustBegin(keys, "", "k", "b").verdict == Verdict::kMismatch);
  CHECK(keys.stats().in_flight == 1);
  REQUIRE(keys.Complete(first.ticket, "ok").ok());
  CHECK(keys.stats().in_flight == 0);
  CHECK(MustBegin(keys, "", "k", "a").verdict == Verdict::kReplay);
}

TEST_CASE("A released key stores nothing and the next request executes") {
  KeyStore keys({});
  Claim first = MustBegin(keys, "", "k", "invalid payload");
  REQUIRE(keys.Release(first.ticket).ok());
  CHECK(keys.stats().keys == 0);
  CHECK(keys.stats().bytes == 0);
  Claim second = MustBegin(keys, "", "k", "valid payload");
  CHECK(second.verdict == Verdict::kExecute);
}

TEST_CASE("Keys are scoped by tenant") {
  KeyStore keys({});
  Claim a = MustBegin(keys, "ab", "c", "x");
  Claim b = MustBegin(keys, "a", "bc", "x");
  Claim c = MustBegin(keys, "", "abc", "x");
  CHECK(a.verdict == Verdict::kExecute);
  CHECK(b.verdict == Verdict::kExecute);
  CHECK(c.verdict == Verdict::kExecute);
  REQUIRE(keys.Complete(a.ticket, "A").ok());
  REQUIRE(keys.Complete(b.ticket, "B").ok());
  CHECK(MustBegin(keys, "ab", "c", "x").outcome == "A");
  CHECK(MustBegin(keys, "a", "bc", "x").outcome == "B");
}

TEST_CASE("Keys expire after the retention period and not before") {
  base::ManualClock clock(1'000);
  KeyStore keys(WithClock(clock));
  Claim first = MustBegin(keys, "", "k", "a");
  REQUIRE(keys.Complete(first.ticket, "one").ok());
  clock.Advance(24 * kHour - 1);
  CHECK(MustBegin(keys, "", "k", "a").verdict == Verdict::kReplay);
  clock.Advance(1);
  // Expired: the key is new again, with any payload.
  Claim again = MustBegin(keys, "", "k", "b");
  CHECK(again.verdict == Verdict::kExecute);
  CHECK(keys.stats().expired == 1);
}

// A clock whose readings may trail the true time by up to `lag`, as CoarseMonotonicClock's do.
class LaggingClock final : public base::Clock {
 public:
  explicit LaggingClock(int64_t lag_ns) : lag_ns_(lag_ns) {}
  int64_t NowNanos() const override { return clock.NowNanos(); }
  int64_t MaxLagNanos() const override { return lag_ns_; }
  base::ManualClock clock;

 private:
  int64_t lag_ns_;
};

TEST_CASE("A clock that lags keeps keys that much longer, so that none goes early") {
  constexpr int64_t kLag = 4 * base::kNanosPerMilli;
  LaggingClock clock(kLag);
  KeyStore keys(WithClock(clock));
  Claim first = MustBegin(keys, "", "k", "a");
  REQUIRE(keys.Complete(first.ticket, "one").ok());
  // The key may really have begun up to a tick after its stamp: it stays a tick longer.
  clock.clock.Advance(24 * kHour + kLag - 1);
  CHECK(MustBegin(keys, "", "k", "a").verdict == Verdict::kReplay);
  clock.clock.Advance(1);
  CHECK(MustBegin(keys, "", "k", "b").verdict == Verdict::kExecute);

  // The default clock is the coarse one, whose lag is a kernel tick.
  KeyStore defaults(KeyStoreOptions{});
  CHECK(defaults.options().clock == &base::CoarseMonotonicClock::Default());
}

TEST_CASE("Memory holds steady while keys churn through expiry") {
  base::ManualClock clock;
  KeyStoreOptions o = WithClock(clock);
  o.retention_ns = kHour;
  o.max_keys = 2'000;
  KeyStore keys(o);
  base::Random rng(7);
  uint64_t steady = 0;
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 2'000; ++i) {
      Claim c = MustBegin(keys, "acct", base::Cat("r", round, "-", i), "fingerprint");
      // Outcomes of 1 to 64 bytes: blocks of several size classes, freed and reused.
      REQUIRE(keys.Complete(c.ticket, std::string(1 + rng.Uniform(64), 'o')).ok());
    }
    clock.Advance(kHour);  // this round's keys expire as the next round's arrive
    const uint64_t memory = keys.stats().memory_bytes;
    INFO("round ", round, ": ", memory, " bytes");
    if (round == 4) steady = memory;
    // After a few rounds every size class has reached its high-water mark; from then on the
    // rounds reuse what expired (random sizes move each class's peak only a little).
    if (round > 4) CHECK(memory <= steady + steady / 4);
  }
  CHECK(keys.stats().keys == 2'000);
}

TEST_CASE("A key still executing does not expire until it completes and ages") {
  base::ManualClock clock;
  KeyStore keys(WithClock(clock));
  Claim slow = MustBegin(keys, "", "slow", "a");
  clock.Advance(25 * kHour);
  CHECK(keys.ExpireNow() == 0);
  CHECK(MustBegin(keys, "", "slow", "a").verdict == Verdict::kInUse);
  REQUIRE(keys.Complete(slow.ticket, "done").ok());
  // It began more than the retention ago, so it goes at the next sweep.
  CHECK(keys.ExpireNow() == 1);
  CHECK(keys.stats().keys == 0);
}

TEST_CASE("Memory is bounded by max_keys and max_bytes and expiry makes room") {
  base::ManualClock clock;
  KeyStoreOptions o = WithClock(clock);
  o.max_keys = 3;
  o.retention_ns = kHour;
  KeyStore keys(o);
  for (int i = 0; i < 3; ++i) {
    Claim c = MustBegin(keys, "", base::Cat("k", i), "f");
    REQUIRE(keys.Complete(c.ticket, "o").ok());
  }
  absl::StatusOr<Claim> full = keys.Begin("", "k3", "f");
  CHECK(full.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(full.status().message().find("k3") != std::string_view::npos);
  // The live keys are never evicted to make room: their retries still replay.
  CHECK(MustBegin(keys, "", "k0", "f").verdict == Verdict::kReplay);
  clock.Advance(kHour);
  CHECK(MustBegin(keys, "", "k3", "f").verdict == Verdict::kExecute);

  KeyStoreOptions small;
  small.max_bytes = 10;
  KeyStore bytes(small);
  Claim c = MustBegin(bytes, "", "key", "fp");  // 5 bytes
  CHECK(bytes.Complete(c.ticket, "123456").code() == absl::StatusCode::kResourceExhausted);
  REQUIRE(bytes.Complete(c.ticket, "12345").ok());
  CHECK(bytes.stats().bytes == 10);
  CHECK(bytes.Begin("", "x", "").status().code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("Bad input gets a status naming the bad value") {
  KeyStore keys({});
  CHECK(keys.Begin("", "", "f").status().code() == absl::StatusCode::kInvalidArgument);
  const std::string long_key(kMaxKeyBytes + 1, 'k');
  absl::StatusOr<Claim> c = keys.Begin("", long_key, "f");
  CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(c.status().message().find("256 bytes") != std::string_view::npos);
  CHECK(keys.Begin(std::string(kMaxTenantBytes + 1, 't'), "k", "f").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(keys.Begin("", "k", std::string(kMaxFingerprintBytes + 1, 'f')).status().code() ==
        absl::StatusCode::kInvalidArgument);
  Claim ok = MustBegin(keys, "", "k", "f");
  CHECK(keys.Complete(ok.ticket, std::string(kMaxOutcomeBytes + 1, 'o')).code() ==
        absl::StatusCode::kInvalidArgument);
  REQUIRE(keys.Complete(ok.ticket, "o").ok());
  CHECK(keys.Complete(ok.ticket, "o").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(keys.Release(ok.ticket).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(keys.Release(Ticket{}).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(keys.Release(Ticket{999, 1}).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(keys.Insert("", "k", "f", "o", 0).code() == absl::StatusCode::kAlreadyExists);

  for (const KeyStoreOptions& bad :
       {KeyStoreOptions{.retention_ns = 0}, KeyStoreOptions{.max_keys = 0},
        KeyStoreOptions{.max_bytes = 0}, KeyStoreOptions{.shards = 3},
        KeyStoreOptions{.shards = 2048}}) {
    CHECK(KeyStore::Validate(bad).code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("Outcomes at or past visible_before are in use until it passes them") {
  KeyStore keys({});
  Claim c = MustBegin(keys, "", "k", "f");
  REQUIRE(keys.Complete(c.ticket, "o", /*position=*/7).ok());
  CHECK(keys.Begin("", "k", "f", /*visible_before=*/7)->verdict == Verdict::kInUse);
  CHECK(keys.Begin("", "k", "f", /*visible_before=*/8)->verdict == Verdict::kReplay);
}

// A model: a map from (tenant, key) to (fingerprint, outcome or in flight, created).
TEST_CASE("KeyStore matches a map model under random requests clock moves and releases") {
  const uint64_t seed = testing::TestSeed(1410);
  CAPTURE(seed);
  base::Random rng(seed);
  base::ManualClock clock(5);
  KeyStoreOptions o = WithClock(clock);
  o.retention_ns = 1'000;
  o.shards = 4;
  KeyStore keys(o);
  struct Want {
    std::string fingerprint;
    std::optional<std::string> outcome;
    int64_t created;
    Ticket ticket;
  };
  std::map<std::pair<std::string, std::string>, Want> model;
  const uint64_t steps = testing::TestRounds("KEEL_IDEMPOTENCY_STEPS", 200'000);
  for (uint64_t step = 0; step < steps; ++step) {
    CAPTURE(step);
    if (rng.Uniform(50) == 0) clock.Advance(static_cast<int64_t>(rng.Uniform(300)));
    const std::string tenant = base::Cat("t", rng.Uniform(3));
    const std::string key = base::Cat("k", rng.Uniform(40));
    const std::string fingerprint = base::Cat("f", rng.Uniform(3));
    auto it = model.find({tenant, key});
    const int64_t now = clock.NowNanos();
    if (it != model.end() && it->second.outcome && now - it->second.created >= o.retention_ns) {
      model.erase(it);
      it = model.end();
    }
    const Claim got = MustBegin(keys, tenant, key, fingerprint);
    if (it == model.end()) {
      REQUIRE(got.verdict == Verdict::kExecute);
      model[{tenant, key}] = {fingerprint, std::nullopt, now, got.ticket};
    } else if (it->second.fingerprint != fingerprint) {
      REQUIRE(got.verdict == Verdict::kMismatch);
    } else if (!it->second.outcome) {
      REQUIRE(got.verdict == Verdict::kInUse);
    } else {
      REQUIRE(got.verdict == Verdict::kReplay);
      REQUIRE(got.outcome == *it->second.outcome);
    }
    // Finish some request in flight: complete it, or release it.
    if (rng.Uniform(2) == 0) {
      for (auto& [id, want] : model) {
        if (want.outcome) continue;
        if (rng.Uniform(4) == 0) {
          REQUIRE(keys.Release(want.ticket).ok());
          model.erase(id);
        } else {
          want.outcome = base::Cat("outcome-", step, std::string(rng.Uniform(40), 'x'));
          REQUIRE(keys.Complete(want.ticket, *want.outcome).ok());
        }
        break;
      }
    }
  }
  uint64_t completed = 0;
  for (const auto& [id, want] : model) {
    if (want.outcome && clock.NowNanos() - want.created < o.retention_ns) ++completed;
  }
  uint64_t seen = 0;
  keys.ForEachCompleted([&](const StoredEntry& e) {
    ++seen;
    const Want& want = model.at({std::string(e.tenant), std::string(e.key)});
    CHECK(want.outcome == std::string(e.outcome));
    CHECK(want.fingerprint == e.fingerprint);
  });
  CHECK(seen == completed);
}

TEST_CASE("Racing requests with one key execute it exactly once") {
  KeyStore keys({.shards = 8});
  constexpr int kThreads = 4;
  const int kKeys = static_cast<int>(testing::TestRounds("KEEL_IDEMPOTENCY_RACE_KEYS", 2'000));
  std::atomic<int> executed{0};
  std::vector<std::thread> threads;
  std::atomic<bool> failed{false};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kKeys; ++k) {
        const std::string key = base::Cat("key", k);
        // Retry until an outcome is told: each key's request takes effect once.
        while (true) {
          absl::StatusOr<Claim> c = keys.Begin("", key, "same");
          if (!c.ok()) {
            failed = true;
            return;
          }
          if (c->verdict == Verdict::kInUse) continue;
          if (c->verdict == Verdict::kExecute) {
            ++executed;
            if (!keys.Complete(c->ticket, base::Cat("by ", t)).ok()) failed = true;
            break;
          }
          if (c->verdict != Verdict::kReplay || c->outcome.substr(0, 3) != "by ") failed = true;
          break;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK_FALSE(failed.load());
  CHECK(executed.load() == kKeys);
  CHECK(keys.stats().keys == static_cast<uint64_t>(kKeys));
}

}  // namespace
}  // namespace keel::idempotency
