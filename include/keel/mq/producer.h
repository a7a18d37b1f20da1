// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Producer: sends messages to a Cluster's topics in batches, as Kafka's producer does.
//
// Send() picks the partition (the key's hash, so one key's messages stay in order; round-robin
// for messages without a key, or for every message with Partitioner::kRoundRobin) and queues the
// message in that partition's batch. A sender thread sends a batch when it holds batch_bytes, when
// its oldest message has waited linger_ns, or on Flush(): bigger batches mean fewer, larger writes
// (throughput) at the price of waiting (latency). Each message's callback runs once, on the sender
// thread, with its partition and offset or an error.
//
// Whatever the options, a batch is cut so that one Produce carries at most kMaxBatchMessages
// messages and at most min(kMaxBatchBytes, ClusterOptions::segment_bytes / 2) bytes, counting
// each message as Cluster::Produce does (48 bytes plus its key, value, tag and origin topic): the
// cluster appends a batch to a partition log in one piece, which must fit in one segment. A
// message larger than that on its own goes in a batch of its own.
//
// Acks choose the delivery guarantee: kNone is at-most-once (fire and forget: no offset comes
// back); kLeader and kAll are at-least-once, since a send that times out is retried and may land
// twice. With `idempotent`, the producer gets an id from the cluster and numbers its messages per
// partition; the broker drops a retried batch it already has and answers with the original
// offsets, so retries append exactly once.
//
// The idempotent producer's numbering rule. A batch is numbered once and every retry of it
// (after kUnavailable or kDeadlineExceeded, up to `retries` times) carries the same numbers, so
// the broker can tell a retry from a new batch. A batch that finally fails with kInvalidArgument
// or kNotFound was refused before anything was appended, and its numbers are used again by the
// next batch. Any other failure leaves the outcome unknown: the broker may have appended the batch
// (or noted its numbers) without answering. Reusing its numbers would then make the broker drop
// the next batch as a duplicate of it, and skipping them would look like a gap, so the producer
// takes a new producer id (Cluster::NewProducerId) and numbers every partition from 0 again. If
// no new id can be had, the sends that would carry one fail (Send and SendTo return the error;
// batches already queued get it in their callbacks), each trying again to get one, until one
// does. Delayed messages are never numbered (the delay queue does not deduplicate) and go on.
//
// Example:
//
//   keel::mq::ProducerOptions options;
//   options.acks = keel::mq::Acks::kAll;
//   options.idempotent = true;
//   KEEL_ASSIGN_OR_RETURN(auto producer, keel::mq::Producer::Create(*cluster, options));
//   keel::mq::Message m;
//   m.key = "user-42";
//   m.value = "clicked ad-7";
//   KEEL_RETURN_IF_ERROR(producer->Send("clicks", std::move(m),
//       [](const absl::StatusOr<keel::mq::Ack>& ack) { /* ack->partition, ack->offset */ }));
//   KEEL_RETURN_IF_ERROR(producer->Flush());
//
// Thread safety: every method may be called from many threads at once.
#ifndef KEEL_MQ_PRODUCER_H_
#define KEEL_MQ_PRODUCER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/mq/cluster.h"

