// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The chapter's third design: a transfer between shards by Try-Confirm/Cancel (TC/C).
//
// TC/C is two-phase commit done by the application instead of the databases: "two phases in 2PC
// are wrapped in the same transaction, but in TC/C each phase is a separate transaction". Each
// shard is a database whose local transactions the wallet service (the coordinator) calls:
//
//   Try      payer's shard: check the balance and deduct the amount, now, in one local
//            transaction. Payee's shard: nothing to do but record the Try (a credit needs no
//            reservation).
//   Confirm  (both Tries succeeded) payee's shard: add the amount. Payer's shard: record it.
//   Cancel   (a Try failed or timed out) payer's shard: add the amount back (the "reverse
//            operation that offsets the previous result"). Payee's shard: record it.
//
// No lock is held between the phases, so nothing blocks: the price is that the deducted money is
// invisible (neither the payer's nor the payee's) until Confirm or Cancel, and a payer whose money
// is held may be refused a transfer it could otherwise afford (Report::refused_while_held).
//
// What makes it correct, all in the participant (each method one local transaction):
//
//   - a branch table, txn id -> (role, wallet, amount, state), written in the same local
//     transaction as the balance it changes, so every phase is idempotent: a repeated Try,
//     Confirm or Cancel finds its state and changes nothing.
//   - out of order: a Cancel for a transaction the shard never saw tried (its Try is late on the
//     network, and the coordinator gave up on it) records a cancelled tombstone and does nothing
//     else (the "empty rollback"); the late Try then finds the tombstone and does nothing (no
//     "suspension": a deduction no Confirm or Cancel will ever come for).
//   - the phase status table: the coordinator's own record of each transaction, txn ->
//     (transfer, coordinator, status trying / confirming / cancelling), kept on the payer's
//     shard as the chapter places it. A coordinator that crashes is recovered from it: trying ->
//     cancel (it never decided; Cancel is safe whatever the Tries did), confirming -> confirm,
//     cancelling -> cancel, all idempotent.
//
// Fault points:
//
//   try-fails                  the payee's shard refuses its Try (a frozen account): cancel.
//   try-delayed                the payer's Try is held up in the network; the coordinator times
//                              out and cancels (an empty rollback on the payer's shard), and the
//                              Try arrives Faults::recovery_delay_transfers later: a no-op.
//   crash-after-try            both Tries done, the coordinator dies before deciding: the money
//                              is held until recovery cancels.
//   crash-after-decision       confirm (or cancel) recorded, nothing sent: recovery sends it.
//   crash-mid-second-phase     one of the two Confirms (Cancels) sent: recovery sends both again.
//   duplicate-second-phase     every Confirm and Cancel is delivered twice.
//
// Example:
//
//   TccDesign tcc(workload);
//   KEEL_ASSIGN_OR_RETURN(Outcome o, tcc.Execute(workload.transfers[0], kNoFault));
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_TCC_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_TCC_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "digital_wallet/designs_interface.h"
#include "digital_wallet/designs_sharded.h"

namespace keel::examples::wallet::designs {

class TccParticipant {
 public:
  // `funds` must outlive the participant. A participant with `guard_out_of_order` false forgets
  // Cancels of transactions it never saw, so a late Try goes through (for the tests: this is the
  // suspension the guard prevents).
  TccParticipant(BalanceShard shard, FundsInTransit* funds, bool guard_out_of_order = true)
      : shard_(std::move(shard)), funds_(funds), guard_out_of_order_(guard_out_of_order) {}

  enum class TryResult : uint8_t {
    kTried,      // done (or done before: a repeat)
    kNoFunds,    // the payer's balance does not cover it (now or when first tried)
    kRejected,   // the shard refused (injected)
    kCancelled,  // the transaction was cancelled here already: a late Try, a no-op
  };

  // A transfer with both wallets on this shard, as one local transaction: committed or refused.
  [[nodiscard]] bool LocalTransfer(const Transfer& t);

