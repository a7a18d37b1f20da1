// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Cluster: a Kafka-style message queue's brokers, run in one process over one data directory.
//
// A topic is split into partitions; each partition is an ordered, append-only log of messages,
// and a message's position in it is its offset. Each partition is copied to `replication_factor`
// brokers: one replica leads (takes the writes), the others follow (copy the leader's log into
// their own write-ahead log). The followers that are keeping up form the in-sync replica set
// (ISR); the high watermark is the end of what every ISR member holds durably, and consumers only
// see messages below it ("committed"), so a message a consumer saw is never lost when a leader
// fails.
//
// Producers choose how long to wait (Acks): kNone returns at once (fire and forget); kLeader
// once the leader's log has the messages durably; kAll once every in-sync replica has them
// durably, and only while at least the topic's min_insync_replicas are in sync. If a broker
// stops, the partitions it led elect a new leader, in a new leader epoch, from the live ISR
// members (never from outside it, so no committed message is lost), and its replicas leave the
// ISR. Every message carries the epoch it was appended in (Kafka's KIP-101): a replica that
// starts again, or follows a new leader, asks the leader where its last epoch ends and cuts its
// log back to where the two agree, copies what it missed, and rejoins the ISR once it has caught
// up with the high watermark. The leader, its epoch and the ISR are written to the data directory
// before they are acted on, so a cluster reopened after a crash elects from the last ISR written.
// (A partition's last in-sync replica stays in the ISR when it stops: nobody else may lead, and
// the partition is offline until it returns.) A replica whose log is found damaged is cut at the
// damage and leaves the ISR until it has copied the rest from the leader.
//
// Consumers in a group share a topic's partitions (keel/mq/assignor.h): the cluster coordinates
// membership, rebalancing when a member joins, leaves or stops heartbeating, and stores each
// group's committed offsets durably so that a restarted consumer resumes where its group left off.
//
// Also here: an idempotent producer's duplicates are dropped (producer id, epoch and sequence
// number per partition; keel/mq/producer.h) and its zombies fenced; tags filter messages at the
// broker; delayed messages wait in an internal topic until
// their time and are then appended to their own; retention deletes old segments by size and age.
//
// Threads. With ClusterOptions::background (the default), each broker runs a replica fetcher
// thread, a maintenance thread shrinks the ISR, expires group members and applies retention, and
// another delivers delayed messages. Without it nothing happens by itself: Replicate() runs one
// fetch round and Tick() one maintenance round, which makes tests and simulations deterministic
// (and Produce with kAll replicates inline instead of waiting).
//
// The data directory holds one write-ahead log per replica (broker-<b>/<topic>-<partition>/log/,
// beside the replica's leader epochs and producer snapshots), the group offsets (offsets/), and
// small checksummed metadata files (docs/mq.md lists them); a LOCK file keeps out a second
// process. Messages acknowledged with kAll survive a crash of the whole process, and of every
// broker but one in-sync replica; with kLeader, a crash of the whole process (the last leader
// leads again when the cluster reopens, if its log is intact), but not the loss of the leader.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto cluster, keel::mq::Cluster::Open("/var/lib/mq", {}));
//   KEEL_RETURN_IF_ERROR(cluster->CreateTopic("orders", {.partitions = 3,
//                                                        .replication_factor = 3}));
//   keel::mq::Message m;
//   m.value = "order 42";
//   KEEL_ASSIGN_OR_RETURN(auto result, cluster->Produce("orders", 0, {&m, 1},
//                                                       keel::mq::Acks::kAll));
//   KEEL_ASSIGN_OR_RETURN(auto fetched, cluster->Fetch("orders", 0, 0, {}));
//
// Most programs use keel/mq/producer.h and keel/mq/consumer.h on top of this.
//
// Thread safety: every method may be called from many threads at once.
#ifndef KEEL_MQ_CLUSTER_H_
#define KEEL_MQ_CLUSTER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/base/clock.h"
#include "keel/mq/assignor.h"
#include "keel/mq/errors.h"
#include "keel/mq/message.h"
#include "keel/wal/file_system.h"

