// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Pub/sub (Redis's pubsub.c): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and
// PUBSUB CHANNELS / NUMSUB / NUMPAT, on keel's broker (keel/pubsub/broker.h).
//
// Each channel or pattern a client subscribes to is one broker subscription with a bounded
// queue; PUBLISH puts the message in every matching queue and wakes the subscribers'
// connections (ClientState::wake), which write the queued messages as pushes on their own
// threads (Engine::DeliverMessages). So a publisher never waits on a subscriber's socket, and a
// subscriber that falls max_pending_messages behind is dropped, as Redis drops a pub/sub client
// past its output buffer limit.
//
// Order: each subscription's messages arrive in publishing order. A client holding several
// subscriptions that match one message (a channel and a pattern) gets one push per match, as
// in Redis; between different subscriptions, pushes may interleave differently from Redis's
// when messages arrive faster than the connection drains them.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"
#include "engine_impl.h"
#include "keel/base/strings.h"
#include "keel/pubsub/glob.h"

namespace keel::redis::internal {
namespace {

using Subscriptions = std::vector<std::pair<std::string, uint64_t>>;

// The confirmation Redis sends for each (un)subscription: [kind, name or nil, count].
void Confirm(CommandContext& ctx, std::string_view kind, const std::string* name) {
  net::RespWriter& r = ctx.reply();
  r.PushHeader(3);
  r.BulkString(kind);
  if (name != nullptr) {
    r.BulkString(*name);
  } else {
    r.Null();
  }
  r.Integer(static_cast<int64_t>(ctx.client().subscription_count()));
}

void SubscribeGeneric(CommandContext& ctx, Args args, bool pattern) {
  Engine::Impl& e = ctx.engine();
  Subscriptions& held = pattern ? ctx.client().patterns : ctx.client().channels;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string name(args[i]);
    const bool known =
        std::any_of(held.begin(), held.end(), [&](const auto& s) { return s.first == name; });
    if (!known) {
      pubsub::SubscriptionOptions options{.max_queued_messages = e.options.max_pending_messages,
                                          .drop_policy = pubsub::DropPolicy::kDisconnect,
                                          .on_ready = ctx.client().wake};
      absl::StatusOr<pubsub::SubscriptionId> id =
          pattern ? e.broker->SubscribePattern(name, options) : e.broker->Subscribe(name, options);
      KEEL_ASSERT(id.ok(), "broker limits are above the engine's: ", id.status().ToString());
      held.emplace_back(name, id->value);
    }
    Confirm(ctx, pattern ? "psubscribe" : "subscribe", &name);
  }
}

void UnsubscribeGeneric(CommandContext& ctx, Args args, bool pattern) {
  Engine::Impl& e = ctx.engine();
  Subscriptions& held = pattern ? ctx.client().patterns : ctx.client().channels;
  const std::string_view kind = pattern ? "punsubscribe" : "unsubscribe";
  std::vector<std::string> names;
  if (args.size() == 1) {
    if (held.empty()) {
      Confirm(ctx, kind, nullptr);
      return;
    }
    for (const auto& [name, id] : held) names.push_back(name);
  } else {
    names.assign(args.begin() + 1, args.end());
  }
  for (const std::string& name : names) {
    auto it =
        std::find_if(held.begin(), held.end(), [&](const auto& s) { return s.first == name; });
    if (it != held.end()) {
      e.broker->Unsubscribe(pubsub::SubscriptionId{it->second});
      held.erase(it);
    }
    Confirm(ctx, kind, &name);
  }
}

void Subscribe(CommandContext& ctx, Args args) { SubscribeGeneric(ctx, args, false); }
void PSubscribe(CommandContext& ctx, Args args) { SubscribeGeneric(ctx, args, true); }
void Unsubscribe(CommandContext& ctx, Args args) { UnsubscribeGeneric(ctx, args, false); }
void PUnsubscribe(CommandContext& ctx, Args args) { UnsubscribeGeneric(ctx, args, true); }

void Publish(CommandContext& ctx, Args args) {
  const size_t receivers = ctx.engine().broker->Publish(
      args[1], Engine::Impl::Message{std::string(args[1]), std::string(args[2])});
  // A RESP3 client subscribed to what it publishes gets its push before the reply, as Redis
  // writes it within PUBLISH.
  if (ctx.client().subscription_count() > 0) {
    WritePendingMessages(ctx.engine(), ctx.client(), ctx.reply());
  }
  ctx.reply().Integer(static_cast<int64_t>(receivers));
}

void PubSubChannels(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.Error(base::Cat("unknown subcommand or wrong number of arguments for '",
                        args[1].substr(0, 128), "'. Try PUBSUB HELP."));
    return;
  }
  std::vector<std::string> names = ctx.engine().broker->ActiveChannels();
  if (args.size() == 3) {
    std::erase_if(names,
                  [&](const std::string& name) { return !pubsub::GlobMatch(args[2], name); });
  }
  ctx.reply().ArrayHeader(names.size());
  for (const std::string& name : names) ctx.reply().BulkString(name);
}

