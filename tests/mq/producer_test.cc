// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/producer.h"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::mq {
namespace {

// Everything committed in a partition, in offset order.
std::vector<FetchedMessage> ReadAll(const Cluster& cluster, const std::string& topic,
                                    uint32_t partition) {
  std::vector<FetchedMessage> out;
  uint64_t from = cluster.DescribePartition(topic, partition)->log_start;
  for (;;) {
    absl::StatusOr<FetchResult> batch = cluster.Fetch(topic, partition, from, {});
    REQUIRE(batch.ok());
    for (FetchedMessage& m : batch->messages) out.push_back(std::move(m));
    if (batch->next_offset == from) break;
    from = batch->next_offset;
  }
  return out;
}

// Collects callbacks from the producer's thread.
struct Acks {
  std::mutex mu;
  std::vector<absl::StatusOr<Ack>> got;
  SendCallback Callback() {
    return [this](const absl::StatusOr<Ack>& ack) {
      std::lock_guard lock(mu);
      got.push_back(ack);
    };
  }
};

ClusterOptions Manual(const base::Clock* clock) {
  ClusterOptions o;
  o.background = false;
  o.clock = clock;
  return o;
}

TEST_CASE("Producer keeps each key's messages in one partition in order") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 4, .replication_factor = 2}).ok());
  Acks acks;
  {
    ProducerOptions o;
    o.batch_bytes = 100;  // several batches
    auto producer = *Producer::Create(*cluster, o);
    for (int i = 0; i < 400; ++i) {
      Message m;
      m.key = absl::StrCat("user-", i % 7);
      m.value = absl::StrCat(i);
      REQUIRE(producer->Send("t", m, acks.Callback()).ok());
    }
    producer->Flush();
    CHECK(acks.got.size() == 400);
  }
  std::map<std::string, uint32_t> partition_of;
  std::map<std::string, int> last_value;
  for (uint32_t p = 0; p < 4; ++p) {
    for (const FetchedMessage& f : ReadAll(*cluster, "t", p)) {
      CHECK(Producer::PartitionForKey(f.message.key, 4) == p);
      auto [it, fresh] = partition_of.try_emplace(f.message.key, p);
      CHECK(it->second == p);
      const int value = std::stoi(f.message.value);
      auto [last, first] = last_value.try_emplace(f.message.key, value);
      if (!first) CHECK(value > last->second);
      last->second = value;
      CHECK(f.message.timestamp_ns == 1'000);
    }
  }
  CHECK(partition_of.size() == 7);
  // Every callback had the offset its message got.
  for (const absl::StatusOr<Ack>& ack : acks.got) {
    REQUIRE(ack.ok());
    REQUIRE(ack->offset.has_value());
    const FetchResult one = *cluster->Fetch("t", ack->partition, *ack->offset, {.max_messages = 1});
    CHECK(one.messages.at(0).offset == *ack->offset);
  }
}

TEST_CASE("Producer without keys deals messages round-robin and acks 0 returns no offset") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 3, .replication_factor = 1}).ok());
  Acks acks;
  ProducerOptions o;
  o.acks = keel::mq::Acks::kNone;
  auto producer = *Producer::Create(*cluster, o);
  for (int i = 0; i < 9; ++i) {
    Message m;
    m.value = absl::StrCat(i);
    REQUIRE(producer->Send("t", m, acks.Callback()).ok());
  }
  producer->Flush();
  REQUIRE(acks.got.size() == 9);
  for (const absl::StatusOr<Ack>& ack : acks.got) {
    REQUIRE(ack.ok());
    CHECK(!ack->offset.has_value());
  }
  REQUIRE(cluster->Replicate().ok());
  for (uint32_t p = 0; p < 3; ++p) CHECK(ReadAll(*cluster, "t", p).size() == 3);
}

