// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The randomized differential test: random batches applied to keel::ledger::Ledger and to the
// reference model (reference_model.h) through Twin (ledger_testing.h), which compares every
// result list, every account, every transfer and pending status of every id used, stats(),
// NextExpiry(), each history account's balances, and both CheckInvariants() after every step.
//
// The batches are built to reach the corners: small id spaces, so that ids collide (exists and
// its variants), linked chains break and pending transfers get posted, voided and expired often;
// every flag combination including the unsupported bits; amounts of 0, small, near 2^127 and near
// 2^128 - 1; balance limits; timeouts of a few seconds with the clock jumping past them, explicit
// ExpirePendingTransfers calls, and runs whose clock starts late enough for the longest timeouts
// to pass 2^63 - 1; bad timestamps; limits on accounts and transfers that refuse batches; and
// random GetAccountBalances filters, valid or not.
//
// Seeds are fixed and printed (KEEL_TEST_SEED replays one); KEEL_LEDGER_STEPS sets the steps per
// seed (the default keeps the test to about a second in Release).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "keel/base/random.h"
#include "keel/ledger/ledger.h"
#include "keel/ledger/results.h"
#include "keel/wal/memory_file_system.h"
#include "ledger/ledger_testing.h"
#include "ledger/reference_model.h"
#include "testing/testing.h"

namespace keel::ledger::testing {
namespace {

using AF = AccountFlags;
using TF = TransferFlags;
constexpr Uint128 kMax = kMaxUint128;
constexpr uint64_t kSecond = 1'000'000'000;

// How a run is shaped; each seed draws one.
struct Profile {
  uint64_t start_timestamp = kSecond;
  uint32_t account_ids = 8;  // accounts 1..account_ids (plus 0, 2^128 - 1 and a missing one)
  double fresh_ids = 0.5;    // the share of transfers with an id never used before
  bool big_amounts = false;  // amounts near 2^127 and 2^128 - 1 more often
  LedgerOptions options;     // sometimes small enough for batches to be refused
  int id_shape = 0;          // how ids look: small numbers, high bits only, scattered, near 2^128
};

// The shape of the run for a seed, drawn from its own stream.
Profile DrawProfile(uint64_t seed) {
  base::Random rng(seed, /*stream=*/1);
  Profile profile;
  // Late enough for a timeout of 2^32 - 1 s to pass 2^63 - 1 ns (overflows_timeout).
  if (rng.Bernoulli(0.3)) profile.start_timestamp = 5'000'000'000'000'000'000;
  profile.account_ids = static_cast<uint32_t>(4 + rng.Uniform(7));
  profile.fresh_ids = 0.3 + 0.4 * rng.UniformDouble();
  profile.big_amounts = rng.Bernoulli(0.4);
  profile.id_shape = static_cast<int>(rng.Uniform(4));
  if (rng.Bernoulli(0.25)) {
    profile.options.max_accounts = 2 + rng.Uniform(profile.account_ids);
    profile.options.max_transfers = 300 + rng.Uniform(1000);
  }
  return profile;
}

class Generator {
 public:
  Generator(const Profile& profile, uint64_t seed, Twin& twin)
      : rng_(seed), twin_(twin), profile_(profile) {}

  base::Random& rng() { return rng_; }

  // A uniform integer in [lo, hi].
  uint64_t Between(uint64_t lo, uint64_t hi) { return lo + rng_.Uniform(hi - lo + 1); }

  std::vector<Account> AccountBatch() {
    std::vector<Account> batch(BatchSize());
    for (Account& a : batch) a = RandomAccount();
    return batch;
  }

  std::vector<Transfer> TransferBatch() {
    std::vector<Transfer> batch(BatchSize());
    for (Transfer& t : batch) t = RandomTransfer();
    return batch;
  }

  AccountFilter RandomFilter() {
    AccountFilter f;
    f.account_id = AccountId();
    if (rng_.Bernoulli(0.2)) f.user_data_128 = rng_.Uniform(3);
    if (rng_.Bernoulli(0.2)) f.user_data_64 = rng_.Uniform(3);
    if (rng_.Bernoulli(0.2)) f.user_data_32 = static_cast<uint32_t>(rng_.Uniform(3));
    if (rng_.Bernoulli(0.2)) f.code = static_cast<uint16_t>(rng_.Uniform(3));
    const uint64_t now = twin_.now();
    const uint64_t span = 20 * kSecond;
    auto around_now = [&] { return now - std::min(now - 1, rng_.Uniform(span)); };
    if (rng_.Bernoulli(0.3)) f.timestamp_min = around_now();
    if (rng_.Bernoulli(0.3)) f.timestamp_max = around_now();
    if (rng_.Bernoulli(0.02)) f.timestamp_max = kTimestampMax + 1;
    f.limit = static_cast<uint32_t>(rng_.Bernoulli(0.05) ? 0 : Between(1, 12));
    f.flags = static_cast<uint32_t>(rng_.Uniform(8));
    if (rng_.Bernoulli(0.03)) f.flags |= 1u << Between(3, 31);
    return f;
  }

