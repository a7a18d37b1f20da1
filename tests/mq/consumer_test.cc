// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/consumer.h"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/mq/producer.h"
#include "testing/testing.h"

namespace keel::mq {
namespace {

ClusterOptions Manual(const base::Clock* clock) {
  ClusterOptions o;
  o.background = false;
  o.clock = clock;
  o.session_timeout_ns = base::kNanosPerSecond;
  return o;
}

void ProduceNumbers(Cluster& cluster, const std::string& topic, int from, int to) {
  ProducerOptions o;
  o.batch_bytes = 64;
  auto producer = *Producer::Create(cluster, o);
  for (int i = from; i < to; ++i) {
    Message m;
    m.key = absl::StrCat("key-", i % 13);
    m.value = absl::StrCat(i);
    REQUIRE(producer->Send(topic, m).ok());
  }
  producer->Flush();
}

// Poll's messages by value (a range-for over *c.Poll() would outlive the StatusOr).
std::vector<ConsumedMessage> PollAll(Consumer& c, uint32_t max = 0) {
  absl::StatusOr<std::vector<ConsumedMessage>> got = c.Poll(max);
  REQUIRE(got.ok());
  return std::move(*got);
}

ConsumerOptions Group(std::string group, std::string member) {
  ConsumerOptions o;
  o.group = std::move(group);
  o.member_id = std::move(member);
  o.topics = {"t"};
  o.reset = OffsetReset::kEarliest;
  o.max_poll_messages = 7;
  return o;
}

TEST_CASE("A group of consumers shares the partitions and sees every message once") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 6, .replication_factor = 2}).ok());
  ProduceNumbers(*cluster, "t", 0, 600);
  std::vector<std::unique_ptr<Consumer>> members;
  for (const char* id : {"a", "b", "c"}) {
    members.push_back(*Consumer::Join(*cluster, Group("g", id)));
  }
  std::map<std::string, int> seen;
  std::map<std::string, int> last_of_key;
  for (int round = 0; round < 200; ++round) {
    for (auto& member : members) {
      const std::vector<ConsumedMessage> got = *member->Poll();
      for (const ConsumedMessage& m : got) {
        ++seen[m.message.value];
        const int value = std::stoi(m.message.value);
        auto [it, first] = last_of_key.try_emplace(m.message.key, value);
        if (!first) CHECK(value > it->second);  // a key's messages arrive in order
        it->second = value;
      }
      REQUIRE(member->Commit().ok());
    }
  }
  CHECK(seen.size() == 600);
  for (const auto& [value, count] : seen) CHECK(count == 1);
  // Two partitions each, after the last one joined.
  for (const auto& member : members) {
    CHECK(member->generation() == 3);
    CHECK(member->assignment().size() == 2);
  }
}

TEST_CASE("After a member leaves the others resume its partitions from the committed offsets") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 4, .replication_factor = 2}).ok());
  ProduceNumbers(*cluster, "t", 0, 200);
  auto a = *Consumer::Join(*cluster, Group("g", "a"));
  auto b = *Consumer::Join(*cluster, Group("g", "b"));
  std::multiset<std::string> seen;
  auto take = [&](Consumer& c) {
    for (const ConsumedMessage& m : PollAll(c)) seen.insert(m.message.value);
  };
  take(*a);
  take(*b);
  REQUIRE(a->Commit().ok());
  REQUIRE(b->Commit().ok());
  // b polls once more without committing, then crashes (leaves without a commit).
  std::vector<std::string> uncommitted;
  for (const ConsumedMessage& m : PollAll(*b)) {
    seen.insert(m.message.value);
    uncommitted.push_back(m.message.value);
  }
  REQUIRE(!uncommitted.empty());
  b.reset();
  for (int round = 0; round < 100; ++round) {
    take(*a);
    REQUIRE(a->Commit().ok());
  }
  CHECK(a->assignment().size() == 4);
  // Everything seen; only b's uncommitted batch twice (at least once, not more).
  std::set<std::string> distinct(seen.begin(), seen.end());
  CHECK(distinct.size() == 200);
  CHECK(seen.size() == 200 + uncommitted.size());
  for (const std::string& v : uncommitted) CHECK(seen.count(v) == 2);
}

TEST_CASE("A restarted consumer resumes where its group committed and reset picks the start") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  {
    auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
    REQUIRE(cluster->CreateTopic("t", {.partitions = 1}).ok());
    ProduceNumbers(*cluster, "t", 0, 10);
    auto c = *Consumer::Join(*cluster, Group("g", "a"));
    CHECK(c->Poll(4)->size() == 4);
    REQUIRE(c->Close().ok());
    // A new group starting at the latest offset sees only what comes next.
    ConsumerOptions latest = Group("late", "x");
    latest.reset = OffsetReset::kLatest;
    auto late = *Consumer::Join(*cluster, latest);
    CHECK(late->Poll()->empty());
    ProduceNumbers(*cluster, "t", 10, 11);
    const std::vector<ConsumedMessage> next = *late->Poll();
    REQUIRE(next.size() == 1);
    CHECK(next[0].message.value == "10");
  }
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  auto c = *Consumer::Join(*cluster, Group("g", "a2"));
  const std::vector<ConsumedMessage> rest = *c->Poll(100);
  REQUIRE(rest.size() == 7);
  CHECK(rest.front().offset == 4);
  CHECK(rest.front().message.value == "4");
}

