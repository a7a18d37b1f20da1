// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "cluster_impl.h"

#include <algorithm>
#include <chrono>

#include "delay_queue.h"
#include "group_coordinator.h"
#include "keel/base/hash.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "metadata.h"
#include "partition.h"

namespace keel::mq::internal {
namespace {

constexpr char kLockFile[] = "LOCK";
constexpr char kOffsetsDir[] = "offsets";
// The most messages one Produce may carry (a partition log's batch limit).
constexpr size_t kMaxProduceBatch = 1 << 16;

bool IsInternal(std::string_view topic) { return topic.size() >= 2 && topic.substr(0, 2) == "__"; }

absl::Status CheckOptions(const ClusterOptions& options) {
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
      {"producer_id_expiration_ns", options.producer_id_expiration_ns, 1},
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
  return absl::OkStatus();
}

// Replicas go round the brokers from a point the name chooses, so that leaders spread out.
TopicMetadata PlaceReplicas(const std::string& name, const TopicConfig& config, uint32_t brokers) {
  TopicMetadata meta;
  meta.config = config;
  const uint64_t start = base::Hash64(name) % brokers;
  for (uint32_t p = 0; p < config.partitions; ++p) {
    std::vector<uint32_t> placement;
    for (uint32_t r = 0; r < config.replication_factor; ++r) {
      placement.push_back(static_cast<uint32_t>((start + p + r) % brokers));
    }
    meta.placement.push_back(std::move(placement));
  }
  return meta;
}

absl::Status CheckNotInternal(const std::string& topic) {
  if (IsInternal(topic)) {
    return absl::InvalidArgumentError(
        base::Cat("topic ", base::Quoted(topic), " is the cluster's own"));
  }
  return absl::OkStatus();
}

}  // namespace

ClusterImpl::ClusterImpl(std::string dir, const ClusterOptions& options, wal::FileSystem& fs,
                         const base::Clock& clock)
    : ctx_(std::move(dir), options, fs, clock), broker_up_(options.brokers, true) {}

ClusterImpl::~ClusterImpl() { (void)Close(); }

absl::StatusOr<std::unique_ptr<ClusterImpl>> ClusterImpl::Open(const std::string& dir,
                                                               const ClusterOptions& options) {
  KEEL_RETURN_IF_ERROR(CheckOptions(options));
  wal::FileSystem& fs =
      options.file_system != nullptr ? *options.file_system : wal::FileSystem::Posix();
  const base::Clock& clock =
      options.clock != nullptr ? *options.clock : base::SystemClock::Default();
  std::unique_ptr<ClusterImpl> cluster(new ClusterImpl(dir, options, fs, clock));
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

absl::Status ClusterImpl::Load() {
  wal::FileSystem& fs = ctx_.fs();
  // Each directory is made durable (its parent synced) before anything in it is relied on.
  KEEL_RETURN_IF_ERROR(CreateDirDurably(fs, ctx_.dir()));
  KEEL_ASSIGN_OR_RETURN(lock_, fs.Lock(base::Cat(ctx_.dir(), "/", kLockFile)));
  KEEL_ASSIGN_OR_RETURN(metadata_, MetadataStore::Open(ctx_));
  for (uint32_t b = 0; b < ctx_.options().brokers; ++b) {
    KEEL_RETURN_IF_ERROR(fs.CreateDir(Partition::BrokerDir(ctx_.dir(), b)));
  }
  KEEL_RETURN_IF_ERROR(fs.CreateDir(base::Cat(ctx_.dir(), "/", kOffsetsDir)));
  KEEL_RETURN_IF_ERROR(fs.SyncDir(ctx_.dir()));
  // Every broker is up when the cluster opens; each partition elects from the ISR it last wrote,
  // and replicas that were down (or crashed) compare their logs with the new leader's.
  const std::vector<bool> up(ctx_.options().brokers, true);
  for (const auto& [name, topic] : metadata_->topics()) {
    KEEL_RETURN_IF_ERROR(OpenTopic(name, up));
  }
  KEEL_ASSIGN_OR_RETURN(
      groups_, GroupCoordinator::Open(ctx_, base::Cat(ctx_.dir(), "/", kOffsetsDir),
                                      [this](const std::string& topic) -> std::optional<uint32_t> {
                                        std::shared_lock lock(topics_mu_);
                                        auto it = topics_.find(topic);
                                        if (it == topics_.end()) return std::nullopt;
                                        return it->second.config.partitions;
                                      }));
  if (!topics_.contains(kDelayTopic)) {
    TopicConfig delay;
    delay.replication_factor = std::min<uint32_t>(3, ctx_.options().brokers);
    KEEL_RETURN_IF_ERROR(metadata_->AddTopic(
        kDelayTopic, PlaceReplicas(kDelayTopic, delay, ctx_.options().brokers)));
    KEEL_RETURN_IF_ERROR(OpenTopic(kDelayTopic, up));
  }
  delays_ = std::make_unique<DelayQueue>(*this, *topics_.at(kDelayTopic).partitions[0]);
  return delays_->Load();
}

absl::Status ClusterImpl::OpenTopic(const std::string& name, const std::vector<bool>& up) {
  const TopicMetadata& meta = metadata_->topics().at(name);
  Topic& topic = topics_[name];
  topic.config = meta.config;
  for (uint32_t p = 0; p < meta.config.partitions; ++p) {
    auto partition =
        std::make_unique<Partition>(ctx_, *metadata_, name, p, meta.config, meta.placement[p]);
    KEEL_RETURN_IF_ERROR(partition->Open(up));
    topic.partitions.push_back(std::move(partition));
  }
  return absl::OkStatus();
}

absl::Status ClusterImpl::Close() {
  if (closed_.exchange(true)) return absl::OkStatus();
  ctx_.Stop();
  // A delivery of delayed messages may be waiting for the ISR; it gives up.
  for (Partition* p : AllPartitions()) p->Interrupt();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  absl::Status status;
  for (Partition* p : AllPartitions()) status.Update(p->Close());
  if (groups_ != nullptr) groups_->Close();
  lock_.reset();
  return status;
}

absl::Status ClusterImpl::CheckOpen() const {
  if (closed_.load()) return absl::FailedPreconditionError("the cluster is closed");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Topics, producing and fetching.
// ---------------------------------------------------------------------------------------------

absl::Status ClusterImpl::CreateTopic(const std::string& name, const TopicConfig& config) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  KEEL_RETURN_IF_ERROR(CheckTopicName(name));
  if (IsInternal(name)) {
    return absl::InvalidArgumentError(
        base::Cat("topic names starting \"__\" are the cluster's own: ", base::Quoted(name)));
  }
  const uint32_t brokers = ctx_.options().brokers;
  if (config.partitions < 1 || config.partitions > kMaxPartitions) {
    return absl::InvalidArgumentError(base::Cat("topic ", name, ": ", config.partitions,
                                                " partitions; want 1 to ", kMaxPartitions));
  }
  if (config.replication_factor < 1 || config.replication_factor > brokers) {
    return absl::InvalidArgumentError(base::Cat("topic ", name, ": replication factor ",
                                                config.replication_factor, "; want 1 to ", brokers,
                                                " (the brokers)"));
  }
  if (config.min_insync_replicas < 1 || config.min_insync_replicas > config.replication_factor) {
    return absl::InvalidArgumentError(
        base::Cat("topic ", name, ": min_insync_replicas ", config.min_insync_replicas,
                  "; want 1 to ", config.replication_factor, " (the replication factor)"));
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
  KEEL_RETURN_IF_ERROR(metadata_->AddTopic(name, PlaceReplicas(name, config, brokers)));
  KEEL_RETURN_IF_ERROR(OpenTopic(name, BrokersUp()));
  ctx_.Record(base::Cat("topic ", name, " created: partitions ", config.partitions,
                        ", replication ", config.replication_factor));
  return absl::OkStatus();
}

absl::StatusOr<TopicConfig> ClusterImpl::GetTopic(const std::string& name) const {
  std::shared_lock lock(topics_mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return absl::NotFoundError(base::Cat("no topic ", base::Quoted(name)));
  return it->second.config;
}

std::vector<std::string> ClusterImpl::Topics() const {
  std::shared_lock lock(topics_mu_);
  std::vector<std::string> names;
  for (const auto& [name, topic] : topics_) {
    if (!IsInternal(name)) names.push_back(name);
  }
  return names;
}

absl::StatusOr<Partition*> ClusterImpl::FindPartition(const std::string& topic,
                                                      uint32_t partition) const {
  std::shared_lock lock(topics_mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return absl::NotFoundError(base::Cat("no topic ", base::Quoted(topic)));
  if (partition >= it->second.partitions.size()) {
    return absl::InvalidArgumentError(base::Cat("topic ", topic, " has ",
                                                it->second.partitions.size(),
                                                " partitions; there is no partition ", partition));
  }
  return it->second.partitions[partition].get();
}

std::vector<Partition*> ClusterImpl::AllPartitions() const {
  std::shared_lock lock(topics_mu_);
  std::vector<Partition*> out;
  for (const auto& [name, topic] : topics_) {
    for (const auto& p : topic.partitions) out.push_back(p.get());
  }
  return out;
}

absl::StatusOr<ProducerIdAndEpoch> ClusterImpl::InitProducerId(
    std::string_view name, std::optional<ProducerIdAndEpoch> current) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  return metadata_->InitProducerId(name, current);
}

absl::StatusOr<ProduceResult> ClusterImpl::Produce(const std::string& topic, uint32_t partition,
                                                   std::span<const Message> messages, Acks acks) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  KEEL_RETURN_IF_ERROR(CheckNotInternal(topic));
  KEEL_ASSIGN_OR_RETURN(Partition * p, FindPartition(topic, partition));
  if (messages.empty() || messages.size() > kMaxProduceBatch) {
    return absl::InvalidArgumentError(
        base::Cat("a batch of ", messages.size(), " messages; want 1 to ", kMaxProduceBatch));
  }
  const int64_t now = ctx_.clock().NowNanos();
  // A batch with any message for later waits in the delay queue whole: those already due are
  // delivered at the next delivery round, in order with the rest.
  bool delayed = false;
  for (const Message& m : messages) delayed |= m.deliver_at_ns > now;
  const uint32_t max_message_bytes = ctx_.options().max_message_bytes;
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.key.size() > kMaxKeyBytes || m.tag.size() > kMaxTagBytes ||
        m.origin_topic.size() > kMaxTopicNameBytes) {
      return absl::InvalidArgumentError(
          base::Cat("message ", i, ": key of ", m.key.size(), " bytes, tag of ", m.tag.size(),
                    " bytes, origin topic of ", m.origin_topic.size(), " bytes; the limits are ",
                    kMaxKeyBytes, ", ", kMaxTagBytes, " and ", kMaxTopicNameBytes));
    }
    const size_t bytes = delayed ? DelayedMessageBytes(topic, m) : EncodedMessageBytes(m);
    if (bytes > max_message_bytes) {
      return absl::InvalidArgumentError(base::Cat("message ", i, " takes up to ", bytes,
                                                  " bytes encoded", delayed ? " (delayed)" : "",
                                                  ", over max_message_bytes ", max_message_bytes));
    }
    if (m.producer_id != messages.front().producer_id ||
        m.producer_epoch != messages.front().producer_epoch ||
        (m.producer_id != 0 && m.sequence != messages.front().sequence + i)) {
      return absl::InvalidArgumentError(
          base::Cat("message ", i, " of an idempotent batch has producer ", m.producer_id,
                    " epoch ", m.producer_epoch, " sequence ", m.sequence,
                    "; a batch needs one producer epoch and consecutive sequence numbers"));
    }
  }
  // A named producer's older instances are fenced everywhere at once, also in partitions the new
  // instance has not written to yet (which is all the partitions' own check could do).
  const Message& first = messages.front();
  if (first.producer_id != 0) {
    const std::optional<uint32_t> latest = metadata_->NamedProducerEpoch(first.producer_id);
    if (latest && first.producer_epoch < *latest) {
      return MakeError(absl::StatusCode::kFailedPrecondition, Error::kProducerFenced,
                       base::Cat("producer ", first.producer_id, " epoch ", first.producer_epoch,
                                 " is fenced: a newer instance has epoch ", *latest));
    }
  }
  if (delayed) return delays_->Add(topic, partition, messages);
  return p->Append(messages, acks);
}

absl::StatusOr<FetchResult> ClusterImpl::Fetch(const std::string& topic, uint32_t partition,
                                               uint64_t from, const FetchOptions& options) const {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  KEEL_RETURN_IF_ERROR(CheckNotInternal(topic));
  KEEL_ASSIGN_OR_RETURN(Partition * p, FindPartition(topic, partition));
  return p->Fetch(from, options);
}

absl::StatusOr<PartitionState> ClusterImpl::DescribePartition(const std::string& topic,
                                                              uint32_t partition) const {
  KEEL_ASSIGN_OR_RETURN(Partition * p, FindPartition(topic, partition));
  return p->Describe();
}

// ---------------------------------------------------------------------------------------------
// Consumer groups: checked here, run by the coordinator.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<GroupAssignment> ClusterImpl::JoinGroup(const std::string& group,
                                                       const std::string& member_id,
                                                       const std::vector<std::string>& topics,
                                                       AssignmentStrategy strategy) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  if (group.empty() || group.size() > kMaxTopicNameBytes) {
    return absl::InvalidArgumentError(base::Cat("bad group name ", base::Quoted(group)));
  }
  if (topics.empty()) return absl::InvalidArgumentError("a member must subscribe to a topic");
  for (const std::string& t : topics) {
    KEEL_RETURN_IF_ERROR(CheckNotInternal(t));
    KEEL_RETURN_IF_ERROR(GetTopic(t).status());
  }
  return groups_->Join(group, member_id, topics, strategy);
}

