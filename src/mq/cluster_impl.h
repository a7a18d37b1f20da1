// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ClusterImpl: the machinery behind keel::mq::Cluster, whose public methods forward here (their
// comments in keel/mq/cluster.h give the contracts). It wires the parts together and runs the
// background threads:
//
//   MetadataStore      the cluster and topics files, producer ids          metadata.h
//   Partition          each partition's replicas, replication, elections   partition.h
//   GroupCoordinator   consumer groups and their committed offsets         group_coordinator.h
//   DelayQueue         delayed messages, in the internal topic __delayed   delay_queue.h
//
// Locks, in the order they are taken: admin_mu_ (one of CreateTopic, StopBroker and StartBroker
// at a time), the group coordinator's, topics_mu_, brokers_mu_, then each part's own.
//
// Internal to keel/mq.
#ifndef KEEL_SRC_MQ_CLUSTER_IMPL_H_
#define KEEL_SRC_MQ_CLUSTER_IMPL_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "context.h"
#include "keel/mq/cluster.h"

namespace keel::mq::internal {

class Partition;
class MetadataStore;
class GroupCoordinator;
class DelayQueue;

class ClusterImpl {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ClusterImpl>> Open(
      const std::string& dir, const ClusterOptions& options);

  ClusterImpl(const ClusterImpl&) = delete;
  ClusterImpl& operator=(const ClusterImpl&) = delete;
  ~ClusterImpl();

  absl::Status Close();

  absl::Status CreateTopic(const std::string& name, const TopicConfig& config);
  absl::StatusOr<TopicConfig> GetTopic(const std::string& name) const;
  std::vector<std::string> Topics() const;
  absl::StatusOr<ProducerIdAndEpoch> InitProducerId(std::string_view name,
                                                    std::optional<ProducerIdAndEpoch> current);

  absl::StatusOr<ProduceResult> Produce(const std::string& topic, uint32_t partition,
                                        std::span<const Message> messages, Acks acks);
  absl::StatusOr<FetchResult> Fetch(const std::string& topic, uint32_t partition, uint64_t from,
                                    const FetchOptions& options) const;
  absl::StatusOr<PartitionState> DescribePartition(const std::string& topic,
                                                   uint32_t partition) const;

  absl::StatusOr<GroupAssignment> JoinGroup(const std::string& group, const std::string& member_id,
                                            const std::vector<std::string>& topics,
                                            AssignmentStrategy strategy);
  absl::Status LeaveGroup(const std::string& group, const std::string& member_id);
  absl::StatusOr<GroupAssignment> Heartbeat(const std::string& group, const std::string& member_id);
  absl::Status CommitOffsets(const std::string& group, const std::string& member_id,
                             uint64_t generation,
                             const std::map<TopicPartition, uint64_t>& offsets);
  absl::StatusOr<std::optional<uint64_t>> CommittedOffset(const std::string& group,
                                                          const TopicPartition& partition) const;
  absl::StatusOr<GroupState> DescribeGroup(const std::string& group) const;

  absl::Status StopBroker(uint32_t broker);
  absl::Status StartBroker(uint32_t broker);
  bool broker_up(uint32_t broker) const;

  absl::Status Replicate();
  absl::Status Tick();

  Context& ctx() { return ctx_; }
  const Context& ctx() const { return ctx_; }

 private:
  struct Topic {
    TopicConfig config;
    std::vector<std::unique_ptr<Partition>> partitions;
  };

  ClusterImpl(std::string dir, const ClusterOptions& options, wal::FileSystem& fs,
              const base::Clock& clock);

  absl::Status Load();
  // Creates the partitions of a topic the metadata holds. REQUIRES: topics_mu_ held exclusively
  // (or no other thread yet).
  absl::Status OpenTopic(const std::string& name, const std::vector<bool>& up);
  absl::StatusOr<Partition*> FindPartition(const std::string& topic, uint32_t partition) const;
  std::vector<Partition*> AllPartitions() const;
  std::vector<bool> BrokersUp() const;
  absl::Status Maintain();  // Tick() but the delayed messages
  void FetcherLoop(uint32_t broker);
  void MaintenanceLoop(bool deliveries);
  absl::Status CheckOpen() const;
  absl::Status CheckBroker(uint32_t broker) const;  // open, and a broker number it has

  Context ctx_;
  std::unique_ptr<wal::FileLock> lock_;
  std::unique_ptr<MetadataStore> metadata_;

  std::mutex admin_mu_;
  mutable std::shared_mutex topics_mu_;
  std::map<std::string, Topic> topics_;
  mutable std::mutex brokers_mu_;
  std::vector<bool> broker_up_;

  std::unique_ptr<GroupCoordinator> groups_;
  std::unique_ptr<DelayQueue> delays_;

  std::atomic<bool> closed_{false};
  std::vector<std::thread> threads_;
  std::atomic<int64_t> last_retention_ns_{0};
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_CLUSTER_IMPL_H_
