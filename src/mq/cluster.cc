// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/cluster.h"

#include <algorithm>
#include <chrono>

#include "delay_queue.h"
#include "keel/base/coding.h"
#include "keel/base/hash.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/atomic_file.h"
#include "offset_store.h"
#include "partition.h"

namespace keel::mq {

using internal::Partition;

namespace {

constexpr char kClusterFile[] = "cluster";
constexpr char kTopicsFile[] = "topics";
constexpr char kLockFile[] = "LOCK";
constexpr char kOffsetsDir[] = "offsets";
// The most messages one Produce may carry (a partition log's batch limit).
constexpr size_t kMaxProduceBatch = 1 << 16;

bool IsInternal(std::string_view topic) { return topic.size() >= 2 && topic.substr(0, 2) == "__"; }

std::string BrokerDir(const std::string& dir, uint32_t broker) {
  return base::Cat(dir, "/broker-", broker);
}

}  // namespace

std::string_view AcksName(Acks acks) {
  switch (acks) {
    case Acks::kNone:
      return "0";
    case Acks::kLeader:
      return "1";
    case Acks::kAll:
      return "all";
  }
  return "?";
}

absl::StatusOr<Acks> ParseAcks(std::string_view text) {
  if (text == "0") return Acks::kNone;
  if (text == "1") return Acks::kLeader;
  if (text == "all" || text == "-1") return Acks::kAll;
  return absl::InvalidArgumentError(
      base::Cat("bad acks ", base::Quoted(text), ": want 0, 1 or all"));
}

struct Cluster::Topic {
  TopicConfig config;
  std::vector<std::vector<uint32_t>> placement;  // each partition's brokers, leader first
  std::vector<std::unique_ptr<Partition>> partitions;
};

struct Cluster::Group {
  struct Member {
    std::vector<std::string> topics;
    int64_t last_heartbeat_ns = 0;
  };
  uint64_t generation = 0;
  AssignmentStrategy strategy = AssignmentStrategy::kRange;
  std::map<std::string, Member> members;
  std::map<std::string, std::vector<TopicPartition>> assignment;
};

Cluster::Cluster(std::string dir, const ClusterOptions& options, wal::FileSystem& fs,
                 const base::Clock& clock)
    : dir_(std::move(dir)),
      options_(options),
      fs_(fs),
      clock_(clock),
      broker_up_(options.brokers, true) {}

Cluster::~Cluster() { (void)Close(); }

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Open(const std::string& dir,
                                                       const ClusterOptions& options) {
  if (options.brokers < 1 || options.brokers > kMaxBrokers) {
    return absl::InvalidArgumentError(
        base::Cat("brokers is ", options.brokers, ": want 1 to ", kMaxBrokers));
  }
  if (options.max_replica_fetch < 1) {
    return absl::InvalidArgumentError("max_replica_fetch is 0: want at least 1");
  }
  // Durations are added to clock readings and to deadlines: bounded, they cannot overflow.
  struct Duration {
    const char* name;
    int64_t value;
    int64_t min;
  };
  const Duration durations[] = {
      {"replica_lag_max_ns", options.replica_lag_max_ns, 1},
      {"request_timeout_ns", options.request_timeout_ns, 1},
      {"session_timeout_ns", options.session_timeout_ns, 1},
      {"tick_interval_ns", options.tick_interval_ns, 1},
      {"retention_check_interval_ns", options.retention_check_interval_ns, 0}};
  for (const Duration& d : durations) {
    if (d.value < d.min || d.value > kMaxDurationNs) {
      return absl::InvalidArgumentError(
          base::Cat(d.name, " is ", d.value, ": want ", d.min, " to ", kMaxDurationNs));
    }
  }
  if (options.max_message_bytes < 64 || options.max_message_bytes > wal::kMaxRecordBytesLimit ||
      options.segment_bytes < uint64_t{options.max_message_bytes} + 4096) {
    return absl::InvalidArgumentError(base::Cat("max_message_bytes ", options.max_message_bytes,
                                                " must be 64 to ", wal::kMaxRecordBytesLimit,
                                                " and fit in a segment of segment_bytes ",
                                                options.segment_bytes));
  }
  wal::FileSystem& fs =
      options.file_system != nullptr ? *options.file_system : wal::FileSystem::Posix();
  const base::Clock& clock =
      options.clock != nullptr ? *options.clock : base::SystemClock::Default();
  std::unique_ptr<Cluster> cluster(new Cluster(dir, options, fs, clock));
  KEEL_RETURN_IF_ERROR(cluster->Load());
  if (options.background) {
    for (uint32_t b = 0; b < options.brokers; ++b) {
      cluster->threads_.emplace_back([c = cluster.get(), b] { c->FetcherLoop(b); });
    }
    cluster->threads_.emplace_back([c = cluster.get()] { c->MaintenanceLoop(false); });
    cluster->threads_.emplace_back([c = cluster.get()] { c->MaintenanceLoop(true); });
  }
  return cluster;
}

// ---------------------------------------------------------------------------------------------
// The data directory.
// ---------------------------------------------------------------------------------------------

absl::Status Cluster::Load() {
  KEEL_RETURN_IF_ERROR(fs_.CreateDir(dir_));
  KEEL_ASSIGN_OR_RETURN(lock_, fs_.Lock(base::Cat(dir_, "/", kLockFile)));
  absl::StatusOr<std::string> meta = wal::ReadFileChecked(fs_, base::Cat(dir_, "/", kClusterFile));
  if (absl::IsNotFound(meta.status())) {
    KEEL_ASSIGN_OR_RETURN(const std::vector<std::string> names, fs_.List(dir_));
    for (const std::string& name : names) {
      if (name != kLockFile) {
        return absl::FailedPreconditionError(
            base::Cat(base::Quoted(dir_, 256), " is not a keel message queue directory: it holds ",
                      base::Quoted(name, 256), " but no ", kClusterFile, " file"));
      }
    }
    std::string fresh;
    base::PutVarint32(fresh, options_.brokers);
    base::PutVarint64(fresh, next_producer_id_);
    KEEL_RETURN_IF_ERROR(wal::WriteFileAtomically(fs_, dir_, kClusterFile, fresh));
  } else {
    KEEL_RETURN_IF_ERROR(meta.status());
    base::Reader in(*meta);
    KEEL_ASSIGN_OR_RETURN(const uint32_t brokers, in.ReadVarint32());
    KEEL_ASSIGN_OR_RETURN(next_producer_id_, in.ReadVarint64());
    if (brokers != options_.brokers) {
      return absl::InvalidArgumentError(base::Cat("the cluster in ", base::Quoted(dir_, 256),
                                                  " has ", brokers, " brokers, not ",
                                                  options_.brokers));
    }
  }
  for (uint32_t b = 0; b < options_.brokers; ++b) {
    KEEL_RETURN_IF_ERROR(fs_.CreateDir(BrokerDir(dir_, b)));
  }

  // Topics.
  absl::StatusOr<std::string> topics = wal::ReadFileChecked(fs_, base::Cat(dir_, "/", kTopicsFile));
  if (!absl::IsNotFound(topics.status())) {
    KEEL_RETURN_IF_ERROR(topics.status());
    base::Reader in(*topics);
    KEEL_ASSIGN_OR_RETURN(const uint32_t count, in.ReadVarint32());
    for (uint32_t t = 0; t < count; ++t) {
      KEEL_ASSIGN_OR_RETURN(const std::string_view name, in.ReadLengthPrefixed());
      auto topic = std::make_unique<Topic>();
      KEEL_ASSIGN_OR_RETURN(topic->config.partitions, in.ReadVarint32());
      KEEL_ASSIGN_OR_RETURN(topic->config.replication_factor, in.ReadVarint32());
      KEEL_ASSIGN_OR_RETURN(topic->config.retention_bytes, in.ReadVarint64());
      KEEL_ASSIGN_OR_RETURN(topic->config.retention_ns, in.ReadZigZag64());
      for (uint32_t p = 0; p < topic->config.partitions; ++p) {
        std::vector<uint32_t> brokers(topic->config.replication_factor);
        for (uint32_t& b : brokers) {
          KEEL_ASSIGN_OR_RETURN(b, in.ReadVarint32());
          if (b >= options_.brokers) return absl::DataLossError("topics file: bad broker");
        }
        topic->placement.push_back(std::move(brokers));
      }
      topics_[std::string(name)] = std::move(topic);
    }
    KEEL_RETURN_IF_ERROR(in.ExpectEnd());
  }
  // Every broker is up when the cluster opens; replicas that were down when the last run ended
  // cut back as their cut files say.
  for (auto& [name, topic] : topics_) {
    for (uint32_t p = 0; p < topic->config.partitions; ++p) {
      auto partition =
          std::make_unique<Partition>(*this, name, p, topic->config, topic->placement[p]);
      KEEL_RETURN_IF_ERROR(partition->Open(broker_up_));
      topic->partitions.push_back(std::move(partition));
    }
  }

  KEEL_ASSIGN_OR_RETURN(
      offsets_, internal::OffsetStore::Open(base::Cat(dir_, "/", kOffsetsDir), fs_, clock_));
  if (!topics_.contains(kDelayTopic)) {
    TopicConfig delay;
    delay.replication_factor = std::min<uint32_t>(3, options_.brokers);
    KEEL_RETURN_IF_ERROR(AddTopic(kDelayTopic, delay));
  }
  delays_ = std::make_unique<internal::DelayQueue>(*this, *topics_.at(kDelayTopic)->partitions[0]);
  return delays_->Load();
}

// REQUIRES: topics_mu_ held (or no other thread yet).
absl::Status Cluster::SaveTopics() const {
  std::string out;
  base::PutVarint32(out, static_cast<uint32_t>(topics_.size()));
  for (const auto& [name, topic] : topics_) {
    base::PutLengthPrefixed(out, name);
    base::PutVarint32(out, topic->config.partitions);
    base::PutVarint32(out, topic->config.replication_factor);
    base::PutVarint64(out, topic->config.retention_bytes);
    base::PutVarint64(out, base::ZigZagEncode64(topic->config.retention_ns));
    for (const std::vector<uint32_t>& brokers : topic->placement) {
      for (const uint32_t b : brokers) base::PutVarint32(out, b);
    }
  }
  return wal::WriteFileAtomically(fs_, dir_, kTopicsFile, out);
}

absl::Status Cluster::AddTopic(const std::string& name, const TopicConfig& config) {
  auto topic = std::make_unique<Topic>();
  topic->config = config;
  // Replicas go round the brokers from a point the name chooses, so that leaders spread out.
  const uint64_t start = base::Hash64(name) % options_.brokers;
  for (uint32_t p = 0; p < config.partitions; ++p) {
    std::vector<uint32_t> brokers;
    for (uint32_t r = 0; r < config.replication_factor; ++r) {
      brokers.push_back(static_cast<uint32_t>((start + p + r) % options_.brokers));
    }
    topic->placement.push_back(std::move(brokers));
  }
  Topic* raw = topic.get();
  topics_[name] = std::move(topic);
  absl::Status saved = SaveTopics();
  if (!saved.ok()) {
    topics_.erase(name);
    return saved;
  }
  std::vector<bool> up;
  {
    std::lock_guard lock(brokers_mu_);
    up = broker_up_;
  }
  for (uint32_t p = 0; p < config.partitions; ++p) {
    auto partition = std::make_unique<Partition>(*this, name, p, config, raw->placement[p]);
    KEEL_RETURN_IF_ERROR(partition->Open(up));
    raw->partitions.push_back(std::move(partition));
  }
  Record(base::Cat("topic ", name, " created: partitions ", config.partitions, ", replication ",
                   config.replication_factor));
  return absl::OkStatus();
}

absl::Status Cluster::Close() {
  if (closed_.exchange(true)) return absl::OkStatus();
  stopping_.store(true);
  {
    std::lock_guard lock(work_mu_);
    work_cv_.notify_all();
  }
  // A delivery of delayed messages may be waiting for the ISR; it gives up.
  for (Partition* p : AllPartitions()) p->Interrupt();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  absl::Status status;
  for (Partition* p : AllPartitions()) status.Update(p->Close());
  {
    std::unique_lock lock(offsets_mu_);
    offsets_.reset();
  }
  lock_.reset();
  return status;
}

absl::Status Cluster::CheckOpen() const {
  if (closed_.load()) return absl::FailedPreconditionError("the cluster is closed");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Topics, producing and fetching.
// ---------------------------------------------------------------------------------------------

absl::Status Cluster::CreateTopic(const std::string& name, const TopicConfig& config) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  KEEL_RETURN_IF_ERROR(CheckTopicName(name));
  if (IsInternal(name)) {
    return absl::InvalidArgumentError(
        base::Cat("topic names starting \"__\" are the cluster's own: ", base::Quoted(name)));
  }
  if (config.partitions < 1 || config.partitions > kMaxPartitions) {
    return absl::InvalidArgumentError(base::Cat("topic ", name, ": ", config.partitions,
                                                " partitions; want 1 to ", kMaxPartitions));
  }
  if (config.replication_factor < 1 || config.replication_factor > options_.brokers) {
    return absl::InvalidArgumentError(base::Cat("topic ", name, ": replication factor ",
                                                config.replication_factor, "; want 1 to ",
                                                options_.brokers, " (the brokers)"));
  }
  if (config.retention_ns < 0) {
    return absl::InvalidArgumentError(
        base::Cat("topic ", name, ": negative retention_ns ", config.retention_ns));
  }
  // Not while a broker stops or starts: the new partitions must see every broker as it ends up.
  std::lock_guard admin(admin_mu_);
  std::unique_lock lock(topics_mu_);
  if (topics_.contains(name)) {
    return absl::AlreadyExistsError(base::Cat("topic ", name, " exists"));
  }
  return AddTopic(name, config);
}

absl::StatusOr<TopicConfig> Cluster::GetTopic(const std::string& name) const {
  std::shared_lock lock(topics_mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return absl::NotFoundError(base::Cat("no topic ", base::Quoted(name)));
  return it->second->config;
}

std::vector<std::string> Cluster::Topics() const {
  std::shared_lock lock(topics_mu_);
  std::vector<std::string> names;
  for (const auto& [name, topic] : topics_) {
    if (!IsInternal(name)) names.push_back(name);
  }
  return names;
}

absl::StatusOr<Partition*> Cluster::FindPartition(const std::string& topic,
                                                  uint32_t partition) const {
  std::shared_lock lock(topics_mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return absl::NotFoundError(base::Cat("no topic ", base::Quoted(topic)));
  if (partition >= it->second->partitions.size()) {
    return absl::InvalidArgumentError(base::Cat("topic ", topic, " has ",
                                                it->second->partitions.size(),
                                                " partitions; there is no partition ", partition));
  }
  return it->second->partitions[partition].get();
}

std::vector<Partition*> Cluster::AllPartitions() const {
  std::shared_lock lock(topics_mu_);
  std::vector<Partition*> out;
  for (const auto& [name, topic] : topics_) {
    for (const auto& p : topic->partitions) out.push_back(p.get());
  }
  return out;
}

absl::StatusOr<uint64_t> Cluster::NewProducerId() {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  std::lock_guard lock(meta_mu_);
  std::string out;
  base::PutVarint32(out, options_.brokers);
  base::PutVarint64(out, next_producer_id_ + 1);
  KEEL_RETURN_IF_ERROR(wal::WriteFileAtomically(fs_, dir_, kClusterFile, out));
  return next_producer_id_++;
}

absl::StatusOr<ProduceResult> Cluster::Produce(const std::string& topic, uint32_t partition,
                                               std::span<const Message> messages, Acks acks) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  if (IsInternal(topic)) {
    return absl::InvalidArgumentError(
        base::Cat("topic ", base::Quoted(topic), " is the cluster's own"));
  }
  KEEL_ASSIGN_OR_RETURN(Partition * p, FindPartition(topic, partition));
  if (messages.empty() || messages.size() > kMaxProduceBatch) {
    return absl::InvalidArgumentError(
        base::Cat("a batch of ", messages.size(), " messages; want 1 to ", kMaxProduceBatch));
  }
  const int64_t now = clock_.NowNanos();
  // A batch with any message for later waits in the delay queue whole: those already due are
  // delivered at the next delivery round, in order with the rest.
  bool delayed = false;
  for (const Message& m : messages) delayed |= m.deliver_at_ns > now;
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.key.size() > kMaxKeyBytes || m.tag.size() > kMaxTagBytes ||
        m.origin_topic.size() > kMaxTopicNameBytes) {
      return absl::InvalidArgumentError(
          base::Cat("message ", i, ": key of ", m.key.size(), " bytes, tag of ", m.tag.size(),
                    " bytes, origin topic of ", m.origin_topic.size(), " bytes; the limits are ",
                    kMaxKeyBytes, ", ", kMaxTagBytes, " and ", kMaxTopicNameBytes));
    }
    const size_t bytes = 48 + m.key.size() + m.value.size() + m.tag.size() + m.origin_topic.size();
    if (bytes > options_.max_message_bytes) {
      return absl::InvalidArgumentError(base::Cat("message ", i, " is ", bytes,
                                                  " bytes encoded, over max_message_bytes ",
                                                  options_.max_message_bytes));
    }
    if (m.producer_id != messages.front().producer_id ||
        (m.producer_id != 0 && m.sequence != messages.front().sequence + i)) {
      return absl::InvalidArgumentError(base::Cat(
          "message ", i, " of an idempotent batch has producer ", m.producer_id, " sequence ",
          m.sequence, "; a batch needs one producer and consecutive sequence numbers"));
    }
  }
  if (delayed) return delays_->Add(topic, partition, messages);
  return p->Append(messages, acks);
}

