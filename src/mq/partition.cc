// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "partition.h"

#include <algorithm>
#include <chrono>

#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/atomic_file.h"
#include "keel/wal/format.h"

namespace keel::mq::internal {
namespace {

// A follower copies at most this many bytes per round, so that one round stays short.
constexpr uint64_t kMaxReplicaFetchBytes = 8 << 20;

}  // namespace

Partition::Partition(Context& ctx, std::string topic, uint32_t index, TopicConfig config,
                     std::vector<uint32_t> brokers)
    : ctx_(ctx), topic_(std::move(topic)), index_(index), config_(config) {
  for (const uint32_t broker : brokers) {
    Replica r;
    r.broker = broker;
    r.dir = base::Cat(BrokerDir(ctx_.dir(), broker), "/", topic_, "-", index_);
    replicas_.push_back(std::move(r));
    fetch_mu_.push_back(std::make_unique<std::mutex>());
  }
}

std::string Partition::BrokerDir(const std::string& dir, uint32_t broker) {
  return base::Cat(dir, "/broker-", broker);
}

std::string Partition::Name() const { return base::Cat(topic_, "-", index_); }

int Partition::ReplicaOn(uint32_t broker) const {
  for (size_t r = 0; r < replicas_.size(); ++r) {
    if (replicas_[r].broker == broker) return static_cast<int>(r);
  }
  return -1;
}

absl::StatusOr<std::unique_ptr<wal::Log>> Partition::OpenLog(const Replica& replica) const {
  KEEL_RETURN_IF_ERROR(ctx_.fs().CreateDir(BrokerDir(ctx_.dir(), replica.broker)));
  wal::LogOptions o;
  // Syncs are explicit: the leader's when a producer waits for it, a follower's after each copy.
  o.sync = wal::SyncPolicy::kNone;
  o.max_segment_bytes = ctx_.options().segment_bytes;
  o.max_record_bytes = ctx_.options().max_message_bytes;
  o.file_system = &ctx_.fs();
  o.clock = &ctx_.clock();
  wal::RecoveryReport report;
  auto log = wal::Log::Open(replica.dir, o, &report);
  if (!log.ok()) {
    return absl::Status(log.status().code(),
                        base::Cat("partition ", Name(), " on broker ", replica.broker, ": ",
                                  log.status().message()));
  }
  for (const std::string& line : report.events) {
    ctx_.Record(base::Cat(Name(), " broker ", replica.broker, " recovery: ", line));
  }
  return log;
}

// A topic name never ends in ".cut-<n>", so no replica directory has a cut file's name.
std::string Partition::CutFileName() const { return base::Cat(topic_, "-", index_, ".cut"); }

absl::Status Partition::WriteCut(const Replica& replica, uint64_t point) const {
  std::string contents;
  base::PutVarint64(contents, point);
  return wal::WriteFileAtomically(ctx_.fs(), BrokerDir(ctx_.dir(), replica.broker), CutFileName(),
                                  contents);
}

absl::Status Partition::ApplyCut(const Replica& replica, wal::Log& log, bool keep) const {
  const std::string dir = BrokerDir(ctx_.dir(), replica.broker);
  const std::string path = base::Cat(dir, "/", CutFileName());
  absl::StatusOr<std::string> contents = wal::ReadFileChecked(ctx_.fs(), path);
  if (absl::IsNotFound(contents.status())) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(contents.status());
  base::Reader in(*contents);
  KEEL_ASSIGN_OR_RETURN(const uint64_t cut, in.ReadVarint64());
  KEEL_RETURN_IF_ERROR(in.ExpectEnd());
  if (!keep && cut < log.first_offset()) {
    KEEL_RETURN_IF_ERROR(log.Reset(cut));
  } else if (!keep && cut < log.next_offset()) {
    ctx_.Record(base::Cat(Name(), " broker ", replica.broker, " cuts its log from ",
                          log.next_offset(), " back to the high watermark ", cut,
                          " it knew when it stopped"));
    KEEL_RETURN_IF_ERROR(log.Truncate(cut));
  }
  // The cut is durable before its file goes, and the file's removal is durable before the
  // replica takes a single new message: applied twice, a stale cut could remove committed ones.
  KEEL_RETURN_IF_ERROR(ctx_.fs().Remove(path));
  return ctx_.fs().SyncDir(dir);
}

absl::Status Partition::Open(const std::vector<bool>& up) {
  std::unique_lock life(life_mu_);
  const int64_t now = ctx_.clock().NowNanos();
  int longest = -1;
  for (size_t r = 0; r < replicas_.size(); ++r) {
    Replica& rep = replicas_[r];
    rep.caught_up_ns = now;
    if (!up[rep.broker]) {
      rep.in_sync = false;
      continue;
    }
    KEEL_ASSIGN_OR_RETURN(rep.log, OpenLog(rep));
    KEEL_RETURN_IF_ERROR(ApplyCut(rep, *rep.log, /*keep=*/false));
    rep.log_end = rep.log->next_offset();
    rep.in_sync = true;
    if (longest < 0 || rep.log_end > replicas_[longest].log_end) longest = static_cast<int>(r);
  }
  {
    std::lock_guard lock(mu_);
    if (longest < 0) {
      leader_ = -1;
      return absl::OkStatus();
    }
    leader_ = longest;
    epoch_ = 1;
    // Every live replica is a prefix of the longest; the high watermark is the shortest end until
    // the followers have copied the rest.
    high_watermark_ = replicas_[leader_].log_end;
    for (const Replica& rep : replicas_) {
      if (rep.log) high_watermark_ = std::min(high_watermark_, rep.log_end);
    }
  }
  KEEL_RETURN_IF_ERROR(RebuildProducers());
  life.unlock();
  for (size_t r = 0; r < replicas_.size(); ++r) {
    for (;;) {
      KEEL_ASSIGN_OR_RETURN(const bool copied, CatchUpReplica(static_cast<int>(r)));
      if (!copied) break;
    }
  }
  return absl::OkStatus();
}

void Partition::RecomputeHighWatermark() {
  if (leader_ < 0) return;
  uint64_t hw = replicas_[leader_].log_end;
  for (size_t r = 0; r < replicas_.size(); ++r) {
    if (static_cast<int>(r) != leader_ && replicas_[r].in_sync) {
      hw = std::min(hw, replicas_[r].log_end);
    }
  }
  if (hw > high_watermark_) {
    high_watermark_ = hw;
    hw_cv_.notify_all();
  }
}

// ---------------------------------------------------------------------------------------------
// The leader's side: appends and the idempotent producers.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::optional<ProduceResult>> Partition::CheckSequence(
    std::span<const Message> messages) {
  const uint64_t producer = messages.front().producer_id;
  if (producer == 0) return std::nullopt;
  const uint64_t first = messages.front().sequence;
  const auto count = static_cast<uint32_t>(messages.size());
  auto it = producers_.find(producer);
  // A producer this partition has not seen (or whose messages retention deleted) starts anywhere.
  if (it == producers_.end() || first == it->second.next_sequence) return std::nullopt;
  for (const ProducerBatch& run : it->second.recent) {
    if (run.first_sequence <= first && first + count <= run.first_sequence + run.count) {
      ProduceResult duplicate;
      duplicate.partition = index_;
      duplicate.base_offset = run.base_offset + (first - run.first_sequence);
      duplicate.count = count;
      duplicate.duplicate = true;
      return duplicate;
    }
  }
  if (first < it->second.next_sequence) {
    return absl::AlreadyExistsError(
        base::Cat("producer ", producer, " sequence ", first, " in ", Name(),
                  " was appended too long ago to say where (only the last ", kRecentBatches,
                  " batches are remembered)"));
  }
  return absl::FailedPreconditionError(base::Cat("out-of-order sequence from producer ", producer,
                                                 " in ", Name(), ": got ", first, ", expected ",
                                                 it->second.next_sequence));
}

