// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/designs_2pc.h"

#include <algorithm>
#include <limits>

#include "absl/container/btree_map.h"
#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples::wallet::designs {
namespace {

constexpr std::string_view kTwoPcFaults[] = {"vote-no", "crash-after-prepare",
                                             "crash-after-decision", "crash-mid-commit",
                                             "duplicate-commit"};

// The coordinator's log records: a commit decision, forced before any participant hears it, and
// the end of a transaction once both participants have it.
//
//   record := kind (byte: 'C' commit, 'E' end) txn (varint64)
constexpr char kCommitRecord = 'C';
constexpr char kEndRecord = 'E';

}  // namespace

// ---------------------------------------------------------------------------------------------
// Participant. Each method is one local transaction of the shard's database.

TwoPcParticipant::LocalResult TwoPcParticipant::LocalTransfer(const Transfer& t) {
  if (locks_.contains(t.from) || locks_.contains(t.to)) return LocalResult::kBlocked;
  return shard_.Transfer(t.from, t.to, t.amount) ? LocalResult::kCommitted : LocalResult::kRefused;
}

Vote TwoPcParticipant::Prepare(TxnId txn, uint32_t coordinator, WalletId wallet, int64_t delta) {
  KEEL_ASSERT(!prepared_.contains(txn), "a transaction prepared twice on one shard");
  if (std::exchange(fail_next_prepare_, false)) return Vote::kNoFailure;
  if (locks_.contains(wallet)) return Vote::kNoLocked;
  // The lock keeps every other transaction off the wallet until the decision, so a debit that
  // the balance covers now is still covered at commit.
  if (delta < 0 && shard_.balance(wallet) < -delta) return Vote::kNoFunds;
  locks_.emplace(wallet, txn);
  prepared_.emplace(txn, Prepared{.coordinator = coordinator, .wallet = wallet, .delta = delta});
  return Vote::kYes;
}

void TwoPcParticipant::Commit(TxnId txn) {
  auto it = prepared_.find(txn);
  if (it == prepared_.end()) return;  // already committed: a duplicate
  int64_t& balance = shard_.at(it->second.wallet);
  balance += it->second.delta;
  KEEL_ASSERT(balance >= 0, "a prepared debit overdrew its wallet");
  if (in_flight_ != nullptr) *in_flight_ -= it->second.delta;
  locks_.erase(it->second.wallet);
  prepared_.erase(it);
}

void TwoPcParticipant::Abort(TxnId txn) {
  auto it = prepared_.find(txn);
  if (it == prepared_.end()) return;  // never prepared, or already aborted
  locks_.erase(it->second.wallet);
  prepared_.erase(it);
}

std::vector<TxnId> TwoPcParticipant::InDoubt(uint32_t coordinator) const {
  std::vector<TxnId> txns;
  for (const auto& [txn, p] : prepared_) {
    if (p.coordinator == coordinator) txns.push_back(txn);
  }
  std::sort(txns.begin(), txns.end());
  return txns;
}

// ---------------------------------------------------------------------------------------------
// Coordinator.

absl::StatusOr<std::unique_ptr<TwoPcCoordinator>> TwoPcCoordinator::Open(
    wal::FileSystem& fs, const std::string& dir, uint32_t id,
    std::span<TwoPcParticipant> participants) {
  wal::LogOptions options;
  options.sync = wal::SyncPolicy::kEveryAppend;  // a decision is durable before anyone hears it
  options.file_system = &fs;
  options.max_record_bytes = 64;
  options.salt = id;  // deterministic bytes for a given run
  // Preallocation saves an fsync's metadata update on disk; in memory it only costs.
  if (dynamic_cast<wal::MemoryFileSystem*>(&fs) != nullptr) options.preallocate_bytes = 0;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::Log> log, wal::Log::Open(dir, options));
  return std::unique_ptr<TwoPcCoordinator>(new TwoPcCoordinator(std::move(log), id, participants));
}

absl::Status TwoPcCoordinator::LogRecord(char kind, TxnId txn) {
  char buffer[1 + base::kMaxVarint64Bytes];
  buffer[0] = kind;
  char* end = base::EncodeVarint64(buffer + 1, txn);
  return log_->Append(std::string_view(buffer, static_cast<size_t>(end - buffer))).status();
}

