// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The non-template parts of keel/pubsub/broker.h: option checks and error messages.
#include "keel/pubsub/broker.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "keel/base/strings.h"

namespace keel::pubsub {

std::string_view DropPolicyName(DropPolicy policy) {
  switch (policy) {
    case DropPolicy::kDropNewest:
      return "drop-newest";
    case DropPolicy::kDropOldest:
      return "drop-oldest";
    case DropPolicy::kDisconnect:
      return "disconnect";
  }
  return "unknown";
}

absl::Status ValidateBrokerOptions(const BrokerOptions& options) {
  if (options.max_subscriptions == 0) {
    return absl::InvalidArgumentError("Broker max_subscriptions 0 allows no subscription");
  }
  if (options.max_channel_bytes == 0) {
    return absl::InvalidArgumentError("Broker max_channel_bytes 0 allows no channel name");
  }
  return absl::OkStatus();
}

namespace internal {

absl::Status ValidateSubscribe(std::string_view channel, const SubscriptionOptions& options,
                               const BrokerOptions& broker_options, size_t open_subscriptions) {
  if (channel.size() > broker_options.max_channel_bytes) {
    return absl::InvalidArgumentError(
        base::Cat("channel name ", base::Quoted(channel), " has ", channel.size(),
                  " bytes, more than max_channel_bytes ", broker_options.max_channel_bytes));
  }
  if (options.max_queued_messages == 0) {
    return absl::InvalidArgumentError(base::Cat("max_queued_messages 0 for channel ",
                                                base::Quoted(channel),
                                                " leaves no room for any message"));
  }
  if (DropPolicyName(options.drop_policy) == "unknown") {
    return absl::InvalidArgumentError(
        base::Cat("drop_policy ", static_cast<int>(options.drop_policy), " for channel ",
                  base::Quoted(channel), " is not a DropPolicy"));
  }
  if (open_subscriptions >= broker_options.max_subscriptions) {
    return absl::ResourceExhaustedError(base::Cat("cannot subscribe to channel ",
                                                  base::Quoted(channel), ": max_subscriptions ",
                                                  broker_options.max_subscriptions, " are open"));
  }
  return absl::OkStatus();
}

absl::Status UnknownSubscriptionError(uint64_t id) {
  return absl::NotFoundError(base::Cat("no subscription ", id));
}

absl::Status DisconnectedError(uint64_t id, std::string_view channel, size_t max_queued_messages) {
  return absl::FailedPreconditionError(
      base::Cat("subscription ", id, " to channel ", base::Quoted(channel),
                " was disconnected when its queue of max_queued_messages ", max_queued_messages,
                " overflowed; unsubscribe and subscribe again"));
}

}  // namespace internal
}  // namespace keel::pubsub
