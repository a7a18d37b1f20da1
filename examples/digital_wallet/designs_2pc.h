// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The chapter's second design: each shard a transactional database, and a transfer between two
// shards made atomic by two-phase commit, with the wallet service as the coordinator.
//
// Two-phase commit (Gray, "Notes on Data Base Operating Systems", 1978; the X/Open XA standard
// the chapter names) as databases run it:
//
//   phase 1   the coordinator asks every participant to PREPARE its part. A participant that can
//             do it (the payer's balance covers the debit, and no other transaction holds the
//             wallet) locks the wallet, makes the prepared change durable and votes yes; from then
//             on it may neither commit nor abort by itself. Otherwise it votes no.
//   decision  all yes: the coordinator forces a commit record to its log. Any no: abort.
//   phase 2   the coordinator tells every participant the decision; each applies or discards its
//             prepared change and releases the lock. Both are idempotent: a repeated COMMIT or
//             ABORT finds nothing prepared and does nothing.
//
// The coordinator logs with presumed abort (Mohan, Lindsay and Obermarck, "Transaction Management
// in the R* Distributed Database Management System", TODS 1986): only commit decisions are forced
// to the log (and an end record once every participant has acknowledged, which need not be). A
// recovering coordinator commits every transaction whose commit record has no end record, asks
// each participant for the transactions it holds prepared for this coordinator (XA's xa_recover),
// and aborts every one without a commit record. The log is keel's write-ahead log
// (keel/wal/log.h) with SyncPolicy::kEveryAppend: on a keel::wal::MemoryFileSystem by default (the
// protocol's logic with no disk in the way), or in a real directory, where each decision costs an
// fsync. Participants stand for databases with their own redo logs: they do not crash here, and
// what they prepared stays prepared.
//
// Where the design hurts, measured: a coordinator that crashes between the phases leaves its
// participants in doubt, holding their wallets' locks, until it comes back. Transfers that need
// one of those wallets meanwhile are blocked; as a database would after its lock wait timeout,
// they are aborted (Report::blocked), and the report says how many transfers long the locks were
// held. Same-shard transfers are one local transaction (the one-phase optimisation) and are
// blocked the same way by an in-doubt lock.
//
// Fault points:
//
//   vote-no               the payee's participant votes no (a failed disk, a constraint): abort.
//   crash-after-prepare   both voted yes, the coordinator dies before logging a decision: in
//                         doubt until recovery, which presumes abort.
//   crash-after-decision  the commit record is durable, no participant has heard: in doubt until
//                         recovery, which commits.
//   crash-mid-commit      the payer's participant committed, the payee's is in doubt until
//                         recovery commits it (and sends the payer a duplicate COMMIT).
//   duplicate-commit      every COMMIT is delivered twice.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<TwoPcDesign> design, TwoPcDesign::Make(workload));
//   KEEL_ASSIGN_OR_RETURN(Outcome o, design->Execute(workload.transfers[0], kNoFault));
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_2PC_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_2PC_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "digital_wallet/designs_interface.h"
#include "digital_wallet/designs_sharded.h"
#include "keel/wal/file_system.h"
#include "keel/wal/log.h"
#include "keel/wal/memory_file_system.h"

namespace keel::examples::wallet::designs {

// A participant's answer to PREPARE.
enum class Vote : uint8_t {
  kYes,
  kNoFunds,    // the debit is not covered
  kNoLocked,   // another (in-doubt) transaction holds the wallet: a lock wait timeout
  kNoFailure,  // the participant failed (injected)
};

// One shard as a transactional database taking part in two-phase commit.
class TwoPcParticipant {
 public:
  // `in_flight`, when given, counts the money committed out of payers' wallets and not yet into
  // payees' (a coordinator that crashed between the two COMMITs leaves some); it must outlive
  // the participant.
  explicit TwoPcParticipant(BalanceShard shard, int64_t* in_flight = nullptr)
      : shard_(std::move(shard)), in_flight_(in_flight) {}

  enum class LocalResult : uint8_t { kCommitted, kRefused, kBlocked };
  // A transfer with both wallets on this shard, as one local transaction.
  [[nodiscard]] LocalResult LocalTransfer(const Transfer& t);

  // Phase 1 for the one wallet of `txn` on this shard: `delta` < 0 debits, > 0 credits.
  [[nodiscard]] Vote Prepare(TxnId txn, uint32_t coordinator, WalletId wallet, int64_t delta);
  // Phase 2. Committing or aborting a transaction not prepared here does nothing (it is already
  // finished, or, for an abort, was never prepared).
  void Commit(TxnId txn);
  void Abort(TxnId txn);
  // The transactions prepared here for `coordinator`, which only its decision can finish.
  [[nodiscard]] std::vector<TxnId> InDoubt(uint32_t coordinator) const;

  // Makes the next Prepare vote kNoFailure.
  void FailNextPrepare() { fail_next_prepare_ = true; }
  [[nodiscard]] int64_t balance(WalletId wallet) const { return shard_.balance(wallet); }
  [[nodiscard]] size_t locks_held() const { return locks_.size(); }
  [[nodiscard]] bool locked(WalletId wallet) const { return locks_.contains(wallet); }

