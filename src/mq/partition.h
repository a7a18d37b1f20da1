// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// One partition of a topic and its replicas: the leader's appends, the followers' fetches, the
// in-sync replica set, the high watermark and leader election. Internal to keel/mq; ClusterImpl
// owns the partitions and drives them.
//
// The replication protocol is Kafka's (its documentation's "Replication" design section, with
// the leader epochs of KIP-101 and KIP-279 and the ISR rules of KIP-497):
//
//   - The leader appends and stamps each message with its leader epoch. A follower copies from
//     its own log end, syncs, and reports its new end; the leader notes when the follower last
//     had everything the leader had.
//   - high watermark = min(the leader's durable log end, the reported ends of the in-sync
//     followers): only what every ISR member holds durably. It never goes down. Consumers read
//     below it. The leader's own end counts once synced: by a producer waiting for acks=1 or
//     acks=all, or by maintenance a tick later (so that acks=0 commits too).
//   - The ISR and the leader are the controller's decisions, written to the partition's record
//     (metadata.h) before they are acted on: a follower leaves the ISR (lagging past
//     replica_lag_max_ns, or its broker stopped) only once the smaller ISR is written, so the
//     high watermark never counts on an ISR the record does not hold; a follower that caught up
//     joins the ISR in memory first (it can only hold the high watermark back) and is written
//     after. So every replica in the written ISR holds everything committed.
//   - A new leader comes only from the ISR, in a new epoch written before it takes a write (no
//     unclean election; a damaged replica is no candidate while a healthy in-sync one exists). A
//     reopened cluster elects from the written ISR. A partition whose in-sync replicas are all
//     down is offline (kUnavailable) until one starts.
//   - Before it fetches from a leader in a new epoch (after an election, or when it starts), a
//     follower asks the leader where the follower's latest epoch ends in the leader's log and
//     cuts its own log back to where the two stop agreeing (leader_epoch_cache.h). Nothing needs
//     to be written when a replica stops: a broker that crashes loses nothing it needs.
//
// Locks, in the order they are taken: life_mu_ (shared by anything using the replicas; exclusive
// to stop or start a replica or elect a leader); a replica's write_mu() (the leader's appends, a
// follower's copies and truncations); isr_mu_ (one change of the ISR and its record at a time);
// mu_ (the state below, held briefly).
#ifndef KEEL_SRC_MQ_PARTITION_H_
#define KEEL_SRC_MQ_PARTITION_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "context.h"
#include "keel/mq/cluster.h"
#include "keel/wal/log.h"
#include "metadata.h"
#include "replica.h"

namespace keel::mq::internal {

class Partition {
 public:
  // `brokers`: where the replicas live, the preferred leader first.
  Partition(Context& ctx, MetadataStore& metadata, std::string topic, uint32_t index,
            TopicConfig config, std::vector<uint32_t> brokers);

  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  // Opens the replicas whose brokers are up (`up[b]`), elects a leader from the partition's
  // written ISR in a new epoch (the first replica up, for a partition that never had a record),
  // and lets the followers catch up. A replica whose log is damaged is cut at the damage and
  // leaves the ISR; one that cannot be opened at all stays down. Errors: I/O errors and damage in
  // the partition's record.
  absl::Status Open(const std::vector<bool>& up);

  absl::StatusOr<ProduceResult> Append(std::span<const Message> messages, Acks acks);
  absl::StatusOr<FetchResult> Fetch(uint64_t from, const FetchOptions& options) const;

  // One fetch round for the replica on `broker`, if it follows this partition; returns whether it
  // copied anything.
  absl::StatusOr<bool> CatchUp(uint32_t broker);
  // Syncs the leader's unsynced messages, so that they count toward the high watermark; with
  // `only_if_stale`, only those that were unsynced already at the previous call (maintenance's
  // pace), so that it does not race the syncs of producers waiting with acks=1 or all.
  absl::Status SyncLeader(bool only_if_stale = false);
  // Maintenance: shrinks the ISR (lagging or stopped followers), elects a leader for an offline
  // partition that can have one, syncs the leader's unsynced messages and writes producer
  // snapshots.
  absl::Status Maintain(int64_t now_ns);
  // Retention by the topic's limits, never past the high watermark.
  absl::Status ApplyRetention();
  // Every replica forgets the producers idle for producer_id_expiration_ns.
  void ExpireProducers(int64_t now_ns);
  // Deletes every replica's whole segments before `offset` (the delay queue's clean-up).
  absl::Status DropBefore(uint64_t offset);

