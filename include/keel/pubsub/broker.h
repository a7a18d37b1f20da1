// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Broker: in-process publish/subscribe over named channels, with the semantics of Redis Pub/Sub.
//
// In the nearby-friends design every user has a channel. A location update is published to the
// user's channel, and the WebSocket connection handler of each of the user's friends, subscribed
// to that channel, receives it and decides whether the friend is near enough to be told. Redis
// Pub/Sub is the fan-out: fire and forget, nothing stored for subscribers that are not there, and
// a subscriber that cannot keep up is cut off rather than allowed to grow the server's memory.
// Broker is one such Redis pub/sub server inside a process; a system shards channels over several
// brokers (with consistent hashing, as the design does with Redis servers).
//
// The Redis behaviour it mirrors (https://redis.io/docs/latest/develop/interact/pubsub/,
// https://redis.io/docs/latest/commands/publish/,
// https://redis.io/docs/latest/commands/subscribe/):
//
//   Subscribe     a subscription receives the messages published to its channel from then on;
//                 nothing published earlier. One caller may hold several subscriptions.
//   Publish       delivers the message to every subscription of the channel and returns how many
//                 received it (PUBLISH's reply); publishing to a channel with no subscriber
//                 delivers to no one and returns 0. Messages are not stored anywhere else.
//   Order         each subscription receives its channel's messages in the order the Publish
//                 calls took effect (they are serialised by the broker's lock).
//   Slow readers  each subscription queues at most `max_queued_messages` messages. When a message
//                 arrives at a full queue, the subscription's DropPolicy decides:
//                   kDropNewest   the new message is not queued for this subscription;
//                   kDropOldest   the oldest queued message is discarded and the new one queued;
//                   kDisconnect   the subscription is closed, its queue discarded, as Redis
//                                 closes a pub/sub client that passes its
//                                 `client-output-buffer-limit pubsub` (see "Output buffer limits"
//                                 in https://redis.io/docs/latest/develop/reference/clients/).
//                 Every message a subscription loses this way counts as dropped, for it and for
//                 the broker: the rejected one (kDropNewest), the evicted one (kDropOldest), or
//                 the one that overflowed plus everything still queued (kDisconnect). Publish's
//                 count includes a subscription only if the message is now in its queue.
//
// A disconnected subscription no longer receives messages; Poll and TryReceive on it return
// kFailedPrecondition so that its owner learns it must resubscribe (and resynchronise, since
// messages were lost). It keeps its place under max_subscriptions until Unsubscribe releases it.
// Subscription ids are never reused, so a stale id is reported (kNotFound), never mistaken for
// someone else's subscription.
//
// Patterns (PSUBSCRIBE): SubscribePattern receives the messages of every channel whose name
// matches a glob-style pattern (keel/pubsub/glob.h, Redis's rules). Publish delivers to the
// channel's subscriptions, then to each matching pattern subscription, and counts them all, as
// PUBLISH does; a message reaches a caller once per matching subscription it holds.
//
// Push delivery: a subscription may name an on_ready callback, which the broker calls when a
// message lands in its empty queue, and when it is disconnected, so that an owner that does not
// poll (a network connection) can schedule a Poll. It runs under the broker's lock: it must only
// schedule work (post a task), never call the broker.
//
// Messages are shared, not copied: a message published to 1,000 subscriptions is one object held
// by 1,000 std::shared_ptr<const Message>, released when the last subscriber has taken and dropped
// it. Publish(channel, Message) allocates that object; Publish(channel, MessagePtr) shares one the
// caller built.
//
// Example:
//
//   auto broker = *keel::pubsub::Broker<LocationUpdate>::Create();
//   keel::pubsub::SubscriptionId friend_view = *broker->Subscribe(
//       "user:42", {.max_queued_messages = 256,
//                   .drop_policy = keel::pubsub::DropPolicy::kDropOldest});
//   size_t receivers = broker->Publish("user:42", LocationUpdate{42, 37.77, -122.42});  // 1
//   std::vector<keel::pubsub::Broker<LocationUpdate>::MessagePtr> batch;
//   absl::StatusOr<size_t> n = broker->Poll(friend_view, /*max_messages=*/64, batch);
//   broker->Unsubscribe(friend_view);
//
// Thread safety: every method may be called from any thread at any time. One mutex serialises
// them: Publish holds it for its whole fan-out (a few nanoseconds per subscription, no allocation
// once the subscriptions' queues have grown), Poll for the batch it takes. Publishers and receivers
// of unrelated channels therefore contend; shard channels over several brokers to scale out.
// A message's destructor may run under the lock when a full queue discards its last reference
// (kDropOldest, kDisconnect); Unsubscribe releases a queue after dropping the lock.
//
// Memory: each queue is a ring that grows by doubling up to its max_queued_messages and never
// shrinks while the subscription is open; it is freed on disconnect and on Unsubscribe.
#ifndef KEEL_PUBSUB_BROKER_H_
#define KEEL_PUBSUB_BROKER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/assert.h"
#include "keel/base/hash.h"
#include "keel/base/strings.h"
#include "keel/pubsub/glob.h"