 private:
  size_t BatchSize() {
    if (rng_.Bernoulli(0.02)) return 0;
    if (rng_.Bernoulli(0.1)) return Between(9, 24);
    return Between(1, 8);
  }

  // One of the last 64 of `items` (not empty).
  template <typename T>
  T Recent(const std::vector<T>& items) {
    return items[items.size() - 1 - rng_.Uniform(std::min<size_t>(items.size(), 64))];
  }

  // Ids are numbered from 1 and then shaped (Profile::id_shape): the ledger's id index must not
  // care how they look.
  Uint128 Shape(uint64_t k) const {
    switch (profile_.id_shape) {
      case 1:
        return Uint128(k) << 64;  // the low 64 bits all zero
      case 2:
        return Uint128(k) * absl::MakeUint128(0x9e3779b97f4a7c15, 0xf39cc0605cedc835);  // odd
      case 3:
        return kMax - k;
      default:
        return k;
    }
  }

  Uint128 AccountId() {
    if (rng_.Bernoulli(0.02)) return 0;
    if (rng_.Bernoulli(0.02)) return kMax;
    return Shape(Between(1, profile_.account_ids + 1));  // the last one is rarely created
  }

  // A fresh id, or one of the last 32 handed out: ids collide often (exists, id_already_failed)
  // while new transfers keep coming.
  Uint128 TransferId() {
    if (rng_.Bernoulli(0.015)) return 0;
    if (rng_.Bernoulli(0.01)) return kMax;
    if (next_transfer_id_ == 1 || rng_.Bernoulli(profile_.fresh_ids)) {
      return Shape(next_transfer_id_++);
    }
    return Shape(next_transfer_id_ - 1 -
                 rng_.Uniform(std::min<uint64_t>(next_transfer_id_ - 1, 32)));
  }

  Uint128 Amount() {
    const Uint128 half = Uint128(1) << 127;
    const double big = profile_.big_amounts ? 0.3 : 0.08;
    if (rng_.Bernoulli(0.1)) return 0;
    if (rng_.Bernoulli(0.08)) return kMax;
    if (rng_.Bernoulli(big)) {
      switch (rng_.Uniform(4)) {
        case 0:
          return kMax - rng_.Uniform(4);
        case 1:
          return half + rng_.Uniform(3) - 1;
        case 2:
          return half / 2 + rng_.Uniform(3);
        default:
          return absl::MakeUint128(rng_.Next(), rng_.Next());
      }
    }
    if (rng_.Bernoulli(0.6)) return Between(1, 10);
    return Between(1, 1000);
  }

  uint32_t SmallUserData() {
    return rng_.Bernoulli(0.7) ? 0 : static_cast<uint32_t>(rng_.Uniform(3));
  }

  uint16_t UnsupportedBit(uint16_t first_bit) {
    return static_cast<uint16_t>(1u << Between(first_bit, 15));
  }

  Account RandomAccount() {
    if (!accounts_.empty() && rng_.Bernoulli(0.15)) {
      Account again = Recent(accounts_);
      if (rng_.Bernoulli(0.3)) again.flags ^= AF::kLinked;
      if (rng_.Bernoulli(0.2)) again.user_data_32 ^= 1;
      return again;
    }
    Account a;
    // The last account id is created rarely, so that not-found stays reachable.
    a.id = AccountId();
    if (a.id == Shape(profile_.account_ids + 1) && rng_.Bernoulli(0.9)) a.id = Shape(1);
    a.ledger = rng_.Bernoulli(0.05) ? 0 : (rng_.Bernoulli(0.15) ? 2 : 1);
    a.code = static_cast<uint16_t>(rng_.Bernoulli(0.05) ? 0 : (rng_.Bernoulli(0.1) ? 2 : 1));
    if (rng_.Bernoulli(0.2)) a.flags |= AF::kLinked;
    if (rng_.Bernoulli(0.25)) a.flags |= AF::kDebitsMustNotExceedCredits;
    if (rng_.Bernoulli(0.25)) a.flags |= AF::kCreditsMustNotExceedDebits;
    if (rng_.Bernoulli(0.5)) a.flags |= AF::kHistory;
    if (rng_.Bernoulli(0.03)) a.flags |= UnsupportedBit(4);
    a.user_data_128 = SmallUserData();
    a.user_data_64 = SmallUserData();
    a.user_data_32 = SmallUserData();
    if (rng_.Bernoulli(0.02)) a.reserved = 1;
    if (rng_.Bernoulli(0.02)) a.debits_pending = 1;
    if (rng_.Bernoulli(0.02)) a.debits_posted = 1;
    if (rng_.Bernoulli(0.02)) a.credits_pending = 1;
    if (rng_.Bernoulli(0.02)) a.credits_posted = 1;
    if (rng_.Bernoulli(0.02)) a.timestamp = Between(1, 1000);
    accounts_.push_back(a);
    return a;
  }