TEST_CASE("At-most-once commits before processing so a crash loses the batch") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1}).ok());
  ProduceNumbers(*cluster, "t", 0, 10);
  for (const DeliverySemantics semantics :
       {DeliverySemantics::kAtMostOnce, DeliverySemantics::kAtLeastOnce}) {
    const std::string group = semantics == DeliverySemantics::kAtMostOnce ? "most" : "least";
    ConsumerOptions o = Group(group, "a");
    o.semantics = semantics;
    {
      auto c = *Consumer::Join(*cluster, o);
      CHECK(c->Poll(3)->size() == 3);
      // Crash: destroyed without Commit or Close.
    }
    auto again = *Consumer::Join(*cluster, o);
    const std::vector<ConsumedMessage> got = *again->Poll(1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].offset == (semantics == DeliverySemantics::kAtMostOnce ? 3 : 0));
  }
}

TEST_CASE("A member that stops heartbeating loses its partitions and must rejoin") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 2}).ok());
  auto a = *Consumer::Join(*cluster, Group("g", "a"));
  auto b = *Consumer::Join(*cluster, Group("g", "b"));
  REQUIRE(a->Poll().ok());
  CHECK(a->assignment().size() == 1);
  clock.Advance(2 * base::kNanosPerSecond);
  REQUIRE(b->Poll().ok());  // b heartbeats, a does not
  REQUIRE(cluster->Tick().ok());
  CHECK(cluster->DescribeGroup("g")->members.size() == 1);
  REQUIRE(b->Poll().ok());
  CHECK(b->assignment().size() == 2);
  REQUIRE(a->Poll().ok());  // a rejoins
  CHECK(a->assignment().size() == 1);
}

TEST_CASE("Failed messages go through the retry topic and then to the dead-letter topic") {
  testing::TempDir dir;
  base::ManualClock clock(base::kNanosPerSecond);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 2, .replication_factor = 2}).ok());
  ProduceNumbers(*cluster, "t", 0, 20);
  ConsumerOptions o = Group("g", "a");
  o.retry.max_attempts = 3;
  o.retry.backoff_ns = base::kNanosPerSecond;
  auto c = *Consumer::Join(*cluster, o);
  std::map<std::string, std::vector<uint32_t>> deliveries;  // value -> attempts seen
  for (int round = 0; round < 20; ++round) {
    for (const ConsumedMessage& m : PollAll(*c)) {
      deliveries[m.message.value].push_back(m.message.attempts);
      if (m.message.attempts > 0) {
        CHECK(m.topic == "t.retry");
        CHECK(m.message.origin_topic == "t");
      }
      // Multiples of 5 always fail.
      if (std::stoi(m.message.value) % 5 == 0) REQUIRE(c->Retry(m).ok());
    }
    REQUIRE(c->Commit().ok());
    clock.Advance(base::kNanosPerSecond);  // backoff: 1 s, then 2 s
    REQUIRE(cluster->Tick().ok());
  }
  CHECK(deliveries.size() == 20);
  for (const auto& [value, attempts] : deliveries) {
    CAPTURE(value);
    if (std::stoi(value) % 5 == 0) {
      CHECK(attempts == std::vector<uint32_t>{0, 1, 2});
    } else {
      CHECK(attempts == std::vector<uint32_t>{0});
    }
  }
  // The four failures are in the dead-letter topic, each after three attempts.
  size_t dead = 0;
  for (uint32_t p = 0; p < 2; ++p) {
    const FetchResult f = *cluster->Fetch("t.dlq", p, 0, {});
    for (const FetchedMessage& m : f.messages) {
      CHECK(m.message.attempts == 3);
      CHECK(std::stoi(m.message.value) % 5 == 0);
      ++dead;
    }
  }
  CHECK(dead == 4);
}

TEST_CASE("A consumer with tags gets only those messages") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 2}).ok());
  {
    auto producer = *Producer::Create(*cluster, {});
    for (int i = 0; i < 30; ++i) {
      Message m;
      m.value = absl::StrCat(i);
      m.tag = i % 2 == 0 ? "even" : "odd";
      REQUIRE(producer->Send("t", m).ok());
    }
  }
  ConsumerOptions o = Group("g", "a");
  o.tags = {"odd"};
  auto c = *Consumer::Join(*cluster, o);
  int got = 0;
  for (int round = 0; round < 20; ++round) {
    for (const ConsumedMessage& m : PollAll(*c)) {
      CHECK(m.message.tag == "odd");
      ++got;
    }
  }
  CHECK(got == 15);
}

}  // namespace
}  // namespace keel::mq