namespace keel::mq {

// How long a producer waits: for nothing, for the leader, or for every in-sync replica.
enum class Acks { kNone, kLeader, kAll };

// "0", "1" or "all", as Kafka's `acks` setting is written.
[[nodiscard]] std::string_view AcksName(Acks acks);
[[nodiscard]] absl::StatusOr<Acks> ParseAcks(std::string_view text);

struct TopicConfig {
  uint32_t partitions = 1;          // 1 to kMaxPartitions
  uint32_t replication_factor = 1;  // 1 to the number of brokers
  uint64_t retention_bytes = 0;     // per partition replica; 0: no limit
  int64_t retention_ns = 0;         // segments older than this go; 0: kept forever
  // Kafka's min.insync.replicas: Produce with Acks::kAll needs at least this many in-sync
  // replicas (the leader included), 1 to replication_factor. With 1, acks=all succeeds when the
  // leader is the only in-sync replica left; with 2 or more it fails instead (see Produce), so
  // that every acknowledged message is on at least this many brokers.
  uint32_t min_insync_replicas = 1;

  friend bool operator==(const TopicConfig&, const TopicConfig&) = default;
};

inline constexpr uint32_t kMaxPartitions = 1024;
inline constexpr uint32_t kMaxBrokers = 64;
// An idempotent producer's identity: its id, and the epoch of this instance of it. A producer
// that restarts under the same name gets the same id with a higher epoch, and the partitions
// refuse the older epoch from then on (Error::kProducerFenced).
struct ProducerIdAndEpoch {
  uint64_t id = 0;
  uint32_t epoch = 0;

  friend bool operator==(const ProducerIdAndEpoch&, const ProducerIdAndEpoch&) = default;
};
inline constexpr uint32_t kMaxProducerEpoch = (uint32_t{1} << 31) - 1;
inline constexpr size_t kMaxProducerNameBytes = 255;

// The longest duration an option may give: about three years.
inline constexpr int64_t kMaxDurationNs = int64_t{100'000'000} * base::kNanosPerSecond;

struct ClusterOptions {
  uint32_t brokers = 3;                  // fixed when the directory is created
  uint64_t segment_bytes = 64 << 20;     // each replica log's segment size
  uint32_t max_message_bytes = 1 << 20;  // an encoded message's limit
  uint32_t max_replica_fetch = 4096;     // messages a follower copies per round
  // A follower that has not caught up with the leader's end for this long leaves the ISR.
  int64_t replica_lag_max_ns = 10 * base::kNanosPerSecond;
  // How long Produce with kAll waits for the ISR (real time).
  int64_t request_timeout_ns = 30 * base::kNanosPerSecond;
  // A group member that sends no heartbeat for this long is removed from its group.
  int64_t session_timeout_ns = 10 * base::kNanosPerSecond;
  // A partition forgets an idempotent producer that has appended nothing for this long (Kafka's
  // producer.id.expiration.ms), so that the state kept per partition stays bounded; a retry
  // after that long may be appended twice.
  int64_t producer_id_expiration_ns = 24 * 3600 * base::kNanosPerSecond;
  // The background threads' pace (real time), and how often retention is applied (and idle
  // producers are expired).
  int64_t tick_interval_ns = 5 * base::kNanosPerMilli;
  int64_t retention_check_interval_ns = base::kNanosPerSecond;
  bool background = true;
  const base::Clock* clock = nullptr;      // SystemClock when null; must outlive the cluster
  wal::FileSystem* file_system = nullptr;  // the operating system's when null
};

struct ProduceResult {
  uint32_t partition = 0;
  uint64_t base_offset = 0;  // the first message's offset (in the delay queue when delayed)
  uint32_t count = 0;
  bool duplicate = false;  // an idempotent producer's retry: already appended at base_offset
  bool delayed = false;    // held until its delivery time; the offset is the delay queue's
};

struct FetchOptions {
  uint32_t max_messages = 500;
  uint64_t max_bytes = 1 << 20;  // of values; at least one message is returned if there is one
  std::vector<std::string> tags = {};  // only messages with one of these tags; empty: all
};

struct FetchedMessage {
  uint32_t partition = 0;
  uint64_t offset = 0;
  Message message;
};

struct FetchResult {
  std::vector<FetchedMessage> messages;
  uint64_t next_offset = 0;  // where the next fetch starts (past filtered-out messages too)
  uint64_t high_watermark = 0;
  uint64_t log_start = 0;  // the oldest offset retention kept
};

struct ReplicaState {
  uint32_t broker = 0;
  bool up = false;
  bool in_sync = false;
  uint64_t log_end = 0;  // its log's end, as the leader last heard
};

struct PartitionState {
  std::vector<ReplicaState> replicas;  // in assignment order; the first is the preferred leader
  std::optional<uint32_t> leader;      // broker; none while no in-sync replica is up
  uint64_t leader_epoch = 0;
  uint64_t high_watermark = 0;
  uint64_t log_start = 0;
  uint64_t log_end = 0;  // the leader's
};

struct GroupAssignment {
  std::string member_id;
  uint64_t generation = 0;
  std::vector<TopicPartition> partitions;  // this member's
};

struct GroupState {
  uint64_t generation = 0;
  AssignmentStrategy strategy = AssignmentStrategy::kRange;
  std::map<std::string, std::vector<TopicPartition>> members;  // member id -> partitions
};

// The cluster's own topic for delayed messages; names starting "__" are reserved.
inline constexpr char kDelayTopic[] = "__delayed";

namespace internal {
class ClusterImpl;
}  // namespace internal

class Cluster {
 public:
  // Opens the cluster in `dir`, creating it if empty. Every replica log is recovered, each
  // partition elects a leader from the ISR it last wrote, and the followers catch up before Open
  // returns, so everything acknowledged before is committed. A damaged replica log does not fail
  // Open: it is cut at the damage, leaves the ISR and copies from the leader (an event says so).
  // Errors: kInvalidArgument for bad options or a broker count that differs from the directory's;
  // kUnavailable while another process has it open; kFailedPrecondition for a directory that is
  // not a keel message queue's, or one an earlier keel wrote; kDataLoss for damaged metadata
  // (naming the file); I/O errors.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Cluster>> Open(const std::string& dir,
                                                                     const ClusterOptions& options);

  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  ~Cluster();  // Close()