absl::Status ClusterImpl::LeaveGroup(const std::string& group, const std::string& member_id) {
  return groups_->Leave(group, member_id);
}

absl::StatusOr<GroupAssignment> ClusterImpl::Heartbeat(const std::string& group,
                                                       const std::string& member_id) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  return groups_->Heartbeat(group, member_id);
}

absl::Status ClusterImpl::CommitOffsets(const std::string& group, const std::string& member_id,
                                        uint64_t generation,
                                        const std::map<TopicPartition, uint64_t>& offsets) {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  for (const auto& [tp, offset] : offsets) {
    KEEL_RETURN_IF_ERROR(FindPartition(tp.topic, tp.partition).status());
  }
  return groups_->Commit(group, member_id, generation, offsets);
}

absl::StatusOr<std::optional<uint64_t>> ClusterImpl::CommittedOffset(
    const std::string& group, const TopicPartition& partition) const {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  return groups_->Committed(group, partition);
}

absl::StatusOr<GroupState> ClusterImpl::DescribeGroup(const std::string& group) const {
  return groups_->Describe(group);
}

// ---------------------------------------------------------------------------------------------
// Brokers, replication and maintenance.
// ---------------------------------------------------------------------------------------------

std::vector<bool> ClusterImpl::BrokersUp() const {
  std::lock_guard lock(brokers_mu_);
  return broker_up_;
}