namespace keel::mq {

enum class Partitioner { kKeyHash, kRoundRobin };

// The most messages, and bytes (as Cluster::Produce counts them), one batch carries; a cluster
// whose segments are smaller than 2 * kMaxBatchBytes gets batches of at most half a segment.
inline constexpr size_t kMaxBatchMessages = 1 << 16;
inline constexpr size_t kMaxBatchBytes = 1 << 20;

struct ProducerOptions {
  Acks acks = Acks::kAll;
  Partitioner partitioner = Partitioner::kKeyHash;
  bool idempotent = false;
  // A partition's batch goes when it holds this many bytes of values and keys...
  size_t batch_bytes = 16 << 10;
  // ...or when its oldest message has waited this long (real time; 0 sends at once).
  int64_t linger_ns = 5 * base::kNanosPerMilli;
  // Send fails with kResourceExhausted while this many messages wait to be sent.
  size_t max_queued_messages = 1 << 20;
  // A send that fails with kUnavailable or kDeadlineExceeded is tried this many more times,
  // retry_backoff_ns apart (real time).
  uint32_t retries = 3;
  int64_t retry_backoff_ns = 100 * base::kNanosPerMilli;
};

struct Ack {
  std::string topic;
  uint32_t partition = 0;
  std::optional<uint64_t> offset;  // none with Acks::kNone
  bool delayed = false;            // held by the cluster until its delivery time
  bool duplicate = false;          // a retry the broker already had
};

using SendCallback = std::function<void(const absl::StatusOr<Ack>&)>;

class Producer {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Producer>> Create(
      Cluster& cluster, const ProducerOptions& options);

  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;
  // Sends what is queued and waits for it.
  ~Producer();

  // Queues `message` for `topic`; the partition is chosen as described above. The timestamp is
  // set if zero. Errors (and then the callback never runs): kNotFound for an unknown topic;
  // kInvalidArgument for an oversized message; kResourceExhausted when the queue is full; the
  // cluster's error while an idempotent producer has given up its id and cannot get a new one.
  [[nodiscard]] absl::Status Send(const std::string& topic, Message message,
                                  SendCallback callback = nullptr);
  // The same, to a partition of the caller's choosing.
  [[nodiscard]] absl::Status SendTo(const std::string& topic, uint32_t partition, Message message,
                                    SendCallback callback = nullptr);

  // Sends everything queued now and returns once every callback has run.
  void Flush();

  // The partition Send would choose for `key` in a topic of `partitions` partitions.
  [[nodiscard]] static uint32_t PartitionForKey(std::string_view key, uint32_t partitions);

  // 0 unless idempotent. After a failure it is the id given up until a new one is had.
  [[nodiscard]] uint64_t producer_id() const;

 private:
  struct Batch {
    std::vector<Message> messages;
    std::vector<SendCallback> callbacks;
    size_t bytes = 0;          // keys and values, for batch_bytes
    size_t encoded_bytes = 0;  // as Cluster::Produce counts them, for max_batch_bytes_
    std::chrono::steady_clock::time_point opened;
  };
  struct Key {
    std::string topic;
    uint32_t partition;
    bool delayed;
    friend auto operator<=>(const Key&, const Key&) = default;
  };

  Producer(Cluster& cluster, const ProducerOptions& options);
  absl::StatusOr<uint32_t> ChoosePartition(const std::string& topic, const Message& message);
  void SenderLoop();
  void SendBatches(const Key& key, Batch& batch);
  void SendBatch(const Key& key, std::span<Message> messages, std::span<SendCallback> callbacks);
  void GiveUpProducerId(uint64_t id, const absl::Status& why);
  absl::Status RenewProducerIdIfGivenUp();

  Cluster& cluster_;
  const ProducerOptions options_;
  const size_t max_batch_bytes_;

  // Taken before mu_, by whoever asks the cluster for a new producer id, so only one thread does.
  std::mutex renew_mu_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the sender waits here
  std::condition_variable idle_cv_;  // Flush waits here
  std::map<Key, Batch> batches_;
  std::map<std::string, uint32_t> round_robin_;
  std::map<std::pair<std::string, uint32_t>, uint64_t> next_sequence_;
  uint64_t producer_id_ = 0;
  // Set (under mu_) when producer_id_ was given up and no new one could be had yet; read without
  // the lock on Send's path, which only needs to know whether to look closer.
  std::atomic<bool> id_given_up_{false};
  std::string given_up_because_;  // the failure that made it give up
  size_t queued_ = 0;             // messages in batches_ or being sent
  uint64_t flushes_ = 0;  // Flush requests; the sender sends everything while flushed_ < flushes_
  uint64_t flushed_ = 0;
  bool stopping_ = false;
  std::thread sender_;
};

}  // namespace keel::mq

#endif  // KEEL_MQ_PRODUCER_H_