absl::Status Partition::RebuildProducers() {
  producers_.clear();
  if (leader_ < 0) return absl::OkStatus();
  wal::Log& log = *replicas_[leader_].log;
  KEEL_ASSIGN_OR_RETURN(auto reader, log.NewReader(log.first_offset()));
  for (;;) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> record, reader->Next());
    if (!record) break;
    KEEL_ASSIGN_OR_RETURN(const Message m, DecodeMessage(record->payload));
    if (m.producer_id == 0) continue;
    ProducerState& state = producers_[m.producer_id];
    ProducerBatch* last = state.recent.empty() ? nullptr : &state.recent.back();
    if (last != nullptr && m.sequence == last->first_sequence + last->count &&
        record->offset == last->base_offset + last->count) {
      ++last->count;
    } else {
      state.recent.push_back({m.sequence, 1, record->offset});
      if (state.recent.size() > kRecentBatches) state.recent.pop_front();
    }
    state.next_sequence = m.sequence + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<ProduceResult> Partition::Append(std::span<const Message> messages, Acks acks) {
  ProduceResult result;
  result.partition = index_;
  result.count = static_cast<uint32_t>(messages.size());
  uint64_t end = 0;
  uint64_t epoch = 0;
  {
    std::shared_lock life(life_mu_);
    wal::Log* log = nullptr;
    {
      std::lock_guard append(append_mu_);
      {
        std::lock_guard lock(mu_);
        if (leader_ < 0) {
          return absl::UnavailableError(
              base::Cat("partition ", Name(), " has no leader: no in-sync replica is up"));
        }
        log = replicas_[leader_].log.get();
        epoch = epoch_;
        KEEL_ASSIGN_OR_RETURN(const std::optional<ProduceResult> duplicate,
                              CheckSequence(messages));
        if (duplicate) {
          // A retry of a batch that is already here, but perhaps not yet durable or committed:
          // it waits for that as the first attempt would have.
          result = *duplicate;
          end = result.base_offset + result.count;
        }
      }
      if (!result.duplicate) {
        std::vector<std::string> records;
        records.reserve(messages.size());
        for (const Message& m : messages) records.push_back(EncodeMessage(m));
        std::vector<std::string_view> views(records.begin(), records.end());
        KEEL_ASSIGN_OR_RETURN(result.base_offset, log->AppendBatch(views));
        end = result.base_offset + messages.size();
        std::lock_guard lock(mu_);
        replicas_[leader_].log_end = end;
        const uint64_t producer = messages.front().producer_id;
        if (producer != 0) {
          ProducerState& state = producers_[producer];
          state.next_sequence = messages.front().sequence + messages.size();
          state.recent.push_back({messages.front().sequence, result.count, result.base_offset});
          if (state.recent.size() > kRecentBatches) state.recent.pop_front();
        }
        RecomputeHighWatermark();
      }
    }
    if (!result.duplicate) ctx_.NotifyAppend();
    if (acks == Acks::kNone) return result;
    KEEL_RETURN_IF_ERROR(log->WaitDurable(end));
  }
  if (acks == Acks::kLeader) return result;

  if (!ctx_.options().background) {
    for (size_t r = 0; r < replicas_.size(); ++r) {
      KEEL_RETURN_IF_ERROR(CatchUpReplica(static_cast<int>(r)).status());
    }
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::nanoseconds(ctx_.options().request_timeout_ns);
  std::unique_lock lock(mu_);
  while (high_watermark_ < end) {
    if (interrupted_) {
      return absl::UnavailableError(base::Cat("the cluster is closing: offsets ",
                                              result.base_offset, " to ", end - 1, " of ", Name(),
                                              " are on the leader and may still commit"));
    }
    if (epoch_ != epoch) {
      return absl::UnavailableError(base::Cat("the leader of ", Name(), " changed before offsets ",
                                              result.base_offset, " to ", end - 1,
                                              " were on every in-sync replica; they may be lost"));
    }
    if (!ctx_.options().background ||
        hw_cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (high_watermark_ >= end) break;
      return absl::DeadlineExceededError(
          base::Cat("offsets ", result.base_offset, " to ", end - 1, " of ", Name(),
                    " are on the leader but not yet on every in-sync replica (high watermark ",
                    high_watermark_, ")"));
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Consumers' side.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<FetchResult> Partition::Fetch(uint64_t from, const FetchOptions& options) const {
  std::shared_lock life(life_mu_);
  const wal::Log* log = nullptr;
  FetchResult out;
  {
    std::lock_guard lock(mu_);
    if (leader_ < 0) {
      return absl::UnavailableError(
          base::Cat("partition ", Name(), " has no leader: no in-sync replica is up"));
    }
    log = replicas_[leader_].log.get();
    out.high_watermark = high_watermark_;
  }
  out.log_start = log->first_offset();
  if (from < out.log_start || from > out.high_watermark) {
    return absl::OutOfRangeError(base::Cat("offset ", from, " is outside ", Name(), "'s [",
                                           out.log_start, ", ", out.high_watermark,
                                           "] (log start, high watermark)"));
  }
  out.next_offset = from;
  if (from == out.high_watermark) return out;
  KEEL_ASSIGN_OR_RETURN(auto reader, log->NewReader(from));
  uint64_t bytes = 0;
  while (out.next_offset < out.high_watermark && out.messages.size() < options.max_messages &&
         (out.messages.empty() || bytes < options.max_bytes)) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> record, reader->Next());
    if (!record) break;
    if (record->offset >= out.high_watermark) break;
    out.next_offset = record->offset + 1;
    KEEL_ASSIGN_OR_RETURN(Message m, DecodeMessage(record->payload));
    if (!options.tags.empty() &&
        std::find(options.tags.begin(), options.tags.end(), m.tag) == options.tags.end()) {
      continue;
    }
    bytes += m.value.size();
    out.messages.push_back({index_, record->offset, std::move(m)});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Followers' side.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<bool> Partition::CatchUp(uint32_t broker) {
  const int r = ReplicaOn(broker);
  if (r < 0) return false;
  return CatchUpReplica(r);
}

absl::StatusOr<bool> Partition::CatchUpReplica(int r) {
  std::shared_lock life(life_mu_);
  std::lock_guard fetch(*fetch_mu_[r]);
  Replica& rep = replicas_[r];
  wal::Log* leader_log = nullptr;
  uint64_t leader_end = 0;
  uint64_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    if (leader_ < 0 || r == leader_ || rep.log == nullptr) return false;
    leader_log = replicas_[leader_].log.get();
    leader_end = replicas_[leader_].log_end;
    epoch = epoch_;
  }
  wal::Log& log = *rep.log;
  uint64_t from = log.next_offset();
  if (from < leader_log->first_offset()) {
    // Retention on the leader deleted what this follower needs next: start over where the
    // leader's log starts.
    ctx_.Record(base::Cat(Name(), " broker ", rep.broker, " is behind the leader's log start ",
                          leader_log->first_offset(), ": resetting its log"));
    KEEL_RETURN_IF_ERROR(log.Reset(leader_log->first_offset()));
    from = log.next_offset();
    rep.cursor.reset();
  }
  if (from > leader_end) {
    return absl::InternalError(base::Cat(
        Name(), " broker ", rep.broker, " is ahead of its leader (", from, " > ", leader_end, ")"));
  }
  if (rep.cursor == nullptr || rep.cursor_epoch != epoch || rep.cursor->position() != from) {
    KEEL_ASSIGN_OR_RETURN(rep.cursor, leader_log->NewReader(from));
    rep.cursor_epoch = epoch;
  }
  // A round is one batch in the follower's log, which must fit in a segment with its framing.
  const uint64_t max_bytes = std::min<uint64_t>(
      kMaxReplicaFetchBytes, ctx_.options().segment_bytes - wal::kSegmentHeaderBytes);
  std::vector<std::string> copies;
  uint64_t bytes = 0;
  while (copies.size() < ctx_.options().max_replica_fetch && from + copies.size() < leader_end) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> record, rep.cursor->Next());
    if (!record) break;
    if (record->offset != from + copies.size()) {
      return absl::DataLossError(base::Cat(Name(), ": the leader's log skips from offset ",
                                           from + copies.size(), " to ", record->offset));
    }
    const uint64_t framed = wal::kRecordHeaderBytes + record->payload.size();
    if (!copies.empty() && bytes + framed > max_bytes) {
      rep.cursor.reset();  // it read one record too many; the next round starts afresh
      break;
    }
    copies.emplace_back(record->payload);
    bytes += framed;
  }
  if (!copies.empty()) {
    std::vector<std::string_view> views(copies.begin(), copies.end());
    KEEL_ASSIGN_OR_RETURN(const uint64_t base, log.AppendBatch(views));
    KEEL_ASSERT(base == from, "a follower's log end moved while it was copying");
    KEEL_RETURN_IF_ERROR(log.Sync());
  }
  const int64_t now = ctx_.clock().NowNanos();
  std::lock_guard lock(mu_);
  rep.log_end = log.next_offset();
  if (rep.log_end >= leader_end) rep.caught_up_ns = now;
  if (!rep.in_sync && rep.log_end >= high_watermark_) {
    rep.in_sync = true;
    ctx_.Record(base::Cat(Name(), ": broker ", rep.broker, " caught up at offset ", rep.log_end,
                          " and rejoined the ISR"));
  }
  RecomputeHighWatermark();
  return !copies.empty();
}