absl::StatusOr<FetchResult> Cluster::Fetch(const std::string& topic, uint32_t partition,
                                           uint64_t from, const FetchOptions& options) const {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  if (IsInternal(topic)) {
    return absl::InvalidArgumentError(
        base::Cat("topic ", base::Quoted(topic), " is the cluster's own"));
  }
  KEEL_ASSIGN_OR_RETURN(Partition * p, FindPartition(topic, partition));
  return p->Fetch(from, options);
}

absl::StatusOr<PartitionState> Cluster::DescribePartition(const std::string& topic,
                                                          uint32_t partition) const {
  KEEL_ASSIGN_OR_RETURN(Partition * p, FindPartition(topic, partition));
  return p->Describe();
}

// ---------------------------------------------------------------------------------------------
// Consumer groups.
// ---------------------------------------------------------------------------------------------

// REQUIRES: groups_mu_ held.
void Cluster::Rebalance(const std::string& name, Group& group, std::string_view why) {
  ++group.generation;
  std::vector<GroupMember> members;
  std::map<std::string, uint32_t> counts;
  {
    std::shared_lock lock(topics_mu_);
    for (const auto& [id, member] : group.members) {
      members.push_back({id, member.topics});
      for (const std::string& t : member.topics) {
        auto it = topics_.find(t);
        if (it != topics_.end()) counts[t] = it->second->config.partitions;
      }
    }
  }
  group.assignment = AssignPartitions(group.strategy, members, counts);
  std::string line = base::Cat("group ", name, " rebalanced to generation ", group.generation, " (",
                               why, ", ", StrategyName(group.strategy), "):");
  if (group.assignment.empty()) line += " no members";
  for (const auto& [id, partitions] : group.assignment) {
    line += base::Cat(" ", id, "=[");
    for (size_t i = 0; i < partitions.size(); ++i) {
      line += base::Cat(i > 0 ? " " : "", partitions[i].topic, "-", partitions[i].partition);
    }
    line += "]";
  }
  Record(std::move(line));
}

