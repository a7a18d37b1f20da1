// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The chapter's fourth design: a transfer between shards as a saga, run by keel's saga
// orchestrator (keel/saga/orchestrator.h, docs/saga.md), the one the hotel case study books with.
//
// "Saga is the de-facto standard in microservice architecture": the transfer is a linear sequence
// of local transactions, each committed on its own shard, and if one fails for good the ones done
// are undone by compensating transactions, from the failing step back to the first. The chapter
// prefers orchestration (one coordinator instructs every service) to choreography; the wallet
// service hands each transfer to the orchestrator as a saga of two steps:
//
//   step 0  debit the payer          compensation: credit the payer back
//   step 1  credit the payee         compensation: debit the payee back (only reached when every
//                                    attempt of the credit timed out, so it may have happened)
//
// The orchestrator logs every transition to keel's write-ahead log before acting on it (here on a
// keel::wal::MemoryFileSystem: the protocol's logic without disk), and after a crash it is
// reopened on its log and resumes each saga, calling the step that was in flight again with the
// same idempotency key ("<saga>:<step>:a" or ":c"). The shards make that safe the way TC/C's do:
// each keeps, per transaction, what its debit or credit did, in the same local transaction as the
// balance, so a repeat changes nothing and an action that arrives after its compensation is
// refused. Like TC/C it holds no locks: the debited money is invisible until the credit lands or
// the compensation returns it (Report::refused_while_held). Unlike TC/C, the payee's credit is a
// visible effect that a compensation may have to take back, after the payee has spent it; then the
// compensation fails and is retried, and the saga waits (stuck, in the orchestrator's terms).
//
// Fault points:
//
//   credit-fails         the payee's shard refuses the credit (a frozen account): the debit is
//                       compensated.
//   crash-in-step        the payer's shard applies the debit, and the orchestrator dies before
//                       the answer reaches it: recovery calls the debit again, same key.
//   crash-between-steps  the debit is done and logged, the orchestrator dies before the credit
//                       leaves it: recovery sends the credit.
//   debit-answer-lost    the debit's first answer is lost: it times out and is retried with the
//                       same key, which the shard answers from its table.
//   credit-answers-lost  the credit is applied but no answer ever comes: every attempt times out,
//                       and the orchestrator compensates in reverse: the credit taken back, then
//                       the debit.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<SagaDesign> design, SagaDesign::Make(workload));
//   KEEL_ASSIGN_OR_RETURN(Outcome o, design->Execute(workload.transfers[0], kNoFault));
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_SAGA_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_SAGA_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "digital_wallet/designs_interface.h"
#include "digital_wallet/designs_sharded.h"
#include "keel/base/clock.h"
#include "keel/saga/orchestrator.h"
#include "keel/wal/memory_file_system.h"

namespace keel::examples::wallet::designs {

// One shard's side of the transfer saga. Each method is one local transaction.
class SagaParticipant {
 public:
  SagaParticipant(BalanceShard shard, FundsInTransit* funds)
      : shard_(std::move(shard)), funds_(funds) {}

  enum class Answer : uint8_t {
    kDone,       // done now, or before (a repeat)
    kNoFunds,    // the balance does not cover it (now, or when first asked)
    kRejected,   // the shard refused (injected)
    kCancelled,  // its compensation came first: the action is refused
  };

  // A transfer with both wallets on this shard, as one local transaction.
  [[nodiscard]] bool LocalTransfer(const Transfer& t) {
    return shard_.Transfer(t.from, t.to, t.amount);
  }
  [[nodiscard]] Answer Debit(TxnId txn, WalletId wallet, int64_t amount);
  [[nodiscard]] Answer UndoDebit(TxnId txn);
  [[nodiscard]] Answer Credit(TxnId txn, WalletId wallet, int64_t amount);
  // kNoFunds when the payee has spent the credit meanwhile: the compensation must wait.
  [[nodiscard]] Answer UndoCredit(TxnId txn);
  // Makes the next Credit answer kRejected, applying nothing.
  void FailNextCredit() { fail_next_credit_ = true; }