  Transfer RandomTransfer() {
    Transfer t;
    if (!transfers_.empty() && rng_.Bernoulli(0.15)) {
      t = Recent(transfers_);  // a retry, sometimes changed
      if (rng_.Bernoulli(0.2)) t.flags ^= TF::kLinked;
      if (rng_.Bernoulli(0.15)) t.amount = Amount();
      if (rng_.Bernoulli(0.1)) t.user_data_64 ^= 1;
      return t;
    }
    t = rng_.Bernoulli(0.3) ? RandomPostOrVoid() : RandomSinglePhase();
    if ((t.flags & TF::kPending) != 0) pending_ids_.push_back(t.id);
    if (rng_.Bernoulli(0.25)) t.flags |= TF::kLinked;
    if (rng_.Bernoulli(0.03)) t.flags |= UnsupportedBit(6);
    if (rng_.Bernoulli(0.01)) t.timestamp = Between(1, 1000);
    transfers_.push_back(t);
    return t;
  }

  Transfer RandomSinglePhase() {
    Transfer t;
    t.id = TransferId();
    t.debit_account_id = AccountId();
    t.credit_account_id = rng_.Bernoulli(0.04) ? t.debit_account_id : AccountId();
    t.amount = Amount();
    if (rng_.Bernoulli(0.03)) t.pending_id = TransferId();
    t.user_data_128 = SmallUserData();
    t.user_data_64 = SmallUserData();
    t.user_data_32 = SmallUserData();
    t.ledger = rng_.Bernoulli(0.04) ? 0 : (rng_.Bernoulli(0.08) ? 2 : 1);
    t.code = static_cast<uint16_t>(rng_.Bernoulli(0.04) ? 0 : (rng_.Bernoulli(0.1) ? 2 : 1));
    if (rng_.Bernoulli(0.4)) t.flags |= TF::kPending;
    if (rng_.Bernoulli(0.15)) t.flags |= TF::kBalancingDebit;
    if (rng_.Bernoulli(0.15)) t.flags |= TF::kBalancingCredit;
    const bool pending = (t.flags & TF::kPending) != 0;
    if (pending ? rng_.Bernoulli(0.6) : rng_.Bernoulli(0.04)) {
      const uint64_t pick = rng_.Uniform(20);
      t.timeout = pick < 17   ? static_cast<uint32_t>(Between(1, 3))
                  : pick < 19 ? UINT32_MAX - static_cast<uint32_t>(rng_.Uniform(2))
                              : static_cast<uint32_t>(rng_.Next());
    }
    return t;
  }

