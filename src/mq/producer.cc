// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/producer.h"

#include <algorithm>

#include "keel/base/hash.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::mq {
namespace {

bool Retriable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

// Errors the cluster returns only before it appends anything (a bad partition or batch, an
// unknown topic), so that the batch's sequence numbers were never seen.
bool NothingAppended(const absl::Status& status) {
  return absl::IsInvalidArgument(status) || absl::IsNotFound(status);
}

// A message's size as Cluster::Produce counts it against max_message_bytes. A delayed message
// waits in the delay queue's log wrapped in another message, keyed by its topic.
size_t EncodedBytes(const std::string& topic, const Message& m, bool delayed) {
  const size_t bytes = 48 + m.key.size() + m.value.size() + m.tag.size() + m.origin_topic.size();
  return delayed ? bytes + 48 + topic.size() : bytes;
}

}  // namespace

Producer::Producer(Cluster& cluster, const ProducerOptions& options)
    : cluster_(cluster),
      options_(options),
      max_batch_bytes_(static_cast<size_t>(
          std::min<uint64_t>(kMaxBatchBytes, cluster.options().segment_bytes / 2))) {}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(Cluster& cluster,
                                                           const ProducerOptions& options) {
  if (options.linger_ns < 0 || options.retry_backoff_ns < 0 || options.max_queued_messages < 1) {
    return absl::InvalidArgumentError(
        "linger_ns and retry_backoff_ns must not be negative, max_queued_messages positive");
  }
  std::unique_ptr<Producer> producer(new Producer(cluster, options));
  if (options.idempotent) {
    KEEL_ASSIGN_OR_RETURN(producer->producer_id_, cluster.NewProducerId());
  }
  producer->sender_ = std::thread([p = producer.get()] { p->SenderLoop(); });
  return producer;
}

Producer::~Producer() {
  Flush();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  sender_.join();
}

uint64_t Producer::producer_id() const {
  std::lock_guard lock(mu_);
  return producer_id_;
}

uint32_t Producer::PartitionForKey(std::string_view key, uint32_t partitions) {
  return static_cast<uint32_t>(base::Hash64(key) % partitions);
}

absl::StatusOr<uint32_t> Producer::ChoosePartition(const std::string& topic,
                                                   const Message& message) {
  KEEL_ASSIGN_OR_RETURN(const TopicConfig config, cluster_.GetTopic(topic));
  if (options_.partitioner == Partitioner::kKeyHash && !message.key.empty()) {
    return PartitionForKey(message.key, config.partitions);
  }
  std::lock_guard lock(mu_);
  return round_robin_[topic]++ % config.partitions;
}

absl::Status Producer::Send(const std::string& topic, Message message, SendCallback callback) {
  KEEL_ASSIGN_OR_RETURN(const uint32_t partition, ChoosePartition(topic, message));
  return SendTo(topic, partition, std::move(message), std::move(callback));
}

absl::Status Producer::SendTo(const std::string& topic, uint32_t partition, Message message,
                              SendCallback callback) {
  KEEL_ASSIGN_OR_RETURN(const TopicConfig config, cluster_.GetTopic(topic));
  if (partition >= config.partitions) {
    return absl::InvalidArgumentError(base::Cat("topic ", topic, " has ", config.partitions,
                                                " partitions; there is no partition ", partition));
  }
  const size_t bytes = message.key.size() + message.value.size() + message.tag.size();
  if (bytes + 48 > cluster_.options().max_message_bytes || message.key.size() > kMaxKeyBytes ||
      message.tag.size() > kMaxTagBytes) {
    return absl::InvalidArgumentError(base::Cat(
        "message of ", bytes, " bytes (key ", message.key.size(), ", tag ", message.tag.size(),
        ") is over the limits: max_message_bytes ", cluster_.options().max_message_bytes, ", key ",
        kMaxKeyBytes, ", tag ", kMaxTagBytes));
  }
  const int64_t now = cluster_.clock().NowNanos();
  if (message.timestamp_ns == 0) message.timestamp_ns = now;
  const bool delayed = message.deliver_at_ns > now;
  if (options_.idempotent && !delayed && id_given_up_.load()) {
    KEEL_RETURN_IF_ERROR(RenewProducerIdIfGivenUp());
  }
  const size_t encoded_bytes = EncodedBytes(topic, message, delayed);
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (queued_ >= options_.max_queued_messages) {
      return absl::ResourceExhaustedError(
          base::Cat("the producer already has ", queued_, " messages waiting to be sent"));
    }
    Batch& batch = batches_[Key{topic, partition, delayed}];
    if (batch.messages.empty()) batch.opened = std::chrono::steady_clock::now();
    batch.messages.push_back(std::move(message));
    batch.callbacks.push_back(std::move(callback));
    batch.bytes += bytes;
    batch.encoded_bytes += encoded_bytes;
    ++queued_;
    // A new batch wakes the sender too, so that it sets an alarm for the batch's linger.
    wake = batch.messages.size() == 1 || batch.bytes >= options_.batch_bytes ||
           options_.linger_ns == 0 || batch.messages.size() >= kMaxBatchMessages ||
           batch.encoded_bytes >= max_batch_bytes_;
  }
  if (wake) work_cv_.notify_all();
  return absl::OkStatus();
}

void Producer::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t request = ++flushes_;
  work_cv_.notify_all();
  idle_cv_.wait(lock, [&] { return flushed_ >= request || stopping_; });
}