absl::StatusOr<GroupAssignment> Cluster::JoinGroup(const std::string& group,
                                                   const std::string& member_id,
                                                   const std::vector<std::string>& topics,
                                                   AssignmentStrategy strategy) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  if (group.empty() || group.size() > kMaxTopicNameBytes) {
    return absl::InvalidArgumentError(base::Cat("bad group name ", base::Quoted(group)));
  }
  if (topics.empty()) return absl::InvalidArgumentError("a member must subscribe to a topic");
  for (const std::string& t : topics) {
    if (IsInternal(t)) {
      return absl::InvalidArgumentError(
          base::Cat("topic ", base::Quoted(t), " is the cluster's own"));
    }
    KEEL_RETURN_IF_ERROR(GetTopic(t).status());
  }
  std::lock_guard lock(groups_mu_);
  std::unique_ptr<Group>& slot = groups_[group];
  if (slot == nullptr) {
    slot = std::make_unique<Group>();
    slot->strategy = strategy;
  }
  Group& g = *slot;
  if (!g.members.empty() && g.strategy != strategy) {
    return absl::InvalidArgumentError(base::Cat("group ", group, " assigns with ",
                                                StrategyName(g.strategy), ", not ",
                                                StrategyName(strategy)));
  }
  g.strategy = strategy;
  const std::string id = member_id.empty() ? base::Cat(group, "-", next_member_++) : member_id;
  std::vector<std::string> sorted = topics;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  auto it = g.members.find(id);
  const bool changed = it == g.members.end() || it->second.topics != sorted;
  Group::Member& member = g.members[id];
  member.topics = sorted;
  member.last_heartbeat_ns = clock_.NowNanos();
  if (changed) Rebalance(group, g, base::Cat(id, " joined"));
  return GroupAssignment{id, g.generation, g.assignment[id]};
}

