// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A partition's life (opening, closing, describing it) and its leader's side: appends with their
// acks, consumers' fetches, retention. The followers' side is in partition_replication.cc, the
// controller's decisions in partition_election.cc.
#include "partition.h"

#include <algorithm>
#include <chrono>

#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::mq::internal {

Partition::Partition(Context& ctx, MetadataStore& metadata, std::string topic, uint32_t index,
                     TopicConfig config, std::vector<uint32_t> brokers)
    : ctx_(ctx), metadata_(metadata), topic_(std::move(topic)), index_(index), config_(config) {
  for (const uint32_t broker : brokers) {
    Slot slot;
    slot.broker = broker;
    slot.dir = base::Cat(BrokerDir(ctx_.dir(), broker), "/", topic_, "-", index_);
    slots_.push_back(std::move(slot));
  }
}

std::string Partition::BrokerDir(const std::string& dir, uint32_t broker) {
  return base::Cat(dir, "/broker-", broker);
}

std::string Partition::Name() const { return base::Cat(topic_, "-", index_); }

std::string Partition::Label(const Slot& slot) const {
  return base::Cat(Name(), " on broker ", slot.broker);
}

int Partition::SlotOf(uint32_t broker) const {
  for (size_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s].broker == broker) return static_cast<int>(s);
  }
  return -1;
}

absl::Status Partition::OpenReplica(Slot& slot) {
  bool damaged = false;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Replica> replica,
                        Replica::Open(ctx_, slot.dir, Label(slot), &damaged));
  std::lock_guard lock(mu_);
  slot.replica = std::move(replica);
  slot.damaged = damaged;
  slot.compared_epoch = 0;
  slot.cursor.reset();
  slot.caught_up_ns = ctx_.clock().NowNanos();
  return absl::OkStatus();
}

