// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// OrchestratorImpl: the machinery behind keel::saga::Orchestrator (keel/saga/orchestrator.h has
// the contract). Its work is spread over files by concern:
//
//   orchestrator.cc   Start, Dismiss, Inspect, stats, and applying a record to the sagas (shared
//                     by the live path and by recovery)
//   poll.cc           Poll: answers and timers into records, the log append, calling participants
//   recovery.cc       Open: options, the checkpoint, replaying the log; writing checkpoints
//
// One mutex (mu_) guards the sagas, the timers and the log's use; poll_mu_ serializes Polls, so
// that participants can be called without mu_ held while nothing else moves the sagas they read.
//
// Internal to keel/saga.
#ifndef KEEL_SRC_SAGA_ORCHESTRATOR_IMPL_H_
#define KEEL_SRC_SAGA_ORCHESTRATOR_IMPL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "inbox.h"
#include "keel/base/random.h"
#include "keel/saga/orchestrator.h"
#include "keel/wal/file_system.h"
#include "keel/wal/log.h"
#include "record.h"
#include "saga_state.h"
#include "timer_queue.h"

namespace keel::saga::internal {

struct CompiledDefinition {
  SagaDefinition definition;
  DefinitionShape shape;
};

// A live saga: its durable state and what this process is doing about it.
struct Saga {
  SagaState state;
  const CompiledDefinition* definition = nullptr;
  uint64_t token = 0;       // the invocation under way (its timer is the timeout); 0: none
  int64_t deadline_ns = 0;  // of the invocation under way
  bool retry_wait = false;  // its timer is the wait before the next attempt
  bool queued = false;      // in runnable_
};

// A participant to call once mu_ is released.
struct Invocation {
  Saga* saga = nullptr;
  uint32_t slot = 0;
  uint64_t token = 0;
  int64_t deadline_ns = 0;
};

class OrchestratorImpl {
 public:
  OrchestratorImpl(const OrchestratorOptions& options, const base::Clock& clock);
  ~OrchestratorImpl();
  OrchestratorImpl(const OrchestratorImpl&) = delete;
  OrchestratorImpl& operator=(const OrchestratorImpl&) = delete;

  // recovery.cc
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<OrchestratorImpl>> Open(
      const OrchestratorOptions& options, std::vector<SagaDefinition> definitions,
      SagaRecoveryReport* report);

  // orchestrator.cc
  [[nodiscard]] absl::Status Start(std::string_view saga_id, std::string_view definition,
                                   std::string_view input);
  [[nodiscard]] absl::StatusOr<SagaInfo> Inspect(std::string_view saga_id) const;
  [[nodiscard]] absl::Status Dismiss(std::string_view saga_id);
  [[nodiscard]] OrchestratorStats stats() const;
  [[nodiscard]] std::optional<int64_t> NextDeadlineNs() const;
  bool WaitForWork(int64_t timeout_ns) const { return inbox_->WaitForWork(timeout_ns); }
  void WakeWaiters() const { inbox_->Wake(); }

  // poll.cc
  [[nodiscard]] absl::StatusOr<uint64_t> Poll();

 private:
  // orchestrator.cc. Applies a record to the sagas: `live` when it was just decided (and made
  // durable), false during replay. Errors (replay only): kDataLoss or kFailedPrecondition when
  // the record does not fit.
  [[nodiscard]] absl::Status ApplyRecord(const Record& record, bool live);
  [[nodiscard]] absl::Status ApplyStarted(const Record& record, bool live);
  // Makes `state` a live saga in a new slot. Errors: kFailedPrecondition when its definition is
  // unknown or has another number of steps; kDataLoss for an id or number already taken.
  [[nodiscard]] absl::Status Admit(SagaState state, uint32_t* slot);
  // What follows a saga's move: finishing, getting stuck, a retry wait or the next call.
  void AfterApply(uint32_t slot, const Record& record, bool live);
  void Retire(uint32_t slot);
  void Retain(std::unique_ptr<SagaState> saga);
  void Queue(uint32_t slot);
  [[nodiscard]] uint32_t AllocateSlot();
  // Appends `records` to the log (when there is one) as one batch, then applies them.
  [[nodiscard]] absl::Status Commit(std::vector<Record>& records);
  [[nodiscard]] absl::Status CheckUsable() const;

  // poll.cc
  void DecideAnswer(Answer& answer, int64_t now_ns);
  void DecideTimer(uint32_t slot, int64_t now_ns);
  void Decide(Saga& saga, Record record, int64_t now_ns);
  void Invoke(const Invocation& invocation);

  // recovery.cc
  [[nodiscard]] absl::Status Recover(SagaRecoveryReport& report);
  [[nodiscard]] absl::Status LoadCheckpoint(std::string_view bytes, uint64_t& replay_from);
  [[nodiscard]] absl::Status MaybeCheckpoint();
  [[nodiscard]] absl::Status WriteCheckpoint();

  const OrchestratorOptions options_;
  const base::Clock& clock_;
  wal::FileSystem* fs_ = nullptr;  // with a directory
  std::unique_ptr<wal::Log> log_;  // with a directory
  absl::flat_hash_map<std::string, std::unique_ptr<CompiledDefinition>> definitions_;
  std::shared_ptr<Inbox> inbox_;

  mutable std::mutex mu_;
  absl::Status failed_;  // a log error: everything is refused
  std::vector<std::unique_ptr<Saga>> slots_;
  std::vector<uint32_t> free_slots_;
  absl::flat_hash_map<std::string, uint32_t> live_by_id_;
  absl::flat_hash_map<uint64_t, uint32_t> live_by_seq_;
  absl::flat_hash_map<std::string, std::unique_ptr<SagaState>> finished_;
  std::deque<std::string> finished_order_;  // oldest first
  TimerQueue timers_;
  std::vector<uint32_t> runnable_;
  base::Random random_;
  uint64_t next_seq_ = 0;
  uint64_t next_token_ = 1;
  uint64_t records_since_checkpoint_ = 0;
  size_t stuck_ = 0;
  OrchestratorStats stats_;
  std::vector<SagaInfo> finished_reports_;  // for on_finished
  std::string encoded_;                     // scratch for Commit
  std::vector<std::string_view> encoded_views_;

  // Owned by the Poll that holds poll_mu_.
  std::mutex poll_mu_;
  std::vector<Answer> answers_;
  std::vector<Record> decided_;
  std::vector<Invocation> invocations_;
  std::vector<SagaInfo> reports_;
  std::string key_;
};

}  // namespace keel::saga::internal

#endif  // KEEL_SRC_SAGA_ORCHESTRATOR_IMPL_H_
