// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/pubsub/broker.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::pubsub {
namespace {

template <typename Message>
std::unique_ptr<Broker<Message>> MakeBroker(BrokerOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Broker<Message>>> broker = Broker<Message>::Create(options);
  REQUIRE(broker.ok());
  return *std::move(broker);
}

template <typename Message>
SubscriptionId MustSubscribe(Broker<Message>& broker, std::string_view channel,
                             SubscriptionOptions options = {}) {
  absl::StatusOr<SubscriptionId> id = broker.Subscribe(channel, options);
  REQUIRE(id.ok());
  return *id;
}

// Everything queued for `id`, oldest first, as values.
template <typename Message>
std::vector<Message> Drain(Broker<Message>& broker, SubscriptionId id) {
  std::vector<typename Broker<Message>::MessagePtr> batch;
  const absl::StatusOr<size_t> n = broker.Poll(id, SIZE_MAX, batch);
  REQUIRE(n.ok());
  REQUIRE(*n == batch.size());
  std::vector<Message> values;
  for (const auto& m : batch) values.push_back(*m);
  return values;
}

TEST_CASE("Publishing to a channel nobody subscribes to reaches no one") {
  auto broker = MakeBroker<std::string>();
  CHECK(broker->Publish("nobody", std::string("hello")) == 0);
  const SubscriptionId id = MustSubscribe(*broker, "somebody");
  CHECK(broker->Publish("nobody", std::string("hello")) == 0);
  CHECK(Drain(*broker, id).empty());
  CHECK(broker->stats().published == 2);
  CHECK(broker->stats().delivered == 0);
}

TEST_CASE("Every subscriber of a channel receives each message once and in order") {
  auto broker = MakeBroker<int>();
  const SubscriptionId a = MustSubscribe(*broker, "user:1");
  const SubscriptionId b = MustSubscribe(*broker, "user:1");
  const SubscriptionId other = MustSubscribe(*broker, "user:2");
  CHECK(broker->SubscriberCount("user:1") == 2);
  for (int i = 0; i < 10; ++i) CHECK(broker->Publish("user:1", i) == 2);
  const std::vector<int> expected = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  CHECK(Drain(*broker, a) == expected);
  CHECK(Drain(*broker, b) == expected);
  CHECK(Drain(*broker, other).empty());
  CHECK(Drain(*broker, a).empty());
}

TEST_CASE("A subscription receives only what is published after it subscribes") {
  auto broker = MakeBroker<int>();
  const SubscriptionId early = MustSubscribe(*broker, "c");
  CHECK(broker->Publish("c", 1) == 1);
  const SubscriptionId late = MustSubscribe(*broker, "c");
  CHECK(broker->Publish("c", 2) == 2);
  CHECK(Drain(*broker, early) == std::vector<int>{1, 2});
  CHECK(Drain(*broker, late) == std::vector<int>{2});
}

TEST_CASE("Fan-out shares one message object among all subscribers") {
  auto broker = MakeBroker<std::string>();
  std::vector<SubscriptionId> ids;
  for (int i = 0; i < 1'000; ++i) ids.push_back(MustSubscribe(*broker, "hot"));
  auto message = std::make_shared<const std::string>(4096, 'x');
  CHECK(broker->Publish("hot", message) == 1'000);
  CHECK(message.use_count() == 1'001);
  for (const SubscriptionId id : ids) {
    const absl::StatusOr<Broker<std::string>::MessagePtr> got = broker->TryReceive(id);
    REQUIRE(got.ok());
    CHECK(got->get() == message.get());
  }
  CHECK(message.use_count() == 1);
}

TEST_CASE("TryReceive takes one message at a time and returns null when the queue is empty") {
  auto broker = MakeBroker<int>();
  const SubscriptionId id = MustSubscribe(*broker, "c");
  absl::StatusOr<Broker<int>::MessagePtr> empty = broker->TryReceive(id);
  REQUIRE(empty.ok());
  CHECK(*empty == nullptr);
  CHECK(broker->Publish("c", 7) == 1);
  CHECK(broker->Publish("c", 8) == 1);
  CHECK(**broker->TryReceive(id) == 7);
  CHECK(**broker->TryReceive(id) == 8);
  CHECK(*broker->TryReceive(id) == nullptr);
}

TEST_CASE("Poll takes at most the requested number of messages oldest first") {
  auto broker = MakeBroker<int>();
  const SubscriptionId id = MustSubscribe(*broker, "c");
  for (int i = 0; i < 5; ++i) CHECK(broker->Publish("c", i) == 1);
  std::vector<Broker<int>::MessagePtr> out;
  CHECK(*broker->Poll(id, 0, out) == 0);
  CHECK(*broker->Poll(id, 2, out) == 2);
  CHECK(*broker->Poll(id, 2, out) == 2);  // appended, not replaced
  REQUIRE(out.size() == 4);
  for (int i = 0; i < 4; ++i) CHECK(*out[static_cast<size_t>(i)] == i);
  CHECK(*broker->Poll(id, 100, out) == 1);
  CHECK(*broker->Poll(id, 100, out) == 0);
}

TEST_CASE("Drop-newest keeps the oldest messages and counts the rejected ones") {
  auto broker = MakeBroker<int>();
  const SubscriptionId slow = MustSubscribe(
      *broker, "c", {.max_queued_messages = 3, .drop_policy = DropPolicy::kDropNewest});
  const SubscriptionId fast = MustSubscribe(*broker, "c");
  for (int i = 0; i < 5; ++i) CHECK(broker->Publish("c", i) == (i < 3 ? 2u : 1u));
  CHECK(Drain(*broker, slow) == std::vector<int>{0, 1, 2});
  CHECK(Drain(*broker, fast) == std::vector<int>{0, 1, 2, 3, 4});
  const SubscriptionStats stats = *broker->GetSubscriptionStats(slow);
  CHECK(stats.received == 3);
  CHECK(stats.dropped == 2);
  CHECK(stats.queued == 0);
  CHECK_FALSE(stats.disconnected);
  CHECK(broker->stats().dropped == 2);
  CHECK(broker->stats().delivered == 8);
  // Room again: the queue takes new messages.
  CHECK(broker->Publish("c", 5) == 2);
  CHECK(Drain(*broker, slow) == std::vector<int>{5});
}

TEST_CASE("Drop-oldest keeps the newest messages and counts the evicted ones") {
  auto broker = MakeBroker<int>();
  const SubscriptionId slow = MustSubscribe(
      *broker, "c", {.max_queued_messages = 3, .drop_policy = DropPolicy::kDropOldest});
  for (int i = 0; i < 7; ++i) CHECK(broker->Publish("c", i) == 1);
  CHECK(Drain(*broker, slow) == std::vector<int>{4, 5, 6});
  const SubscriptionStats stats = *broker->GetSubscriptionStats(slow);
  CHECK(stats.received == 7);
  CHECK(stats.dropped == 4);
  CHECK(broker->stats().dropped == 4);
}

TEST_CASE("Disconnect closes a slow subscriber and discards its queue") {
  auto broker = MakeBroker<int>();
  const SubscriptionId slow = MustSubscribe(
      *broker, "c", {.max_queued_messages = 2, .drop_policy = DropPolicy::kDisconnect});
  const SubscriptionId fast = MustSubscribe(*broker, "c");
  CHECK(broker->Publish("c", 0) == 2);
  CHECK(broker->Publish("c", 1) == 2);
  CHECK(broker->Publish("c", 2) == 1);  // overflows slow's queue: slow is cut off
  CHECK(broker->Publish("c", 3) == 1);
  CHECK(broker->SubscriberCount("c") == 1);

  const absl::StatusOr<size_t> polled = [&] {
    std::vector<Broker<int>::MessagePtr> out;
    return broker->Poll(slow, 10, out);
  }();
  CHECK(polled.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(polled.status().message(), "disconnected"));
  CHECK(absl::StrContains(polled.status().message(), "max_queued_messages 2"));
  CHECK(broker->TryReceive(slow).status().code() == absl::StatusCode::kFailedPrecondition);

  const SubscriptionStats stats = *broker->GetSubscriptionStats(slow);
  CHECK(stats.disconnected);
  CHECK(stats.received == 2);
  CHECK(stats.dropped == 3);  // the two queued and the one that overflowed
  CHECK(stats.queued == 0);
  CHECK(broker->stats().disconnects == 1);
  CHECK(broker->stats().subscriptions == 2);  // slow still holds its place until released
  CHECK(Drain(*broker, fast) == std::vector<int>{0, 1, 2, 3});

  CHECK(broker->Unsubscribe(slow));
  CHECK(broker->stats().subscriptions == 1);
  CHECK(broker->GetSubscriptionStats(slow).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("Disconnects during a fan-out still deliver to every other subscriber") {
  // Slow subscribers at the start, in the middle and at the end of the channel's list: each one
  // removed mid-iteration swaps another into its place, which must still be served.
  auto broker = MakeBroker<int>();
  std::vector<SubscriptionId> slow;
  std::vector<SubscriptionId> fast;
  for (int i = 0; i < 12; ++i) {
    if (i % 4 == 0 || i == 11) {
      slow.push_back(MustSubscribe(
          *broker, "c", {.max_queued_messages = 1, .drop_policy = DropPolicy::kDisconnect}));
    } else {
      fast.push_back(MustSubscribe(*broker, "c"));
    }
  }
  CHECK(broker->Publish("c", 1) == 12);
  CHECK(broker->Publish("c", 2) == fast.size());
  CHECK(broker->SubscriberCount("c") == fast.size());
  for (const SubscriptionId id : fast) CHECK(Drain(*broker, id) == std::vector<int>{1, 2});
  for (const SubscriptionId id : slow) CHECK(broker->GetSubscriptionStats(id)->disconnected);
  CHECK(broker->stats().disconnects == slow.size());
  CHECK(broker->stats().dropped == 2 * slow.size());
}

TEST_CASE("A channel whose only subscriber is disconnected goes away") {
  auto broker = MakeBroker<int>();
  const SubscriptionId id = MustSubscribe(
      *broker, "c", {.max_queued_messages = 1, .drop_policy = DropPolicy::kDisconnect});
  CHECK(broker->Publish("c", 1) == 1);
  CHECK(broker->Publish("c", 2) == 0);
  CHECK(broker->stats().channels == 0);
  CHECK(broker->Publish("c", 3) == 0);
  CHECK(broker->GetSubscriptionStats(id)->dropped == 2);  // later messages were never offered
}

TEST_CASE("Unsubscribe stops delivery and ids are never reused") {
  auto broker = MakeBroker<int>();
  const SubscriptionId a = MustSubscribe(*broker, "c");
  const SubscriptionId b = MustSubscribe(*broker, "c");
  CHECK(broker->Publish("c", 1) == 2);
  CHECK(broker->Unsubscribe(a));
  CHECK_FALSE(broker->Unsubscribe(a));
  CHECK(broker->Publish("c", 2) == 1);
  CHECK(broker->TryReceive(a).status().code() == absl::StatusCode::kNotFound);
  const SubscriptionId c = MustSubscribe(*broker, "c");
  CHECK(c.value != a.value);
  CHECK(c.value != b.value);
  CHECK(broker->TryReceive(a).status().code() == absl::StatusCode::kNotFound);
  CHECK(Drain(*broker, b) == std::vector<int>{1, 2});
  CHECK(broker->Unsubscribe(b));
  CHECK(broker->Unsubscribe(c));
  CHECK(broker->stats().channels == 0);
  CHECK(broker->stats().subscriptions == 0);
  CHECK_FALSE(broker->Unsubscribe(SubscriptionId{12345}));
}

TEST_CASE("Unsubscribe releases the messages still queued") {
  auto broker = MakeBroker<std::string>();
  const SubscriptionId id = MustSubscribe(*broker, "c");
  auto message = std::make_shared<const std::string>("payload");
  CHECK(broker->Publish("c", message) == 1);
  CHECK(message.use_count() == 2);
  CHECK(broker->Unsubscribe(id));
  CHECK(message.use_count() == 1);
  CHECK(broker->stats().dropped == 0);  // the owner discarded them; no limit was hit
}

TEST_CASE("Bad options are rejected with a message naming the value") {
  CHECK(Broker<int>::Create({.max_subscriptions = 0}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(Broker<int>::Create({.max_subscriptions = 0}).status().message(),
                          "max_subscriptions 0"));
  CHECK(absl::StrContains(Broker<int>::Create({.max_channel_bytes = 0}).status().message(),
                          "max_channel_bytes 0"));

  auto broker = MakeBroker<int>({.max_subscriptions = 2, .max_channel_bytes = 8});
  const absl::StatusOr<SubscriptionId> no_room = broker->Subscribe("c", {.max_queued_messages = 0});
  CHECK(no_room.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(no_room.status().message(), "max_queued_messages 0"));

  const absl::StatusOr<SubscriptionId> long_name = broker->Subscribe("123456789");
  CHECK(long_name.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(long_name.status().message(), "\"123456789\" has 9 bytes"));
  CHECK(broker->Subscribe("12345678").ok());

  const absl::StatusOr<SubscriptionId> bad_policy =
      broker->Subscribe("c", {.drop_policy = static_cast<DropPolicy>(7)});
  CHECK(bad_policy.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad_policy.status().message(), "drop_policy 7"));

  CHECK(broker->Subscribe("c").ok());
  const absl::StatusOr<SubscriptionId> full = broker->Subscribe("d");
  CHECK(full.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(full.status().message(), "max_subscriptions 2"));
  CHECK(broker->stats().subscriptions == 2);
}

TEST_CASE("Drop policies have names") {
  CHECK(DropPolicyName(DropPolicy::kDropNewest) == "drop-newest");
  CHECK(DropPolicyName(DropPolicy::kDropOldest) == "drop-oldest");
  CHECK(DropPolicyName(DropPolicy::kDisconnect) == "disconnect");
  CHECK(DropPolicyName(static_cast<DropPolicy>(9)) == "unknown");
}

TEST_CASE("Publishing a null message stops the program") {
  const testing::ChildResult result = testing::RunInChild([] {
    auto broker = *Broker<int>::Create();
    (void)broker->Publish("c", Broker<int>::MessagePtr());
  });
  CHECK(result.aborted);
  CHECK(absl::StrContains(result.stderr_text, "null message"));
}

// ---------------------------------------------------------------------------------------------
// The oracle: one std::deque per subscription and a linear search for a channel's subscribers.
// ---------------------------------------------------------------------------------------------
class OracleBroker {
 public:
  struct Sub {
    uint64_t id;
    int channel;
    SubscriptionOptions options;
    std::deque<int> queue;
    uint64_t received = 0;
    uint64_t dropped = 0;
    bool disconnected = false;
  };

  void Subscribe(uint64_t id, int channel, SubscriptionOptions options) {
    subs_.push_back(Sub{id, channel, options, {}});
  }

  bool Unsubscribe(uint64_t id) {
    for (size_t i = 0; i < subs_.size(); ++i) {
      if (subs_[i].id == id) {
        subs_.erase(subs_.begin() + static_cast<std::ptrdiff_t>(i));
        return true;
      }
    }
    return false;
  }

  size_t Publish(int channel, int message) {
    size_t receivers = 0;
    for (Sub& s : subs_) {
      if (s.channel != channel || s.disconnected) continue;
      if (s.queue.size() < s.options.max_queued_messages) {
        s.queue.push_back(message);
      } else if (s.options.drop_policy == DropPolicy::kDropOldest) {
        s.queue.pop_front();
        s.queue.push_back(message);
        ++s.dropped;
        ++total_dropped_;
      } else if (s.options.drop_policy == DropPolicy::kDropNewest) {
        ++s.dropped;
        ++total_dropped_;
        continue;
      } else {
        s.dropped += 1 + s.queue.size();
        total_dropped_ += 1 + s.queue.size();
        ++disconnects_;
        s.queue.clear();
        s.disconnected = true;
        continue;
      }
      ++s.received;
      ++receivers;
    }
    total_delivered_ += receivers;
    return receivers;
  }

  Sub* Find(uint64_t id) {
    for (Sub& s : subs_) {
      if (s.id == id) return &s;
    }
    return nullptr;
  }

  const std::vector<Sub>& subs() const { return subs_; }
  uint64_t total_delivered() const { return total_delivered_; }
  uint64_t total_dropped() const { return total_dropped_; }
  uint64_t disconnects() const { return disconnects_; }

 private:
  std::vector<Sub> subs_;
  uint64_t total_delivered_ = 0;
  uint64_t total_dropped_ = 0;  // released subscriptions' drops included
  uint64_t disconnects_ = 0;
};

TEST_CASE("Random operations match a per-subscriber deque oracle") {
  const uint64_t seed = testing::TestSeed(20260303);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int round = 0; round < 30; ++round) {
    CAPTURE(round);
    auto broker = MakeBroker<int>({.max_subscriptions = 24, .max_channel_bytes = 16});
    OracleBroker oracle;
    std::vector<uint64_t> ids_seen;  // every id handed out, including released ones
    int next_message = 0;
    uint64_t published = 0;
    const uint64_t channels = 1 + rng.Uniform(5);
    for (int step = 0; step < 4'000; ++step) {
      CAPTURE(step);
      const uint64_t op = rng.Uniform(100);
      const int channel = static_cast<int>(rng.Uniform(channels));
      const std::string channel_name = "ch" + std::to_string(channel);
      if (op < 10) {
        const SubscriptionOptions options{.max_queued_messages = 1 + rng.Uniform(6),
                                          .drop_policy = static_cast<DropPolicy>(rng.Uniform(3))};
        const absl::StatusOr<SubscriptionId> id = broker->Subscribe(channel_name, options);
        if (oracle.subs().size() == 24) {
          REQUIRE(id.status().code() == absl::StatusCode::kResourceExhausted);
        } else {
          REQUIRE(id.ok());
          oracle.Subscribe(id->value, channel, options);
          ids_seen.push_back(id->value);
        }
      } else if (op < 15 && !ids_seen.empty()) {
        const uint64_t id = ids_seen[rng.Uniform(ids_seen.size())];
        REQUIRE(broker->Unsubscribe(SubscriptionId{id}) == oracle.Unsubscribe(id));
      } else if (op < 55) {
        const int message = next_message++;
        const size_t receivers = oracle.Publish(channel, message);
        REQUIRE(broker->Publish(channel_name, message) == receivers);
        ++published;
      } else if (!ids_seen.empty()) {
        const uint64_t id = ids_seen[rng.Uniform(ids_seen.size())];
        OracleBroker::Sub* sub = oracle.Find(id);
        const size_t max_messages = rng.Uniform(4);
        std::vector<Broker<int>::MessagePtr> out;
        const bool poll = op < 80;
        absl::StatusOr<size_t> n = 0;
        if (poll) {
          n = broker->Poll(SubscriptionId{id}, max_messages, out);
        } else if (absl::StatusOr<Broker<int>::MessagePtr> m =
                       broker->TryReceive(SubscriptionId{id});
                   !m.ok()) {
          n = m.status();
        } else if (*m != nullptr) {
          out.push_back(*m);
          n = 1;
        }
        if (sub == nullptr) {
          REQUIRE(n.status().code() == absl::StatusCode::kNotFound);
        } else if (sub->disconnected) {
          REQUIRE(n.status().code() == absl::StatusCode::kFailedPrecondition);
        } else {
          REQUIRE(n.ok());
          const size_t want = std::min(poll ? max_messages : size_t{1}, sub->queue.size());
          REQUIRE(*n == want);
          REQUIRE(out.size() == want);
          for (size_t i = 0; i < want; ++i) {
            REQUIRE(*out[i] == sub->queue.front());
            sub->queue.pop_front();
          }
        }
      }
      // Every subscription's counters agree.
      std::set<int> live_channels;
      for (const OracleBroker::Sub& s : oracle.subs()) {
        const absl::StatusOr<SubscriptionStats> stats =
            broker->GetSubscriptionStats(SubscriptionId{s.id});
        REQUIRE(stats.ok());
        REQUIRE(stats->queued == s.queue.size());
        REQUIRE(stats->received == s.received);
        REQUIRE(stats->dropped == s.dropped);
        REQUIRE(stats->disconnected == s.disconnected);
        REQUIRE(stats->drop_policy == s.options.drop_policy);
        if (!s.disconnected) live_channels.insert(s.channel);
      }
      for (uint64_t c = 0; c < channels; ++c) {
        const size_t connected = static_cast<size_t>(std::count_if(
            oracle.subs().begin(), oracle.subs().end(), [c](const OracleBroker::Sub& s) {
              return !s.disconnected && s.channel == static_cast<int>(c);
            }));
        REQUIRE(broker->SubscriberCount("ch" + std::to_string(c)) == connected);
      }
      const BrokerStats stats = broker->stats();
      REQUIRE(stats.published == published);
      REQUIRE(stats.subscriptions == oracle.subs().size());
      REQUIRE(stats.channels == live_channels.size());
      REQUIRE(stats.delivered == oracle.total_delivered());
      REQUIRE(stats.dropped == oracle.total_dropped());
      REQUIRE(stats.disconnects == oracle.disconnects());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Threads.
// ---------------------------------------------------------------------------------------------

// A message that says who published it and its place in that publisher's sequence.
struct Stamped {
  int publisher;
  int seq;
};

TEST_CASE("Concurrent publishers and receivers lose nothing when queues are large enough") {
  constexpr int kPublishers = 4;
  constexpr int kPerPublisher = 20'000;
  constexpr int kSubscribers = 4;
  auto broker = MakeBroker<Stamped>();
  std::vector<SubscriptionId> ids;
  for (int s = 0; s < kSubscribers; ++s) {
    ids.push_back(MustSubscribe(*broker, "c",
                                {.max_queued_messages = kPublishers * kPerPublisher,
                                 .drop_policy = DropPolicy::kDisconnect}));
  }
  std::atomic<int> publishers_done = 0;
  std::vector<std::thread> threads;
  std::vector<std::vector<Stamped>> received(kSubscribers);
  for (int s = 0; s < kSubscribers; ++s) {
    threads.emplace_back([&, s] {
      std::vector<Broker<Stamped>::MessagePtr> batch;
      while (true) {
        const bool done = publishers_done.load() == kPublishers;
        batch.clear();
        const absl::StatusOr<size_t> n = broker->Poll(ids[static_cast<size_t>(s)], 64, batch);
        if (!n.ok()) return;  // checked below: there must be no error
        for (const auto& m : batch) received[static_cast<size_t>(s)].push_back(*m);
        if (done && *n == 0) return;
        if (*n == 0) std::this_thread::yield();
      }
    });
  }
  std::atomic<uint64_t> delivered = 0;
  for (int p = 0; p < kPublishers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kPerPublisher; ++i) delivered += broker->Publish("c", Stamped{p, i});
      ++publishers_done;
    });
  }
  for (std::thread& t : threads) t.join();

  CHECK(delivered.load() == uint64_t{kPublishers} * kPerPublisher * kSubscribers);
  CHECK(broker->stats().dropped == 0);
  for (int s = 0; s < kSubscribers; ++s) {
    const std::vector<Stamped>& got = received[static_cast<size_t>(s)];
    REQUIRE(got.size() == size_t{kPublishers} * kPerPublisher);
    // Each publisher's messages arrive in the order it sent them.
    std::vector<int> next(kPublishers, 0);
    for (const Stamped& m : got) {
      REQUIRE(m.seq == next[static_cast<size_t>(m.publisher)]);
      ++next[static_cast<size_t>(m.publisher)];
    }
  }
}

TEST_CASE("Concurrent publishers with small queues account for every message") {
  constexpr int kPublishers = 4;
  constexpr int kPerPublisher = 20'000;
  constexpr uint64_t kTotal = uint64_t{kPublishers} * kPerPublisher;
  auto broker = MakeBroker<Stamped>();
  const std::vector<DropPolicy> policies = {DropPolicy::kDropNewest, DropPolicy::kDropOldest,
                                            DropPolicy::kDisconnect, DropPolicy::kDropNewest,
                                            DropPolicy::kDropOldest, DropPolicy::kDisconnect};
  std::vector<SubscriptionId> ids;
  for (const DropPolicy policy : policies) {
    ids.push_back(MustSubscribe(*broker, "c", {.max_queued_messages = 16, .drop_policy = policy}));
  }
  std::atomic<int> publishers_done = 0;
  std::vector<uint64_t> taken(policies.size(), 0);
  std::vector<std::thread> threads;
  for (size_t s = 0; s < policies.size(); ++s) {
    threads.emplace_back([&, s] {
      std::vector<Broker<Stamped>::MessagePtr> batch;
      while (true) {
        const bool done = publishers_done.load() == kPublishers;
        batch.clear();
        const absl::StatusOr<size_t> n = broker->Poll(ids[s], 4, batch);
        if (!n.ok()) return;  // disconnected
        taken[s] += *n;
        if (done && *n == 0) return;
        std::this_thread::yield();
      }
    });
  }
  std::atomic<uint64_t> delivered = 0;
  for (int p = 0; p < kPublishers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kPerPublisher; ++i) delivered += broker->Publish("c", Stamped{p, i});
      ++publishers_done;
    });
  }
  for (std::thread& t : threads) t.join();

  uint64_t received_sum = 0;
  uint64_t dropped_sum = 0;
  for (size_t s = 0; s < policies.size(); ++s) {
    CAPTURE(s);
    const SubscriptionStats stats = *broker->GetSubscriptionStats(ids[s]);
    received_sum += stats.received;
    dropped_sum += stats.dropped;
    switch (policies[s]) {
      case DropPolicy::kDropNewest:
        // Every message was offered: queued (and then taken) or rejected.
        CHECK(stats.received + stats.dropped == kTotal);
        CHECK(taken[s] == stats.received);
        break;
      case DropPolicy::kDropOldest:
        // Every message was queued; each was then taken or evicted.
        CHECK(stats.received == kTotal);
        CHECK(taken[s] + stats.dropped == kTotal);
        break;
      case DropPolicy::kDisconnect:
        if (stats.disconnected) {
          // Queued ones were taken or discarded at the disconnect, plus the one that overflowed.
          CHECK(taken[s] + stats.dropped == stats.received + 1);
        } else {
          CHECK(stats.received == kTotal);
          CHECK(taken[s] == kTotal);
        }
        break;
    }
  }
  const BrokerStats stats = broker->stats();
  CHECK(stats.published == kTotal);
  CHECK(stats.delivered == delivered.load());
  CHECK(stats.delivered == received_sum);
  CHECK(stats.dropped == dropped_sum);
}

TEST_CASE("Subscribing and unsubscribing during concurrent fan-out is safe") {
  constexpr int kPublishers = 2;
  constexpr int kPerPublisher = 20'000;
  auto broker = MakeBroker<int>();
  std::vector<SubscriptionId> stable;
  for (int s = 0; s < 8; ++s) {
    stable.push_back(
        MustSubscribe(*broker, "c", {.max_queued_messages = kPublishers * kPerPublisher}));
  }
  std::atomic<bool> stop = false;
  std::atomic<uint64_t> churned = 0;
  std::atomic<uint64_t> churn_failures = 0;  // doctest's REQUIRE must not throw in a thread
  std::thread churner([&] {
    std::vector<Broker<int>::MessagePtr> batch;
    while (!stop.load()) {
      const absl::StatusOr<SubscriptionId> id = broker->Subscribe(
          "c", {.max_queued_messages = 4, .drop_policy = DropPolicy::kDropOldest});
      if (!id.ok()) {
        ++churn_failures;
        return;
      }
      std::this_thread::yield();
      batch.clear();
      if (!broker->Poll(*id, 2, batch).ok() || !broker->Unsubscribe(*id)) ++churn_failures;
      ++churned;
    }
  });
  std::atomic<uint64_t> delivered = 0;
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&] {
      for (int i = 0; i < kPerPublisher; ++i) delivered += broker->Publish("c", i);
    });
  }
  for (std::thread& t : publishers) t.join();
  stop = true;
  churner.join();

  CHECK(churn_failures.load() == 0);
  const BrokerStats stats = broker->stats();
  CHECK(stats.delivered == delivered.load());
  CHECK(stats.subscriptions == stable.size());
  CHECK(broker->SubscriberCount("c") == stable.size());
  // The stable subscribers got everything, whatever came and went beside them.
  for (const SubscriptionId id : stable) {
    CHECK(broker->GetSubscriptionStats(id)->received == uint64_t{kPublishers} * kPerPublisher);
  }
  CHECK(delivered.load() >= uint64_t{kPublishers} * kPerPublisher * stable.size());
}

}  // namespace
}  // namespace keel::pubsub
