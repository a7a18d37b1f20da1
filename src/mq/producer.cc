// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/producer.h"

#include "keel/base/hash.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::mq {
namespace {

// The most messages one batch carries (the cluster's limit for one Produce).
constexpr size_t kMaxBatchMessages = 1 << 16;

bool Retriable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

}  // namespace

Producer::Producer(Cluster& cluster, const ProducerOptions& options)
    : cluster_(cluster), options_(options) {}

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
    ++queued_;
    // A new batch wakes the sender too, so that it sets an alarm for the batch's linger.
    wake = batch.messages.size() == 1 || batch.bytes >= options_.batch_bytes ||
           options_.linger_ns == 0 || batch.messages.size() >= kMaxBatchMessages;
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
          b.messages.size() >= kMaxBatchMessages) {
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
    for (auto& [key, batch] : ready) {
      // Larger than one Produce may carry: split.
      while (batch.messages.size() > kMaxBatchMessages) {
        Batch head;
        head.messages.assign(std::make_move_iterator(batch.messages.begin()),
                             std::make_move_iterator(batch.messages.begin() + kMaxBatchMessages));
        head.callbacks.assign(std::make_move_iterator(batch.callbacks.begin()),
                              std::make_move_iterator(batch.callbacks.begin() + kMaxBatchMessages));
        batch.messages.erase(batch.messages.begin(), batch.messages.begin() + kMaxBatchMessages);
        batch.callbacks.erase(batch.callbacks.begin(), batch.callbacks.begin() + kMaxBatchMessages);
        SendBatch(key, std::move(head));
      }
      SendBatch(key, std::move(batch));
    }
    lock.lock();
  }
}

void Producer::SendBatch(const Key& key, Batch batch) {
  const size_t n = batch.messages.size();
  // Idempotence: number the batch now, so that every retry carries the same numbers.
  uint64_t producer = 0;
  std::pair<std::string, uint32_t> slot{key.topic, key.partition};
  {
    std::lock_guard lock(mu_);
    producer = key.delayed ? 0 : producer_id_;
    const uint64_t first = producer != 0 ? next_sequence_[slot] : 0;
    for (size_t i = 0; i < n; ++i) {
      batch.messages[i].producer_id = producer;
      batch.messages[i].sequence = producer != 0 ? first + i : 0;
    }
  }
  absl::StatusOr<ProduceResult> result =
      cluster_.Produce(key.topic, key.partition, batch.messages, options_.acks);
  for (uint32_t attempt = 0;
       attempt < options_.retries && !result.ok() && Retriable(result.status()); ++attempt) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(options_.retry_backoff_ns));
    result = cluster_.Produce(key.topic, key.partition, batch.messages, options_.acks);
  }
  if (producer != 0) {
    std::lock_guard lock(mu_);
    if (result.ok()) {
      next_sequence_[slot] += n;
    } else if (Retriable(result.status())) {
      // The batch may or may not be in the log. Reusing its numbers would make the broker take a
      // later batch for a retry of this one; skipping them would look like a gap. A new producer
      // id starts every partition's numbering afresh.
      absl::StatusOr<uint64_t> fresh = cluster_.NewProducerId();
      if (fresh.ok()) {
        producer_id_ = *fresh;
        next_sequence_.clear();
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (batch.callbacks[i] == nullptr) continue;
    if (!result.ok()) {
      batch.callbacks[i](result.status());
      continue;
    }
    Ack ack;
    ack.topic = key.topic;
    ack.partition = key.partition;
    ack.delayed = result->delayed;
    ack.duplicate = result->duplicate;
    if (options_.acks != Acks::kNone) ack.offset = result->base_offset + i;
    batch.callbacks[i](ack);
  }
  std::lock_guard lock(mu_);
  queued_ -= n;
}

}  // namespace keel::mq
