// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ShardedPubSub: the nearby-friends design's pub/sub tier. N pub/sub servers (Redis pub/sub in the
// design, keel::pubsub::Broker here), each user's channel on the one a consistent hash ring picks
// for the channel's name, and the hand-over that adds a server without losing an update.
//
// The ring (keel/shard/hash_ring.h) is what service discovery, etcd or ZooKeeper, would hold: the
// list of pub/sub servers. Every WebSocket server keeps a copy, hashes channel names against it,
// and is notified when it changes. Adding a server moves only the channels on the arcs its points
// take, about 1/(n+1) of them, all to the new server.
//
// The hand-over. Each WebSocket server learns of a change on its own schedule (when its watch
// fires), so for a while some servers route by the old ring and some by the new. Redis pub/sub
// stores nothing: an update published on a server where a reader has no subscription is gone for
// that reader. So the move goes in two steps, each announced through service discovery, the
// second only after every server has acknowledged the first:
//
//   kBothRings  A server subscribes its readers of a moved channel on the new owner as well, and
//               publishes its users' updates to both owners. A publisher still on the old ring
//               reaches every reader through the old subscription; one on both rings reaches all.
//   kNextRing   A server publishes to the new owner only, drains its readers' old subscriptions
//               and drops them. Every reader is subscribed on the new owner by then (the first
//               step is done everywhere), and every publisher writes there.
//
// When every server has taken the second step, FinishAddShard makes the new ring the current one.
// A reader that holds both subscriptions receives twice what was written to both; every update
// carries its channel's sequence number, and Poll keeps only those past the last one it returned.
// Reading the old subscription to the end before the new one keeps each channel in order: a
// publisher goes from the old owner only, to both, to the new owner only, so whatever only the old
// owner holds precedes whatever only the new one holds.
//
// Example:
//
//   ShardedPubSub<Update> pubsub = *ShardedPubSub<Update>::Create({.shards = 4});
//   ShardedPubSub<Update>::Subscription sub;
//   KEEL_RETURN_IF_ERROR(pubsub.Subscribe("location:42", RingStage::kCurrentRing, sub));
//   pubsub.Publish("location:42", RingStage::kCurrentRing, Update{.seq = 1});
//   KEEL_RETURN_IF_ERROR(pubsub.Poll(sub, 64, batch).status());
//   KEEL_RETURN_IF_ERROR(pubsub.BeginAddShard().status());
//   KEEL_RETURN_IF_ERROR(pubsub.Move(sub, RingStage::kBothRings, batch));  // on every server, then
//   KEEL_RETURN_IF_ERROR(pubsub.Move(sub, RingStage::kNextRing, batch));   // on every server, then
//   KEEL_RETURN_IF_ERROR(pubsub.FinishAddShard());
//
// `Message` must have a `uint64_t seq` member: its channel's sequence number, increasing from 1.
// Single-threaded (the simulation's clock drives it); each Broker is thread-safe on its own.
#ifndef KEEL_EXAMPLES_NEARBY_FRIENDS_SHARDED_PUBSUB_H_
#define KEEL_EXAMPLES_NEARBY_FRIENDS_SHARDED_PUBSUB_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/pubsub/broker.h"
#include "keel/shard/hash_ring.h"

namespace keel::examples {

// Which ring a WebSocket server routes by while a shard joins; without a move in progress all
// three mean the one ring.
enum class RingStage : uint8_t {
  kCurrentRing,  // has not heard of the new ring yet
  kBothRings,    // subscribes and publishes on the old owner and the new one
  kNextRing,     // subscribes and publishes on the new owner only
};

struct ShardedPubSubOptions {
  uint32_t shards = 4;  // the pub/sub servers at the start, numbered 0..shards-1
  uint32_t vnodes = shard::kDefaultVnodes;  // points on the ring per server
  pubsub::BrokerOptions broker;
  pubsub::SubscriptionOptions subscription;  // for every subscription, on every server
};

template <typename Message>
class ShardedPubSub {
 public:
  using Broker = pubsub::Broker<Message>;
  using MessagePtr = typename Broker::MessagePtr;