  [[nodiscard]] int64_t balance(WalletId wallet) const { return shard_.balance(wallet); }

 private:
  enum class State : uint8_t { kApplied, kNoFunds, kRejected, kUndone };
  struct Entry {
    WalletId wallet = 0;
    int64_t amount = 0;
    State state = State::kApplied;
  };
  static Answer Repeat(const Entry& entry);

  BalanceShard shard_;
  FundsInTransit* funds_;
  bool fail_next_credit_ = false;
  absl::flat_hash_map<TxnId, Entry> debits_;
  absl::flat_hash_map<TxnId, Entry> credits_;
};

class SagaDesign final : public Design {
 public:
  enum FaultPoint : int {
    kCreditFails = 0,
    kCrashInStep,
    kCrashBetweenSteps,
    kDebitAnswerLost,
    kCreditAnswersLost,
  };

  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SagaDesign>> Make(const Workload& workload);
  ~SagaDesign() override;

  [[nodiscard]] std::string_view name() const override { return "saga"; }
  [[nodiscard]] std::string_view guarantee() const override;
  // The fault points, by name (see the file comment).
  [[nodiscard]] static std::span<const std::string_view> Points();
  [[nodiscard]] std::span<const std::string_view> fault_points() const override { return Points(); }
  [[nodiscard]] absl::StatusOr<Outcome> Execute(const Transfer& t, int fault) override;
  [[nodiscard]] absl::Status Redeliver(const Transfer& t, Outcome outcome) override;
  [[nodiscard]] int64_t balance(WalletId wallet) const override;
  [[nodiscard]] int64_t in_flight() const override { return funds_.in_flight(); }
  void Describe(Report& report) const override;

  // For tests: every call a shard gets, as "<operation> t<txn>" ("debit t5", "undo-credit t5").
  void set_trace(std::vector<std::string>* trace) { trace_ = trace; }

 private:
  explicit SagaDesign(const Workload& workload);

  absl::Status RecoverDue(uint64_t index) override;
  absl::StatusOr<std::unique_ptr<saga::Orchestrator>> OpenOrchestrator(uint32_t generation);
  [[nodiscard]] saga::SagaDefinition Definition();
  // Polls until no saga of `orchestrator` is running or a crash is requested, moving the clock to
  // each timer as the sagas wait on it.
  absl::Status RunToQuiet(saga::Orchestrator& orchestrator);
  void OnFinished(const saga::SagaInfo& info);
  // The fault for the transaction a step is called for: the running transfer's, else none.
  [[nodiscard]] int FaultFor(TxnId txn) const { return txn == fault_txn_ ? fault_ : kNoFault; }
  void Trace(std::string_view operation, TxnId txn);

  ShardMap shard_map_;
  FundsInTransit funds_;
  std::vector<SagaParticipant> participants_;
  wal::MemoryFileSystem fs_;
  base::ManualClock clock_;
  std::unique_ptr<saga::Orchestrator> orchestrator_;
  uint32_t generation_ = 0;
  RecoveryQueue crashed_;
  // The running transfer's fault; cleared once a one-shot fault has fired.
  TxnId fault_txn_ = ~TxnId{0};
  int fault_ = kNoFault;
  bool crash_requested_ = false;
  absl::flat_hash_map<TxnId, Transfer> live_;        // started, not finished
  std::vector<std::pair<TxnId, Outcome>> finished_;  // from on_finished, not yet taken
  std::vector<std::string>* trace_ = nullptr;
  uint64_t refused_while_held_ = 0;
  uint64_t compensated_ = 0;
  uint64_t stuck_ = 0;
  uint64_t timeouts_ = 0;
};

}  // namespace keel::examples::wallet::designs

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_SAGA_H_
