// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The wallet designs (designs.h): the workload and the shard map; every design without faults
// against the single node, transfer by transfer; every fault point of every design, recovered and
// checked against an oracle that applies exactly the committed transfers; randomized runs over
// KEEL_WALLET_DESIGN_SEEDS seeds; TC/C's out-of-order cases; 2PC's coordinator crashes and the
// blocking they cause; the saga's compensation order.
#include "digital_wallet/designs.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "digital_wallet/designs_2pc.h"
#include "digital_wallet/designs_runner.h"
#include "digital_wallet/designs_saga.h"
#include "digital_wallet/designs_sharded.h"
#include "digital_wallet/designs_tcc.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::examples::wallet::designs {
namespace {

WorkloadOptions Small(uint64_t seed = 1) {
  return {.wallets = 400,
          .transfers = 3'000,
          .shards = 4,
          .initial_balance = 1'000,
          .max_amount = 300,
          .cross_shard_fraction = 0.3,
          .overdraw_fraction = 0.05,
          .hot_wallets = 4,
          .hot_fraction = 0.3,
          .seed = seed};
}

Workload MustMake(const WorkloadOptions& options) {
  absl::StatusOr<Workload> w = MakeWorkload(options);
  REQUIRE_MESSAGE(w.ok(), w.status().ToString());
  return *std::move(w);
}

std::unique_ptr<Design> MustMakeDesign(DesignKind kind, const Workload& w) {
  absl::StatusOr<std::unique_ptr<Design>> d = MakeDesign(kind, w);
  REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  return *std::move(d);
}

Report MustRun(Design& design, const Workload& w, const Faults& faults,
               std::vector<Outcome>* outcomes = nullptr) {
  absl::StatusOr<Report> r = RunDesign(design, w, faults, {}, outcomes);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  for (const std::string& v : r->violations) MESSAGE(v);
  return *std::move(r);
}

// The balances that exactly the committed transfers give: the test's own oracle, independent of
// the runner's.
std::vector<int64_t> Oracle(const Workload& w, const std::vector<Outcome>& outcomes) {
  std::vector<int64_t> b = w.initial_balances;
  for (const Transfer& t : w.transfers) {
    if (outcomes[t.id] != Outcome::kCommitted) continue;
    b[t.from] -= t.amount;
    b[t.to] += t.amount;
  }
  return b;
}

void CheckAgainstOracle(const Design& design, const Workload& w,
                        const std::vector<Outcome>& outcomes) {
  const std::vector<int64_t> oracle = Oracle(w, outcomes);
  int64_t total = 0;
  for (WalletId id = 0; id < oracle.size(); ++id) {
    CAPTURE(id);
    REQUIRE(design.balance(id) == oracle[id]);
    total += design.balance(id);
  }
  CHECK(total == w.total_money());
  for (Outcome o : outcomes) {
    CHECK((o == Outcome::kCommitted || o == Outcome::kRefused || o == Outcome::kAborted));
  }
}

constexpr DesignKind kAtomicDesigns[] = {DesignKind::kTwoPhaseCommit, DesignKind::kTcc,
                                         DesignKind::kSaga};

// Two wallets on different shards, and one more on the payer's shard.
struct Parties {
  WalletId payer = 0;
  WalletId payee = 0;
  WalletId neighbour = 0;  // on the payer's shard
};

Parties FindParties(const Workload& w) {
  Parties p{.payer = 100};
  for (WalletId id = 101; id < w.options.wallets; ++id) {
    if (p.payee == 0 && w.shard_of[id] != w.shard_of[p.payer]) p.payee = id;
    if (p.neighbour == 0 && w.shard_of[id] == w.shard_of[p.payer]) p.neighbour = id;
  }
  REQUIRE(p.payee != 0);
  REQUIRE(p.neighbour != 0);
  return p;
}

// ---------------------------------------------------------------------------------------------
// The workload and the shard map.

TEST_CASE("A workload is fixed by its seed, crosses shards as asked and includes overdrafts") {
  const Workload a = MustMake(Small(3));
  const Workload b = MustMake(Small(3));
  REQUIRE(a.transfers.size() == 3'000);
  uint64_t cross = 0;
  for (size_t i = 0; i < a.transfers.size(); ++i) {
    const Transfer& t = a.transfers[i];
    CHECK(t.id == i);
    CHECK(t.from != t.to);
    CHECK(t.amount > 0);
    CHECK(t.from == b.transfers[i].from);
    CHECK(t.to == b.transfers[i].to);
    CHECK(t.amount == b.transfers[i].amount);
    cross += a.IsCrossShard(t);
  }
  CHECK(cross == a.cross_shard);
  CHECK(cross > 700);  // 30% of 3,000, loosely
  CHECK(cross < 1100);
  CHECK(a.meant_to_overdraw > 80);
  CHECK(a.total_money() == 400 * 1'000);
}

TEST_CASE("A workload's options are checked, naming the bad value") {
  auto error = [](WorkloadOptions o) { return MakeWorkload(o).status(); };
  WorkloadOptions o = Small();
  o.wallets = 1;
  CHECK(absl::StrContains(error(o).message(), "wallets is 1"));
  o = Small();
  o.shards = 1;
  CHECK(absl::StrContains(error(o).message(), "shards is 1"));
  o = Small();
  o.cross_shard_fraction = 1.5;
  CHECK(absl::StrContains(error(o).message(), "cross_shard_fraction is 1.5"));
  o = Small();
  o.overdraw_fraction = -0.1;
  CHECK(error(o).code() == absl::StatusCode::kInvalidArgument);
  o = Small();
  o.hot_wallets = 300;
  CHECK(absl::StrContains(error(o).message(), "hot_wallets is 300"));
  o = Small();
  o.wallets = 3;
  o.shards = 8;
  o.hot_wallets = 0;
  CHECK(absl::StrContains(error(o).message(), "fewer than 2"));
  o = Small();
  o.transfers = 0;
  CHECK(error(o).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("The shard map routes every wallet by the hash slot of its key") {
  absl::StatusOr<ShardMap> map = ShardMap::Make(4);
  REQUIRE(map.ok());
  CHECK(map->slot_table().covers_all_slots());
  std::vector<int> per_shard(4);
  for (WalletId id = 0; id < 4'000; ++id) {
    char buffer[24];
    const std::string_view key = WalletKey(id, buffer);
    CHECK(key == base::Cat("wallet:", id));
    const uint32_t slot = shard::KeySlot(key);
    CHECK(map->ShardOf(id) == slot / 4096);  // four equal ranges of 4,096 slots
    ++per_shard[map->ShardOf(id)];
  }
  for (int n : per_shard) CHECK(n > 800);  // CRC16 spreads them evenly enough
  CHECK(!ShardMap::Make(0).ok());
  CHECK(!ShardMap::Make(kMaxShards + 1).ok());
}

// ---------------------------------------------------------------------------------------------
// Every design.

TEST_CASE("Without faults every design decides every transfer as the single node does") {
  const Workload w = MustMake(Small(5));
  std::vector<Outcome> reference;
  {
    SingleMapDesign single(w);
    const Report r = MustRun(single, w, {}, &reference);
    CHECK(r.invariants_held());
    CHECK(r.refused == w.meant_to_overdraw);
    CHECK(r.refused > 0);
    CheckAgainstOracle(single, w, reference);
  }
  for (DesignKind kind : kAllDesigns) {
    CAPTURE(DesignKindName(kind));
    std::unique_ptr<Design> design = MustMakeDesign(kind, w);
    std::vector<Outcome> outcomes;
    const Report r = MustRun(*design, w, {}, &outcomes);
    CHECK(r.ok());
    CHECK(r.invariants_held());
    CHECK(r.conserved);
    CHECK(r.no_negative);
    CHECK(r.all_or_nothing);
    CHECK(r.idempotent);
    CHECK(r.aborted == 0);
    CHECK(r.transfers_per_second > 0);
    CHECK(outcomes == reference);
    CheckAgainstOracle(*design, w, outcomes);
  }
}

TEST_CASE("The sharded store loses money after a crash between its updates, to the cent") {
  const Workload w = MustMake(Small(7));
  ShardedDesign design(w);
  std::vector<Outcome> outcomes;
  const Report r = MustRun(design, w, {.rate = 0.2, .seed = 11}, &outcomes);
  int64_t lost = 0;
  int64_t created = 0;
  uint64_t half = 0;
  uint64_t twice = 0;
  for (const Transfer& t : w.transfers) {
    if (outcomes[t.id] == Outcome::kHalfApplied) {
      ++half;
      lost += t.amount;
      CHECK(w.IsCrossShard(t));
    } else if (outcomes[t.id] == Outcome::kCreditedTwice) {
      ++twice;
      created += t.amount;
    }
  }
  CHECK(half > 10);
  CHECK(twice > 10);
  CHECK(r.broken == half + twice);
  CHECK(r.money_lost == lost);
  CHECK(r.money_created == created);
  CHECK(r.ok());  // the runner accounted for every cent
  CHECK(!r.invariants_held());
  CHECK(!r.conserved);
  CHECK(!r.all_or_nothing);
  CHECK(r.no_negative);
  REQUIRE(r.anomalies.size() == 1);
  CHECK(absl::StrContains(r.anomalies[0], "accounted for to the cent"));
  int64_t total = 0;
  for (WalletId id = 0; id < w.options.wallets; ++id) total += design.balance(id);
  CHECK(total == w.total_money() - lost + created);
}

TEST_CASE("Every fault point of 2PC, TC/C and saga recovers to what the committed transfers give") {
  const Workload w = MustMake(Small(9));
  for (DesignKind kind : kAtomicDesigns) {
    for (std::string_view point : FaultPointsOf(kind)) {
      for (uint64_t delay : {uint64_t{0}, uint64_t{40}}) {
        CAPTURE(DesignKindName(kind));
        CAPTURE(point);
        CAPTURE(delay);
        std::unique_ptr<Design> design = MustMakeDesign(kind, w);
        std::vector<Outcome> outcomes;
        const Report r = MustRun(*design, w,
                                 {.rate = 0.25,
                                  .seed = 13,
                                  .recovery_delay_transfers = delay,
                                  .points = {std::string(point)}},
                                 &outcomes);
        CHECK(r.ok());
        CHECK(r.invariants_held());
        CHECK(r.idempotent);
        CHECK(r.faults_injected > 50);
        CHECK(r.faults_injected ==
              r.faults_by_point[static_cast<size_t>(std::find(FaultPointsOf(kind).begin(),
                                                              FaultPointsOf(kind).end(), point) -
                                                    FaultPointsOf(kind).begin())]
                  .second);
        if (point.find("crash") != std::string_view::npos) {
          CHECK(r.recoveries > 0);
          CHECK(r.checks > r.recoveries / 2);  // a check after every Advance that recovered
        }
        CHECK(design->in_flight() == 0);
        CheckAgainstOracle(*design, w, outcomes);
      }
    }
  }
}

TEST_CASE("Randomized workloads and faults: every atomic design ends as its committed transfers") {
  const uint64_t seeds = keel::testing::TestRounds("KEEL_WALLET_DESIGN_SEEDS", 4);
  const uint64_t base_seed = keel::testing::TestSeed(2024);
  for (uint64_t s = 0; s < seeds; ++s) {
    const uint64_t seed = base_seed + s;
    CAPTURE(seed);
    base::Random rng(seed);
    WorkloadOptions o = Small(seed);
    o.wallets = static_cast<uint32_t>(rng.UniformInRange(100, 2'000));
    o.shards = static_cast<uint32_t>(rng.UniformInRange(2, 6));
    o.transfers = static_cast<uint64_t>(rng.UniformInRange(500, 4'000));
    o.cross_shard_fraction = rng.UniformDouble(0.0, 1.0);
    o.overdraw_fraction = rng.UniformDouble(0.0, 0.2);
    o.hot_wallets = static_cast<uint32_t>(rng.UniformInRange(0, 8));
    o.max_amount = rng.UniformInRange(1, 2'000);
    const Workload w = MustMake(o);
    const Faults faults{.rate = rng.UniformDouble(0.0, 0.5),
                        .seed = seed,
                        .recovery_delay_transfers = rng.Uniform(300)};
    for (DesignKind kind : kAtomicDesigns) {
      CAPTURE(DesignKindName(kind));
      std::unique_ptr<Design> design = MustMakeDesign(kind, w);
      std::vector<Outcome> outcomes;
      const Report r = MustRun(*design, w, faults, &outcomes);
      CHECK(r.ok());
      CHECK(r.invariants_held());
      CheckAgainstOracle(*design, w, outcomes);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Two-phase commit.

TEST_CASE("A 2PC participant votes, locks, and commits or aborts once") {
  const Workload w = MustMake(Small());
  std::vector<BalanceShard> shards = MakeBalanceShards(w);
  const Parties p = FindParties(w);
  TwoPcParticipant participant(std::move(shards[w.shard_of[p.payer]]));
  CHECK(participant.Prepare(1, 0, p.payer, -5'000) == Vote::kNoFunds);
  CHECK(participant.locks_held() == 0);
  CHECK(participant.Prepare(2, 0, p.payer, -400) == Vote::kYes);
  CHECK(participant.locked(p.payer));
  CHECK(participant.Prepare(3, 0, p.payer, 10) == Vote::kNoLocked);
  CHECK(participant.LocalTransfer({.id = 4, .from = p.neighbour, .to = p.payer, .amount = 1}) ==
        TwoPcParticipant::LocalResult::kBlocked);
  CHECK(participant.InDoubt(0) == std::vector<TxnId>{2});
  CHECK(participant.InDoubt(1).empty());
  CHECK(participant.balance(p.payer) == 1'000);  // prepared, not applied
  participant.Commit(2);
  participant.Commit(2);  // a duplicate
  CHECK(participant.balance(p.payer) == 600);
  CHECK(participant.locks_held() == 0);
  participant.Abort(2);  // too late, and harmless
  CHECK(participant.balance(p.payer) == 600);
  participant.FailNextPrepare();
  CHECK(participant.Prepare(5, 0, p.payer, 10) == Vote::kNoFailure);
  CHECK(participant.Prepare(6, 0, p.payer, 10) == Vote::kYes);
  participant.Abort(6);
  participant.Abort(6);
  CHECK(participant.balance(p.payer) == 600);
  CHECK(participant.locks_held() == 0);
}

TEST_CASE("A 2PC coordinator that crashes between the phases blocks its wallets until recovery") {
  const Workload w = MustMake(Small());
  const Parties p = FindParties(w);
  const Transfer t{.id = 0, .from = p.payer, .to = p.payee, .amount = 250};
  const Transfer blocked{.id = 1, .from = p.neighbour, .to = p.payer, .amount = 10};
  const Transfer after{.id = 2, .from = p.neighbour, .to = p.payer, .amount = 10};

  struct Case {
    int fault;
    Outcome recovered;
  };
  for (const Case c : {Case{TwoPcDesign::kCrashAfterPrepare, Outcome::kAborted},
                       Case{TwoPcDesign::kCrashAfterDecision, Outcome::kCommitted},
                       Case{TwoPcDesign::kCrashMidCommit, Outcome::kCommitted}}) {
    CAPTURE(c.fault);
    absl::StatusOr<std::unique_ptr<TwoPcDesign>> made = TwoPcDesign::Make(w);
    REQUIRE(made.ok());
    TwoPcDesign& d = **made;
    d.set_recovery_delay(1);  // down for one more transfer
    REQUIRE(d.Advance(0).ok());
    absl::StatusOr<Outcome> o = d.Execute(t, c.fault);
    REQUIRE(o.ok());
    CHECK(*o == Outcome::kPending);
    // In doubt: the payee's wallet is locked (and the payer's, unless it already committed).
    CHECK(d.participant(w.shard_of[p.payee]).locked(p.payee));
    CHECK(d.participant(w.shard_of[p.payer]).locked(p.payer) ==
          (c.fault != TwoPcDesign::kCrashMidCommit));
    REQUIRE(d.Advance(1).ok());
    CHECK(d.TakeResolved().empty());
    o = d.Execute(blocked, kNoFault);  // wants the payer's wallet
    REQUIRE(o.ok());
    CHECK(*o ==
          (c.fault == TwoPcDesign::kCrashMidCommit ? Outcome::kCommitted : Outcome::kAborted));
    REQUIRE(d.Advance(2).ok());  // the coordinator is back
    CHECK(d.recoveries() == 1);
    const auto resolved = d.TakeResolved();
    REQUIRE(resolved.size() == 1);
    CHECK(resolved[0].first == 0);
    CHECK(resolved[0].second == c.recovered);
    CHECK(d.locks_held() == 0);
    o = d.Execute(after, kNoFault);
    REQUIRE(o.ok());
    CHECK(*o == Outcome::kCommitted);
    const int64_t moved = c.recovered == Outcome::kCommitted ? 250 : 0;
    const int64_t neighbour_paid = c.fault == TwoPcDesign::kCrashMidCommit ? 20 : 10;
    CHECK(d.balance(p.payer) == 1'000 - moved + neighbour_paid);
    CHECK(d.balance(p.payee) == 1'000 + moved);
    CHECK(d.balance(p.neighbour) == 1'000 - neighbour_paid);
    Report report;
    d.Describe(report);
    CHECK(report.blocked == (c.fault == TwoPcDesign::kCrashMidCommit ? 0 : 1));
  }
}

TEST_CASE("2PC's in-doubt locks block transfers to hot wallets, and the report measures it") {
  WorkloadOptions o = Small(21);
  o.hot_fraction = 0.6;
  const Workload w = MustMake(o);
  std::unique_ptr<Design> design = MustMakeDesign(DesignKind::kTwoPhaseCommit, w);
  const Report r = MustRun(*design, w,
                           {.rate = 0.05,
                            .seed = 3,
                            .recovery_delay_transfers = 200,
                            .points = {"crash-after-prepare", "crash-after-decision"}});
  CHECK(r.ok());
  CHECK(r.blocked > 0);
  CHECK(r.aborted >= r.blocked);
  bool noted = false;
  for (const std::string& note : r.notes) noted |= absl::StrContains(note, "held their wallets");
  CHECK(noted);
}

// ---------------------------------------------------------------------------------------------
// TC/C.

TEST_CASE("A TC/C Cancel that arrives before its Try makes the Try a no-op") {
  const Workload w = MustMake(Small());
  const Parties p = FindParties(w);
  FundsInTransit funds;
  std::vector<BalanceShard> shards = MakeBalanceShards(w);
  TccParticipant payer(std::move(shards[w.shard_of[p.payer]]), &funds);
  using Try = TccParticipant::TryResult;

  payer.Cancel(7);  // the empty rollback
  CHECK(payer.TryDebit(7, p.payer, 100) == Try::kCancelled);
  CHECK(payer.balance(p.payer) == 1'000);
  CHECK(funds.in_flight() == 0);
  payer.Cancel(7);  // and again
  CHECK(payer.TryDebit(7, p.payer, 100) == Try::kCancelled);
  CHECK(payer.balance(p.payer) == 1'000);

  // A Try, repeated, deducts once; its Cancel, repeated, gives back once.
  CHECK(payer.TryDebit(8, p.payer, 100) == Try::kTried);
  CHECK(payer.TryDebit(8, p.payer, 100) == Try::kTried);
  CHECK(payer.balance(p.payer) == 900);
  CHECK(funds.in_flight() == 100);
  CHECK(funds.held(p.payer) == 100);
  payer.Cancel(8);
  payer.Cancel(8);
  CHECK(payer.balance(p.payer) == 1'000);
  CHECK(funds.in_flight() == 0);
  CHECK(funds.held(p.payer) == 0);
  CHECK(payer.TryDebit(8, p.payer, 100) == Try::kCancelled);

  // A refused Try stays refused, even once the balance would cover it.
  CHECK(payer.TryDebit(9, p.payer, 5'000) == Try::kNoFunds);
  CHECK(payer.TryDebit(9, p.payer, 5'000) == Try::kNoFunds);
  CHECK(payer.balance(p.payer) == 1'000);

  // Confirm, repeated, credits once.
  TccParticipant payee(std::move(shards[w.shard_of[p.payee]]), &funds);
  CHECK(payer.TryDebit(10, p.payer, 50) == Try::kTried);
  CHECK(payee.TryCredit(10, p.payee, 50) == Try::kTried);
  CHECK(payee.balance(p.payee) == 1'000);  // a Try reserves nothing on the credit side
  payee.Confirm(10);
  payee.Confirm(10);
  payer.Confirm(10);
  payer.Confirm(10);
  CHECK(payer.balance(p.payer) == 950);
  CHECK(payee.balance(p.payee) == 1'050);
  CHECK(funds.in_flight() == 0);
  CHECK(funds.held(p.payer) == 0);
}

TEST_CASE("Without the out-of-order guard a late TC/C Try deducts money for ever") {
  const Workload w = MustMake(Small(17));
  const Faults faults{
      .rate = 0.2, .seed = 5, .recovery_delay_transfers = 30, .points = {"try-delayed"}};
  TccDesign guarded(w, /*guard_out_of_order=*/true);
  const Report good = MustRun(guarded, w, faults);
  CHECK(good.ok());
  bool late = false;
  for (const std::string& note : good.notes) late |= absl::StrContains(note, "found the tombstone");
  CHECK(late);

  TccDesign naive(w, /*guard_out_of_order=*/false);
  const Report bad = MustRun(naive, w, faults);
  CHECK(!bad.ok());
  CHECK(!bad.all_or_nothing);
  REQUIRE(!bad.violations.empty());
  CHECK(absl::StrContains(bad.violations[0], "left in flight"));
}

TEST_CASE("A TC/C coordinator crash holds the payer's money, without locks, until recovery") {
  const Workload w = MustMake(Small());
  const Parties p = FindParties(w);
  TccDesign d(w);
  d.set_recovery_delay(5);
  REQUIRE(d.Advance(0).ok());
  absl::StatusOr<Outcome> o = d.Execute({.id = 0, .from = p.payer, .to = p.payee, .amount = 900},
                                        TccDesign::kCrashAfterTry);
  REQUIRE(o.ok());
  CHECK(*o == Outcome::kPending);
  CHECK(d.balance(p.payer) == 100);
  CHECK(d.in_flight() == 900);
  REQUIRE(d.Advance(1).ok());
  // Nothing is locked, but the payer cannot spend what the Try holds.
  o = d.Execute({.id = 1, .from = p.payer, .to = p.neighbour, .amount = 200}, kNoFault);
  REQUIRE(o.ok());
  CHECK(*o == Outcome::kRefused);
  o = d.Execute({.id = 2, .from = p.neighbour, .to = p.payer, .amount = 200}, kNoFault);
  REQUIRE(o.ok());
  CHECK(*o == Outcome::kCommitted);
  REQUIRE(d.Advance(6).ok());
  const auto resolved = d.TakeResolved();
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0] == std::pair<TxnId, Outcome>{0, Outcome::kAborted});
  CHECK(d.balance(p.payer) == 1'200);
  CHECK(d.in_flight() == 0);
  Report report;
  d.Describe(report);
  CHECK(report.refused_while_held == 1);
}

// ---------------------------------------------------------------------------------------------
// Saga.

struct SagaCase {
  int fault;
  Outcome outcome;
  std::vector<std::string> trace;
};

TEST_CASE("A saga compensates in reverse order, and its steps are idempotent across crashes") {
  const Workload w = MustMake(Small());
  const Parties p = FindParties(w);
  const Transfer t{.id = 0, .from = p.payer, .to = p.payee, .amount = 300};
  const std::vector<SagaCase> cases = {
      {kNoFault, Outcome::kCommitted, {"debit t0", "credit t0"}},
      {SagaDesign::kCreditFails, Outcome::kAborted, {"debit t0", "credit t0", "undo-debit t0"}},
      {SagaDesign::kCreditAnswersLost,
       Outcome::kAborted,
       {"debit t0", "credit t0", "credit t0", "credit t0", "undo-credit t0", "undo-debit t0"}},
      {SagaDesign::kDebitAnswerLost, Outcome::kCommitted, {"debit t0", "debit t0", "credit t0"}},
      {SagaDesign::kCrashInStep, Outcome::kPending, {"debit t0", "debit t0", "credit t0"}},
      {SagaDesign::kCrashBetweenSteps, Outcome::kPending, {"debit t0", "credit t0"}},
  };
  for (const SagaCase& c : cases) {
    CAPTURE(c.fault);
    absl::StatusOr<std::unique_ptr<SagaDesign>> made = SagaDesign::Make(w);
    REQUIRE(made.ok());
    SagaDesign& d = **made;
    std::vector<std::string> trace;
    d.set_trace(&trace);
    d.set_recovery_delay(0);
    REQUIRE(d.Advance(0).ok());
    absl::StatusOr<Outcome> o = d.Execute(t, c.fault);
    REQUIRE_MESSAGE(o.ok(), o.status().ToString());
    CHECK(*o == c.outcome);
    Outcome final_outcome = *o;
    if (*o == Outcome::kPending) {
      CHECK(d.in_flight() == 300);  // debited, not credited: held while the orchestrator is down
      REQUIRE(d.Advance(1).ok());
      const auto resolved = d.TakeResolved();
      REQUIRE(resolved.size() == 1);
      final_outcome = resolved[0].second;
      CHECK(final_outcome == Outcome::kCommitted);
    }
    CHECK(trace == c.trace);
    const int64_t moved = final_outcome == Outcome::kCommitted ? 300 : 0;
    CHECK(d.balance(p.payer) == 1'000 - moved);
    CHECK(d.balance(p.payee) == 1'000 + moved);
    CHECK(d.in_flight() == 0);
    // Every request again changes nothing.
    REQUIRE(d.Redeliver(t, final_outcome).ok());
    CHECK(d.balance(p.payer) == 1'000 - moved);
    CHECK(d.balance(p.payee) == 1'000 + moved);
  }
}

TEST_CASE("A saga participant refuses an action that comes after its compensation") {
  const Workload w = MustMake(Small());
  const Parties p = FindParties(w);
  FundsInTransit funds;
  std::vector<BalanceShard> shards = MakeBalanceShards(w);
  SagaParticipant payer(std::move(shards[w.shard_of[p.payer]]), &funds);
  SagaParticipant payee(std::move(shards[w.shard_of[p.payee]]), &funds);
  using Answer = SagaParticipant::Answer;
  CHECK(payer.UndoDebit(1) == Answer::kDone);  // never debited: a tombstone
  CHECK(payer.Debit(1, p.payer, 10) == Answer::kCancelled);
  CHECK(payer.balance(p.payer) == 1'000);
  CHECK(payer.Debit(2, p.payer, 10) == Answer::kDone);
  CHECK(payer.Debit(2, p.payer, 10) == Answer::kDone);
  CHECK(payer.balance(p.payer) == 990);
  CHECK(payee.Credit(2, p.payee, 10) == Answer::kDone);
  CHECK(payee.Credit(2, p.payee, 10) == Answer::kDone);
  CHECK(payee.balance(p.payee) == 1'010);
  // The payee spends the credit: taking it back must wait.
  CHECK(payee.Debit(3, p.payee, 1'005) == Answer::kDone);
  CHECK(payee.UndoCredit(2) == Answer::kNoFunds);
  CHECK(payee.balance(p.payee) == 5);
}

// ---------------------------------------------------------------------------------------------
// The entry point.

TEST_CASE("RunAll reports every design, and refuses fault points no design has") {
  WorkloadOptions o = Small(31);
  o.transfers = 1'500;
  const Workload w = MustMake(o);
  absl::StatusOr<std::vector<Report>> reports =
      RunAll(w, {.rate = 0.05, .seed = 2, .recovery_delay_transfers = 20});
  REQUIRE_MESSAGE(reports.ok(), reports.status().ToString());
  REQUIRE(reports->size() == std::size(kAllDesigns));
  for (const Report& r : *reports) {
    CAPTURE(r.design);
    CHECK(r.ok());
    CHECK(r.transfers == 1'500);
    CHECK(r.committed + r.refused + r.aborted + r.broken == r.transfers);
  }
  CHECK(!(*reports)[1].invariants_held());  // the sharded store broke transfers
  const std::string table = FormatReports(*reports);
  MESSAGE("\n", table);
  for (std::string_view name :
       {"single node", "sharded in memory", "two-phase commit", "TC/C", "saga"}) {
    CHECK(table.find(name) != std::string::npos);
  }
  CHECK(absl::StrContains(table, "no (by design)"));

  absl::Status bad = RunAll(w, {.rate = 0.1, .points = {"crash-after-lunch"}}).status();
  CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad.message(), "crash-after-lunch"));
  bad = RunAll(w, {.rate = 1.5}).status();
  CHECK(absl::StrContains(bad.message(), "fault rate is 1.5"));
  CHECK(ParseDesignKind("2pc").value() == DesignKind::kTwoPhaseCommit);
  CHECK(OutcomeName(Outcome::kHalfApplied) == "half-applied");
  CHECK(absl::StrContains(ParseDesignKind("3pc").status().message(), "\"3pc\""));
}

}  // namespace
}  // namespace keel::examples::wallet::designs