absl::Status Partition::Open(const std::vector<bool>& up) {
  std::unique_lock life(life_mu_);
  KEEL_ASSIGN_OR_RETURN(const std::optional<PartitionRecord> record,
                        metadata_.LoadPartition(topic_, index_));
  for (Slot& slot : slots_) {
    if (!up[slot.broker]) continue;
    const absl::Status opened = OpenReplica(slot);
    if (absl::IsDataLoss(opened)) {
      ctx_.Record(base::Cat(Label(slot), " cannot be opened and stays down: ", opened.message()));
    } else {
      KEEL_RETURN_IF_ERROR(opened);
    }
  }
  std::vector<bool> isr(slots_.size(), false);
  int leader = -1;
  std::string why;
  {
    std::lock_guard lock(mu_);
    epoch_ = record ? record->leader_epoch : 0;
    for (size_t s = 0; s < slots_.size(); ++s) {
      Slot& slot = slots_[s];
      slot.in_sync = record && std::find(record->isr.begin(), record->isr.end(), slot.broker) !=
                                   record->isr.end();
      const bool live = slot.replica != nullptr;
      // A partition that never had a leader holds nothing yet: every live replica is in sync.
      // Otherwise the written ISR, without the replicas that are down or were found damaged
      // (they may lack committed messages).
      isr[s] = live && (epoch_ == 0 || (slot.in_sync && !slot.damaged));
      if (!isr[s]) continue;
      if (leader < 0 || (record && record->leader == slot.broker)) leader = static_cast<int>(s);
    }
    if (leader >= 0) {
      why = epoch_ == 0 ? "the first replica up" : "the cluster opened";
    } else if (epoch_ > 0) {
      // No healthy in-sync replica: if every in-sync replica that is up was damaged, the one
      // with the longest log leads, having lost what its damage cut (nobody has more).
      leader = LongestLiveInSync();
      if (leader >= 0) {
        isr[leader] = true;
        why = "every in-sync replica is damaged; messages after its damage may be lost";
      }
    }
  }
  if (leader >= 0) {
    KEEL_RETURN_IF_ERROR(Elect(leader, isr, why));
  } else if (epoch_ > 0) {
    ctx_.Record(base::Cat(Name(), " is offline: no replica of its ISR is up"));
  }
  life.unlock();
  for (size_t s = 0; s < slots_.size(); ++s) {
    for (;;) {
      const absl::StatusOr<bool> copied = CatchUpSlot(static_cast<int>(s));
      if (!copied.ok()) {
        ctx_.Record(
            base::Cat(Label(slots_[s]), " could not catch up: ", copied.status().message()));
      }
      if (!copied.ok() || !*copied) break;
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// The leader's side: appends and their acks.
// ---------------------------------------------------------------------------------------------

size_t Partition::IsrSize() const {
  return static_cast<size_t>(
      std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.in_sync; }));
}

absl::StatusOr<ProduceResult> Partition::Append(std::span<const Message> messages, Acks acks) {
  ProduceResult result;
  result.partition = index_;
  result.count = static_cast<uint32_t>(messages.size());
  uint64_t end = 0;
  uint64_t epoch = 0;
  {
    std::shared_lock life(life_mu_);
    Replica* leader = nullptr;
    {
      std::lock_guard lock(mu_);
      if (leader_ < 0) {
        return absl::UnavailableError(
            base::Cat("partition ", Name(), " has no leader: no in-sync replica is up"));
      }
      leader = slots_[leader_].replica.get();
      epoch = epoch_;
      if (acks == Acks::kAll && IsrSize() < config_.min_insync_replicas) {
        return MakeError(
            absl::StatusCode::kUnavailable, Error::kNotEnoughReplicas,
            base::Cat(Name(), " has ", IsrSize(), " in-sync replicas, fewer than its ",
                      config_.min_insync_replicas, " min_insync_replicas: nothing was appended"));
      }
    }
    {
      std::lock_guard write(leader->write_mu());
      const Message& first = messages.front();
      std::optional<uint64_t> duplicate;
      if (first.producer_id != 0) {
        KEEL_ASSIGN_OR_RETURN(
            duplicate,
            leader->producers().Check(
                {first.producer_id, first.producer_epoch, first.sequence, result.count}, Name()));
      }
      if (duplicate) {
        // A retry of a batch that is already here, but perhaps not yet durable or committed: it
        // waits for that as the first attempt would have.
        result.base_offset = *duplicate;
        result.duplicate = true;
      } else {
        std::vector<std::string> records(messages.size());
        std::vector<std::string_view> views(messages.size());
        std::vector<MessageHeader> headers(messages.size());
        for (size_t i = 0; i < messages.size(); ++i) {
          const Message& m = messages[i];
          // Room for the fields and their framing (at most 102 bytes), without working it out.
          records[i].reserve(128 + m.key.size() + m.value.size() + m.tag.size() +
                             m.origin_topic.size());
          AppendEncodedMessage(m, epoch, records[i]);
          views[i] = records[i];
          headers[i] = {epoch, m.timestamp_ns, m.producer_id, m.producer_epoch, m.sequence};
        }
        KEEL_ASSIGN_OR_RETURN(result.base_offset, leader->Append(views, headers));
      }
      end = result.base_offset + result.count;
    }
    if (!result.duplicate) ctx_.NotifyAppend();
    if (acks == Acks::kNone) return result;
    KEEL_RETURN_IF_ERROR(leader->log().WaitDurable(end));
    std::lock_guard lock(mu_);
    RecomputeHighWatermark();
  }
  if (acks == Acks::kLeader) return result;

  if (!ctx_.options().background) {
    // The followers' rounds, inline; one that fails only holds the high watermark back, as a
    // follower's failing fetcher would.
    for (size_t s = 0; s < slots_.size(); ++s) (void)CatchUpSlot(static_cast<int>(s));
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::nanoseconds(ctx_.options().request_timeout_ns);
  const std::string offsets =
      base::Cat("offsets ", result.base_offset, " to ", end - 1, " of ", Name());
  std::unique_lock lock(mu_);
  for (;;) {
    // The epoch first, even when the high watermark is past `end` already: after an election it
    // counts the new leader's log, which may hold other messages at these offsets (this leader
    // appended them, then lost the partition before they were on every in-sync replica).
    if (epoch_ != epoch || leader_ < 0) {
      return absl::UnavailableError(base::Cat("the leader of ", Name(), " changed before ", offsets,
                                              " were on every in-sync replica; they may be lost"));
    }
    if (high_watermark_ >= end) break;
    if (interrupted_) {
      return absl::UnavailableError(base::Cat("the cluster is closing: ", offsets,
                                              " are on the leader and may still commit"));
    }
    if (!ctx_.options().background ||
        hw_cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (high_watermark_ >= end) continue;  // the epoch is checked again above
      return absl::DeadlineExceededError(base::Cat(
          offsets, " are on the leader but not yet on every in-sync replica (high watermark ",
          high_watermark_, ")"));
    }
  }
  // Committed, but by fewer replicas than the topic asks for: the ISR shrank meanwhile.
  if (IsrSize() < config_.min_insync_replicas) {
    return MakeError(
        absl::StatusCode::kUnavailable, Error::kNotEnoughReplicasAfterAppend,
        base::Cat(offsets, " are committed by an ISR of ", IsrSize(), ", fewer than its ",
                  config_.min_insync_replicas, " min_insync_replicas"));
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
    log = &slots_[leader_].replica->log();
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
// Retention.
// ---------------------------------------------------------------------------------------------

absl::Status Partition::ApplyRetention() {
  if (config_.retention_bytes == 0 && config_.retention_ns == 0) return absl::OkStatus();
  std::shared_lock life(life_mu_);
  for (Slot& slot : slots_) {
    uint64_t high_watermark;
    {
      std::lock_guard lock(mu_);
      high_watermark = high_watermark_;
    }
    if (slot.replica == nullptr) continue;
    // Never past the high watermark: what is above it is not yet on every in-sync replica, and a
    // leader that deleted it could not give it to them.
    KEEL_ASSIGN_OR_RETURN(const size_t dropped,
                          slot.replica->ApplyRetention(config_.retention_bytes,
                                                       config_.retention_ns, high_watermark));
    if (dropped > 0) {
      ctx_.Record(base::Cat(Label(slot), ": retention deleted ", dropped,
                            " segments; the log now starts at offset ",
                            slot.replica->log().first_offset()));
    }
  }
  return absl::OkStatus();
}

void Partition::ExpireProducers(int64_t now_ns) {
  const int64_t expiration = ctx_.options().producer_id_expiration_ns;
  if (now_ns <= expiration) return;
  std::shared_lock life(life_mu_);
  for (Slot& slot : slots_) {
    if (slot.replica != nullptr) slot.replica->ExpireProducers(now_ns - expiration);
  }
}

absl::Status Partition::DropBefore(uint64_t offset) {
  std::shared_lock life(life_mu_);
  for (Slot& slot : slots_) {
    if (slot.replica != nullptr) KEEL_RETURN_IF_ERROR(slot.replica->DropBefore(offset));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Closing and describing.
// ---------------------------------------------------------------------------------------------

void Partition::Interrupt() {
  std::lock_guard lock(mu_);
  interrupted_ = true;
  hw_cv_.notify_all();
}

absl::Status Partition::Close() {
  absl::Status status;
  for (size_t s = 0; s < slots_.size(); ++s) {
    for (;;) {
      const absl::StatusOr<bool> copied = CatchUpSlot(static_cast<int>(s));
      status.Update(copied.status());
      if (!copied.ok() || !*copied) break;
    }
  }
  std::unique_lock life(life_mu_);
  for (Slot& slot : slots_) {
    if (slot.replica == nullptr) continue;
    status.Update(slot.replica->Close());
    std::lock_guard lock(mu_);
    slot.cursor.reset();
    slot.replica.reset();
  }
  std::lock_guard lock(mu_);
  leader_ = -1;
  return status;
}

PartitionState Partition::Describe() const {
  std::lock_guard lock(mu_);
  PartitionState s;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    const bool leads = static_cast<int>(i) == leader_;
    s.replicas.push_back({slot.broker, slot.replica != nullptr, slot.in_sync,
                          leads ? slot.replica->log().next_offset() : slot.log_end});
  }
  s.leader_epoch = epoch_;
  s.high_watermark = high_watermark_;
  if (leader_ >= 0) {
    const wal::Log& log = slots_[leader_].replica->log();
    s.leader = slots_[leader_].broker;
    s.log_start = log.first_offset();
    s.log_end = log.next_offset();
  }
  return s;
}

}  // namespace keel::mq::internal
