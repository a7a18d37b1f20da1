// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A partition's followers: their fetch rounds (cutting back to where they agree with a new leader,
// then copying), the high watermark they move, and the maintenance that shrinks the ISR and syncs
// the leader.
#include <algorithm>

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/format.h"
#include "partition.h"

namespace keel::mq::internal {
namespace {

// A follower copies at most this many bytes per round, so that one round stays short.
constexpr uint64_t kMaxReplicaFetchBytes = 8 << 20;

}  // namespace

void Partition::RecomputeHighWatermark() {
  if (leader_ < 0) return;
  // The leader's messages count once durable: a crash of the leader's broker must not take a
  // committed message with it.
  uint64_t hw = slots_[leader_].replica->log().durable_offset();
  for (size_t s = 0; s < slots_.size(); ++s) {
    if (static_cast<int>(s) != leader_ && slots_[s].in_sync) hw = std::min(hw, slots_[s].log_end);
  }
  if (hw > high_watermark_) {
    high_watermark_ = hw;
    hw_cv_.notify_all();
  }
}

absl::Status Partition::SyncLeader(bool only_if_stale) {
  std::shared_lock life(life_mu_);
  Replica* leader = nullptr;
  {
    std::lock_guard lock(mu_);
    if (leader_ < 0) return absl::OkStatus();
    leader = slots_[leader_].replica.get();
  }
  wal::Log& log = leader->log();
  const uint64_t durable = log.durable_offset();
  const uint64_t end = log.next_offset();
  // Maintenance leaves a fresh tail to the producers waiting for it (acks=1 and all sync it at
  // once): a second fsync racing theirs only slows them. What is still unsynced a tick later has
  // no one waiting (acks=0), and maintenance syncs it.
  const uint64_t seen = unsynced_end_seen_.exchange(durable < end ? end : 0);
  if (durable >= end || (only_if_stale && durable >= seen)) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(log.Sync());
  std::lock_guard lock(mu_);
  RecomputeHighWatermark();
  return absl::OkStatus();
}

absl::StatusOr<bool> Partition::CatchUp(uint32_t broker) {
  const int s = SlotOf(broker);
  if (s < 0) return false;
  return CatchUpSlot(s);
}

absl::Status Partition::CompareWithLeader(Slot& slot, Replica& leader, uint64_t epoch) {
  Replica& follower = *slot.replica;
  const wal::Log& log = follower.log();
  const uint64_t end = log.next_offset();
  const uint64_t leader_end = leader.log().next_offset();
  const std::optional<uint64_t> point =
      DivergencePoint(follower.epochs().entries(), log.first_offset(), end,
                      [&](uint64_t e) { return leader.epochs().EndOffsetFor(e, leader_end); });
  if (!point) {
    const uint64_t start = leader.log().first_offset();
    ctx_.Record(base::Cat(Label(slot), " shares no leader epoch with the leader's log: emptying ",
                          "its log to start again at offset ", start));
    KEEL_RETURN_IF_ERROR(follower.Reset(start));
  } else if (*point < end) {
    ctx_.Record(base::Cat(Label(slot), " cuts its log from ", end, " back to ", *point,
                          ", where it stops agreeing with the leader of epoch ", epoch));
    KEEL_RETURN_IF_ERROR(follower.Truncate(*point));
  }
  slot.compared_epoch = epoch;
  slot.cursor.reset();
  return absl::OkStatus();
}

absl::StatusOr<bool> Partition::CatchUpSlot(int s) {
  std::shared_lock life(life_mu_);
  Slot& slot = slots_[s];
  Replica* follower = nullptr;
  Replica* leader = nullptr;
  uint64_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    if (leader_ < 0 || s == leader_ || slot.replica == nullptr) return false;
    follower = slot.replica.get();
    leader = slots_[leader_].replica.get();
    epoch = epoch_;
  }
  std::unique_lock write(follower->write_mu());
  if (slot.compared_epoch != epoch) KEEL_RETURN_IF_ERROR(CompareWithLeader(slot, *leader, epoch));
  wal::Log& log = follower->log();
  wal::Log& leader_log = leader->log();
  uint64_t from = log.next_offset();
  const uint64_t leader_start = leader_log.first_offset();
  const uint64_t leader_end = leader_log.next_offset();
  if (from < leader_start || from > leader_end) {
    // Retention on the leader deleted what this follower needs next (or, after an election of a
    // damaged replica, the leader's log ends before this one's empty log starts): start over
    // where the leader's log starts.
    ctx_.Record(base::Cat(Label(slot), " is outside the leader's log [", leader_start, ", ",
                          leader_end, "] at offset ", from, ": resetting its log"));
    KEEL_RETURN_IF_ERROR(follower->Reset(leader_start));
    from = log.next_offset();
    slot.cursor.reset();
  }
  if (slot.cursor == nullptr || slot.cursor_epoch != epoch || slot.cursor->position() != from) {
    KEEL_ASSIGN_OR_RETURN(slot.cursor, leader_log.NewReader(from));
    slot.cursor_epoch = epoch;
  }
  // A round is one batch in the follower's log, which must fit in a segment with its framing.
  const uint64_t max_bytes = std::min<uint64_t>(
      kMaxReplicaFetchBytes, ctx_.options().segment_bytes - wal::kSegmentHeaderBytes);
  std::vector<std::string> copies;
  std::vector<MessageHeader> headers;
  uint64_t bytes = 0;
  while (copies.size() < ctx_.options().max_replica_fetch && from + copies.size() < leader_end) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> record, slot.cursor->Next());
    if (!record) break;
    if (record->offset != from + copies.size()) {
      return absl::DataLossError(base::Cat(Name(), ": the leader's log skips from offset ",
                                           from + copies.size(), " to ", record->offset));
    }
    const uint64_t framed = wal::kRecordHeaderBytes + record->payload.size();
    if (!copies.empty() && bytes + framed > max_bytes) {
      slot.cursor.reset();  // it read one record too many; the next round starts afresh
      break;
    }
    KEEL_ASSIGN_OR_RETURN(const MessageHeader header, DecodeMessageHeader(record->payload));
    headers.push_back(header);
    copies.emplace_back(record->payload);
    bytes += framed;
  }
  if (!copies.empty()) {
    const std::vector<std::string_view> views(copies.begin(), copies.end());
    KEEL_RETURN_IF_ERROR(follower->Append(views, headers).status());
    KEEL_RETURN_IF_ERROR(log.Sync());
  }
  const uint64_t durable = log.durable_offset();
  const int64_t now = ctx_.clock().NowNanos();
  bool join = false;
  {
    std::lock_guard lock(mu_);
    slot.log_end = durable;
    if (durable >= leader_end) slot.caught_up_ns = now;
    // Back in the ISR once it has everything committed (and has compared its log with this
    // leader's, above, so that nothing it holds differs).
    join = !slot.in_sync && durable >= high_watermark_;
    RecomputeHighWatermark();
  }
  write.unlock();
  if (join) KEEL_RETURN_IF_ERROR(JoinIsr(s));
  return !copies.empty();
}