absl::Status ClusterImpl::CheckBroker(uint32_t broker) const {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  if (broker >= ctx_.options().brokers) {
    return absl::InvalidArgumentError(
        base::Cat("no broker ", broker, ": there are ", ctx_.options().brokers));
  }
  return absl::OkStatus();
}

absl::Status ClusterImpl::StopBroker(uint32_t broker) {
  KEEL_RETURN_IF_ERROR(CheckBroker(broker));
  std::lock_guard admin(admin_mu_);
  bool was_up;
  {
    std::lock_guard lock(brokers_mu_);
    was_up = broker_up_[broker];
    broker_up_[broker] = false;
  }
  if (was_up) ctx_.Record(base::Cat("broker ", broker, " stopped"));
  // Every replica, even when the broker is already down (it does nothing for those).
  absl::Status status;
  for (Partition* p : AllPartitions()) status.Update(p->StopReplica(broker));
  return status;
}

absl::Status ClusterImpl::StartBroker(uint32_t broker) {
  KEEL_RETURN_IF_ERROR(CheckBroker(broker));
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
  if (!was_up) ctx_.Record(base::Cat("broker ", broker, " started"));
  ctx_.NotifyAppend();
  return status;
}

bool ClusterImpl::broker_up(uint32_t broker) const {
  std::lock_guard lock(brokers_mu_);
  return broker < broker_up_.size() && broker_up_[broker];
}