namespace keel::pubsub {

// What a full subscription queue does with a new message; see the overview.
enum class DropPolicy : uint8_t {
  kDropNewest,
  kDropOldest,
  kDisconnect,
};

// "drop-newest", "drop-oldest", "disconnect", or "unknown" for a value outside the enum.
[[nodiscard]] std::string_view DropPolicyName(DropPolicy policy);

struct BrokerOptions {
  // The most subscriptions open at once, disconnected ones not yet released included. Must be > 0.
  size_t max_subscriptions = size_t{1} << 20;
  // The longest channel name Subscribe accepts. Must be > 0.
  size_t max_channel_bytes = 1024;
};

struct SubscriptionOptions {
  // The most messages waiting in this subscription's queue. Must be > 0.
  size_t max_queued_messages = 1024;
  DropPolicy drop_policy = DropPolicy::kDropOldest;
  // Called under the broker's lock when a message lands in the empty queue, and when the
  // subscription is disconnected; see "Push delivery" above.
  std::function<void()> on_ready = nullptr;
};

// Names one subscription of one broker. Ids start at 1 and are never reused.
struct SubscriptionId {
  uint64_t value = 0;

  friend bool operator==(SubscriptionId, SubscriptionId) = default;
};

struct SubscriptionStats {
  std::string channel;
  DropPolicy drop_policy = DropPolicy::kDropOldest;
  size_t queued = 0;          // messages waiting in the queue now
  uint64_t received = 0;      // messages put in the queue, ever
  uint64_t dropped = 0;       // messages lost to the queue limit, as the overview counts them
  bool disconnected = false;  // closed by kDisconnect
};

struct BrokerStats {
  uint64_t published = 0;    // Publish calls
  uint64_t delivered = 0;    // the sum of Publish's results: messages put in a queue
  uint64_t dropped = 0;      // messages lost to queue limits, over all subscriptions ever
  uint64_t disconnects = 0;  // subscriptions closed by kDisconnect
  size_t subscriptions = 0;  // open now, disconnected ones not yet released included
  size_t channels = 0;       // channels with at least one connected subscription
};

// Checks `options`: kInvalidArgument naming the bad value if a limit is 0.
[[nodiscard]] absl::Status ValidateBrokerOptions(const BrokerOptions& options);

// A pub/sub broker for messages of type `Message` (any type; it is never copied by the broker).
template <typename Message = std::string>
class Broker {
 public:
  using MessagePtr = std::shared_ptr<const Message>;

  // A new broker with no channels. Errors: those of ValidateBrokerOptions.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Broker>> Create(BrokerOptions options = {});

  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;
  ~Broker() = default;

  // Opens a subscription to `channel`. Errors: kInvalidArgument for a channel name longer than
  // max_channel_bytes, max_queued_messages == 0 or a drop policy outside the enum;
  // kResourceExhausted when max_subscriptions are open.
  [[nodiscard]] absl::StatusOr<SubscriptionId> Subscribe(std::string_view channel,
                                                         SubscriptionOptions options = {});

  // Opens a subscription to every channel whose name matches `pattern` (keel/pubsub/glob.h).
  // Errors as Subscribe, the pattern's length checked as a channel name's.
  [[nodiscard]] absl::StatusOr<SubscriptionId> SubscribePattern(std::string_view pattern,
                                                                SubscriptionOptions options = {});

  // Closes and releases a subscription, open or disconnected, discarding its queue (not counted
  // as dropped: the owner chose to). Returns false if `id` names no subscription of this broker.
  bool Unsubscribe(SubscriptionId id);

  // Delivers `message` to every connected subscription of `channel` and returns how many queued
  // it. REQUIRES: message != nullptr.
  size_t Publish(std::string_view channel, MessagePtr message);
  // The same for a message the broker wraps in a shared pointer (one allocation).
  size_t Publish(std::string_view channel, Message message) {
    return Publish(channel, std::make_shared<const Message>(std::move(message)));
  }