absl::Status Partition::Maintain(int64_t now_ns) {
  absl::Status status;
  bool offline = false;
  {
    std::shared_lock life(life_mu_);
    std::vector<std::pair<int, std::string>> leaving;
    {
      std::lock_guard lock(mu_);
      offline = leader_ < 0;
      if (!offline) {
        const uint64_t leader_end = slots_[leader_].replica->log().next_offset();
        for (size_t s = 0; s < slots_.size(); ++s) {
          const Slot& slot = slots_[s];
          if (static_cast<int>(s) == leader_ || !slot.in_sync) continue;
          const int64_t lag_ns = now_ns - slot.caught_up_ns;
          if (slot.replica == nullptr) {
            leaving.emplace_back(s, base::Cat("broker ", slot.broker, " is down"));
          } else if (slot.log_end < leader_end && lag_ns > ctx_.options().replica_lag_max_ns) {
            leaving.emplace_back(s, base::Cat(leader_end - slot.log_end, " messages and ",
                                              lag_ns / base::kNanosPerMilli, " ms behind"));
          }
        }
      }
    }
    for (const auto& [s, why] : leaving) status.Update(LeaveIsr(s, why));
    for (Slot& slot : slots_) {
      if (slot.replica == nullptr) continue;
      // About a segment's worth of messages between snapshots, as Kafka takes one per segment.
      status.Update(slot.replica->MaybeSnapshot(ctx_.options().segment_bytes, /*force=*/false));
    }
  }
  status.Update(SyncLeader(/*only_if_stale=*/true));
  if (offline) {
    std::unique_lock life(life_mu_);
    status.Update(ElectIfOffline("maintenance found it offline").status());
  }
  return status;
}

}  // namespace keel::mq::internal