absl::Status Cluster::LeaveGroup(const std::string& group, const std::string& member_id) {
  std::lock_guard lock(groups_mu_);
  auto it = groups_.find(group);
  if (it == groups_.end() || !it->second->members.contains(member_id)) {
    return absl::NotFoundError(base::Cat("no member ", member_id, " in group ", group));
  }
  it->second->members.erase(member_id);
  it->second->assignment.erase(member_id);
  Rebalance(group, *it->second, base::Cat(member_id, " left"));
  return absl::OkStatus();
}

absl::StatusOr<GroupAssignment> Cluster::Heartbeat(const std::string& group,
                                                   const std::string& member_id) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  std::lock_guard lock(groups_mu_);
  auto it = groups_.find(group);
  if (it == groups_.end() || !it->second->members.contains(member_id)) {
    return absl::NotFoundError(base::Cat("no member ", member_id, " in group ", group,
                                         " (its session may have expired): join again"));
  }
  Group& g = *it->second;
  g.members[member_id].last_heartbeat_ns = clock_.NowNanos();
  return GroupAssignment{member_id, g.generation, g.assignment[member_id]};
}

absl::Status Cluster::CommitOffsets(const std::string& group, const std::string& member_id,
                                    uint64_t generation,
                                    const std::map<TopicPartition, uint64_t>& offsets) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  for (const auto& [tp, offset] : offsets) {
    KEEL_RETURN_IF_ERROR(FindPartition(tp.topic, tp.partition).status());
  }
  // The group lock is held through the write: a rebalance in between would let a member that no
  // longer holds a partition overwrite its new owner's offset.
  std::lock_guard lock(groups_mu_);
  {
    auto it = groups_.find(group);
    const bool has_members = it != groups_.end() && !it->second->members.empty();
    if (has_members || !member_id.empty()) {
      if (!has_members || !it->second->members.contains(member_id)) {
        return absl::FailedPreconditionError(
            base::Cat("member ", base::Quoted(member_id), " is not in group ", group));
      }
      const Group& g = *it->second;
      if (generation != g.generation) {
        return absl::FailedPreconditionError(base::Cat("group ", group, " rebalanced: generation ",
                                                       generation, " is stale, ",
                                                       "the group is at ", g.generation));
      }
      const std::vector<TopicPartition>& owned = g.assignment.at(member_id);
      for (const auto& [tp, offset] : offsets) {
        if (!std::binary_search(owned.begin(), owned.end(), tp)) {
          return absl::FailedPreconditionError(base::Cat("member ", member_id, " of group ", group,
                                                         " does not hold ", tp.topic, "-",
                                                         tp.partition));
        }
      }
    }
  }
  std::shared_lock offsets_lock(offsets_mu_);
  if (offsets_ == nullptr) return absl::FailedPreconditionError("the cluster is closed");
  return offsets_->Commit(group, offsets);
}