  // Takes the oldest queued message of subscription `id`, or returns null if its queue is empty.
  // Errors: kNotFound for an unknown id, kFailedPrecondition for a disconnected subscription.
  [[nodiscard]] absl::StatusOr<MessagePtr> TryReceive(SubscriptionId id);

  // Moves up to `max_messages` queued messages of subscription `id`, oldest first, to the end of
  // `out` and returns how many. Errors as TryReceive.
  [[nodiscard]] absl::StatusOr<size_t> Poll(SubscriptionId id, size_t max_messages,
                                            std::vector<MessagePtr>& out);

  // Errors: kNotFound for an unknown id.
  [[nodiscard]] absl::StatusOr<SubscriptionStats> GetSubscriptionStats(SubscriptionId id) const;

  // The number of connected subscriptions of `channel` (Redis's PUBSUB NUMSUB), not counting
  // patterns.
  [[nodiscard]] size_t SubscriberCount(std::string_view channel) const;
  // The number of connected pattern subscriptions (PUBSUB NUMPAT).
  [[nodiscard]] size_t PatternSubscriptionCount() const;
  // The channels with at least one connected subscription whose names match `pattern`, or all
  // of them when it is empty (PUBSUB CHANNELS), in no particular order.
  [[nodiscard]] std::vector<std::string> ActiveChannels(std::string_view pattern = {}) const;

  [[nodiscard]] BrokerStats stats() const;
  [[nodiscard]] const BrokerOptions& options() const { return options_; }

 private:
  // Implementation details, below.
  struct Subscriber;
  struct Channel {
    std::vector<Subscriber*> subscribers;  // connected ones, in no particular order
  };

  explicit Broker(BrokerOptions options) : options_(options) {}

  absl::StatusOr<SubscriptionId> Open(std::string_view name, bool pattern,
                                      SubscriptionOptions options);
  // Offers `message` to the subscriber at list[i]; advances i unless the subscriber left the
  // list (kDisconnect). Returns true if the message was queued.
  bool Offer(Channel& list, size_t& i, const MessagePtr& message);

  // The subscriber `id` names, if it exists and is connected; else the error to report.
  absl::StatusOr<Subscriber*> FindConnected(SubscriptionId id) const;
  // Removes `s` from `channel`'s list (swapping the last one into its place). Does not erase an
  // emptied channel: Publish, which may be iterating over it, does that itself.
  static void Detach(Channel& channel, Subscriber& s);

  const BrokerOptions options_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Channel, base::Hasher, std::equal_to<>> channels_;
  Channel patterns_;  // the connected pattern subscriptions
  absl::flat_hash_map<uint64_t, std::unique_ptr<Subscriber>, base::Hasher> subscriptions_;
  uint64_t next_id_ = 1;
  BrokerStats stats_;  // subscriptions and channels are filled in by stats()
};

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------
namespace internal {

// A FIFO of at most `max_size` elements in a ring buffer that grows by doubling, so that a
// subscription that never has many messages waiting never holds a large buffer, and one that has
// stops allocating once the buffer has grown.
template <typename T>
class BoundedRing {
 public:
  explicit BoundedRing(size_t max_size) : max_size_(max_size) {}

  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] bool full() const { return size_ == max_size_; }

  // REQUIRES: !full().
  void PushBack(T value) {
    KEEL_DCHECK(!full());
    if (size_ == buffer_.size()) Grow();
    buffer_[Wrap(head_ + size_)] = std::move(value);
    ++size_;
  }

  // REQUIRES: !empty().
  T PopFront() {
    KEEL_DCHECK(!empty());
    T value = std::move(buffer_[head_]);
    buffer_[head_] = T();  // a moved-from element must hold nothing
    head_ = Wrap(head_ + 1);
    --size_;
    return value;
  }

  // Empties the ring and frees its buffer.
  void Release() {
    std::vector<T>().swap(buffer_);
    head_ = 0;
    size_ = 0;
  }

 private:
  size_t Wrap(size_t i) const { return i >= buffer_.size() ? i - buffer_.size() : i; }

  void Grow() {
    const size_t capacity = std::min(max_size_, std::max<size_t>(8, 2 * buffer_.size()));
    std::vector<T> grown(capacity);
    for (size_t i = 0; i < size_; ++i) grown[i] = std::move(buffer_[Wrap(head_ + i)]);
    buffer_.swap(grown);
    head_ = 0;
  }