void PubSubNumSub(CommandContext& ctx, Args args) {
  ctx.reply().ArrayHeader((args.size() - 2) * 2);
  for (size_t i = 2; i < args.size(); ++i) {
    ctx.reply().BulkString(args[i]);
    ctx.reply().Integer(static_cast<int64_t>(ctx.engine().broker->SubscriberCount(args[i])));
  }
}

void PubSubNumPat(CommandContext& ctx, Args) {
  ctx.reply().Integer(static_cast<int64_t>(ctx.engine().broker->PatternSubscriptionCount()));
}

constexpr CommandSpec kPubSubSubcommands[] = {
    {"channels", -2, kPubSub | kLoading | kStale, 0, 0, 0, PubSubChannels, "pubsub",
     "List active channels", "2.8.0", "O(N) where N is the number of active channels"},
    {"numsub", -2, kPubSub | kLoading | kStale, 0, 0, 0, PubSubNumSub, "pubsub",
     "Get the count of subscribers for channels", "2.8.0",
     "O(N) for the NUMSUB subcommand, where N is the number of requested channels"},
    {"numpat", 2, kPubSub | kLoading | kStale, 0, 0, 0, PubSubNumPat, "pubsub",
     "Get the count of unique patterns pattern subscriptions", "2.8.0", "O(1)"},
};

constexpr CommandSpec kCommands[] = {
    {"subscribe", -2, kPubSub | kSubscribedMode | kLoading | kStale, 0, 0, 0, Subscribe, "pubsub",
     "Listen for messages published to the given channels", "2.0.0",
     "O(N) where N is the number of channels to subscribe to."},
    {"unsubscribe", -1, kPubSub | kSubscribedMode | kLoading | kStale, 0, 0, 0, Unsubscribe,
     "pubsub", "Stop listening for messages posted to the given channels", "2.0.0",
     "O(N) where N is the number of clients already subscribed to a channel."},
    {"psubscribe", -2, kPubSub | kSubscribedMode | kLoading | kStale, 0, 0, 0, PSubscribe, "pubsub",
     "Listen for messages published to channels matching the given patterns", "2.0.0",
     "O(N) where N is the number of patterns the client is already subscribed to."},
    {"punsubscribe", -1, kPubSub | kSubscribedMode | kLoading | kStale, 0, 0, 0, PUnsubscribe,
     "pubsub", "Stop listening for messages posted to channels matching the given patterns",
     "2.0.0", "O(N+M)"},
    {"publish", 3, kPubSub | kLoading | kStale | kFast, 0, 0, 0, Publish, "pubsub",
     "Post a message to a channel", "2.0.0",
     "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the "
     "total number of subscribed patterns (by any client)."},
    {"pubsub", -2, 0, 0, 0, 0, nullptr, "pubsub", "A container for Pub/Sub commands", "2.8.0",
     "Depends on subcommand.", kPubSubSubcommands},
};

// Writes one subscription's waiting messages; false if it was dropped for falling behind.
bool WriteQueued(Engine::Impl& e, uint64_t id, const std::string* pattern,
                 net::RespWriter& writer) {
  std::vector<pubsub::Broker<Engine::Impl::Message>::MessagePtr> batch;
  for (;;) {
    batch.clear();
    absl::StatusOr<size_t> n = e.broker->Poll(pubsub::SubscriptionId{id}, 256, batch);
    if (!n.ok()) return false;
    for (const auto& m : batch) {
      writer.PushHeader(pattern != nullptr ? 4 : 3);
      writer.BulkString(pattern != nullptr ? "pmessage" : "message");
      if (pattern != nullptr) writer.BulkString(*pattern);
      writer.BulkString(m->channel);
      writer.BulkString(m->payload);
    }
    if (*n < 256) return true;
  }
}

}  // namespace

bool WritePendingMessages(Engine::Impl& engine, ClientState& client, net::RespWriter& writer) {
  bool healthy = true;
  for (const auto& [name, id] : client.channels)
    healthy &= WriteQueued(engine, id, nullptr, writer);
  for (const auto& [name, id] : client.patterns) healthy &= WriteQueued(engine, id, &name, writer);
  return healthy;
}

std::span<const CommandSpec> PubSubCommands() { return kCommands; }

}  // namespace keel::redis::internal
