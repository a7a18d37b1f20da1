// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Pattern subscriptions and push delivery (on_ready) of keel::pubsub::Broker.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/pubsub/broker.h"
#include "keel/pubsub/glob.h"
#include "testing/testing.h"

namespace keel::pubsub {
namespace {

std::unique_ptr<Broker<std::string>> NewBroker() {
  auto broker = Broker<std::string>::Create();
  REQUIRE(broker.ok());
  return *std::move(broker);
}

std::vector<std::string> Take(Broker<std::string>& broker, SubscriptionId id) {
  std::vector<Broker<std::string>::MessagePtr> batch;
  REQUIRE(broker.Poll(id, SIZE_MAX, batch).ok());
  std::vector<std::string> out;
  for (const auto& m : batch) out.push_back(*m);
  return out;
}

TEST_CASE("A pattern subscription receives every matching channel, counted by Publish") {
  auto broker = NewBroker();
  const SubscriptionId exact = *broker->Subscribe("user:1");
  const SubscriptionId users = *broker->SubscribePattern("user:*");
  const SubscriptionId ones = *broker->SubscribePattern("*:1");
  CHECK(broker->Publish("user:1", std::string("a")) == 3);
  CHECK(broker->Publish("user:2", std::string("b")) == 1);
  CHECK(broker->Publish("group:1", std::string("c")) == 1);
  CHECK(broker->Publish("other", std::string("d")) == 0);
  CHECK(Take(*broker, exact) == std::vector<std::string>{"a"});
  CHECK(Take(*broker, users) == std::vector<std::string>{"a", "b"});
  CHECK(Take(*broker, ones) == std::vector<std::string>{"a", "c"});
  CHECK(broker->PatternSubscriptionCount() == 2);
  CHECK(broker->SubscriberCount("user:1") == 1);  // patterns are not counted per channel
  CHECK(broker->Unsubscribe(users));
  CHECK(broker->PatternSubscriptionCount() == 1);
  CHECK(broker->Publish("user:2", std::string("e")) == 0);
}

TEST_CASE("on_ready fires when a message lands in an empty queue, and on a disconnect") {
  auto broker = NewBroker();
  int ready = 0;
  const SubscriptionId id = *broker->Subscribe("c", {.max_queued_messages = 2,
                                                     .drop_policy = DropPolicy::kDisconnect,
                                                     .on_ready = [&ready] { ++ready; }});
  broker->Publish("c", std::string("1"));
  broker->Publish("c", std::string("2"));
  CHECK(ready == 1);  // the second found the queue already waiting
  CHECK(Take(*broker, id).size() == 2);
  broker->Publish("c", std::string("3"));
  CHECK(ready == 2);
  broker->Publish("c", std::string("4"));
  broker->Publish("c", std::string("5"));  // overflows: disconnected
  CHECK(ready == 3);
  std::vector<Broker<std::string>::MessagePtr> batch;
  CHECK(broker->Poll(id, 10, batch).status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("ActiveChannels lists channels with subscribers, filtered by a pattern") {
  auto broker = NewBroker();
  (void)*broker->Subscribe("news.tech");
  (void)*broker->Subscribe("news.art");
  (void)*broker->Subscribe("weather");
  (void)*broker->SubscribePattern("news.*");
  std::vector<std::string> all = broker->ActiveChannels();
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<std::string>{"news.art", "news.tech", "weather"});
  CHECK(broker->ActiveChannels("news.*").size() == 2);
}

TEST_CASE("Random subscriptions and publishes agree with a brute-force count") {
  const uint64_t seed = keel::testing::TestSeed(12);
  CAPTURE(seed);
  base::Random rng(seed);
  auto broker = NewBroker();
  struct Sub {
    std::string name;
    bool pattern;
    std::vector<std::string> expected;
  };
  std::map<uint64_t, Sub> subs;
  const SubscriptionOptions roomy = {.max_queued_messages = 1 << 20};  // nothing dropped
  const std::vector<std::string> channels = {"a", "b", "ab", "user:1", "user:2", "x.y"};
  const std::vector<std::string> patterns = {"*", "a*", "user:?", "*.*", "[ab]", "user:[^1]"};
  for (int step = 0; step < 5000; ++step) {
    const uint64_t action = rng.Uniform(10);
    if (action < 2) {
      const std::string& c = channels[rng.Uniform(channels.size())];
      subs[broker->Subscribe(c, roomy)->value] = {c, false, {}};
    } else if (action < 4) {
      const std::string& p = patterns[rng.Uniform(patterns.size())];
      subs[broker->SubscribePattern(p, roomy)->value] = {p, true, {}};
    } else if (action < 5 && !subs.empty()) {
      auto it = subs.begin();
      std::advance(it, static_cast<long>(rng.Uniform(subs.size())));
      CHECK(Take(*broker, SubscriptionId{it->first}) == it->second.expected);
      CHECK(broker->Unsubscribe(SubscriptionId{it->first}));
      subs.erase(it);
    } else {
      const std::string& c = channels[rng.Uniform(channels.size())];
      const std::string message = std::to_string(step);
      size_t want = 0;
      for (auto& [id, sub] : subs) {
        if (sub.pattern ? GlobMatch(sub.name, c) : sub.name == c) {
          sub.expected.push_back(message);
          ++want;
        }
      }
      CHECK(broker->Publish(c, message) == want);
    }
  }
  for (auto& [id, sub] : subs) CHECK(Take(*broker, SubscriptionId{id}) == sub.expected);
}

}  // namespace
}  // namespace keel::pubsub