  // One reader's hold on one channel: a subscription on the owner, or on two owners during a
  // move (the old one first).
  struct Subscription {
    struct Leg {
      shard::NodeId shard = 0;
      pubsub::SubscriptionId id;
    };
    std::string channel;
    std::array<Leg, 2> legs;
    size_t leg_count = 0;
    uint64_t last_seq = 0;  // the last sequence number Poll returned
  };

  // Errors: kInvalidArgument for 0 shards, and those of HashRing::AddNodes and Broker::Create.
  [[nodiscard]] static absl::StatusOr<ShardedPubSub> Create(ShardedPubSubOptions options);

  [[nodiscard]] size_t shard_count() const { return brokers_.size(); }
  [[nodiscard]] bool moving() const { return next_ring_.has_value(); }
  [[nodiscard]] Broker& broker(shard::NodeId shard) { return *brokers_.at(shard); }
  // The channel's owner on the current ring, and on the ring a move is going to (the same when
  // no move is in progress).
  [[nodiscard]] shard::NodeId CurrentOwner(std::string_view channel) const {
    return Owner(ring_, channel);
  }
  [[nodiscard]] shard::NodeId NextOwner(std::string_view channel) const {
    return next_ring_ ? Owner(*next_ring_, channel) : CurrentOwner(channel);
  }

  // Publishes on the owner, or on both owners of a moving channel for kBothRings, one message
  // shared by both. Returns how many subscriptions queued it.
  size_t Publish(std::string_view channel, RingStage stage, Message message);
  // Subscribes `out` (which must hold no subscription) to `channel` where `stage` says.
  // Errors: those of Broker::Subscribe; on error `out` holds nothing.
  absl::Status Subscribe(std::string_view channel, RingStage stage, Subscription& out);
  // Takes `sub` to `stage`: kBothRings subscribes on the new owner as well; kNextRing does that
  // if needed, then drains the old subscription into `out` (through the same filter as Poll)
  // and drops it.
  absl::Status Move(Subscription& sub, RingStage stage, std::vector<MessagePtr>& out);
  // Appends to `out` the messages waiting for `sub` that are past its last sequence number,
  // oldest first, reading up to `max_messages` from each subscription, and the new owner's only
  // once the old owner's is empty. Returns how many it appended.
  [[nodiscard]] absl::StatusOr<size_t> Poll(Subscription& sub, size_t max_messages,
                                            std::vector<MessagePtr>& out);
  void Unsubscribe(Subscription& sub);

  // Starts a move: a new server (id shard_count()) joins the next ring. Returns its id.
  // kFailedPrecondition while a move is in progress.
  [[nodiscard]] absl::StatusOr<shard::NodeId> BeginAddShard();
  // Ends the move: the next ring becomes the current one. kFailedPrecondition, changing nothing,
  // when no move is in progress or some server still holds a subscription to a channel it no
  // longer owns (a reader was never moved).
  absl::Status FinishAddShard();

  // Publishes written to two servers, and deliveries Poll discarded as already returned.
  [[nodiscard]] uint64_t dual_writes() const { return dual_writes_; }
  [[nodiscard]] uint64_t duplicates_dropped() const { return duplicates_dropped_; }

 private:
  ShardedPubSub(ShardedPubSubOptions options, shard::HashRing ring,
                std::vector<std::unique_ptr<Broker>> brokers)
      : options_(std::move(options)), ring_(std::move(ring)), brokers_(std::move(brokers)) {}

