// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Tests of the example's composition (exchange.h): what happens downstream of the engine when the
// clock or the fail-over does not go as planned.
#include "exchange.h"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <vector>

#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/file_system.h"
#include "testing/testing.h"

namespace keel::examples {
namespace {

using market::OrderRequest;
using market::Side;

// A wall clock as SystemClock is one: it can be set back.
class SettableClock final : public base::Clock {
 public:
  [[nodiscard]] int64_t NowNanos() const override { return now_ns_.load(); }
  void Set(int64_t now_ns) { now_ns_.store(now_ns); }

 private:
  std::atomic<int64_t> now_ns_{1'000'000'000};
};

void Fund(Exchange& x, market::ClientId client) {
  REQUIRE(x.gateway().AddClient(client).ok());
  REQUIRE(x.risk().OpenAccount(client).ok());
  REQUIRE(x.risk().Deposit(client, 1'000'000).ok());
  REQUIRE(x.risk().DepositShares(client, "ACME", 1'000).ok());
}

OrderRequest Limit(market::ClientId client, market::OrderId id, Side side, market::Price price,
                   market::Quantity quantity) {
  return {.client = client,
          .order_id = id,
          .symbol = "ACME",
          .side = side,
          .price = price,
          .quantity = quantity};
}

ExchangeOptions Options() {
  ExchangeOptions options;
  options.sequencer.sync = wal::SyncPolicy::kNone;
  return options;
}

// An exchange on a clock that can be set back, its command log on a file system that fails on
// demand (it does not until told to).
struct TestExchange {
  TestExchange() {
    ExchangeOptions options = Options();
    options.sequencer.file_system = &fs;
    absl::StatusOr<std::unique_ptr<Exchange>> opened = Exchange::Open(dir.path(), options, clock);
    REQUIRE(opened.ok());
    exchange = *std::move(opened);
  }

  testing::TempDir dir;
  wal::FaultInjectingFileSystem fs{wal::FileSystem::Posix()};
  SettableClock clock;
  std::unique_ptr<Exchange> exchange;
};

TEST_CASE("A clock that steps back does not break market data or the reporter") {
  TestExchange t;
  Exchange& x = *t.exchange;
  Fund(x, 1);
  Fund(x, 2);
  REQUIRE(x.Handle(Limit(1, 1, Side::kSell, 100, 10)).ok());
  t.clock.Set(500'000'000);  // the host's time is set back half a second
  const absl::StatusOr<Outcome> bought = x.Handle(Limit(2, 2, Side::kBuy, 100, 4));
  REQUIRE(bought.ok());
  CHECK(bought->stage == Stage::kEngine);
  const absl::StatusOr<Outcome> more = x.Handle(Limit(2, 3, Side::kBuy, 100, 1));
  REQUIRE(more.ok());
  CHECK(x.market_data().status().ok());
  CHECK(x.history().status().ok());
  CHECK(x.history().recorded() == 2);
  CHECK(x.market_data().next_sequence() == x.engine().next_sequence());
  CHECK(x.market_data().best_ask(0) == x.engine().book(0).best_ask());
}

TEST_CASE("A fail-over with a clock that stepped back keeps a standby behind the new primary") {
  TestExchange t;
  Exchange& x = *t.exchange;
  Fund(x, 1);
  Fund(x, 2);
  REQUIRE(x.Handle(Limit(1, 1, Side::kSell, 100, 10)).ok());
  t.clock.Set(1);
  const absl::StatusOr<Exchange::FailOver> failover =
      x.CrashAndFailOver(Limit(2, 2, Side::kBuy, 100, 4));
  REQUIRE(failover.ok());
  CHECK(failover->primary_hash == failover->successor_hash);
  CHECK(x.market_data().next_sequence() == x.engine().next_sequence());
  const absl::StatusOr<uint64_t> fed = x.FeedStandby();
  REQUIRE(fed.ok());
  CHECK(x.standby().engine().StateHash() == x.engine().StateHash());
}

TEST_CASE("A take-over that fails leaves an exchange that refuses requests instead of crashing") {
  TestExchange t;
  Exchange& x = *t.exchange;
  Fund(x, 1);
  Fund(x, 2);
  REQUIRE(x.Handle(Limit(1, 1, Side::kSell, 100, 10)).ok());
  // The crashed order is logged; then the disk refuses everything, so the standby cannot open the
  // log to take over.
  t.fs.FailMutationsAfter(1);
  const absl::StatusOr<Exchange::FailOver> failover =
      x.CrashAndFailOver(Limit(2, 2, Side::kBuy, 100, 4));
  REQUIRE_FALSE(failover.ok());
  t.fs.FailMutationsAfter(-1);
  const absl::StatusOr<Outcome> after = x.Handle(Limit(2, 3, Side::kBuy, 100, 1));
  CHECK(after.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(x.FeedStandby().status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(x.CrashAndFailOver(Limit(2, 4, Side::kBuy, 100, 1)).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("A command log that fails a write loses the primary and keeps the hold in flight") {
  TestExchange t;
  Exchange& x = *t.exchange;
  Fund(x, 1);
  REQUIRE(x.Handle(Limit(1, 1, Side::kBuy, 100, 10)).ok());
  t.fs.FailAppendsAfter(0);
  const absl::StatusOr<Outcome> failed = x.Handle(Limit(1, 2, Side::kBuy, 100, 5));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() != absl::StatusCode::kFailedPrecondition);
  // Whether order 2 is in the log is unknown, so its 500 stays withheld with order 1's 1,000.
  CHECK(x.risk().in_flight());
  CHECK(x.risk().cash(1).held == 1'500);
  t.fs.FailAppendsAfter(-1);
  CHECK(x.Handle(Limit(1, 3, Side::kBuy, 100, 1)).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(x.FeedStandby().status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("A restarted primary comes back from its newest snapshot and the stream goes on") {
  testing::TempDir dir;
  ExchangeOptions options = Options();
  options.sequencer.snapshots.every_commands = 3;
  SettableClock clock;
  std::unique_ptr<Exchange> opened = *Exchange::Open(dir.path(), options, clock);
  Exchange& x = *opened;
  Fund(x, 1);
  Fund(x, 2);
  for (market::OrderId id = 1; id <= 7; ++id) {
    REQUIRE(x.Handle(Limit(1 + id % 2, id, id % 2 == 0 ? Side::kBuy : Side::kSell, 100, 1)).ok());
  }
  const absl::StatusOr<Exchange::Restart> restart = x.RestartPrimary();
  REQUIRE_MESSAGE(restart.ok(), restart.status());
  CHECK(restart->hash_after == restart->hash_before);
  CHECK(restart->recovery.from_snapshot);
  CHECK(restart->recovery.snapshot == 6);
  CHECK(restart->recovery.replayed == 1);
  CHECK(restart->standby.from_snapshot);
  REQUIRE(x.Handle(Limit(2, 8, Side::kBuy, 100, 1)).ok());
  CHECK(x.market_data().next_sequence() == x.engine().next_sequence());
  REQUIRE(x.FeedStandby().ok());
  CHECK(x.standby().engine().StateHash() == x.engine().StateHash());
}

}  // namespace
}  // namespace keel::examples
