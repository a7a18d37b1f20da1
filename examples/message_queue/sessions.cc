// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "sessions.h"

#include <utility>

#include "absl/strings/cord.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/mq/consumer.h"
#include "keel/mq/producer.h"

namespace keel::examples {
namespace {

constexpr char kOwnerLostUrl[] = "keel.examples.message_queue/owner-lost";

absl::Status CheckProduceRequest(const ProduceRequest& r) {
  KEEL_RETURN_IF_ERROR(CheckUserTopic(r.topic));
  if (r.partitions > mq::kMaxPartitions || r.replication < 1 || r.replication > mq::kMaxBrokers ||
      r.linger_ms < 0 || r.linger_ms > kMaxMillis) {
    return absl::InvalidArgumentError(
        base::Cat("partitions ", r.partitions, ", replication ", r.replication, ", linger ",
                  r.linger_ms, " ms: want 0 to ", mq::kMaxPartitions, " partitions, 1 to ",
                  mq::kMaxBrokers, " replicas and 0 to ", kMaxMillis, " ms"));
  }
  return absl::OkStatus();
}

class ClusterProduceSession final : public ProduceSession {
 public:
  ClusterProduceSession(const ProduceRequest& request, uint32_t partitions, LineCallback callback,
                        std::unique_ptr<mq::Producer> producer)
      : request_(request),
        partitions_(partitions),
        callback_(std::move(callback)),
        producer_(std::move(producer)) {}

  // The producer's destructor sends what is queued and runs its callbacks.
  ~ClusterProduceSession() override = default;

  uint32_t partitions() const override { return partitions_; }

  absl::Status Send(uint64_t seq, std::string line) override {
    mq::Message m;
    // Round-robin is kept here rather than left to the producer, so that it is this session's
    // alone; a key chooses the partition as Producer::Send would.
    const uint32_t partition = request_.key_by_line
                                   ? mq::Producer::PartitionForKey(line, partitions_)
                                   : static_cast<uint32_t>(next_partition_++ % partitions_);
    if (request_.key_by_line) m.key = line;
    m.value = std::move(line);
    return producer_->SendTo(request_.topic, partition, std::move(m),
                             [callback = callback_, seq](const absl::StatusOr<mq::Ack>& ack) {
                               if (!ack.ok()) {
                                 callback(seq, ack.status());
                               } else {
                                 callback(seq, LineAck{ack->partition, ack->offset});
                               }
                             });
  }

  absl::Status Flush() override {
    producer_->Flush();
    return absl::OkStatus();
  }

  absl::Status Health() const override { return absl::OkStatus(); }

 private:
  const ProduceRequest request_;
  const uint32_t partitions_;
  const LineCallback callback_;
  std::unique_ptr<mq::Producer> producer_;
  uint64_t next_partition_ = 0;  // Send is called by one thread at a time
};

class ClusterConsumeSession final : public ConsumeSession {
 public:
  explicit ClusterConsumeSession(std::unique_ptr<mq::Consumer> consumer)
      : consumer_(std::move(consumer)) {}

  absl::StatusOr<std::vector<Delivered>> Poll(uint32_t max_messages) override {
    if (max_messages < 1 || max_messages > kMaxPollMessages) {
      return absl::InvalidArgumentError(
          base::Cat("a poll of ", max_messages, " messages: want 1 to ", kMaxPollMessages));
    }
    KEEL_ASSIGN_OR_RETURN(std::vector<mq::ConsumedMessage> got, consumer_->Poll(max_messages));
    std::vector<Delivered> out;
    out.reserve(got.size());
    for (mq::ConsumedMessage& m : got) {
      out.push_back({m.partition, m.offset, std::move(m.message.value)});
    }
    return out;
  }

  absl::Status Commit() override { return consumer_->Commit(); }

  absl::Status Close() override { return consumer_->Close(); }

 private:
  std::unique_ptr<mq::Consumer> consumer_;
};

}  // namespace

absl::Status CheckUserTopic(std::string_view topic) {
  KEEL_RETURN_IF_ERROR(mq::CheckTopicName(topic));
  if (topic.starts_with("__")) {
    return absl::InvalidArgumentError(
        base::Cat("topic ", base::Quoted(topic),
                  " is internal: names starting \"__\" are the cluster's own"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ProduceSession>> ProduceOn(mq::Cluster& cluster,
                                                          const ProduceRequest& request,
                                                          LineCallback callback) {
  KEEL_RETURN_IF_ERROR(CheckProduceRequest(request));
  const absl::StatusOr<mq::TopicConfig> existing = cluster.GetTopic(request.topic);
  if (absl::IsNotFound(existing.status())) {
    mq::TopicConfig config;
    config.partitions = request.partitions == 0 ? 1 : request.partitions;
    config.replication_factor = request.replication;
    const absl::Status created = cluster.CreateTopic(request.topic, config);
    // Another session may have created it meanwhile; the check below applies to it as well.
    if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
  } else {
    KEEL_RETURN_IF_ERROR(existing.status());
  }
  KEEL_ASSIGN_OR_RETURN(const mq::TopicConfig config, cluster.GetTopic(request.topic));
  if (request.partitions != 0 && config.partitions != request.partitions) {
    return absl::FailedPreconditionError(base::Cat("topic ", request.topic, " has ",
                                                   config.partitions, " partitions, not ",
                                                   request.partitions));
  }
  mq::ProducerOptions options;
  options.acks = request.acks;
  options.idempotent = request.acks != mq::Acks::kNone;  // retries append once
  options.linger_ns = request.linger_ms * base::kNanosPerMilli;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<mq::Producer> producer,
                        mq::Producer::Create(cluster, options));
  return std::make_unique<ClusterProduceSession>(request, config.partitions, std::move(callback),
                                                 std::move(producer));
}

absl::StatusOr<std::unique_ptr<ConsumeSession>> ConsumeOn(mq::Cluster& cluster,
                                                          const ConsumeRequest& request) {
  KEEL_RETURN_IF_ERROR(CheckUserTopic(request.topic));
  if (request.group.empty() || request.group.size() > kMaxGroupBytes) {
    return absl::InvalidArgumentError(base::Cat("group ", base::Quoted(request.group), " of ",
                                                request.group.size(), " bytes: want 1 to ",
                                                kMaxGroupBytes));
  }
  mq::ConsumerOptions options;
  options.group = request.group;
  options.topics = {request.topic};
  // The cluster names each member, so that runs of one group at once share its partitions.
  options.member_id = "";
  options.reset = request.from_beginning ? mq::OffsetReset::kEarliest : mq::OffsetReset::kLatest;
  options.max_poll_messages = kMaxPollMessages;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<mq::Consumer> consumer,
                        mq::Consumer::Join(cluster, options));
  return std::make_unique<ClusterConsumeSession>(std::move(consumer));
}

absl::Status OwnerLost(std::string_view why) {
  absl::Status status = absl::UnavailableError(absl::string_view(why.data(), why.size()));
  status.SetPayload(kOwnerLostUrl, absl::Cord("1"));
  return status;
}

bool IsOwnerLost(const absl::Status& status) {
  return absl::IsUnavailable(status) && status.GetPayload(kOwnerLostUrl).has_value();
}

}  // namespace keel::examples