absl::StatusOr<TwoPcCoordinator::RunResult> TwoPcCoordinator::Run(const Transfer& t, uint32_t x,
                                                                  uint32_t y, CrashPoint crash,
                                                                  bool duplicate_commit) {
  KEEL_ASSERT(x != y && x < participants_.size() && y < participants_.size());
  TwoPcParticipant& payer = participants_[x];
  TwoPcParticipant& payee = participants_[y];
  RunResult result;
  // Phase 1. The payee is asked only if the payer can pay.
  const Vote vx = payer.Prepare(t.id, id_, t.from, -t.amount);
  const Vote vy = vx == Vote::kYes ? payee.Prepare(t.id, id_, t.to, t.amount) : Vote::kYes;
  result.blocked = vx == Vote::kNoLocked || vy == Vote::kNoLocked;
  if (vx != Vote::kYes || vy != Vote::kYes) {
    // Presumed abort: nothing to log. Only a participant that voted yes holds anything.
    if (vx == Vote::kYes) payer.Abort(t.id);
    result.outcome = vx == Vote::kNoFunds ? Outcome::kRefused : Outcome::kAborted;
    return result;
  }
  if (crash == CrashPoint::kAfterPrepare) {
    result.outcome = Outcome::kPending;
    return result;
  }
  // The commit point: once this record is durable the transfer will happen, whatever fails.
  KEEL_RETURN_IF_ERROR(LogRecord(kCommitRecord, t.id));
  if (crash == CrashPoint::kAfterDecision) {
    result.outcome = Outcome::kPending;
    return result;
  }
  // Phase 2.
  payer.Commit(t.id);
  if (duplicate_commit) payer.Commit(t.id);
  if (crash == CrashPoint::kMidCommit) {
    result.outcome = Outcome::kPending;
    return result;
  }
  payee.Commit(t.id);
  if (duplicate_commit) payee.Commit(t.id);
  KEEL_RETURN_IF_ERROR(LogRecord(kEndRecord, t.id));
  result.outcome = Outcome::kCommitted;
  return result;
}

absl::StatusOr<std::vector<std::pair<TxnId, bool>>> TwoPcCoordinator::Recover() {
  // The log: commit decisions not yet ended.
  absl::btree_map<TxnId, bool> decided;  // txn -> committed
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader,
                        log_->NewReader(log_->first_offset()));
  while (true) {
    KEEL_ASSIGN_OR_RETURN(std::optional<wal::RecordView> record, reader->Next());
    if (!record) break;
    base::Reader r(record->payload);
    KEEL_ASSIGN_OR_RETURN(uint8_t kind, r.ReadByte());
    KEEL_ASSIGN_OR_RETURN(uint64_t txn, r.ReadVarint64());
    KEEL_RETURN_IF_ERROR(r.ExpectEnd());
    if (kind == kCommitRecord) {
      decided[txn] = true;
    } else if (kind == kEndRecord) {
      decided.erase(txn);
    } else {
      return absl::DataLossError(base::Cat("2PC log record at offset ", record->offset,
                                           " has kind ", static_cast<int>(kind)));
    }
  }
  // The participants: what each holds prepared for this coordinator. No commit record: abort.
  for (TwoPcParticipant& p : participants_) {
    for (TxnId txn : p.InDoubt(id_)) decided.try_emplace(txn, false);
  }
  std::vector<std::pair<TxnId, bool>> finished;
  for (const auto& [txn, committed] : decided) {
    // Commit and abort are idempotent and a no-op where nothing is prepared, so the decision
    // goes to every participant (a real coordinator would list them in the commit record).
    for (TwoPcParticipant& p : participants_) {
      if (committed) {
        p.Commit(txn);
      } else {
        p.Abort(txn);
      }
    }
    if (committed) KEEL_RETURN_IF_ERROR(LogRecord(kEndRecord, txn));
    finished.emplace_back(txn, committed);
  }
  return finished;
}

// ---------------------------------------------------------------------------------------------
// The design.

TwoPcDesign::TwoPcDesign(const Workload& workload, std::string log_dir)
    : shard_map_(workload.shard_map), log_dir_(std::move(log_dir)) {
  for (BalanceShard& shard : MakeBalanceShards(workload)) {
    participants_.emplace_back(std::move(shard), &in_flight_);
  }
  if (log_dir_.empty()) {
    memory_fs_ = std::make_unique<wal::MemoryFileSystem>();
    fs_ = memory_fs_.get();
  } else {
    fs_ = &wal::FileSystem::Posix();
  }
}

absl::StatusOr<std::unique_ptr<TwoPcDesign>> TwoPcDesign::Make(const Workload& workload,
                                                               const std::string& log_dir) {
  std::unique_ptr<TwoPcDesign> design(new TwoPcDesign(workload, log_dir));
  if (design->memory_fs_ != nullptr) KEEL_RETURN_IF_ERROR(design->fs_->CreateDir("/2pc"));
  KEEL_RETURN_IF_ERROR(design->OpenCoordinator());
  return design;
}

std::string TwoPcDesign::CoordinatorDir(uint32_t generation) const {
  return base::Cat(log_dir_.empty() ? "/2pc" : log_dir_, "/coordinator-", generation);
}