  size_t max_size_;
  std::vector<T> buffer_;
  size_t head_ = 0;
  size_t size_ = 0;
};

// Error builders, out of line (src/pubsub/broker.cc) so that the template stays small.
[[nodiscard]] absl::Status ValidateSubscribe(std::string_view channel,
                                             const SubscriptionOptions& options,
                                             const BrokerOptions& broker_options,
                                             size_t open_subscriptions);
[[nodiscard]] absl::Status UnknownSubscriptionError(uint64_t id);
[[nodiscard]] absl::Status DisconnectedError(uint64_t id, std::string_view channel,
                                             size_t max_queued_messages);

}  // namespace internal

template <typename Message>
struct Broker<Message>::Subscriber {
  Subscriber(uint64_t id_in, std::string_view channel_in, SubscriptionOptions options_in)
      : id(id_in),
        channel(channel_in),
        options(options_in),
        queue(options_in.max_queued_messages) {}

  uint64_t id;
  std::string channel;
  SubscriptionOptions options;
  internal::BoundedRing<MessagePtr> queue;
  bool pattern = false;    // `channel` is a pattern
  size_t channel_pos = 0;  // index in the channel's (or patterns_') subscribers, while connected
  uint64_t received = 0;
  uint64_t dropped = 0;
  bool disconnected = false;
};

template <typename Message>
absl::StatusOr<std::unique_ptr<Broker<Message>>> Broker<Message>::Create(BrokerOptions options) {
  if (absl::Status status = ValidateBrokerOptions(options); !status.ok()) return status;
  return std::unique_ptr<Broker>(new Broker(options));
}

template <typename Message>
absl::StatusOr<SubscriptionId> Broker<Message>::Subscribe(std::string_view channel,
                                                          SubscriptionOptions options) {
  return Open(channel, /*pattern=*/false, std::move(options));
}

template <typename Message>
absl::StatusOr<SubscriptionId> Broker<Message>::SubscribePattern(std::string_view pattern,
                                                                 SubscriptionOptions options) {
  return Open(pattern, /*pattern=*/true, std::move(options));
}

template <typename Message>
absl::StatusOr<SubscriptionId> Broker<Message>::Open(std::string_view name, bool pattern,
                                                     SubscriptionOptions options) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status =
          internal::ValidateSubscribe(name, options, options_, subscriptions_.size());
      !status.ok()) {
    return status;
  }
  const uint64_t id = next_id_++;
  auto subscriber = std::make_unique<Subscriber>(id, name, std::move(options));
  subscriber->pattern = pattern;
  Channel* list = &patterns_;
  if (!pattern) {
    auto channel_it = channels_.find(name);
    if (channel_it == channels_.end()) channel_it = channels_.try_emplace(std::string(name)).first;
    list = &channel_it->second;
  }
  subscriber->channel_pos = list->subscribers.size();
  list->subscribers.push_back(subscriber.get());
  subscriptions_.emplace(id, std::move(subscriber));
  return SubscriptionId{id};
}

template <typename Message>
bool Broker<Message>::Unsubscribe(SubscriptionId id) {
  // Declared before the lock so that the queue's messages are released after it is dropped.
  std::unique_ptr<Subscriber> doomed;
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = subscriptions_.find(id.value);
  if (it == subscriptions_.end()) return false;
  doomed = std::move(it->second);
  subscriptions_.erase(it);
  if (!doomed->disconnected && doomed->pattern) {
    Detach(patterns_, *doomed);
  } else if (!doomed->disconnected) {
    const auto channel_it = channels_.find(doomed->channel);
    KEEL_ASSERT(channel_it != channels_.end(), "subscription ", id.value, " has no channel");
    Detach(channel_it->second, *doomed);
    if (channel_it->second.subscribers.empty()) channels_.erase(channel_it);
  }
  return true;
}

template <typename Message>
size_t Broker<Message>::Publish(std::string_view channel, MessagePtr message) {
  KEEL_ASSERT(message != nullptr, "Broker::Publish of a null message to channel ",
              base::Quoted(channel));
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.published;
  size_t receivers = 0;
  const auto channel_it = channels_.find(channel);
  if (channel_it != channels_.end()) {
    Channel& list = channel_it->second;
    for (size_t i = 0; i < list.subscribers.size();) receivers += Offer(list, i, message) ? 1 : 0;
    if (list.subscribers.empty()) channels_.erase(channel_it);
  }
  for (size_t i = 0; i < patterns_.subscribers.size();) {
    if (GlobMatch(patterns_.subscribers[i]->channel, channel)) {
      receivers += Offer(patterns_, i, message) ? 1 : 0;
    } else {
      ++i;
    }
  }
  stats_.delivered += receivers;
  return receivers;
}