void Partition::Maintain(int64_t now_ns) {
  std::shared_lock life(life_mu_);
  std::lock_guard lock(mu_);
  if (leader_ < 0) return;
  const uint64_t leader_end = replicas_[leader_].log_end;
  for (size_t r = 0; r < replicas_.size(); ++r) {
    Replica& rep = replicas_[r];
    if (static_cast<int>(r) == leader_ || !rep.in_sync || rep.log_end >= leader_end) continue;
    const int64_t lag_ns = now_ns - rep.caught_up_ns;
    if (lag_ns > ctx_.options().replica_lag_max_ns) {
      rep.in_sync = false;
      ctx_.Record(base::Cat(Name(), ": broker ", rep.broker, " left the ISR, ",
                            leader_end - rep.log_end, " messages and ",
                            lag_ns / base::kNanosPerMilli, " ms behind"));
    }
  }
  RecomputeHighWatermark();
}

absl::Status Partition::ApplyRetention() {
  if (config_.retention_bytes == 0 && config_.retention_ns == 0) return absl::OkStatus();
  std::shared_lock life(life_mu_);
  for (Replica& rep : replicas_) {
    wal::Log* log;
    uint64_t high_watermark;
    {
      std::lock_guard lock(mu_);
      log = rep.log.get();
      high_watermark = high_watermark_;
    }
    if (log == nullptr) continue;
    // Never past the high watermark: what is above it is not yet on every in-sync replica, and a
    // leader that deleted it could not give it to them.
    KEEL_ASSIGN_OR_RETURN(
        const size_t dropped,
        log->ApplyRetention(config_.retention_bytes, config_.retention_ns, high_watermark));
    if (dropped > 0) {
      ctx_.Record(base::Cat(Name(), " broker ", rep.broker, ": retention deleted ", dropped,
                            " segments; the log now starts at offset ", log->first_offset()));
    }
  }
  return absl::OkStatus();
}