 private:
  struct Prepared {
    uint32_t coordinator = 0;
    WalletId wallet = 0;
    int64_t delta = 0;
  };

  BalanceShard shard_;
  int64_t* in_flight_ = nullptr;
  absl::flat_hash_map<WalletId, TxnId> locks_;  // wallet -> the prepared transaction holding it
  absl::flat_hash_map<TxnId, Prepared> prepared_;
  bool fail_next_prepare_ = false;
};

// The wallet service as the coordinator of one transfer at a time, with its decision log.
class TwoPcCoordinator {
 public:
  enum class CrashPoint : uint8_t { kNone, kAfterPrepare, kAfterDecision, kMidCommit };

  // Opens (or, after a crash, reopens) the coordinator `id` with its log in `dir` on `fs`.
  // `participants` must outlive it. Errors: the log's.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TwoPcCoordinator>> Open(
      wal::FileSystem& fs, const std::string& dir, uint32_t id,
      std::span<TwoPcParticipant> participants);

  struct RunResult {
    Outcome outcome = Outcome::kUnknown;  // kPending when it crashed in doubt
    bool blocked = false;                 // a participant voted kNoLocked
  };
  // Runs `t` (payer on shard `x`, payee on shard `y`, x != y) through both phases, dying at
  // `crash`: then the result is kPending (or kAborted, if the participants never voted yes), and
  // the object must be destroyed and its log recovered by a new one. With `duplicate_commit`
  // every COMMIT is sent twice.
  [[nodiscard]] absl::StatusOr<RunResult> Run(const Transfer& t, uint32_t x, uint32_t y,
                                              CrashPoint crash, bool duplicate_commit);

  // Finishes what a crashed life of this coordinator left: commits the transactions its log
  // decided and aborts the others its participants hold prepared for it. Returns each with
  // whether it committed, in txn order.
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<TxnId, bool>>> Recover();

 private:
  TwoPcCoordinator(std::unique_ptr<wal::Log> log, uint32_t id,
                   std::span<TwoPcParticipant> participants)
      : log_(std::move(log)), id_(id), participants_(participants) {}

  absl::Status LogRecord(char kind, TxnId txn);

  std::unique_ptr<wal::Log> log_;
  uint32_t id_ = 0;
  std::span<TwoPcParticipant> participants_;
};

class TwoPcDesign final : public Design {
 public:
  enum FaultPoint : int {
    kVoteNo = 0,
    kCrashAfterPrepare,
    kCrashAfterDecision,
    kCrashMidCommit,
    kDuplicateCommit,
  };

  // With `log_dir` empty the coordinators' logs live on a MemoryFileSystem; otherwise in
  // subdirectories of `log_dir` on disk (which must exist and should be empty).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TwoPcDesign>> Make(
      const Workload& workload, const std::string& log_dir = "");

  [[nodiscard]] std::string_view name() const override { return "two-phase commit"; }
  [[nodiscard]] std::string_view guarantee() const override;
  // The fault points, by name (see the file comment).
  [[nodiscard]] static std::span<const std::string_view> Points();
  [[nodiscard]] std::span<const std::string_view> fault_points() const override { return Points(); }
  [[nodiscard]] absl::StatusOr<Outcome> Execute(const Transfer& t, int fault) override;
  [[nodiscard]] absl::Status Redeliver(const Transfer& t, Outcome outcome) override;
  [[nodiscard]] int64_t balance(WalletId wallet) const override;
  [[nodiscard]] int64_t in_flight() const override { return in_flight_; }
  void Describe(Report& report) const override;

  // For tests: the participant of shard `s`, and how many wallets are locked in all.
  [[nodiscard]] const TwoPcParticipant& participant(uint32_t s) const { return participants_[s]; }
  [[nodiscard]] size_t locks_held() const;

 private:
  TwoPcDesign(const Workload& workload, std::string log_dir);

  absl::Status RecoverDue(uint64_t index) override;
  absl::Status OpenCoordinator();
  [[nodiscard]] std::string CoordinatorDir(uint32_t generation) const;

  ShardMap shard_map_;
  int64_t in_flight_ = 0;  // committed by payers, not yet by payees
  std::vector<TwoPcParticipant> participants_;
  std::unique_ptr<wal::MemoryFileSystem> memory_fs_;  // when log_dir_ is empty
  wal::FileSystem* fs_ = nullptr;
  std::string log_dir_;
  std::unique_ptr<TwoPcCoordinator> coordinator_;
  uint32_t generation_ = 0;  // the live coordinator's id; each crash starts the next
  RecoveryQueue crashed_;
  absl::flat_hash_map<TxnId, uint64_t> in_doubt_since_;  // pending txn -> index it crashed at
  uint64_t blocked_ = 0;
  uint64_t in_doubt_ = 0;
  uint64_t lock_hold_transfers_ = 0;  // summed over in-doubt transactions
};

}  // namespace keel::examples::wallet::designs

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_2PC_H_