void Producer::SenderLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    // A batch is ready when full, lingered long enough, or flushed.
    const auto now = std::chrono::steady_clock::now();
    const auto linger = std::chrono::nanoseconds(options_.linger_ns);
    const bool flushing = flushed_ < flushes_ || stopping_;
    const uint64_t flush_target = flushes_;
    std::vector<std::pair<Key, Batch>> ready;
    auto next_deadline = std::chrono::steady_clock::time_point::max();
    for (auto it = batches_.begin(); it != batches_.end();) {
      Batch& b = it->second;
      if (flushing || b.bytes >= options_.batch_bytes || now - b.opened >= linger ||
          b.messages.size() >= kMaxBatchMessages || b.encoded_bytes >= max_batch_bytes_) {
        ready.emplace_back(it->first, std::move(b));
        it = batches_.erase(it);
      } else {
        next_deadline = std::min(next_deadline, b.opened + linger);
        ++it;
      }
    }
    if (ready.empty()) {
      if (flushing) {
        flushed_ = flush_target;
        idle_cv_.notify_all();
        if (stopping_) return;
        continue;
      }
      if (next_deadline == std::chrono::steady_clock::time_point::max()) {
        work_cv_.wait(lock);
      } else {
        work_cv_.wait_until(lock, next_deadline);
      }
      continue;
    }
    lock.unlock();
    for (auto& [key, batch] : ready) SendBatches(key, batch);
    lock.lock();
  }
}

// Cuts `batch` into pieces one Produce can carry (see the file comment) and sends them in order.
void Producer::SendBatches(const Key& key, Batch& batch) {
  std::span<Message> messages(batch.messages);
  std::span<SendCallback> callbacks(batch.callbacks);
  size_t start = 0;
  size_t bytes = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const size_t size = EncodedBytes(key.topic, messages[i], key.delayed);
    if (i > start && (i - start >= kMaxBatchMessages || bytes + size > max_batch_bytes_)) {
      SendBatch(key, messages.subspan(start, i - start), callbacks.subspan(start, i - start));
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < messages.size()) SendBatch(key, messages.subspan(start), callbacks.subspan(start));
}

void Producer::SendBatch(const Key& key, std::span<Message> messages,
                         std::span<SendCallback> callbacks) {
  const size_t n = messages.size();
  const bool numbered = options_.idempotent && !key.delayed;
  const std::pair<std::string, uint32_t> slot{key.topic, key.partition};
  const absl::Status has_id =
      numbered && id_given_up_.load() ? RenewProducerIdIfGivenUp() : absl::OkStatus();
  absl::StatusOr<ProduceResult> result = absl::UnknownError("not sent");
  uint64_t producer = 0;
  if (!has_id.ok()) {
    result = has_id;
  } else {
    // Idempotence: number the batch now, so that every retry carries the same numbers.
    {
      std::lock_guard lock(mu_);
      producer = numbered ? producer_id_ : 0;
      const uint64_t first = numbered ? next_sequence_[slot] : 0;
      for (size_t i = 0; i < n; ++i) {
        messages[i].producer_id = producer;
        messages[i].sequence = numbered ? first + i : 0;
      }
    }
    result = cluster_.Produce(key.topic, key.partition, messages, options_.acks);
    for (uint32_t attempt = 0;
         attempt < options_.retries && !result.ok() && Retriable(result.status()); ++attempt) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(options_.retry_backoff_ns));
      result = cluster_.Produce(key.topic, key.partition, messages, options_.acks);
    }
    if (numbered && result.ok()) {
      std::lock_guard lock(mu_);
      next_sequence_[slot] += n;
    } else if (numbered && !NothingAppended(result.status())) {
      GiveUpProducerId(producer, result.status());
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (callbacks[i] == nullptr) continue;
    if (!result.ok()) {
      callbacks[i](result.status());
      continue;
    }
    Ack ack;
    ack.topic = key.topic;
    ack.partition = key.partition;
    ack.delayed = result->delayed;
    ack.duplicate = result->duplicate;
    if (options_.acks != Acks::kNone) ack.offset = result->base_offset + i;
    callbacks[i](ack);
  }
  std::lock_guard lock(mu_);
  queued_ -= n;
}

// The batch numbered `id` failed with an unknown outcome: see the rule in producer.h.
void Producer::GiveUpProducerId(uint64_t id, const absl::Status& why) {
  {
    std::lock_guard lock(mu_);
    if (producer_id_ != id || id_given_up_.load()) return;
    id_given_up_.store(true);
    given_up_because_ = std::string(why.message());
  }
  // A failure here is remembered in id_given_up_: every send that needs an id tries again.
  (void)RenewProducerIdIfGivenUp();
}

absl::Status Producer::RenewProducerIdIfGivenUp() {
  std::lock_guard renew(renew_mu_);
  uint64_t old = 0;
  std::string because;
  {
    std::lock_guard lock(mu_);
    if (!id_given_up_.load()) return absl::OkStatus();
    old = producer_id_;
    because = given_up_because_;
  }
  const absl::StatusOr<uint64_t> fresh = cluster_.NewProducerId();
  if (!fresh.ok()) {
    return absl::Status(
        fresh.status().code(),
        base::Cat("the idempotent producer gave up producer id ", old, " after a send failed (",
                  because,
                  ") and cannot get a new id to number messages with: ", fresh.status().message()));
  }
  std::lock_guard lock(mu_);
  producer_id_ = *fresh;
  next_sequence_.clear();
  id_given_up_.store(false);
  return absl::OkStatus();
}

}  // namespace keel::mq