absl::Status TwoPcDesign::OpenCoordinator() {
  KEEL_ASSIGN_OR_RETURN(coordinator_, TwoPcCoordinator::Open(*fs_, CoordinatorDir(generation_),
                                                             generation_, participants_));
  return absl::OkStatus();
}

std::string_view TwoPcDesign::guarantee() const {
  return "atomic across shards, recovered from the coordinator's log; a coordinator that fails "
         "between the phases blocks its participants' wallets until it returns";
}

std::span<const std::string_view> TwoPcDesign::Points() { return kTwoPcFaults; }

absl::StatusOr<Outcome> TwoPcDesign::Execute(const Transfer& t, int fault) {
  const uint32_t x = shard_map_.ShardOf(t.from);
  const uint32_t y = shard_map_.ShardOf(t.to);
  if (x == y) {
    switch (participants_[x].LocalTransfer(t)) {
      case TwoPcParticipant::LocalResult::kCommitted:
        return Outcome::kCommitted;
      case TwoPcParticipant::LocalResult::kRefused:
        return Outcome::kRefused;
      case TwoPcParticipant::LocalResult::kBlocked:
        ++blocked_;
        return Outcome::kAborted;
    }
  }
  using Crash = TwoPcCoordinator::CrashPoint;
  const Crash crash = fault == kCrashAfterPrepare    ? Crash::kAfterPrepare
                      : fault == kCrashAfterDecision ? Crash::kAfterDecision
                      : fault == kCrashMidCommit     ? Crash::kMidCommit
                                                     : Crash::kNone;
  if (fault == kVoteNo) participants_[y].FailNextPrepare();
  KEEL_ASSIGN_OR_RETURN(TwoPcCoordinator::RunResult r,
                        coordinator_->Run(t, x, y, crash, fault == kDuplicateCommit));
  if (r.blocked) ++blocked_;
  if (crash != Crash::kNone) {
    // The coordinator is gone, whatever it had decided. The service goes on with a new one; the
    // crashed one's log waits for its recovery.
    coordinator_.reset();
    crashed_.Add(generation_, due_index());
    ++generation_;
    KEEL_RETURN_IF_ERROR(OpenCoordinator());
    if (r.outcome == Outcome::kPending) {
      in_doubt_since_.emplace(t.id, index());
      ++in_doubt_;
    }
  }
  return r.outcome;
}

absl::Status TwoPcDesign::RecoverDue(uint64_t index) {
  while (std::optional<uint32_t> generation = crashed_.PopDue(index)) {
    KEEL_ASSIGN_OR_RETURN(
        std::unique_ptr<TwoPcCoordinator> recovering,
        TwoPcCoordinator::Open(*fs_, CoordinatorDir(*generation), *generation, participants_));
    KEEL_ASSIGN_OR_RETURN(auto finished, recovering->Recover());
    for (const auto& [txn, committed] : finished) {
      auto it = in_doubt_since_.find(txn);
      KEEL_ASSERT(it != in_doubt_since_.end(), "recovery finished a transaction never in doubt");
      lock_hold_transfers_ += this->index() - it->second;
      in_doubt_since_.erase(it);
      Resolve(txn, committed ? Outcome::kCommitted : Outcome::kAborted);
    }
    CountRecovery();
  }
  return absl::OkStatus();
}

absl::Status TwoPcDesign::Redeliver(const Transfer& t, Outcome outcome) {
  const uint32_t x = shard_map_.ShardOf(t.from);
  const uint32_t y = shard_map_.ShardOf(t.to);
  if (x == y) return absl::OkStatus();
  for (uint32_t s : {x, y}) {
    if (outcome == Outcome::kCommitted) {
      participants_[s].Commit(t.id);
    } else {
      participants_[s].Abort(t.id);
    }
  }
  return absl::OkStatus();
}

int64_t TwoPcDesign::balance(WalletId wallet) const {
  return participants_[shard_map_.ShardOf(wallet)].balance(wallet);
}

size_t TwoPcDesign::locks_held() const {
  size_t n = 0;
  for (const TwoPcParticipant& p : participants_) n += p.locks_held();
  return n;
}

void TwoPcDesign::Describe(Report& report) const {
  report.blocked = blocked_;
  report.notes.push_back(base::Cat(
      "decision log: keel::wal::Log (kEveryAppend) on ",
      log_dir_.empty() ? "a MemoryFileSystem (no fsync cost)" : base::Cat(log_dir_, " (fsync)")));
  if (in_doubt_ > 0) {
    report.notes.push_back(base::Cat(
        in_doubt_,
        " transactions left in doubt by coordinator crashes held their wallets' locks "
        "for ",
        lock_hold_transfers_, " transfers in all (", lock_hold_transfers_ / in_doubt_,
        " each on average); ", blocked_, " transfers found a wallet locked and were aborted"));
  }
}

}  // namespace keel::examples::wallet::designs