absl::Status ClusterImpl::Replicate() {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  // Every fetch is tried, as every broker's fetcher would; the first error is returned.
  absl::Status status;
  for (uint32_t b = 0; b < ctx_.options().brokers; ++b) {
    if (!broker_up(b)) continue;
    for (Partition* p : AllPartitions()) status.Update(p->CatchUp(b).status());
  }
  // As the fetchers' copying would, and for partitions without followers.
  for (Partition* p : AllPartitions()) status.Update(p->SyncLeader());
  return status;
}

absl::Status ClusterImpl::Tick() {
  KEEL_RETURN_IF_ERROR(CheckOpen());
  absl::Status status = Maintain();
  status.Update(delays_->DeliverDue(ctx_.clock().NowNanos()).status());
  return status;
}

absl::Status ClusterImpl::Maintain() {
  const int64_t now = ctx_.clock().NowNanos();
  absl::Status status;
  for (Partition* p : AllPartitions()) status.Update(p->Maintain(now));
  groups_->ExpireMembers(now);
  if (now - last_retention_ns_.load() >= ctx_.options().retention_check_interval_ns) {
    last_retention_ns_.store(now);
    for (Partition* p : AllPartitions()) {
      status.Update(p->ApplyRetention());
      p->ExpireProducers(now);
    }
  }
  return status;
}

