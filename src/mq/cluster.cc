// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Cluster's public methods; the machinery is ClusterImpl's (cluster_impl.h).
#include "keel/mq/cluster.h"

#include "cluster_impl.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::mq {

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

Cluster::Cluster(std::unique_ptr<internal::ClusterImpl> impl) : impl_(std::move(impl)) {}

Cluster::~Cluster() = default;

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Open(const std::string& dir,
                                                       const ClusterOptions& options) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<internal::ClusterImpl> impl,
                        internal::ClusterImpl::Open(dir, options));
  return std::unique_ptr<Cluster>(new Cluster(std::move(impl)));
}

absl::Status Cluster::Close() { return impl_->Close(); }

absl::Status Cluster::CreateTopic(const std::string& name, const TopicConfig& config) {
  return impl_->CreateTopic(name, config);
}

absl::StatusOr<TopicConfig> Cluster::GetTopic(const std::string& name) const {
  return impl_->GetTopic(name);
}

std::vector<std::string> Cluster::Topics() const { return impl_->Topics(); }

absl::StatusOr<ProducerIdAndEpoch> Cluster::InitProducerId(
    std::string_view name, std::optional<ProducerIdAndEpoch> current) {
  return impl_->InitProducerId(name, current);
}

absl::StatusOr<uint64_t> Cluster::NewProducerId() {
  KEEL_ASSIGN_OR_RETURN(const ProducerIdAndEpoch id, impl_->InitProducerId("", std::nullopt));
  return id.id;
}

absl::StatusOr<ProduceResult> Cluster::Produce(const std::string& topic, uint32_t partition,
                                               std::span<const Message> messages, Acks acks) {
  return impl_->Produce(topic, partition, messages, acks);
}

absl::StatusOr<FetchResult> Cluster::Fetch(const std::string& topic, uint32_t partition,
                                           uint64_t from, const FetchOptions& options) const {
  return impl_->Fetch(topic, partition, from, options);
}

absl::StatusOr<PartitionState> Cluster::DescribePartition(const std::string& topic,
                                                          uint32_t partition) const {
  return impl_->DescribePartition(topic, partition);
}

absl::StatusOr<GroupAssignment> Cluster::JoinGroup(const std::string& group,
                                                   const std::string& member_id,
                                                   const std::vector<std::string>& topics,
                                                   AssignmentStrategy strategy) {
  return impl_->JoinGroup(group, member_id, topics, strategy);
}

absl::Status Cluster::LeaveGroup(const std::string& group, const std::string& member_id) {
  return impl_->LeaveGroup(group, member_id);
}

absl::StatusOr<GroupAssignment> Cluster::Heartbeat(const std::string& group,
                                                   const std::string& member_id) {
  return impl_->Heartbeat(group, member_id);
}

absl::Status Cluster::CommitOffsets(const std::string& group, const std::string& member_id,
                                    uint64_t generation,
                                    const std::map<TopicPartition, uint64_t>& offsets) {
  return impl_->CommitOffsets(group, member_id, generation, offsets);
}

absl::StatusOr<std::optional<uint64_t>> Cluster::CommittedOffset(
    const std::string& group, const TopicPartition& partition) const {
  return impl_->CommittedOffset(group, partition);
}

absl::StatusOr<GroupState> Cluster::DescribeGroup(const std::string& group) const {
  return impl_->DescribeGroup(group);
}

absl::Status Cluster::StopBroker(uint32_t broker) { return impl_->StopBroker(broker); }

absl::Status Cluster::StartBroker(uint32_t broker) { return impl_->StartBroker(broker); }

bool Cluster::broker_up(uint32_t broker) const { return impl_->broker_up(broker); }

absl::Status Cluster::Replicate() { return impl_->Replicate(); }

absl::Status Cluster::Tick() { return impl_->Tick(); }

std::vector<Cluster::Event> Cluster::TakeEvents() { return impl_->ctx().TakeEvents(); }

const ClusterOptions& Cluster::options() const { return impl_->ctx().options(); }

const base::Clock& Cluster::clock() const { return impl_->ctx().clock(); }

const std::string& Cluster::dir() const { return impl_->ctx().dir(); }

}  // namespace keel::mq