absl::StatusOr<std::optional<uint64_t>> Cluster::CommittedOffset(
    const std::string& group, const TopicPartition& partition) const {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  std::shared_lock lock(offsets_mu_);
  if (offsets_ == nullptr) return absl::FailedPreconditionError("the cluster is closed");
  return offsets_->Get(group, partition);
}

absl::StatusOr<GroupState> Cluster::DescribeGroup(const std::string& group) const {
  std::lock_guard lock(groups_mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return absl::NotFoundError(base::Cat("no group ", group));
  return GroupState{it->second->generation, it->second->strategy, it->second->assignment};
}

// ---------------------------------------------------------------------------------------------
// Brokers, replication and maintenance.
// ---------------------------------------------------------------------------------------------

absl::Status Cluster::StopBroker(uint32_t broker) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  if (broker >= options_.brokers) {
    return absl::InvalidArgumentError(
        base::Cat("no broker ", broker, ": there are ", options_.brokers));
  }
  std::lock_guard admin(admin_mu_);
  bool was_up;
  {
    std::lock_guard lock(brokers_mu_);
    was_up = broker_up_[broker];
    broker_up_[broker] = false;
  }
  if (was_up) Record(base::Cat("broker ", broker, " stopped"));
  // Every replica, even when the broker is already down: a replica that failed to stop last time
  // (it could not write its cut file) tries again.
  absl::Status status;
  for (Partition* p : AllPartitions()) status.Update(p->StopReplica(broker));
  return status;
}