  Transfer RandomPostOrVoid() {
    Transfer t;
    t.id = TransferId();
    const bool post = rng_.Bernoulli(0.55);
    t.flags = post ? TF::kPostPendingTransfer : TF::kVoidPendingTransfer;
    if (rng_.Bernoulli(0.05)) {
      static constexpr uint16_t kConflicts[] = {
          TF::kPending, TF::kBalancingDebit, TF::kBalancingCredit,
          TF::kPostPendingTransfer | TF::kVoidPendingTransfer};
      t.flags |= kConflicts[rng_.Uniform(4)];
    }
    // Mostly one of the recent pending transfers that is still pending, as the model sees it;
    // else any recent transfer (posted, voided, expired, single-phase, failed or none).
    std::optional<Transfer> p;
    const double pick = rng_.UniformDouble();
    for (int tries = 0; tries < 8 && pick < 0.7 && !pending_ids_.empty(); ++tries) {
      const Uint128 id = Recent(pending_ids_);
      if (twin_.model().PendingStatusOf(id) == PendingStatus::kPending) {
        p = twin_.model().LookupTransfer(id);
        break;
      }
    }
    if (!p.has_value() && pick >= 0.7 && pick < 0.9) p = twin_.model().LookupTransfer(TransferId());

    if (p.has_value()) {
      t.pending_id = p->id;
    } else {
      const uint64_t odd = rng_.Uniform(10);
      t.pending_id = odd == 0 ? Uint128(0) : odd == 1 ? kMax : odd == 2 ? t.id : TransferId();
    }
    const Uint128 p_amount = p.has_value() ? p->amount : Amount();
    if (post) {
      const uint64_t how = rng_.Uniform(10);
      t.amount = how < 3   ? kMax
                 : how < 4 ? Uint128(0)
                 : how < 6 ? p_amount
                 : how < 7 ? p_amount - std::min(p_amount, Uint128(rng_.Uniform(3)))
                 : how < 8 ? (p_amount == 0 ? Uint128(0) : Uint128(rng_.Next()) % p_amount)
                 : how < 9 ? p_amount + 1
                           : Amount();
    } else {
      const uint64_t how = rng_.Uniform(10);
      t.amount = how < 5 ? Uint128(0) : how < 8 ? p_amount : Amount();
    }
    if (p.has_value() && rng_.Bernoulli(0.2)) {
      t.debit_account_id = p->debit_account_id;
      t.credit_account_id = p->credit_account_id;
      t.ledger = p->ledger;
      t.code = p->code;
    }
    if (rng_.Bernoulli(0.08)) t.debit_account_id = AccountId();
    if (rng_.Bernoulli(0.08)) t.credit_account_id = AccountId();
    if (rng_.Bernoulli(0.05)) t.ledger = 2;
    if (rng_.Bernoulli(0.05)) t.code = 2;
    if (rng_.Bernoulli(0.03)) t.timeout = 1;
    t.user_data_128 = SmallUserData();
    t.user_data_64 = SmallUserData();
    t.user_data_32 = SmallUserData();
    return t;
  }

  base::Random rng_;
  Twin& twin_;
  Profile profile_;
  std::vector<Account> accounts_;     // submitted, for retries
  std::vector<Transfer> transfers_;   // submitted, for retries
  std::vector<Uint128> pending_ids_;  // submitted with the pending flag
  uint64_t next_transfer_id_ = 1;
};

// One step as text, for the log printed when the two differ.
std::string Step(const char* what, uint64_t timestamp, const std::string& detail) {
  return absl::StrCat(what, " @", timestamp, " ", detail);
}

// Counts how often each result came up over a run, to check the generator reaches the corners.
struct Coverage {
  std::map<std::string, uint64_t> counts;