  [[nodiscard]] TryResult TryDebit(TxnId txn, WalletId wallet, int64_t amount);
  [[nodiscard]] TryResult TryCredit(TxnId txn, WalletId wallet, int64_t amount);
  // REQUIRES: this shard's Try of `txn` succeeded (the coordinator confirms only then).
  void Confirm(TxnId txn);
  // REQUIRES: `txn` is not confirmed here. Safe whatever its Try did, or if it never came.
  void Cancel(TxnId txn);
  // Makes the next Try answer kRejected.
  void FailNextTry() { fail_next_try_ = true; }

  // The phase status table, for the transactions whose payer is on this shard.
  enum class Status : uint8_t { kTrying, kConfirming, kCancelling };
  struct Record {
    Transfer transfer;
    uint32_t coordinator = 0;
    Status status = Status::kTrying;
    bool refused = false;  // cancelling because the payer could not pay
  };
  void BeginRecord(const Transfer& t, uint32_t coordinator);
  void Decide(TxnId txn, bool confirm, bool refused);
  void EndRecord(TxnId txn);
  // The unfinished records of `coordinator`, in txn order.
  [[nodiscard]] std::vector<Record> Unfinished(uint32_t coordinator) const;

  [[nodiscard]] int64_t balance(WalletId wallet) const { return shard_.balance(wallet); }

 private:
  enum class BranchState : uint8_t { kTried, kNoFunds, kConfirmed, kCancelled };
  struct Branch {
    bool debit = false;
    WalletId wallet = 0;
    int64_t amount = 0;
    BranchState state = BranchState::kTried;
  };

  // The answer to a Try that finds its branch already there.
  static TryResult Repeat(const Branch& branch);

  BalanceShard shard_;
  FundsInTransit* funds_;
  bool guard_out_of_order_ = true;
  bool fail_next_try_ = false;
  absl::flat_hash_map<TxnId, Branch> branches_;
  absl::flat_hash_map<TxnId, Record> records_;
};

class TccDesign final : public Design {
 public:
  enum FaultPoint : int {
    kTryFails = 0,
    kTryDelayed,
    kCrashAfterTry,
    kCrashAfterDecision,
    kCrashMidSecondPhase,
    kDuplicateSecondPhase,
  };

  explicit TccDesign(const Workload& workload, bool guard_out_of_order = true);

  [[nodiscard]] std::string_view name() const override { return "TC/C"; }
  [[nodiscard]] std::string_view guarantee() const override;
  // The fault points, by name (see the file comment).
  [[nodiscard]] static std::span<const std::string_view> Points();
  [[nodiscard]] std::span<const std::string_view> fault_points() const override { return Points(); }
  [[nodiscard]] absl::StatusOr<Outcome> Execute(const Transfer& t, int fault) override;
  [[nodiscard]] absl::Status Redeliver(const Transfer& t, Outcome outcome) override;
  [[nodiscard]] int64_t balance(WalletId wallet) const override;
  [[nodiscard]] int64_t in_flight() const override { return funds_.in_flight(); }
  void Describe(Report& report) const override;

  [[nodiscard]] TccParticipant& participant(uint32_t s) { return participants_[s]; }

 private:
  struct Late {
    uint64_t due_index = 0;
    Transfer transfer;
  };

  absl::Status RecoverDue(uint64_t index) override;
  // Sends Confirm (or Cancel) to both shards, payee first for Confirm and payer first for
  // Cancel; `crash_between` stops after the first. Ends the record when both were sent.
  void SecondPhase(const Transfer& t, bool confirm, bool crash_between, bool duplicate);
  Outcome Crash(const Transfer& t);
  void CountRefusal(const Transfer& t);

  ShardMap shard_map_;
  FundsInTransit funds_;
  std::vector<TccParticipant> participants_;
  uint32_t generation_ = 0;
  RecoveryQueue crashed_;
  std::vector<Late> late_tries_;  // in due order
  size_t next_late_ = 0;
  uint64_t refused_while_held_ = 0;
  uint64_t late_tries_ignored_ = 0;
  uint64_t late_tries_applied_ = 0;  // only without the guard
};

}  // namespace keel::examples::wallet::designs

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_TCC_H_