void ClusterImpl::FetcherLoop(uint32_t broker) {
  std::string last_error;
  while (!ctx_.stopping()) {
    const uint64_t seen = ctx_.appends();
    bool copied = false;
    if (broker_up(broker)) {
      for (Partition* p : AllPartitions()) {
        const absl::StatusOr<bool> result = p->CatchUp(broker);
        if (result.ok()) {
          copied |= *result;
        } else if (result.status().message() != last_error) {
          last_error = std::string(result.status().message());
          ctx_.Record(base::Cat("broker ", broker, " fetcher: ", last_error));
        }
      }
    }
    if (copied) continue;
    ctx_.WaitForWork(seen, ctx_.options().tick_interval_ns, /*any_append=*/true);
  }
}

// Two loops, so that a delivery waiting for the ISR never holds up the ISR's shrinking.
void ClusterImpl::MaintenanceLoop(bool deliveries) {
  std::string last_error;
  while (!ctx_.stopping()) {
    const absl::Status status =
        deliveries ? delays_->DeliverDue(ctx_.clock().NowNanos()).status() : Maintain();
    if (!status.ok() && status.message() != last_error) {
      last_error = std::string(status.message());
      ctx_.Record(base::Cat(deliveries ? "delayed delivery: " : "maintenance: ", last_error));
    }
    ctx_.WaitForWork(0, ctx_.options().tick_interval_ns, /*any_append=*/false);
  }
}

}  // namespace keel::mq::internal
