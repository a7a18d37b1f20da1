// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Open: checks the options and definitions, then (with a directory) loads the checkpoint and
// replays the log records after it through the same ApplyRecord the live path uses. Also writes
// checkpoints. The checkpoint (docs/saga.md has the grammar) holds every live and retained
// finished saga and the log offset where replay starts; it is written atomically
// (keel/wal/atomic_file.h) before the log segments it covers are dropped, so a crash between the
// two leaves records before that offset, which replay skips.
#include <algorithm>
#include <utility>

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/atomic_file.h"
#include "orchestrator_impl.h"

namespace keel::saga::internal {
namespace {

constexpr char kCheckpointName[] = "checkpoint";
constexpr char kLogName[] = "log";
constexpr uint32_t kCheckpointVersion = 1;

absl::Status CheckOptions(const OrchestratorOptions& options) {
  const auto bad = [](std::string_view field, uint64_t value) {
    return absl::InvalidArgumentError(
        base::Cat("saga orchestrator option ", field, " is ", value, ": it must be at least 1"));
  };
  if (options.max_live_sagas == 0) return bad("max_live_sagas", 0);
  if (options.history_length == 0) return bad("history_length", 0);
  if (options.max_saga_id_bytes == 0) return bad("max_saga_id_bytes", 0);
  if (options.max_message_bytes == 0) return bad("max_message_bytes", 0);
  if (options.definition_limits.max_steps == 0) return bad("definition_limits.max_steps", 0);
  if (options.definition_limits.max_name_bytes == 0) {
    return bad("definition_limits.max_name_bytes", 0);
  }
  if (!options.dir.empty()) {
    // The largest record the orchestrator writes must fit the log, or a user's long input would
    // stop it with a log error: varints and kinds take at most 64 bytes besides these fields.
    const uint64_t largest =
        64 +
        std::max<uint64_t>({uint64_t{options.max_saga_id_bytes} +
                                options.definition_limits.max_name_bytes + options.max_input_bytes,
                            2 * uint64_t{options.max_message_bytes}, options.max_output_bytes});
    if (largest > options.log.max_record_bytes) {
      return absl::InvalidArgumentError(base::Cat(
          "saga records may take ", largest, " bytes (max_saga_id_bytes, max_name_bytes and ",
          "max_input_bytes, or max_output_bytes, or twice max_message_bytes), more than the ",
          "log's max_record_bytes ", options.log.max_record_bytes));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<OrchestratorImpl>> OrchestratorImpl::Open(
    const OrchestratorOptions& options, std::vector<SagaDefinition> definitions,
    SagaRecoveryReport* report) {
  KEEL_RETURN_IF_ERROR(CheckOptions(options));
  const base::Clock& clock =
      options.clock != nullptr ? *options.clock : base::MonotonicClock::Default();
  auto impl = std::make_unique<OrchestratorImpl>(options, clock);
  for (SagaDefinition& definition : definitions) {
    KEEL_RETURN_IF_ERROR(definition.Validate(options.definition_limits));
    auto compiled = std::make_unique<CompiledDefinition>();
    compiled->shape = DefinitionShape::Of(definition);
    compiled->definition = std::move(definition);
    const std::string name = compiled->definition.name;
    if (!impl->definitions_.emplace(name, std::move(compiled)).second) {
      return absl::InvalidArgumentError(
          base::Cat("two saga definitions are named ", base::Quoted(name)));
    }
  }
  SagaRecoveryReport local_report;
  if (!options.dir.empty()) {
    std::lock_guard<std::mutex> lock(impl->mu_);
    KEEL_RETURN_IF_ERROR(impl->Recover(local_report));
  }
  if (report != nullptr) *report = std::move(local_report);
  return impl;
}

absl::Status OrchestratorImpl::Recover(SagaRecoveryReport& report) {
  fs_ = options_.log.file_system != nullptr ? options_.log.file_system : &wal::FileSystem::Posix();
  KEEL_RETURN_IF_ERROR(fs_->CreateDir(options_.dir));
  KEEL_RETURN_IF_ERROR(wal::SyncParentDir(*fs_, options_.dir));
  uint64_t replay_from = 0;
  absl::StatusOr<std::string> checkpoint =
      wal::ReadFileChecked(*fs_, base::Cat(options_.dir, "/", kCheckpointName));
  if (checkpoint.ok()) {
    report.checkpoint_found = true;
    KEEL_RETURN_IF_ERROR(LoadCheckpoint(*checkpoint, replay_from));
  } else if (!absl::IsNotFound(checkpoint.status())) {
    return checkpoint.status();
  }
  KEEL_ASSIGN_OR_RETURN(
      log_, wal::Log::Open(base::Cat(options_.dir, "/", kLogName), options_.log, &report.log));
  if (log_->first_offset() > replay_from || log_->next_offset() < replay_from) {
    return absl::DataLossError(
        base::Cat("saga log in ", options_.dir, " holds records [", log_->first_offset(), ", ",
                  log_->next_offset(), "), but replay must start at ", replay_from,
                  report.checkpoint_found ? " (the checkpoint's)" : " (there is no checkpoint)"));
  }
  report.replayed_from = replay_from;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log_->NewReader(replay_from));
  while (true) {
    KEEL_ASSIGN_OR_RETURN(std::optional<wal::RecordView> view, reader->Next());
    if (!view.has_value()) break;
    absl::StatusOr<Record> record = DecodeRecord(view->payload);
    absl::Status applied =
        record.ok() ? ApplyRecord(*record, /*live=*/false) : std::move(record).status();
    if (!applied.ok()) {
      return absl::Status(applied.code(), base::Cat("saga log record at offset ", view->offset,
                                                    ": ", applied.message()));
    }
    ++report.records_replayed;
  }
  records_since_checkpoint_ = report.records_replayed;
  // Every running saga is called again, oldest first: the step that was under way (with the
  // same attempt and key), or the retry that was waiting.
  std::vector<std::pair<uint64_t, uint32_t>> running;
  for (const auto& [seq, slot] : live_by_seq_) {
    if (slots_[slot]->state.running()) running.emplace_back(seq, slot);
  }
  std::sort(running.begin(), running.end());
  for (const auto& [seq, slot] : running) Queue(slot);
  report.live_sagas = live_by_id_.size();
  report.finished_sagas = finished_.size();
  return absl::OkStatus();
}

absl::Status OrchestratorImpl::LoadCheckpoint(std::string_view bytes, uint64_t& replay_from) {
  base::Reader in(bytes);
  const absl::Status status = [&]() -> absl::Status {
    KEEL_ASSIGN_OR_RETURN(uint32_t version, in.ReadVarint32());
    if (version != kCheckpointVersion) {
      return absl::DataLossError(base::Cat("unknown version ", version));
    }
    KEEL_ASSIGN_OR_RETURN(replay_from, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(next_seq_, in.ReadVarint64());
    for (const bool finished : {false, true}) {
      KEEL_ASSIGN_OR_RETURN(uint64_t count, in.ReadVarint64());
      for (uint64_t i = 0; i < count; ++i) {
        KEEL_ASSIGN_OR_RETURN(SagaState saga, DecodeSaga(in, options_.history_length));
        if (saga.seq >= next_seq_ || saga.finished() != finished) {
          return absl::DataLossError(base::Cat("saga ", base::Quoted(saga.id), " (number ",
                                               saga.seq, ") does not belong in the ",
                                               finished ? "finished" : "live", " list"));
        }
        if (finished) {
          if (finished_.contains(saga.id) || live_by_id_.contains(saga.id)) {
            return absl::DataLossError(base::Cat("saga ", base::Quoted(saga.id), " twice"));
          }
          Retain(std::make_unique<SagaState>(std::move(saga)));
        } else {
          uint32_t slot = 0;
          KEEL_RETURN_IF_ERROR(Admit(std::move(saga), &slot));
        }
      }
    }
    return in.ExpectEnd();
  }();
  if (status.ok()) return status;
  return absl::Status(status.code() == absl::StatusCode::kFailedPrecondition
                          ? status.code()
                          : absl::StatusCode::kDataLoss,
                      base::Cat("saga checkpoint in ", options_.dir, ": ", status.message()));
}

absl::Status OrchestratorImpl::MaybeCheckpoint() {
  if (log_ == nullptr || options_.checkpoint_interval_records == 0 ||
      records_since_checkpoint_ < options_.checkpoint_interval_records) {
    return absl::OkStatus();
  }
  return WriteCheckpoint();
}

absl::Status OrchestratorImpl::WriteCheckpoint() {
  const uint64_t replay_from = log_->next_offset();
  std::string out;
  base::PutVarint32(out, kCheckpointVersion);
  base::PutVarint64(out, replay_from);
  base::PutVarint64(out, next_seq_);
  std::vector<std::pair<uint64_t, uint32_t>> live(live_by_seq_.begin(), live_by_seq_.end());
  std::sort(live.begin(), live.end());
  base::PutVarint64(out, live.size());
  for (const auto& [seq, slot] : live) EncodeSaga(slots_[slot]->state, out);
  base::PutVarint64(out, finished_order_.size());
  for (const std::string& id : finished_order_) EncodeSaga(*finished_.find(id)->second, out);
  KEEL_RETURN_IF_ERROR(wal::WriteFileAtomically(*fs_, options_.dir, kCheckpointName, out));
  KEEL_RETURN_IF_ERROR(log_->DropBefore(replay_from).status());
  records_since_checkpoint_ = 0;
  ++stats_.checkpoints;
  return absl::OkStatus();
}

}  // namespace keel::saga::internal