absl::Status Partition::DropBefore(uint64_t offset) {
  std::shared_lock life(life_mu_);
  for (Replica& rep : replicas_) {
    wal::Log* log;
    {
      std::lock_guard lock(mu_);
      log = rep.log.get();
    }
    if (log != nullptr) KEEL_RETURN_IF_ERROR(log->DropBefore(offset).status());
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Failures and elections.
// ---------------------------------------------------------------------------------------------

// REQUIRES: life_mu_ held exclusively and mu_ held.
void Partition::Elect(int replica, std::string_view why) {
  leader_ = replica;
  ++epoch_;
  ctx_.Record(base::Cat(Name(), ": broker ", replicas_[replica].broker, " is the leader (epoch ",
                        epoch_, ", ", why, ")"));
}

// Followers longer than a new leader cut back to its end. REQUIRES: life_mu_ held exclusively.
absl::Status Partition::AlignFollowers() {
  if (leader_ < 0) return absl::OkStatus();
  const uint64_t end = replicas_[leader_].log->next_offset();
  for (size_t r = 0; r < replicas_.size(); ++r) {
    Replica& rep = replicas_[r];
    if (static_cast<int>(r) == leader_ || rep.log == nullptr) continue;
    if (rep.log->next_offset() > end) {
      ctx_.Record(base::Cat(Name(), " broker ", rep.broker, " cuts its log from ",
                            rep.log->next_offset(), " back to the new leader's end ", end));
      KEEL_RETURN_IF_ERROR(rep.log->Truncate(end));
    }
    std::lock_guard lock(mu_);
    rep.log_end = rep.log->next_offset();
  }
  return absl::OkStatus();
}

absl::Status Partition::StopReplica(uint32_t broker) {
  const int r = ReplicaOn(broker);
  if (r < 0) return absl::OkStatus();
  // Exclusive: no append, copy or ISR change runs, so the high watermark is that of the moment
  // the replica goes.
  std::unique_lock life(life_mu_);
  Replica& rep = replicas_[r];
  if (rep.log == nullptr) return absl::OkStatus();
  bool last_in_sync;
  uint64_t high_watermark;
  {
    std::lock_guard lock(mu_);
    last_in_sync = r == leader_;
    for (size_t c = 0; c < replicas_.size(); ++c) {
      if (static_cast<int>(c) != r && replicas_[c].log != nullptr && replicas_[c].in_sync) {
        last_in_sync = false;
      }
    }
    high_watermark = high_watermark_;
  }
  // Before anything changes, so that a crash from here on finds it.
  if (!last_in_sync) KEEL_RETURN_IF_ERROR(WriteCut(rep, high_watermark));
  bool elected = false;
  {
    std::lock_guard lock(mu_);
    for (Replica& other : replicas_) other.cursor.reset();
    rep.log.reset();
    const bool was_in_sync = rep.in_sync;
    rep.in_sync = false;
    if (r == leader_) {
      leader_ = -1;
      for (size_t c = 0; c < replicas_.size(); ++c) {
        if (replicas_[c].log != nullptr && replicas_[c].in_sync) {
          Elect(static_cast<int>(c), base::Cat("broker ", broker, " stopped"));
          elected = true;
          break;
        }
      }
      if (!elected) {
        // The last in-sync replica: the partition waits for it, and it leads when it starts.
        rep.in_sync = was_in_sync;
        ++epoch_;
        ctx_.Record(base::Cat(Name(), " is offline: its leader, broker ", broker,
                              ", stopped and no other in-sync replica is up"));
      }
    } else if (was_in_sync) {
      ctx_.Record(base::Cat(Name(), ": broker ", broker, " stopped and left the ISR"));
    }
    RecomputeHighWatermark();
    hw_cv_.notify_all();
  }
  if (elected) {
    // A new leader: followers that copied more than it has cut back, and its producer state is
    // what its own log says.
    const absl::Status aligned = AlignFollowers();
    const absl::Status rebuilt = RebuildProducers();
    if (!aligned.ok() || !rebuilt.ok()) {
      ctx_.Record(base::Cat(
          Name(), ": after the election: ", aligned.ok() ? rebuilt.message() : aligned.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status Partition::StartReplica(uint32_t broker) {
  const int r = ReplicaOn(broker);
  if (r < 0) return absl::OkStatus();
  std::unique_lock life(life_mu_);
  Replica& rep = replicas_[r];
  if (rep.log != nullptr) return absl::OkStatus();
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::Log> log, OpenLog(rep));
  bool leads;
  {
    std::lock_guard lock(mu_);
    // The last in-sync replica, or the first replica of a partition that never had a leader (its
    // brokers were all down when the topic was created).
    leads = leader_ < 0 && (rep.in_sync || epoch_ == 0);
  }
  // The last in-sync replica keeps everything it has (it wrote no cut file); any other cuts back
  // to the high watermark it knew, since a new leader may have written different messages past it.
  KEEL_RETURN_IF_ERROR(ApplyCut(rep, *log, /*keep=*/leads));
  {
    std::lock_guard lock(mu_);
    rep.log = std::move(log);
    rep.log_end = rep.log->next_offset();
    rep.caught_up_ns = ctx_.clock().NowNanos();
    if (leads) {
      rep.in_sync = true;
      Elect(r, epoch_ == 0 ? base::Cat("broker ", broker, " started, the first replica up")
                           : base::Cat("the last in-sync replica, broker ", broker, ", started"));
      high_watermark_ = std::max(high_watermark_, rep.log_end);
    } else {
      rep.in_sync = false;  // until it catches up
    }
  }
  if (leads) {
    KEEL_RETURN_IF_ERROR(AlignFollowers());
    KEEL_RETURN_IF_ERROR(RebuildProducers());
  }
  return absl::OkStatus();
}

void Partition::Interrupt() {
  std::lock_guard lock(mu_);
  interrupted_ = true;
  hw_cv_.notify_all();
}

absl::Status Partition::Close() {
  for (size_t r = 0; r < replicas_.size(); ++r) {
    for (;;) {
      KEEL_ASSIGN_OR_RETURN(const bool copied, CatchUpReplica(static_cast<int>(r)));
      if (!copied) break;
    }
  }
  std::unique_lock life(life_mu_);
  std::lock_guard lock(mu_);
  for (Replica& rep : replicas_) {
    rep.cursor.reset();
    if (rep.log != nullptr) {
      KEEL_RETURN_IF_ERROR(rep.log->Sync());
      rep.log.reset();
    }
  }
  leader_ = -1;
  return absl::OkStatus();
}

PartitionState Partition::Describe() const {
  std::lock_guard lock(mu_);
  PartitionState s;
  for (const Replica& rep : replicas_) {
    s.replicas.push_back({rep.broker, rep.log != nullptr, rep.in_sync, rep.log_end});
  }
  s.leader_epoch = epoch_;
  s.high_watermark = high_watermark_;
  if (leader_ >= 0) {
    s.leader = replicas_[leader_].broker;
    s.log_start = replicas_[leader_].log->first_offset();
    s.log_end = replicas_[leader_].log_end;
  }
  return s;
}

}  // namespace keel::mq::internal