  void Add(absl::StatusCode code, const std::string& results) {
    if (code != absl::StatusCode::kOk) ++counts[absl::StatusCodeToString(code)];
    const std::vector<std::string> parts = absl::StrSplit(results, ' ', absl::SkipEmpty());
    for (const std::string& part : parts) ++counts[part.substr(part.find(':') + 1)];
  }
};

// Runs `steps` random steps; returns false when the two differed (the test case has failed).
bool Run(uint64_t seed, uint64_t steps, Coverage& coverage, uint64_t& expired) {
  const Profile profile = DrawProfile(seed);
  Twin twin(profile.options, profile.start_timestamp);
  twin.set_full_check_period(50);
  // Every batch also goes through event sourcing: a DurableLedger on a file system in memory,
  // reopened now and then (from its events, or from a snapshot and the events after it).
  wal::MemoryFileSystem fs;
  twin.EnableDurable(fs, "/ledger");
  Generator gen(profile, seed, twin);
  base::Random& rng = gen.rng();
  std::deque<std::string> log;  // the last steps, printed on a difference
  auto remember = [&](std::string step) {
    log.push_back(std::move(step));
    if (log.size() > 40) log.pop_front();
  };
  for (uint64_t step = 0; step < steps && !twin.diverged(); ++step) {
    CAPTURE(step);
    // Gaps: most batches follow each other, some jump past the timeouts.
    const uint64_t gap = rng.Bernoulli(0.5)   ? 0
                         : rng.Bernoulli(0.6) ? gen.Between(1, 1000)
                                              : gen.Between(kSecond / 3, 3 * kSecond / 2);
    const double what = rng.UniformDouble();
    if (step % 97 == 96) twin.ReopenDurable(/*snapshot_first=*/rng.Bernoulli(0.5));
    if (what < 0.08) {
      uint64_t timestamp = twin.now() + 1 + gap;
      const std::optional<uint64_t> next_expiry = twin.model().NextExpiry();
      if (next_expiry.has_value() && *next_expiry > twin.now() + 1 && rng.Bernoulli(0.3)) {
        timestamp = *next_expiry - rng.Uniform(2);  // at the expiry or just before it
      }
      remember(Step("ExpirePendingTransfers", timestamp, ""));
      (void)twin.ExpireAt(timestamp);
    } else if (what < 0.14) {
      const AccountFilter filter = gen.RandomFilter();
      remember(Step("GetAccountBalances", twin.now(), Describe(filter)));
      (void)twin.BalancesStatus(filter);
    } else if (what < (step < 20 ? 0.7 : 0.24)) {
      const std::vector<Account> batch = gen.AccountBatch();
      uint64_t timestamp = twin.now() + std::max<uint64_t>(batch.size(), 1) + gap;
      if (rng.Bernoulli(0.02) && twin.now() > 0) timestamp = twin.now() - rng.Uniform(2);
      std::string results;
      remember(Step("CreateAccounts", timestamp, Describe(batch)));
      coverage.Add(twin.AccountsAt(batch, timestamp, &results), results);
    } else {
      const std::vector<Transfer> batch = gen.TransferBatch();
      uint64_t timestamp = twin.now() + std::max<uint64_t>(batch.size(), 1) + gap;
      // Sometimes an event lands exactly on the next expiry, or one nanosecond before it.
      const std::optional<uint64_t> next_expiry = twin.model().NextExpiry();
      if (next_expiry.has_value() && !batch.empty() && rng.Bernoulli(0.15)) {
        const uint64_t target = *next_expiry - rng.Uniform(2) + rng.Uniform(batch.size());
        if (target > twin.now() + batch.size()) timestamp = target;
      }
      if (rng.Bernoulli(0.02)) timestamp = twin.now() + batch.size() - 1;  // reuses the last one
      std::string results;
      remember(Step("CreateTransfers", timestamp, Describe(batch)));
      coverage.Add(twin.TransfersAt(batch, timestamp, &results), results);
    }
  }
  twin.ReopenDurable(/*snapshot_first=*/false);
  twin.CheckSame();
  expired += twin.ledger().stats().expired;
  if (twin.diverged()) {
    MESSAGE("seed ", seed, ": the last steps before the difference:\n", absl::StrJoin(log, "\n"));
    return false;
  }
  return true;
}

TEST_CASE("Ledger agrees with the reference model on random batches") {
  // The cost of a step grows with the ledger (the model copies its whole state for each linked
  // chain), so many short runs rather than a few long ones.
  const uint64_t steps = keel::testing::TestRounds("KEEL_LEDGER_STEPS", 700);
  const uint64_t first_seed = keel::testing::TestSeed(1501);
  Coverage coverage;
  uint64_t expired = 0;
  for (uint64_t seed = first_seed; seed < first_seed + 16; ++seed) {
    CAPTURE(seed);
    if (!Run(seed, steps, coverage, expired)) break;
  }
  // The generator reaches the corners it is built for (with the default step count).
  if (steps >= 700) {
    for (const char* name : {"linked_event_failed",
                             "linked_event_chain_open",
                             "timestamp_must_be_zero",
                             "reserved_flag",
                             "id_must_not_be_zero",
                             "exists",
                             "exists_with_different_flags",
                             "exists_with_different_amount",
                             "id_already_failed",
                             "flags_are_mutually_exclusive",
                             "accounts_must_be_different",
                             "debit_account_not_found",
                             "credit_account_not_found",
                             "accounts_must_have_the_same_ledger",
                             "pending_transfer_not_found",
                             "pending_transfer_not_pending",
                             "exceeds_pending_transfer_amount",
                             "pending_transfer_has_different_amount",
                             "pending_transfer_already_posted",
                             "pending_transfer_already_voided",
                             "pending_transfer_expired",
                             "overflows_debits_pending",
                             "overflows_debits_posted",
                             "overflows_credits_posted",
                             "overflows_debits",
                             "overflows_timeout",
                             "exceeds_credits",
                             "exceeds_debits",
                             "INVALID_ARGUMENT",
                             "RESOURCE_EXHAUSTED"}) {
      CHECK_MESSAGE(coverage.counts[name] > 0, name, " never came up");
    }
    CHECK(expired > 0);
  }
}

}  // namespace
}  // namespace keel::ledger::testing
