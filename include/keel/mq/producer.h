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
// each message as Cluster::Produce does (EncodedMessageBytes, or DelayedMessageBytes): the
// cluster appends a batch to a partition log in one piece, which must fit in one segment. A
// message larger than that on its own goes in a batch of its own.
//
// Acks choose the delivery guarantee: kNone is at-most-once (fire and forget: no offset comes
// back); kLeader and kAll are at-least-once, since a send that times out is retried and may land
// twice. With `idempotent`, the producer gets an id and epoch from the cluster
// (Cluster::InitProducerId) and numbers its messages per partition; the broker drops a retried
// batch it already has and answers with the original offsets, so retries append exactly once.
//
// The idempotent producer's numbering rule (Kafka's, with KIP-360). A batch is numbered once and
// every retry of it (after kUnavailable or kDeadlineExceeded, up to `retries` times) carries the
// same producer id, epoch and sequence numbers, so the broker answers a retry of a batch it has
// with the batch's offsets. A batch that finally fails with an error that says nothing was
// appended (kInvalidArgument, kNotFound, Error::kNotEnoughReplicas, in every attempt) leaves its
// numbers to the next batch. A batch the producer gives up on with its outcome unknown (the broker
// may have it), or one the broker refused as out of order (it lost earlier batches in a change of
// leader), makes the producer bump its epoch (Cluster::InitProducerId with its current id and
// epoch) and number every partition from 0 again: reusing the numbers would make the broker drop
// the next batch as a duplicate of the lost one, and skipping them would look like a gap. If the
// bump cannot be had (a named producer's epoch is stored by the cluster), the sends that would be
// numbered fail (Send and SendTo return the error; batches already queued get it in their
// callbacks), each trying the bump again, until it succeeds. A retry the broker can only say is
// too old to find (Error::kDuplicateSequence) was appended: it is acknowledged without an offset.
//
// Zombies. A producer created with a `name` takes the id of the last producer with that name, in
// a higher epoch; the broker refuses the older epoch from then on, so a producer thought dead
// (paused, partitioned away) that wakes up and sends finds itself fenced: its sends fail with
// Error::kProducerFenced, and so does every later Send. Delayed messages are never numbered (the
// delay queue does not deduplicate) and go on.
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
  // Kafka's transactional.id: instances of a producer that share a name share its producer id,
  // and each new one fences the ones before it (see "Zombies" above). Empty: an id of its own.
  // Requires idempotent; at most kMaxProducerNameBytes.
  std::string name;
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
  std::optional<uint64_t> offset;  // none with Acks::kNone, or for a retry too old to find
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
  // kInvalidArgument for an oversized message; kResourceExhausted when the queue is full;
  // Error::kProducerFenced once a newer instance of this producer fenced it; the cluster's error
  // while an idempotent producer must bump its epoch and cannot.
  [[nodiscard]] absl::Status Send(const std::string& topic, Message message,
                                  SendCallback callback = nullptr);
  // The same, to a partition of the caller's choosing.
  [[nodiscard]] absl::Status SendTo(const std::string& topic, uint32_t partition, Message message,
                                    SendCallback callback = nullptr);

  // Sends everything queued now and returns once every callback has run.
  void Flush();

  // The partition Send would choose for `key` in a topic of `partitions` partitions.
  [[nodiscard]] static uint32_t PartitionForKey(std::string_view key, uint32_t partitions);

  // The producer's id and current epoch; 0 and 0 unless idempotent.
  [[nodiscard]] ProducerIdAndEpoch identity() const;
  [[nodiscard]] uint64_t producer_id() const { return identity().id; }

 private:
  struct Batch {
    std::vector<Message> messages;
    std::vector<SendCallback> callbacks;
    size_t bytes = 0;           // keys and values, for batch_bytes
    std::vector<size_t> sizes;  // each message's, as Cluster::Produce counts them
    size_t encoded_bytes = 0;   // their sum, for max_batch_bytes_
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
  // Sends a numbered batch, retrying it, and settles its numbers (see the rule above).
  absl::StatusOr<ProduceResult> SendNumbered(const Key& key, std::span<Message> messages);
  // Notes that the batch numbered in epoch `numbered` was given up: the epoch must go up.
  void RequireBump(const ProducerIdAndEpoch& numbered, const absl::Status& why);
  // The fenced status once fenced, or the bump's error; OK when the producer may number batches.
  absl::Status CheckIdentity();

  Cluster& cluster_;
  const ProducerOptions options_;
  const size_t max_batch_bytes_;

  // Taken before mu_, by whoever asks the cluster for a new epoch, so only one thread does.
  std::mutex bump_mu_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the sender waits here
  std::condition_variable idle_cv_;  // Flush waits here
  std::map<Key, Batch> batches_;
  std::map<std::string, uint32_t> round_robin_;
  std::map<std::pair<std::string, uint32_t>, uint64_t> next_sequence_;
  ProducerIdAndEpoch identity_;
  // Set (under mu_) when the epoch must go up and has not yet, or when the producer was fenced;
  // read without the lock on Send's path, which only needs to know whether to look closer.
  std::atomic<bool> identity_problem_{false};
  bool bump_needed_ = false;
  std::string bump_because_;  // the failure that made it give up a batch
  absl::Status fenced_;       // set for good once a newer instance fenced this one
  size_t queued_ = 0;         // messages in batches_ or being sent
  uint64_t flushes_ = 0;  // Flush requests; the sender sends everything while flushed_ < flushes_
  uint64_t flushed_ = 0;
  bool stopping_ = false;
  std::thread sender_;
};

}  // namespace keel::mq

#endif  // KEEL_MQ_PRODUCER_H_
