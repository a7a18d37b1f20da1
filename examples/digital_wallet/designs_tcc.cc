// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/designs_tcc.h"

#include <algorithm>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::examples::wallet::designs {
namespace {

constexpr std::string_view kTccFaults[] = {"try-fails",
                                           "try-delayed",
                                           "crash-after-try",
                                           "crash-after-decision",
                                           "crash-mid-second-phase",
                                           "duplicate-second-phase"};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Participant. Each method is one local transaction of the shard's database: the balance and the
// branch (or record) that says what happened change together or not at all.

bool TccParticipant::LocalTransfer(const Transfer& t) {
  return shard_.Transfer(t.from, t.to, t.amount);
}

TccParticipant::TryResult TccParticipant::Repeat(const Branch& branch) {
  switch (branch.state) {
    case BranchState::kTried:
    case BranchState::kConfirmed:
      return TryResult::kTried;
    case BranchState::kNoFunds:
      return TryResult::kNoFunds;
    case BranchState::kCancelled:
      return TryResult::kCancelled;
  }
  KEEL_ASSERT(false, "unknown branch state");
  return TryResult::kCancelled;
}

TccParticipant::TryResult TccParticipant::TryDebit(TxnId txn, WalletId wallet, int64_t amount) {
  if (auto it = branches_.find(txn); it != branches_.end()) return Repeat(it->second);
  if (std::exchange(fail_next_try_, false)) return TryResult::kRejected;
  Branch branch{.debit = true, .wallet = wallet, .amount = amount};
  if (!shard_.Debit(wallet, amount)) {
    // Remembered, so that a repeat gets the same answer even if the balance has grown since.
    branch.state = BranchState::kNoFunds;
    branches_.emplace(txn, branch);
    return TryResult::kNoFunds;
  }
  funds_->Take(wallet, amount);
  branches_.emplace(txn, branch);
  return TryResult::kTried;
}

TccParticipant::TryResult TccParticipant::TryCredit(TxnId txn, WalletId wallet, int64_t amount) {
  if (auto it = branches_.find(txn); it != branches_.end()) return Repeat(it->second);
  if (std::exchange(fail_next_try_, false)) return TryResult::kRejected;
  // A credit reserves nothing: the Try only checks the wallet is here and records the branch.
  KEEL_ASSERT(shard_.Has(wallet), "wallet routed to the wrong shard");
  branches_.emplace(txn, Branch{.debit = false, .wallet = wallet, .amount = amount});
  return TryResult::kTried;
}

void TccParticipant::Confirm(TxnId txn) {
  auto it = branches_.find(txn);
  KEEL_ASSERT(it != branches_.end(), "Confirm of a transaction never tried here");
  Branch& branch = it->second;
  if (branch.state == BranchState::kConfirmed) return;  // a repeat
  KEEL_ASSERT(branch.state == BranchState::kTried, "Confirm of a transaction not tried here");
  if (branch.debit) {
    funds_->Release(branch.wallet, branch.amount);  // the payer's part is done
  } else {
    shard_.Credit(branch.wallet, branch.amount);
    funds_->Deliver(branch.amount);
  }
  branch.state = BranchState::kConfirmed;
}

void TccParticipant::Cancel(TxnId txn) {
  auto it = branches_.find(txn);
  if (it == branches_.end()) {
    // The empty rollback: the Try has not arrived (and may never). The tombstone makes it a
    // no-op if it does.
    if (guard_out_of_order_) branches_.emplace(txn, Branch{.state = BranchState::kCancelled});
    return;
  }
  Branch& branch = it->second;
  KEEL_ASSERT(branch.state != BranchState::kConfirmed, "Cancel of a confirmed transaction");
  if (branch.state == BranchState::kTried && branch.debit) {
    shard_.Credit(branch.wallet, branch.amount);  // the reverse operation
    funds_->Return(branch.amount);
    funds_->Release(branch.wallet, branch.amount);
  }
  branch.state = BranchState::kCancelled;
}

void TccParticipant::BeginRecord(const Transfer& t, uint32_t coordinator) {
  const bool inserted =
      records_.emplace(t.id, Record{.transfer = t, .coordinator = coordinator}).second;
  KEEL_ASSERT(inserted, "a transaction id used twice");
}

void TccParticipant::Decide(TxnId txn, bool confirm, bool refused) {
  auto it = records_.find(txn);
  KEEL_ASSERT(it != records_.end() && it->second.status == Status::kTrying);
  it->second.status = confirm ? Status::kConfirming : Status::kCancelling;
  it->second.refused = refused;
}

void TccParticipant::EndRecord(TxnId txn) { records_.erase(txn); }

std::vector<TccParticipant::Record> TccParticipant::Unfinished(uint32_t coordinator) const {
  std::vector<Record> out;
  for (const auto& [txn, record] : records_) {
    if (record.coordinator == coordinator) out.push_back(record);
  }
  std::sort(out.begin(), out.end(),
            [](const Record& a, const Record& b) { return a.transfer.id < b.transfer.id; });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The design: the wallet service as the TC/C coordinator.

TccDesign::TccDesign(const Workload& workload, bool guard_out_of_order)
    : shard_map_(workload.shard_map) {
  for (BalanceShard& shard : MakeBalanceShards(workload)) {
    participants_.emplace_back(std::move(shard), &funds_, guard_out_of_order);
  }
}

std::string_view TccDesign::guarantee() const {
  return "atomic across shards without locks: each phase its own local transaction, idempotent "
         "and safe out of order; the deducted money is invisible until Confirm or Cancel";
}

std::span<const std::string_view> TccDesign::Points() { return kTccFaults; }

void TccDesign::CountRefusal(const Transfer& t) {
  if (balance(t.from) + funds_.held(t.from) >= t.amount) ++refused_while_held_;
}

Outcome TccDesign::Crash(const Transfer& /*t*/) {
  // The coordinator keeps nothing in memory that recovery needs: its state is the phase status
  // table. The service goes on with a new one.
  crashed_.Add(generation_, due_index());
  ++generation_;
  return Outcome::kPending;
}

void TccDesign::SecondPhase(const Transfer& t, bool confirm, bool crash_between, bool duplicate) {
  TccParticipant& payer = participants_[shard_map_.ShardOf(t.from)];
  TccParticipant& payee = participants_[shard_map_.ShardOf(t.to)];
  // Confirm gives the payee the money first; Cancel gives it back to the payer first.
  TccParticipant& first = confirm ? payee : payer;
  TccParticipant& second = confirm ? payer : payee;
  for (int i = duplicate ? 2 : 1; i > 0; --i) confirm ? first.Confirm(t.id) : first.Cancel(t.id);
  if (crash_between) return;
  for (int i = duplicate ? 2 : 1; i > 0; --i) confirm ? second.Confirm(t.id) : second.Cancel(t.id);
  payer.EndRecord(t.id);
}

absl::StatusOr<Outcome> TccDesign::Execute(const Transfer& t, int fault) {
  const uint32_t x = shard_map_.ShardOf(t.from);
  const uint32_t y = shard_map_.ShardOf(t.to);
  TccParticipant& payer = participants_[x];
  if (x == y) {
    if (payer.LocalTransfer(t)) return Outcome::kCommitted;
    CountRefusal(t);
    return Outcome::kRefused;
  }
  TccParticipant& payee = participants_[y];
  payer.BeginRecord(t, generation_);
  using Try = TccParticipant::TryResult;
  Try a = Try::kRejected;  // a Try that times out counts as failed
  if (fault == kTryDelayed) {
    late_tries_.push_back({.due_index = due_index(), .transfer = t});
  } else {
    a = payer.TryDebit(t.id, t.from, t.amount);
  }
  Try b = Try::kRejected;
  if (a == Try::kTried) {
    if (fault == kTryFails) payee.FailNextTry();
    b = payee.TryCredit(t.id, t.to, t.amount);
  }
  if (fault == kCrashAfterTry) return Crash(t);
  const bool confirm = a == Try::kTried && b == Try::kTried;
  const bool refused = a == Try::kNoFunds;
  payer.Decide(t.id, confirm, refused);
  if (fault == kCrashAfterDecision) return Crash(t);
  SecondPhase(t, confirm, fault == kCrashMidSecondPhase, fault == kDuplicateSecondPhase);
  if (fault == kCrashMidSecondPhase) return Crash(t);
  if (confirm) return Outcome::kCommitted;
  if (refused) {
    CountRefusal(t);
    return Outcome::kRefused;
  }
  return Outcome::kAborted;
}

absl::Status TccDesign::RecoverDue(uint64_t index) {
  // Late Tries first: what the network held up arrives, and must change nothing.
  while (next_late_ < late_tries_.size() && late_tries_[next_late_].due_index <= index) {
    const Transfer& t = late_tries_[next_late_++].transfer;
    const auto r = participants_[shard_map_.ShardOf(t.from)].TryDebit(t.id, t.from, t.amount);
    if (r == TccParticipant::TryResult::kTried) {
      ++late_tries_applied_;  // a suspension: only a participant without the guard gets here
    } else {
      ++late_tries_ignored_;
    }
  }
  while (std::optional<uint32_t> generation = crashed_.PopDue(index)) {
    // Recovery reads the phase status tables and finishes every record of that coordinator.
    for (TccParticipant& shard : participants_) {
      for (const TccParticipant::Record& record : shard.Unfinished(*generation)) {
        const Transfer& t = record.transfer;
        bool confirm = record.status == TccParticipant::Status::kConfirming;
        if (record.status == TccParticipant::Status::kTrying) {
          shard.Decide(t.id, /*confirm=*/false, /*refused=*/false);  // never decided: cancel
          confirm = false;
        }
        SecondPhase(t, confirm, /*crash_between=*/false, /*duplicate=*/false);
        Resolve(t.id, confirm          ? Outcome::kCommitted
                      : record.refused ? Outcome::kRefused
                                       : Outcome::kAborted);
      }
    }
    CountRecovery();
  }
  return absl::OkStatus();
}

absl::Status TccDesign::Redeliver(const Transfer& t, Outcome outcome) {
  const uint32_t x = shard_map_.ShardOf(t.from);
  const uint32_t y = shard_map_.ShardOf(t.to);
  if (x == y) return absl::OkStatus();
  TccParticipant& payer = participants_[x];
  TccParticipant& payee = participants_[y];
  // Every message of the transaction once more, Tries included.
  (void)payer.TryDebit(t.id, t.from, t.amount);
  if (outcome == Outcome::kCommitted) {
    (void)payee.TryCredit(t.id, t.to, t.amount);
    payee.Confirm(t.id);
    payer.Confirm(t.id);
  } else {
    payer.Cancel(t.id);
    payee.Cancel(t.id);
  }
  return absl::OkStatus();
}

int64_t TccDesign::balance(WalletId wallet) const {
  return participants_[shard_map_.ShardOf(wallet)].balance(wallet);
}

void TccDesign::Describe(Report& report) const {
  report.refused_while_held = refused_while_held_;
  report.notes.push_back(
      base::Cat("no locks between the phases: nothing blocks; ", refused_while_held_,
                " transfers were refused while an unfinished Try held part of the payer's money"));
  if (late_tries_ignored_ + late_tries_applied_ > 0) {
    report.notes.push_back(
        base::Cat(late_tries_ignored_ + late_tries_applied_, " Tries arrived after their Cancel: ",
                  late_tries_ignored_, " found the tombstone and did nothing",
                  late_tries_applied_ > 0
                      ? base::Cat(", ", late_tries_applied_, " deducted money for ever (no guard)")
                      : std::string()));
  }
}

}  // namespace keel::examples::wallet::designs