  // Stops the threads and lets every live follower catch up, so that the next Open starts
  // in step. Further calls fail with kFailedPrecondition. Idempotent.
  absl::Status Close();

  // Topics. Errors: kInvalidArgument for a bad name or config; kAlreadyExists if it exists.
  [[nodiscard]] absl::Status CreateTopic(const std::string& name, const TopicConfig& config);
  [[nodiscard]] absl::StatusOr<TopicConfig> GetTopic(const std::string& name) const;
  [[nodiscard]] std::vector<std::string> Topics() const;

  // An idempotent producer's id and epoch (Kafka's InitProducerId; KIP-98 and KIP-360):
  //   - InitProducerId(""): a new id, never handed out before (stored durably), epoch 0;
  //   - InitProducerId(name): the id this name had before with its next epoch, fencing every
  //     older instance of the producer; a new id for a new name;
  //   - with `current`: the next epoch of the producer's id, after a batch whose outcome it could
  //     not learn (it restarts its sequence numbers at 0). For a named producer,
  //     kFailedPrecondition with Error::kProducerFenced if a newer instance has taken the name
  //     since.
  // Errors: kInvalidArgument for a name over kMaxProducerNameBytes; I/O errors.
  [[nodiscard]] absl::StatusOr<ProducerIdAndEpoch> InitProducerId(
      std::string_view name, std::optional<ProducerIdAndEpoch> current = std::nullopt);
  // InitProducerId("").id.
  [[nodiscard]] absl::StatusOr<uint64_t> NewProducerId();

  // Appends `messages` to one partition, all or none, and waits as `acks` says. A batch with any
  // message whose deliver_at_ns is in the future goes to the delay queue whole (its messages
  // reach the partition in order, each when due); the delay queue stores it with kAll whatever
  // `acks` says, since a delayed message must survive until its time. An idempotent batch
  // (producer_id != 0) has one producer id and epoch and consecutive sequence numbers; a retry of
  // one already appended returns its first offset with `duplicate` set, once it is as durable as
  // `acks` asks. With kAll, the partition needs min_insync_replicas in-sync replicas before it
  // appends and when the messages are on all of them; acks=all never quietly becomes acks=1.
  // Errors (keel/mq/errors.h tells the Error payloads apart):
  //   kNotFound             an unknown topic;
  //   kInvalidArgument      a bad partition, an empty batch, an oversized message, an internal
  //                         topic, a batch mixing producers or with a gap in its sequence numbers;
  //   kUnavailable          no leader; or the leader changed before the ISR had the messages; or
  //                         Error::kNotEnoughReplicas (nothing was appended); or
  //                         Error::kNotEnoughReplicasAfterAppend (the messages are on the leader
  //                         and may still commit);
  //   kDeadlineExceeded     the ISR did not confirm in time (the messages may still commit);
  //   kFailedPrecondition   Error::kProducerFenced (an older epoch of a producer id), or
  //                         Error::kOutOfOrderSequence (a gap after what the partition has);
  //   kAlreadyExists        Error::kDuplicateSequence (a retry of a batch too old to find).
  [[nodiscard]] absl::StatusOr<ProduceResult> Produce(const std::string& topic, uint32_t partition,
                                                      std::span<const Message> messages, Acks acks);

