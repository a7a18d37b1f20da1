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
// unknown topic, too small an ISR for acks=all), so that the batch's numbers were never seen.
bool NothingAppended(const absl::Status& status) {
  return absl::IsInvalidArgument(status) || absl::IsNotFound(status) ||
         ErrorOf(status) == Error::kNotEnoughReplicas;
}

// A message's size as Cluster::Produce counts it against max_message_bytes.
size_t EncodedBytes(const std::string& topic, const Message& m, bool delayed) {
  return delayed ? DelayedMessageBytes(topic, m) : EncodedMessageBytes(m);
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
  if (!options.name.empty() && !options.idempotent) {
    return absl::InvalidArgumentError(
        base::Cat("producer ", base::Quoted(options.name), " has a name but is not idempotent"));
  }
  std::unique_ptr<Producer> producer(new Producer(cluster, options));
  if (options.idempotent) {
    KEEL_ASSIGN_OR_RETURN(producer->identity_, cluster.InitProducerId(options.name));
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

ProducerIdAndEpoch Producer::identity() const {
  std::lock_guard lock(mu_);
  return identity_;
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
  const int64_t now = cluster_.clock().NowNanos();
  if (message.timestamp_ns == 0) message.timestamp_ns = now;
  const bool delayed = message.deliver_at_ns > now;
  const size_t encoded_bytes = EncodedBytes(topic, message, delayed);
  if (encoded_bytes > cluster_.options().max_message_bytes || message.key.size() > kMaxKeyBytes ||
      message.tag.size() > kMaxTagBytes) {
    return absl::InvalidArgumentError(base::Cat(
        "message of ", bytes, " bytes (", encoded_bytes, " encoded; key ", message.key.size(),
        ", tag ", message.tag.size(), ") is over the limits: max_message_bytes ",
        cluster_.options().max_message_bytes, ", key ", kMaxKeyBytes, ", tag ", kMaxTagBytes));
  }
  if (options_.idempotent && !delayed && identity_problem_.load()) {
    KEEL_RETURN_IF_ERROR(CheckIdentity());
  }
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
    batch.sizes.push_back(encoded_bytes);
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
    const size_t size = batch.sizes[i];
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
  absl::StatusOr<ProduceResult> result = absl::UnknownError("not sent");
  if (options_.idempotent && !key.delayed) {
    result = SendNumbered(key, messages);
  } else {
    result = cluster_.Produce(key.topic, key.partition, messages, options_.acks);
    for (uint32_t attempt = 0;
         attempt < options_.retries && !result.ok() && Retriable(result.status()); ++attempt) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(options_.retry_backoff_ns));
      result = cluster_.Produce(key.topic, key.partition, messages, options_.acks);
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
    if (options_.acks != Acks::kNone && result->count > 0) ack.offset = result->base_offset + i;
    callbacks[i](ack);
  }
  std::lock_guard lock(mu_);
  queued_ -= n;
}

absl::StatusOr<ProduceResult> Producer::SendNumbered(const Key& key, std::span<Message> messages) {
  if (identity_problem_.load()) KEEL_RETURN_IF_ERROR(CheckIdentity());
  const std::pair<std::string, uint32_t> slot{key.topic, key.partition};
  ProducerIdAndEpoch numbered;
  // Numbered now, so that every retry carries the same numbers.
  {
    std::lock_guard lock(mu_);
    numbered = identity_;
    const uint64_t first = next_sequence_[slot];
    for (size_t i = 0; i < messages.size(); ++i) {
      messages[i].producer_id = numbered.id;
      messages[i].producer_epoch = numbered.epoch;
      messages[i].sequence = first + i;
    }
  }
  absl::StatusOr<ProduceResult> result =
      cluster_.Produce(key.topic, key.partition, messages, options_.acks);
  bool unknown = !result.ok() && !NothingAppended(result.status());
  for (uint32_t attempt = 0;
       attempt < options_.retries && !result.ok() && Retriable(result.status()); ++attempt) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(options_.retry_backoff_ns));
    result = cluster_.Produce(key.topic, key.partition, messages, options_.acks);
    unknown |= !result.ok() && !NothingAppended(result.status());
  }
  const Error error = ErrorOf(result.status());
  if (error == Error::kDuplicateSequence) {
    // A retry of a batch appended so long ago that the broker cannot say where: it is there.
    ProduceResult duplicate;
    duplicate.partition = key.partition;
    duplicate.duplicate = true;
    result = duplicate;
  }
  if (result.ok()) {
    std::lock_guard lock(mu_);
    if (identity_ == numbered) next_sequence_[slot] += messages.size();
  } else if (error == Error::kProducerFenced) {
    std::lock_guard lock(mu_);
    if (fenced_.ok()) fenced_ = result.status();
    identity_problem_.store(true);
  } else if (unknown || error == Error::kOutOfOrderSequence) {
    RequireBump(numbered, result.status());
  }
  return result;
}

// The batch numbered in `numbered` was given up with its outcome unknown: see the rule in
// producer.h.
void Producer::RequireBump(const ProducerIdAndEpoch& numbered, const absl::Status& why) {
  {
    std::lock_guard lock(mu_);
    if (identity_ != numbered || bump_needed_) return;
    bump_needed_ = true;
    bump_because_ = std::string(why.message());
    identity_problem_.store(true);
  }
  // A failure here is remembered: every send that needs numbers tries again.
  (void)CheckIdentity();
}

absl::Status Producer::CheckIdentity() {
  std::lock_guard bump(bump_mu_);
  ProducerIdAndEpoch current;
  std::string because;
  {
    std::lock_guard lock(mu_);
    if (!fenced_.ok()) return fenced_;
    if (!bump_needed_) return absl::OkStatus();
    current = identity_;
    because = bump_because_;
  }
  const absl::StatusOr<ProducerIdAndEpoch> next = cluster_.InitProducerId(options_.name, current);
  std::lock_guard lock(mu_);
  if (ErrorOf(next.status()) == Error::kProducerFenced) {
    fenced_ = next.status();
    return fenced_;
  }
  if (!next.ok()) {
    return absl::Status(
        next.status().code(),
        base::Cat("the idempotent producer gave up a batch (", because, ") and cannot bump its ",
                  "epoch ", current.epoch, " to number messages again: ", next.status().message()));
  }
  identity_ = *next;
  next_sequence_.clear();
  bump_needed_ = false;
  identity_problem_.store(false);
  return absl::OkStatus();
}

}  // namespace keel::mq