TEST_CASE("Producer sends a lingering batch without a flush and refuses bad messages") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {}).ok());
  ProducerOptions o;
  o.linger_ns = 2 * base::kNanosPerMilli;
  o.max_queued_messages = 2;
  auto producer = *Producer::Create(*cluster, o);
  std::atomic<int> done{0};
  Message m;
  m.value = "x";
  REQUIRE(producer->Send("t", m, [&](const absl::StatusOr<Ack>&) { ++done; }).ok());
  for (int i = 0; i < 2000 && done.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(done.load() == 1);
  CHECK(producer->Send("nope", m).code() == absl::StatusCode::kNotFound);
  CHECK(producer->SendTo("t", 1, m).code() == absl::StatusCode::kInvalidArgument);
  Message big;
  big.value = std::string(2 << 20, 'x');
  CHECK(producer->Send("t", big).code() == absl::StatusCode::kInvalidArgument);
  // A full queue refuses more.
  ProducerOptions slow = o;
  slow.linger_ns = 60 * base::kNanosPerSecond;
  slow.batch_bytes = 1 << 30;
  auto held = *Producer::Create(*cluster, slow);
  REQUIRE(held->Send("t", m).ok());
  REQUIRE(held->Send("t", m).ok());
  CHECK(held->Send("t", m).code() == absl::StatusCode::kResourceExhausted);
  held->Flush();
  REQUIRE(held->Send("t", m).ok());
}

// With background replication and real time: brokers stop and start while an idempotent
// producer sends; every acknowledged message is in the log exactly once.
TEST_CASE("An idempotent producer appends each message once while brokers fail") {
  const uint64_t seed = keel::testing::TestSeed(206);
  CAPTURE(seed);
  testing::TempDir dir;
  ClusterOptions co;
  co.replica_lag_max_ns = 50 * base::kNanosPerMilli;
  co.request_timeout_ns = 200 * base::kNanosPerMilli;
  auto cluster = *Cluster::Open(dir.path(), co);
  REQUIRE(cluster->CreateTopic("t", {.partitions = 3, .replication_factor = 3}).ok());
  ProducerOptions o;
  o.idempotent = true;
  o.linger_ns = base::kNanosPerMilli;
  o.retries = 50;
  o.retry_backoff_ns = 5 * base::kNanosPerMilli;
  auto producer = *Producer::Create(*cluster, o);
  CHECK(producer->producer_id() != 0);
  std::atomic<bool> done{false};
  std::thread chaos([&] {
    base::Random rng(seed);
    while (!done.load()) {
      const auto broker = static_cast<uint32_t>(rng.Uniform(3));
      REQUIRE(cluster->StopBroker(broker).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(rng.UniformInRange(1, 20)));
      REQUIRE(cluster->StartBroker(broker).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(rng.UniformInRange(1, 20)));
    }
  });
  std::mutex mu;
  std::vector<std::string> acknowledged;
  int answered = 0;
  const int n = 3000;
  for (int i = 0; i < n; ++i) {
    Message m;
    m.key = absl::StrCat("k", i % 50);
    m.value = absl::StrCat(i);
    REQUIRE(producer
                ->Send("t", m,
                       [&, value = m.value](const absl::StatusOr<Ack>& ack) {
                         std::lock_guard lock(mu);
                         ++answered;
                         if (ack.ok()) acknowledged.push_back(value);
                       })
                .ok());
  }
  producer->Flush();
  done = true;
  chaos.join();
  for (uint32_t b = 0; b < 3; ++b) REQUIRE(cluster->StartBroker(b).ok());
  std::map<std::string, int> copies;
  for (uint32_t p = 0; p < 3; ++p) {
    for (const FetchedMessage& f : ReadAll(*cluster, "t", p)) ++copies[f.message.value];
  }
  CHECK(answered == n);
  CHECK(acknowledged.size() > n / 2);
  for (const auto& [value, count] : copies) {
    CAPTURE(value);
    CHECK(count == 1);
  }
  for (const std::string& value : acknowledged) {
    CAPTURE(value);
    CHECK(copies[value] == 1);
  }
}

}  // namespace
}  // namespace keel::mq