absl::Status Cluster::StartBroker(uint32_t broker) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  if (broker >= options_.brokers) {
    return absl::InvalidArgumentError(
        base::Cat("no broker ", broker, ": there are ", options_.brokers));
  }
  std::lock_guard admin(admin_mu_);
  // Every replica, even when the broker is already up: one that failed to start last time tries
  // again. The broker is up even if some fail, so that StopBroker stops those that started.
  absl::Status status;
  for (Partition* p : AllPartitions()) status.Update(p->StartReplica(broker));
  bool was_up;
  {
    std::lock_guard lock(brokers_mu_);
    was_up = broker_up_[broker];
    broker_up_[broker] = true;
  }
  if (!was_up) Record(base::Cat("broker ", broker, " started"));
  NotifyAppend();
  return status;
}

bool Cluster::broker_up(uint32_t broker) const {
  std::lock_guard lock(brokers_mu_);
  return broker < broker_up_.size() && broker_up_[broker];
}

absl::Status Cluster::Replicate() {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  for (uint32_t b = 0; b < options_.brokers; ++b) {
    if (!broker_up(b)) continue;
    for (Partition* p : AllPartitions()) KEEL_RETURN_IF_ERROR(p->CatchUp(b).status());
  }
  return absl::OkStatus();
}

absl::Status Cluster::Tick() {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  absl::Status status = Maintain();
  status.Update(delays_->DeliverDue(clock_.NowNanos()).status());
  return status;
}