template <typename Message>
bool Broker<Message>::Offer(Channel& list, size_t& i, const MessagePtr& message) {
  Subscriber& s = *list.subscribers[i];
  const bool was_empty = s.queue.empty();
  if (!s.queue.full()) {
    s.queue.PushBack(message);
  } else if (s.options.drop_policy == DropPolicy::kDropOldest) {
    (void)s.queue.PopFront();
    s.queue.PushBack(message);
    ++s.dropped;
    ++stats_.dropped;
  } else if (s.options.drop_policy == DropPolicy::kDropNewest) {
    ++s.dropped;
    ++stats_.dropped;
    ++i;
    return false;
  } else {
    // kDisconnect: the subscription leaves the list; the last one takes its place at i, which
    // is therefore looked at next.
    const uint64_t lost = 1 + s.queue.size();
    s.dropped += lost;
    stats_.dropped += lost;
    ++stats_.disconnects;
    s.disconnected = true;
    s.queue.Release();
    Detach(list, s);
    if (s.options.on_ready) s.options.on_ready();
    return false;
  }
  ++s.received;
  ++i;
  if (was_empty && s.options.on_ready) s.options.on_ready();
  return true;
}

template <typename Message>
absl::StatusOr<typename Broker<Message>::MessagePtr> Broker<Message>::TryReceive(
    SubscriptionId id) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<Subscriber*> s = FindConnected(id);
  if (!s.ok()) return s.status();
  if ((*s)->queue.empty()) return MessagePtr();
  return (*s)->queue.PopFront();
}

template <typename Message>
absl::StatusOr<size_t> Broker<Message>::Poll(SubscriptionId id, size_t max_messages,
                                             std::vector<MessagePtr>& out) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<Subscriber*> s = FindConnected(id);
  if (!s.ok()) return s.status();
  const size_t n = std::min(max_messages, (*s)->queue.size());
  for (size_t i = 0; i < n; ++i) out.push_back((*s)->queue.PopFront());
  return n;
}

template <typename Message>
absl::StatusOr<SubscriptionStats> Broker<Message>::GetSubscriptionStats(SubscriptionId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = subscriptions_.find(id.value);
  if (it == subscriptions_.end()) return internal::UnknownSubscriptionError(id.value);
  const Subscriber& s = *it->second;
  return SubscriptionStats{.channel = s.channel,
                           .drop_policy = s.options.drop_policy,
                           .queued = s.queue.size(),
                           .received = s.received,
                           .dropped = s.dropped,
                           .disconnected = s.disconnected};
}

template <typename Message>
size_t Broker<Message>::SubscriberCount(std::string_view channel) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.subscribers.size();
}

template <typename Message>
size_t Broker<Message>::PatternSubscriptionCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return patterns_.subscribers.size();
}

template <typename Message>
std::vector<std::string> Broker<Message>::ActiveChannels(std::string_view pattern) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, channel] : channels_) {
    if (pattern.empty() || GlobMatch(pattern, name)) names.push_back(name);
  }
  return names;
}

template <typename Message>
BrokerStats Broker<Message>::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  BrokerStats stats = stats_;
  stats.subscriptions = subscriptions_.size();
  stats.channels = channels_.size();
  return stats;
}

template <typename Message>
absl::StatusOr<typename Broker<Message>::Subscriber*> Broker<Message>::FindConnected(
    SubscriptionId id) const {
  const auto it = subscriptions_.find(id.value);
  if (it == subscriptions_.end()) return internal::UnknownSubscriptionError(id.value);
  Subscriber* s = it->second.get();
  if (s->disconnected) {
    return internal::DisconnectedError(s->id, s->channel, s->options.max_queued_messages);
  }
  return s;
}

template <typename Message>
void Broker<Message>::Detach(Channel& channel, Subscriber& s) {
  std::vector<Subscriber*>& subscribers = channel.subscribers;
  KEEL_ASSERT(s.channel_pos < subscribers.size() && subscribers[s.channel_pos] == &s,
              "subscription ", s.id, " is not where its channel_pos says");
  Subscriber* last = subscribers.back();
  subscribers[s.channel_pos] = last;
  last->channel_pos = s.channel_pos;
  subscribers.pop_back();
}

}  // namespace keel::pubsub

#endif  // KEEL_PUBSUB_BROKER_H_