  // Committed messages from offset `from`. Errors: kNotFound, kInvalidArgument as Produce;
  // kOutOfRange for `from` before the log start or past the high watermark; kUnavailable.
  [[nodiscard]] absl::StatusOr<FetchResult> Fetch(const std::string& topic, uint32_t partition,
                                                  uint64_t from, const FetchOptions& options) const;

  [[nodiscard]] absl::StatusOr<PartitionState> DescribePartition(const std::string& topic,
                                                                 uint32_t partition) const;

  // Consumer groups. JoinGroup adds (or refreshes) a member, rebalancing if the membership or a
  // subscription changed; an empty member_id gets a new one. Every member of a group must use the
  // same strategy. Heartbeat keeps a member in the group and tells it the current generation and
  // its partitions; kNotFound once its session expired (it must join again). CommitOffsets stores
  // the offsets durably; a member may commit only the partitions it holds, in the current
  // generation (kFailedPrecondition otherwise); with no members, anyone may commit (member_id
  // empty). An offset is the next one to consume.
  [[nodiscard]] absl::StatusOr<GroupAssignment> JoinGroup(const std::string& group,
                                                          const std::string& member_id,
                                                          const std::vector<std::string>& topics,
                                                          AssignmentStrategy strategy);
  [[nodiscard]] absl::Status LeaveGroup(const std::string& group, const std::string& member_id);
  [[nodiscard]] absl::StatusOr<GroupAssignment> Heartbeat(const std::string& group,
                                                          const std::string& member_id);
  [[nodiscard]] absl::Status CommitOffsets(const std::string& group, const std::string& member_id,
                                           uint64_t generation,
                                           const std::map<TopicPartition, uint64_t>& offsets);
  [[nodiscard]] absl::StatusOr<std::optional<uint64_t>> CommittedOffset(
      const std::string& group, const TopicPartition& partition) const;
  [[nodiscard]] absl::StatusOr<GroupState> DescribeGroup(const std::string& group) const;

  // Failures: a stopped broker's replicas are closed as in a crash (nothing more is synced, and
  // nothing is written for them). The partitions it led elect new leaders and its replicas leave
  // their ISRs, each written first; when it starts, its replicas compare their logs with their
  // leaders' (leader epochs) before they copy. On an error (a decision that could not be written,
  // a log that could not be opened) some partitions may not have changed: maintenance retries the
  // decisions, and calling again retries the rest.
  [[nodiscard]] absl::Status StopBroker(uint32_t broker);
  [[nodiscard]] absl::Status StartBroker(uint32_t broker);
  [[nodiscard]] bool broker_up(uint32_t broker) const;

  // Without background threads: one round of follower fetches (each partition's leader then
  // synced, as the fetches would have it), and one of maintenance.
  [[nodiscard]] absl::Status Replicate();
  [[nodiscard]] absl::Status Tick();

  // What happened (leader elections, ISR changes, rebalances, deliveries), oldest first, for a
  // log or a timeline; taking them clears them. At most kMaxEvents are kept.
  struct Event {
    int64_t time_ns = 0;  // by the options' clock
    std::string text;
  };
  [[nodiscard]] std::vector<Event> TakeEvents();
  static constexpr size_t kMaxEvents = 10000;

  [[nodiscard]] const ClusterOptions& options() const;
  [[nodiscard]] const base::Clock& clock() const;
  [[nodiscard]] const std::string& dir() const;

 private:
  explicit Cluster(std::unique_ptr<internal::ClusterImpl> impl);

  std::unique_ptr<internal::ClusterImpl> impl_;
};

}  // namespace keel::mq

#endif  // KEEL_MQ_CLUSTER_H_