absl::Status Cluster::Maintain() {
  const int64_t now = clock_.NowNanos();
  for (Partition* p : AllPartitions()) p->Maintain(now);
  {
    std::lock_guard lock(groups_mu_);
    for (auto& [name, group] : groups_) {
      std::vector<std::string> expired;
      for (const auto& [id, member] : group->members) {
        if (now - member.last_heartbeat_ns > options_.session_timeout_ns) expired.push_back(id);
      }
      for (const std::string& id : expired) {
        group->members.erase(id);
        group->assignment.erase(id);
      }
      if (!expired.empty()) {
        Rebalance(name, *group, base::Cat(expired.front(), " missed its heartbeats"));
      }
    }
  }
  absl::Status status;
  if (now - last_retention_ns_.load() >= options_.retention_check_interval_ns) {
    last_retention_ns_.store(now);
    for (Partition* p : AllPartitions()) status.Update(p->ApplyRetention());
  }
  return status;
}

void Cluster::NotifyAppend() {
  std::lock_guard lock(work_mu_);
  ++appends_;
  work_cv_.notify_all();
}

void Cluster::FetcherLoop(uint32_t broker) {
  std::string last_error;
  while (!stopping_.load()) {
    uint64_t seen;
    {
      std::lock_guard lock(work_mu_);
      seen = appends_;
    }
    bool copied = false;
    if (broker_up(broker)) {
      for (Partition* p : AllPartitions()) {
        const absl::StatusOr<bool> result = p->CatchUp(broker);
        if (result.ok()) {
          copied |= *result;
        } else if (result.status().message() != last_error) {
          last_error = std::string(result.status().message());
          Record(base::Cat("broker ", broker, " fetcher: ", last_error));
        }
      }
    }
    if (copied) continue;
    std::unique_lock lock(work_mu_);
    work_cv_.wait_for(lock, std::chrono::nanoseconds(options_.tick_interval_ns),
                      [&] { return stopping_.load() || appends_ != seen; });
  }
}

// Two loops, so that a delivery waiting for the ISR never holds up the ISR's shrinking.
void Cluster::MaintenanceLoop(bool deliveries) {
  std::string last_error;
  while (!stopping_.load()) {
    const absl::Status status =
        deliveries ? delays_->DeliverDue(clock_.NowNanos()).status() : Maintain();
    if (!status.ok() && status.message() != last_error) {
      last_error = std::string(status.message());
      Record(base::Cat(deliveries ? "delayed delivery: " : "maintenance: ", last_error));
    }
    std::unique_lock lock(work_mu_);
    work_cv_.wait_for(lock, std::chrono::nanoseconds(options_.tick_interval_ns),
                      [&] { return stopping_.load(); });
  }
}

void Cluster::Record(std::string line) {
  const int64_t now = clock_.NowNanos();
  std::lock_guard lock(events_mu_);
  if (events_.size() >= kMaxEvents) events_.pop_front();
  events_.push_back({now, std::move(line)});
}

std::vector<Cluster::Event> Cluster::TakeEvents() {
  std::lock_guard lock(events_mu_);
  std::vector<Event> out(events_.begin(), events_.end());
  events_.clear();
  return out;
}

}  // namespace keel::mq
