// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "delay_queue.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>

#include "cluster_impl.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "partition.h"

namespace keel::mq::internal {
namespace {

constexpr char kDeliveredTag[] = "delivered";

Message Wrap(const std::string& topic, uint32_t partition, const Message& m) {
  Message inner = m;
  inner.producer_id = 0;
  inner.producer_epoch = 0;
  inner.sequence = 0;
  Message wrapper;
  wrapper.key = topic;
  wrapper.origin_partition = partition;
  wrapper.deliver_at_ns = m.deliver_at_ns;
  wrapper.timestamp_ns = m.timestamp_ns;
  wrapper.value = EncodeMessage(inner);
  return wrapper;
}

}  // namespace

absl::Status DelayQueue::Load() {
  std::lock_guard lock(mu_);
  pending_.clear();
  std::map<uint64_t, std::pair<int64_t, uint64_t>> by_offset;
  FetchOptions options;
  options.max_messages = 4096;
  uint64_t from = store_.Describe().log_start;
  for (;;) {
    KEEL_ASSIGN_OR_RETURN(FetchResult batch, store_.Fetch(from, options));
    for (FetchedMessage& f : batch.messages) {
      Message& m = f.message;
      if (m.key.empty() && m.tag == kDeliveredTag) {
        uint64_t offset = 0;
        const auto [end, error] =
            std::from_chars(m.value.data(), m.value.data() + m.value.size(), offset);
        if (error != std::errc() || end != m.value.data() + m.value.size()) {
          return absl::DataLossError(
              base::Cat("delay queue record ", f.offset, ": bad marker ", base::Quoted(m.value)));
        }
        auto it = by_offset.find(offset);
        if (it != by_offset.end()) {
          pending_.erase(it->second);
          by_offset.erase(it);
        }
        continue;
      }
      KEEL_ASSIGN_OR_RETURN(Message inner, DecodeMessage(m.value));
      const std::pair<int64_t, uint64_t> key{m.deliver_at_ns, f.offset};
      by_offset[f.offset] = key;
      pending_[key] = {m.key, m.origin_partition, std::move(inner)};
    }
    if (batch.next_offset == from) break;
    from = batch.next_offset;
  }
  return absl::OkStatus();
}

absl::StatusOr<ProduceResult> DelayQueue::Add(const std::string& topic, uint32_t partition,
                                              std::span<const Message> messages) {
  std::vector<Message> wrapped;
  wrapped.reserve(messages.size());
  for (const Message& m : messages) wrapped.push_back(Wrap(topic, partition, m));
  std::lock_guard lock(mu_);
  // Committed before it is pending: a marker names its message by offset, and only a committed
  // offset can never come to hold a different record after a change of leader.
  KEEL_ASSIGN_OR_RETURN(ProduceResult result, store_.Append(wrapped, Acks::kAll));
  for (size_t i = 0; i < messages.size(); ++i) {
    Message inner = messages[i];
    inner.producer_id = 0;
    inner.producer_epoch = 0;
    inner.sequence = 0;
    pending_[{messages[i].deliver_at_ns, result.base_offset + i}] = {topic, partition,
                                                                     std::move(inner)};
  }
  result.partition = partition;
  result.delayed = true;
  return result;
}

absl::StatusOr<size_t> DelayQueue::DeliverDue(int64_t now_ns) {
  std::lock_guard deliver(deliver_mu_);
  size_t delivered = 0;
  absl::Status retry_later;
  // Partitions that cannot take a message now: their later messages wait too (to keep their
  // order), while other partitions' messages go ahead.
  std::set<std::pair<std::string, uint32_t>> blocked;
  auto it_key = std::pair<int64_t, uint64_t>{std::numeric_limits<int64_t>::min(), 0};
  for (;;) {
    std::pair<int64_t, uint64_t> key;
    Pending next;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.lower_bound(it_key);
      while (it != pending_.end() && it->first.first <= now_ns &&
             blocked.contains({it->second.topic, it->second.partition})) {
        ++it;
      }
      if (it == pending_.end() || it->first.first > now_ns) break;
      key = it->first;
      next = it->second;
    }
    it_key = key;
    const absl::StatusOr<ProduceResult> result =
        cluster_.Produce(next.topic, next.partition, {&next.message, 1}, Acks::kAll);
    if (!result.ok()) {
      if (absl::IsUnavailable(result.status()) || absl::IsDeadlineExceeded(result.status())) {
        retry_later.Update(result.status());
        blocked.insert({next.topic, next.partition});
        continue;
      }
      cluster_.ctx().Record(base::Cat("delayed message ", key.second, " for ", next.topic, "-",
                                      next.partition, " is dropped: ", result.status().message()));
    } else {
      cluster_.ctx().Record(base::Cat("delayed message ", key.second, " delivered to ", next.topic,
                                      "-", next.partition, " at offset ", result->base_offset));
    }
    Message marker;
    marker.tag = kDeliveredTag;
    marker.value = base::Cat(key.second);
    marker.timestamp_ns = now_ns;
    KEEL_RETURN_IF_ERROR(store_.Append({&marker, 1}, Acks::kAll).status());
    std::lock_guard lock(mu_);
    pending_.erase(key);
    ++delivered;
  }
  if (!retry_later.ok()) return retry_later;
  if (delivered > 0) {
    // Segments holding only delivered messages (and markers) are no longer needed.
    uint64_t keep_from;
    {
      std::lock_guard lock(mu_);
      keep_from = store_.Describe().log_end;
      for (const auto& [key, pending] : pending_) keep_from = std::min(keep_from, key.second);
    }
    KEEL_RETURN_IF_ERROR(store_.DropBefore(keep_from));
  }
  return delivered;
}

size_t DelayQueue::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

}  // namespace keel::mq::internal
