// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A partition's controller decisions: elections, the ISR, and the brokers stopping and starting.
// Each decision is written to the partition's record (metadata.h) before it takes effect, except
// that a replica joining the ISR takes effect first (it can only hold the high watermark back)
// and is written after; so the written ISR is always within the ISR the high watermark counts.
#include <algorithm>

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "partition.h"

namespace keel::mq::internal {

int Partition::LongestLiveInSync() const {
  int longest = -1;
  for (size_t s = 0; s < slots_.size(); ++s) {
    const Slot& slot = slots_[s];
    if (slot.replica == nullptr || !slot.in_sync) continue;
    if (longest < 0 ||
        slot.replica->log().next_offset() > slots_[longest].replica->log().next_offset()) {
      longest = static_cast<int>(s);
    }
  }
  return longest;
}

PartitionRecord Partition::RecordWith(int leader, uint64_t epoch,
                                      const std::vector<bool>& isr) const {
  PartitionRecord record;
  if (leader >= 0) record.leader = slots_[leader].broker;
  record.leader_epoch = epoch;
  for (size_t s = 0; s < slots_.size(); ++s) {
    if (isr[s]) record.isr.push_back(slots_[s].broker);
  }
  return record;
}

absl::Status Partition::Elect(int s, const std::vector<bool>& isr, std::string_view why) {
  PartitionRecord record;
  {
    std::lock_guard lock(mu_);
    record = RecordWith(s, epoch_ + 1, isr);
  }
  KEEL_RETURN_IF_ERROR(metadata_.SavePartition(topic_, index_, record));
  std::lock_guard lock(mu_);
  leader_ = s;
  ++epoch_;
  const wal::Log& log = slots_[s].replica->log();
  const uint64_t leader_end = log.next_offset();
  const int64_t now = ctx_.clock().NowNanos();
  for (size_t t = 0; t < slots_.size(); ++t) {
    Slot& slot = slots_[t];
    slot.in_sync = isr[t];
    slot.cursor.reset();
    slot.caught_up_ns = now;
    // Every in-sync follower's log is a prefix of the last leader's, and so agrees with the new
    // leader's up to the shorter of the two; any other follower counts for nothing until it has
    // compared its log with the new leader's.
    if (static_cast<int>(t) != s) slot.log_end = isr[t] ? std::min(slot.log_end, leader_end) : 0;
  }
  high_watermark_ = std::max(high_watermark_, log.first_offset());
  ctx_.Record(base::Cat(Name(), ": broker ", slots_[s].broker, " is the leader (epoch ", epoch_,
                        ", ", why, ")"));
  RecomputeHighWatermark();
  hw_cv_.notify_all();
  return absl::OkStatus();
}

absl::Status Partition::GoOffline(std::string_view why) {
  PartitionRecord record;
  {
    std::lock_guard lock(mu_);
    std::vector<bool> isr;
    for (const Slot& slot : slots_) isr.push_back(slot.in_sync);
    record = RecordWith(-1, epoch_ + 1, isr);
  }
  KEEL_RETURN_IF_ERROR(metadata_.SavePartition(topic_, index_, record));
  std::lock_guard lock(mu_);
  leader_ = -1;
  ++epoch_;
  ctx_.Record(base::Cat(Name(), " is offline: ", why));
  hw_cv_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<bool> Partition::ElectIfOffline(std::string_view why) {
  int chosen = -1;
  std::vector<bool> isr(slots_.size(), false);
  std::string reason(why);
  {
    std::lock_guard lock(mu_);
    if (leader_ >= 0) return false;
    bool healthy_down = false;  // an in-sync replica that may come back healthy
    for (size_t s = 0; s < slots_.size(); ++s) {
      const Slot& slot = slots_[s];
      const bool live = slot.replica != nullptr;
      healthy_down |= slot.in_sync && !live;
      isr[s] = live && slot.in_sync && !slot.damaged;
      if (isr[s] && chosen < 0) chosen = static_cast<int>(s);
    }
    if (chosen < 0 && epoch_ == 0) {
      // Never had a leader (its brokers were all down when the topic was created): it holds
      // nothing, and the first replica up leads.
      for (size_t s = 0; s < slots_.size() && chosen < 0; ++s) {
        if (slots_[s].replica != nullptr) chosen = static_cast<int>(s);
      }
      reason = "the first replica up";
    } else if (chosen < 0 && !healthy_down) {
      // Every in-sync replica is up and damaged: the longest leads, with what its damage left.
      chosen = LongestLiveInSync();
      reason = "every in-sync replica is damaged; messages after its damage may be lost";
    }
    if (chosen < 0) return false;
    isr[chosen] = true;
  }
  KEEL_RETURN_IF_ERROR(Elect(chosen, isr, reason));
  return true;
}

absl::Status Partition::LeaveIsr(int s, std::string_view why) {
  std::lock_guard isr_lock(isr_mu_);
  PartitionRecord record;
  {
    std::lock_guard lock(mu_);
    if (!slots_[s].in_sync || s == leader_ || leader_ < 0) return absl::OkStatus();
    std::vector<bool> isr;
    for (const Slot& slot : slots_) isr.push_back(slot.in_sync);
    isr[s] = false;
    record = RecordWith(leader_, epoch_, isr);
  }
  // Written before the high watermark stops waiting for it: were the cluster to reopen from the
  // old record, this replica could be elected without the messages committed meanwhile.
  KEEL_RETURN_IF_ERROR(metadata_.SavePartition(topic_, index_, record));
  std::lock_guard lock(mu_);
  slots_[s].in_sync = false;
  ctx_.Record(base::Cat(Name(), ": broker ", slots_[s].broker, " left the ISR (", why, ")"));
  RecomputeHighWatermark();
  return absl::OkStatus();
}

absl::Status Partition::JoinIsr(int s) {
  std::lock_guard isr_lock(isr_mu_);
  PartitionRecord record;
  {
    std::lock_guard lock(mu_);
    Slot& slot = slots_[s];
    if (slot.in_sync || slot.replica == nullptr || leader_ < 0 || slot.log_end < high_watermark_) {
      return absl::OkStatus();
    }
    // In the ISR from now on, holding the high watermark back; written after, since a record
    // without it only leaves it out of elections it could have won.
    slot.in_sync = true;
    slot.damaged = false;  // it has copied everything committed from the leader
    std::vector<bool> isr;
    for (const Slot& other : slots_) isr.push_back(other.in_sync);
    record = RecordWith(leader_, epoch_, isr);
    ctx_.Record(base::Cat(Name(), ": broker ", slot.broker, " caught up at offset ", slot.log_end,
                          " and rejoined the ISR"));
  }
  return metadata_.SavePartition(topic_, index_, record);
}

absl::Status Partition::StopReplica(uint32_t broker) {
  const int s = SlotOf(broker);
  if (s < 0) return absl::OkStatus();
  std::unique_lock life(life_mu_);
  Slot& slot = slots_[s];
  if (slot.replica == nullptr) return absl::OkStatus();
  bool was_leader = false;
  std::vector<bool> isr;
  int successor = -1;
  {
    std::lock_guard lock(mu_);
    // As in a crash: nothing more is synced, and nothing is written for it.
    for (Slot& other : slots_) other.cursor.reset();
    slot.replica.reset();
    was_leader = s == leader_;
    if (was_leader) leader_ = -1;
    for (size_t t = 0; t < slots_.size(); ++t) {
      const Slot& other = slots_[t];
      isr.push_back(other.in_sync && other.replica != nullptr);
      if (isr[t] && !other.damaged && successor < 0) successor = static_cast<int>(t);
    }
    hw_cv_.notify_all();
  }
  if (!was_leader) {
    if (!slots_[s].in_sync) return absl::OkStatus();
    return LeaveIsr(s, base::Cat("broker ", broker, " stopped"));
  }
  if (successor >= 0) return Elect(successor, isr, base::Cat("broker ", broker, " stopped"));
  // The last in-sync replica: nobody else may lead, and the partition waits for it (it stays in
  // the ISR, and leads again when it starts).
  return GoOffline(
      base::Cat("its leader, broker ", broker, ", stopped and no other in-sync replica is up"));
}

absl::Status Partition::StartReplica(uint32_t broker) {
  const int s = SlotOf(broker);
  if (s < 0) return absl::OkStatus();
  std::unique_lock life(life_mu_);
  Slot& slot = slots_[s];
  if (slot.replica != nullptr) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(OpenReplica(slot));
  bool leave = false;
  {
    std::lock_guard lock(mu_);
    // Still in the ISR (its leaving could not be written): it holds what it held, unless its log
    // was damaged.
    leave = slot.in_sync && slot.damaged && s != leader_;
  }
  if (leave) {
    const absl::Status left = LeaveIsr(s, base::Cat("broker ", broker, " started damaged"));
    if (!left.ok()) {
      std::lock_guard lock(mu_);
      slot.replica.reset();
      return left;
    }
  }
  return ElectIfOffline(base::Cat("broker ", broker, " started")).status();
}

}  // namespace keel::mq::internal