  // The replica on `broker` stops as in a crash (nothing more is synced, nothing is written for
  // it) or starts. Both do nothing for a replica already so. An error in writing the partition's
  // record leaves the stopped replica down, with the decision retried by Maintain.
  absl::Status StopReplica(uint32_t broker);
  absl::Status StartReplica(uint32_t broker);

  // Wakes producers waiting for the ISR: they fail with kUnavailable (the cluster is closing).
  void Interrupt();

  // Lets every live follower catch up, then closes the replicas (with a producer snapshot each).
  absl::Status Close();

  PartitionState Describe() const;
  const std::string& topic() const { return topic_; }
  uint32_t index() const { return index_; }
  const TopicConfig& config() const { return config_; }

  // Where broker `broker`'s replicas live in the cluster's directory `dir`.
  static std::string BrokerDir(const std::string& dir, uint32_t broker);

 private:
  struct Slot {
    uint32_t broker = 0;
    std::string dir;
    std::unique_ptr<Replica> replica;  // null while its broker is down
    bool in_sync = false;              // in the ISR (the maximal one, while a change is written)
    bool damaged = false;              // opened damaged; no candidate over healthy ISR members
    uint64_t log_end = 0;              // a follower's durable end, as the leader last heard
    int64_t caught_up_ns = 0;          // when it last had everything the leader had
    uint64_t compared_epoch = 0;       // the leader epoch it last cut its log against; 0: none
    std::unique_ptr<wal::LogReader> cursor;  // a follower's position in the leader's log
    uint64_t cursor_epoch = 0;
  };

  std::string Name() const;
  std::string Label(const Slot& slot) const;
  int SlotOf(uint32_t broker) const;
  // Opens slot `s`'s replica, recording damage. REQUIRES: life_mu_ held exclusively.
  absl::Status OpenReplica(Slot& slot);

  // --- the controller's decisions (partition_election.cc) ---
  // The record as the state stands, with the ISR `isr` (a broker per in-sync slot).
  // REQUIRES: mu_ held.
  PartitionRecord RecordWith(int leader, uint64_t epoch, const std::vector<bool>& isr) const;
  // Writes the record, then makes slot `s` the leader in a new epoch with the ISR `isr`.
  // REQUIRES: life_mu_ held exclusively.
  absl::Status Elect(int s, const std::vector<bool>& isr, std::string_view why);
  // Writes that the partition has no leader (a new epoch, the ISR kept), then applies it.
  // REQUIRES: life_mu_ held exclusively.
  absl::Status GoOffline(std::string_view why);
  // The live in-sync replica with the longest log (damaged or not); -1 if none. REQUIRES: mu_
  // held.
  int LongestLiveInSync() const;
  // Elects a leader for an offline partition if a replica may lead; returns whether one did.
  // REQUIRES: life_mu_ held exclusively.
  absl::StatusOr<bool> ElectIfOffline(std::string_view why);
  // Takes slot `s` out of the ISR: writes the record without it, then applies it.
  // REQUIRES: life_mu_ held; isr_mu_ not held.
  absl::Status LeaveIsr(int s, std::string_view why);
  // Puts slot `s` in the ISR: applies it, then writes the record with it. REQUIRES: life_mu_
  // held; isr_mu_ not held.
  absl::Status JoinIsr(int s);

  // --- replication (partition_replication.cc) ---
  absl::StatusOr<bool> CatchUpSlot(int s);
  // Cuts a follower's log back to where it stops agreeing with the leader's. REQUIRES: life_mu_
  // held, the follower's write_mu() held.
  absl::Status CompareWithLeader(Slot& follower, Replica& leader, uint64_t epoch);
  // REQUIRES: mu_ held.
  void RecomputeHighWatermark();
  size_t IsrSize() const;  // REQUIRES: mu_ held

  Context& ctx_;
  MetadataStore& metadata_;
  const std::string topic_;
  const uint32_t index_;
  const TopicConfig config_;

  mutable std::shared_mutex life_mu_;
  std::mutex isr_mu_;
  mutable std::mutex mu_;
  std::condition_variable hw_cv_;
  std::vector<Slot> slots_;
  int leader_ = -1;  // slot index; -1: offline
  uint64_t epoch_ = 0;
  uint64_t high_watermark_ = 0;
  bool interrupted_ = false;
  // The leader's log end when SyncLeader last found it unsynced; 0 if it was synced. Only
  // maintenance reads it meaningfully (a Replicate() in between only makes it sync sooner).
  std::atomic<uint64_t> unsynced_end_seen_{0};
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_PARTITION_H_