  static shard::NodeId Owner(const shard::HashRing& ring, std::string_view channel) {
    absl::StatusOr<shard::NodeId> owner = ring.Lookup(channel);
    KEEL_ASSERT(owner.ok(), "the ring always has a server");
    return *owner;
  }
  // The servers a client at `stage` uses for `channel`: the old owner first.
  [[nodiscard]] std::pair<std::array<shard::NodeId, 2>, size_t> Targets(std::string_view channel,
                                                                        RingStage stage) const;
  absl::Status AddLeg(Subscription& sub, shard::NodeId shard);
  // Polls one leg into `out`, keeping what is past sub.last_seq; returns how many it read.
  absl::StatusOr<size_t> PollLeg(Subscription& sub, const typename Subscription::Leg& leg,
                                 size_t max_messages, std::vector<MessagePtr>& out);

  ShardedPubSubOptions options_;
  shard::HashRing ring_;
  std::optional<shard::HashRing> next_ring_;  // during a move
  std::vector<std::unique_ptr<Broker>> brokers_;
  uint64_t dual_writes_ = 0;
  uint64_t duplicates_dropped_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------

template <typename Message>
absl::StatusOr<ShardedPubSub<Message>> ShardedPubSub<Message>::Create(
    ShardedPubSubOptions options) {
  if (options.shards == 0) return absl::InvalidArgumentError("shards is 0; need at least one");
  std::vector<shard::RingNode> nodes;
  std::vector<std::unique_ptr<Broker>> brokers;
  for (shard::NodeId id = 0; id < options.shards; ++id) {
    nodes.push_back({.id = id, .vnodes = options.vnodes});
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Broker> broker, Broker::Create(options.broker));
    brokers.push_back(std::move(broker));
  }
  shard::HashRing ring;
  KEEL_RETURN_IF_ERROR(ring.AddNodes(nodes));
  return ShardedPubSub(std::move(options), std::move(ring), std::move(brokers));
}

template <typename Message>
std::pair<std::array<shard::NodeId, 2>, size_t> ShardedPubSub<Message>::Targets(
    std::string_view channel, RingStage stage) const {
  const shard::NodeId now = CurrentOwner(channel);
  if (!moving()) return {{now, now}, 1};
  const shard::NodeId next = Owner(*next_ring_, channel);
  if (stage == RingStage::kNextRing || now == next) return {{next, next}, 1};
  if (stage == RingStage::kCurrentRing) return {{now, now}, 1};
  return {{now, next}, 2};
}

template <typename Message>
size_t ShardedPubSub<Message>::Publish(std::string_view channel, RingStage stage, Message message) {
  const auto [shards, count] = Targets(channel, stage);
  const MessagePtr shared = std::make_shared<const Message>(std::move(message));
  size_t receivers = 0;
  for (size_t i = 0; i < count; ++i) receivers += brokers_[shards[i]]->Publish(channel, shared);
  dual_writes_ += count == 2 ? 1 : 0;
  return receivers;
}

template <typename Message>
absl::Status ShardedPubSub<Message>::AddLeg(Subscription& sub, shard::NodeId shard) {
  KEEL_DCHECK(sub.leg_count < sub.legs.size());
  KEEL_ASSIGN_OR_RETURN(const pubsub::SubscriptionId id,
                        brokers_[shard]->Subscribe(sub.channel, options_.subscription));
  sub.legs[sub.leg_count++] = {.shard = shard, .id = id};
  return absl::OkStatus();
}

template <typename Message>
absl::Status ShardedPubSub<Message>::Subscribe(std::string_view channel, RingStage stage,
                                               Subscription& out) {
  KEEL_ASSERT(out.leg_count == 0, "subscription ", out.channel, " is open");
  out.channel = std::string(channel);
  out.last_seq = 0;
  const auto [shards, count] = Targets(channel, stage);
  for (size_t i = 0; i < count; ++i) {
    if (absl::Status added = AddLeg(out, shards[i]); !added.ok()) {
      Unsubscribe(out);
      return added;
    }
  }
  return absl::OkStatus();
}

template <typename Message>
absl::Status ShardedPubSub<Message>::Move(Subscription& sub, RingStage stage,
                                          std::vector<MessagePtr>& out) {
  if (stage == RingStage::kCurrentRing) return absl::OkStatus();
  const shard::NodeId next = NextOwner(sub.channel);
  bool on_next = false;
  for (size_t i = 0; i < sub.leg_count; ++i) on_next |= sub.legs[i].shard == next;
  if (!on_next) KEEL_RETURN_IF_ERROR(AddLeg(sub, next));
  if (stage == RingStage::kBothRings || sub.leg_count == 1) return absl::OkStatus();
  // Drain the old owner's subscription (its queue is bounded, so this ends), then drop it.
  const typename Subscription::Leg old = sub.legs[0];
  KEEL_DCHECK(old.shard != next);
  for (;;) {
    KEEL_ASSIGN_OR_RETURN(const size_t read, PollLeg(sub, old, 64, out));
    if (read == 0) break;
  }
  brokers_[old.shard]->Unsubscribe(old.id);
  sub.legs[0] = sub.legs[1];
  sub.leg_count = 1;
  return absl::OkStatus();
}

template <typename Message>
absl::StatusOr<size_t> ShardedPubSub<Message>::PollLeg(Subscription& sub,
                                                       const typename Subscription::Leg& leg,
                                                       size_t max_messages,
                                                       std::vector<MessagePtr>& out) {
  const size_t first = out.size();
  KEEL_ASSIGN_OR_RETURN(const size_t read, brokers_[leg.shard]->Poll(leg.id, max_messages, out));
  // Keep, in place, the messages past the last sequence number returned.
  size_t kept = first;
  for (size_t i = first; i < out.size(); ++i) {
    if (out[i]->seq <= sub.last_seq) {
      ++duplicates_dropped_;
      continue;
    }
    sub.last_seq = out[i]->seq;
    out[kept++] = std::move(out[i]);
  }
  out.resize(kept);
  return read;
}

template <typename Message>
absl::StatusOr<size_t> ShardedPubSub<Message>::Poll(Subscription& sub, size_t max_messages,
                                                    std::vector<MessagePtr>& out) {
  const size_t first = out.size();
  for (size_t i = 0; i < sub.leg_count; ++i) {
    KEEL_ASSIGN_OR_RETURN(const size_t read, PollLeg(sub, sub.legs[i], max_messages, out));
    // The old owner may hold more: the new owner's messages come after all of them.
    if (read == max_messages) break;
  }
  return out.size() - first;
}

template <typename Message>
void ShardedPubSub<Message>::Unsubscribe(Subscription& sub) {
  for (size_t i = 0; i < sub.leg_count; ++i)
    brokers_[sub.legs[i].shard]->Unsubscribe(sub.legs[i].id);
  sub.leg_count = 0;
}

template <typename Message>
absl::StatusOr<shard::NodeId> ShardedPubSub<Message>::BeginAddShard() {
  if (moving()) return absl::FailedPreconditionError("a shard is already being added");
  const auto id = static_cast<shard::NodeId>(brokers_.size());
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Broker> broker, Broker::Create(options_.broker));
  shard::HashRing next = ring_;
  KEEL_RETURN_IF_ERROR(next.AddNode({.id = id, .vnodes = options_.vnodes}));
  brokers_.push_back(std::move(broker));
  next_ring_ = std::move(next);
  return id;
}

template <typename Message>
absl::Status ShardedPubSub<Message>::FinishAddShard() {
  if (!moving()) return absl::FailedPreconditionError("no shard is being added");
  for (shard::NodeId shard = 0; shard < brokers_.size(); ++shard) {
    for (const std::string& channel : brokers_[shard]->ActiveChannels()) {
      if (Owner(*next_ring_, channel) != shard) {
        return absl::FailedPreconditionError(
            base::Cat("shard ", shard, " still has readers of ", base::Quoted(channel),
                      ", which moved to shard ", Owner(*next_ring_, channel)));
      }
    }
  }
  ring_ = *std::move(next_ring_);
  next_ring_.reset();
  return absl::OkStatus();
}

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_NEARBY_FRIENDS_SHARDED_PUBSUB_H_
