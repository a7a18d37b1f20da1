// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// One partition of a topic and its replicas: the leader's appends, the followers' fetches, the
// in-sync replica set, the high watermark, leader election and the idempotent producers' state.
// Internal to keel/mq; ClusterImpl owns the partitions and drives them.
//
// The replication protocol is Kafka's as its documentation describes it ("Replication" in the
// design section), with the high watermark kept by the leader:
//
//   - The leader appends and knows its log end. A follower copies from its own log end, syncs, and
//     reports its new end; the leader then knows it, and notes when the follower last had
//     everything the leader had.
//   - high watermark = min(leader's log end, log ends of the in-sync followers). It never goes
//     down. Consumers read below it.
//   - A follower that has not caught up for replica_lag_max_ns leaves the ISR; one whose log end
//     reaches the high watermark rejoins. A stopped broker's replicas leave at once (the cluster
//     sees the broker go, as Kafka's controller does).
//   - A new leader comes only from the live ISR (no unclean election). Live followers longer than
//     it cut back to its end. A replica that stops writes down the high watermark of that moment
//     in a cut file (broker-<b>/<topic>-<p>.cut) before it goes, and cuts back to it when it
//     starts, in this run or the next: past it, a new leader may have written different messages.
//     The one exception is the last in-sync replica: nobody can lead without it, so it keeps
//     everything and leads again when it starts. Every replica is then a prefix of the leader's
//     log, and nothing below a high watermark is ever cut, so no committed message is lost or
//     changed.
//
// Locks, in the order they are taken: life_mu_ (shared by anything using a replica's log,
// exclusive to stop or start a replica, which closes and opens logs, and held shared by whatever
// changes the ISR, so that a stopping replica sees a high watermark that stays put); append_mu_
// (one leader append at a time, so that offsets and producer state move together); fetch_mu_[r]
// (replica r's copying); mu_ (the state below, held briefly).
#ifndef KEEL_SRC_MQ_PARTITION_H_
#define KEEL_SRC_MQ_PARTITION_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "context.h"
#include "keel/mq/cluster.h"
#include "keel/wal/log.h"

namespace keel::mq::internal {

class Partition {
 public:
  // `brokers`: where the replicas live, the preferred leader first.
  Partition(Context& ctx, std::string topic, uint32_t index, TopicConfig config,
            std::vector<uint32_t> brokers);

  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  // Opens every replica whose broker is up (`up[b]`), cutting back those with a cut file, elects
  // the longest as leader and lets the others catch up.
  absl::Status Open(const std::vector<bool>& up);

  absl::StatusOr<ProduceResult> Append(std::span<const Message> messages, Acks acks);
  absl::StatusOr<FetchResult> Fetch(uint64_t from, const FetchOptions& options) const;

  // One fetch round for the replica on `broker`, if it follows this partition; returns whether it
  // copied anything.
  absl::StatusOr<bool> CatchUp(uint32_t broker);
  // ISR shrinking by lag.
  void Maintain(int64_t now_ns);
  // Retention by the topic's limits, never past the high watermark.
  absl::Status ApplyRetention();
  // Deletes every replica's whole segments before `offset` (the delay queue's clean-up).
  absl::Status DropBefore(uint64_t offset);

  // The replica on `broker` stops (as in a crash: nothing more is synced) or starts. Both do
  // nothing for a replica already so. StopReplica fails, leaving the replica up, if it cannot
  // write its cut file.
  absl::Status StopReplica(uint32_t broker);
  absl::Status StartReplica(uint32_t broker);

  // Wakes producers waiting for the ISR: they fail with kUnavailable (the cluster is closing).
  void Interrupt();

  // Lets every live follower catch up, then closes the logs.
  absl::Status Close();

  PartitionState Describe() const;
  // Where broker `broker`'s replicas live in the cluster's directory `dir`.
  static std::string BrokerDir(const std::string& dir, uint32_t broker);
  const std::string& topic() const { return topic_; }
  uint32_t index() const { return index_; }
  const TopicConfig& config() const { return config_; }
  bool HasReplicaOn(uint32_t broker) const { return ReplicaOn(broker) >= 0; }

 private:
  struct Replica {
    uint32_t broker = 0;
    std::string dir;
    std::unique_ptr<wal::Log> log;  // null while its broker is down
    bool in_sync = true;
    uint64_t log_end = 0;                    // as the leader knows it (durable, for followers)
    int64_t caught_up_ns = 0;                // when it last had everything the leader had
    std::unique_ptr<wal::LogReader> cursor;  // a follower's position in the leader's log
    uint64_t cursor_epoch = 0;
  };
  // An idempotent producer's recent batches in this partition.
  struct ProducerBatch {
    uint64_t first_sequence = 0;
    uint32_t count = 0;
    uint64_t base_offset = 0;
  };
  struct ProducerState {
    uint64_t next_sequence = 0;
    std::deque<ProducerBatch> recent;  // the last kRecentBatches
  };
  static constexpr size_t kRecentBatches = 5;

  int ReplicaOn(uint32_t broker) const;
  absl::StatusOr<std::unique_ptr<wal::Log>> OpenLog(const Replica& replica) const;
  // The cut file: written when a replica stops, applied and removed when it starts.
  std::string CutFileName() const;
  absl::Status WriteCut(const Replica& replica, uint64_t point) const;
  // Applies the replica's cut file to `log` if there is one (unless `keep`), then removes it.
  absl::Status ApplyCut(const Replica& replica, wal::Log& log, bool keep) const;
  // REQUIRES: mu_ held.
  void RecomputeHighWatermark();
  void Elect(int replica, std::string_view why);
  absl::Status AlignFollowers();
  absl::Status RebuildProducers();
  absl::StatusOr<std::optional<ProduceResult>> CheckSequence(std::span<const Message> messages);
  absl::StatusOr<bool> CatchUpReplica(int r);
  std::string Name() const;

  Context& ctx_;
  const std::string topic_;
  const uint32_t index_;
  const TopicConfig config_;

  mutable std::shared_mutex life_mu_;
  std::mutex append_mu_;
  std::vector<std::unique_ptr<std::mutex>> fetch_mu_;
  mutable std::mutex mu_;
  std::condition_variable hw_cv_;
  std::vector<Replica> replicas_;
  int leader_ = -1;  // replica index; -1: offline
  uint64_t epoch_ = 0;
  uint64_t high_watermark_ = 0;
  bool interrupted_ = false;
  absl::flat_hash_map<uint64_t, ProducerState> producers_;
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_PARTITION_H_
