// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/producer.h"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/wal/file_system.h"
#include "mq/mq_testing.h"
#include "testing/testing.h"

namespace keel::mq {
namespace {

using test::Manual;

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

std::vector<std::string> Values(const std::vector<FetchedMessage>& messages) {
  std::vector<std::string> out;
  for (const FetchedMessage& f : messages) out.push_back(f.message.value);
  return out;
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

TEST_CASE("Producer cuts batches by bytes so that each fits in a partition log segment") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  ClusterOptions co = Manual(&clock);
  co.segment_bytes = 64 << 10;      // batches of at most 32 KiB
  co.max_message_bytes = 48 << 10;  // so one message may be larger than a batch
  auto cluster = *Cluster::Open(dir.path(), co);
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 1}).ok());
  Acks acks;
  std::vector<std::string> sent;
  for (const bool idempotent : {false, true}) {
    CAPTURE(idempotent);
    ProducerOptions o;
    o.idempotent = idempotent;
    o.batch_bytes = 1 << 30;  // only the segment limit cuts
    o.linger_ns = 60 * base::kNanosPerSecond;
    auto producer = *Producer::Create(*cluster, o);
    // Several segments' worth in one flush, with messages of 40 KiB among them that are each a
    // batch of their own.
    for (int i = 0; i < 60; ++i) {
      Message m;
      m.value = absl::StrCat(sent.size(), ":", std::string(i % 10 == 3 ? 40 << 10 : 3000, 'x'));
      sent.push_back(m.value);
      REQUIRE(producer->Send("t", std::move(m), acks.Callback()).ok());
    }
    producer->Flush();
  }
  REQUIRE(acks.got.size() == sent.size());
  for (size_t i = 0; i < acks.got.size(); ++i) {
    CAPTURE(i);
    REQUIRE(acks.got[i].ok());
    CHECK(acks.got[i]->offset == i);
  }
  CHECK(Values(ReadAll(*cluster, "t", 0)) == sent);
}

Message Value(std::string value) {
  Message m;
  m.value = std::move(value);
  return m;
}

// Sends `value` to `partition` and waits for its callback.
absl::StatusOr<Ack> SendAndWait(Producer& producer, uint32_t partition, const std::string& value) {
  Acks acks;
  Message m;
  m.value = value;
  KEEL_RETURN_IF_ERROR(producer.SendTo("t", partition, m, acks.Callback()));
  producer.Flush();
  REQUIRE(acks.got.size() == 1);
  return acks.got[0];
}

TEST_CASE(
    "An idempotent producer bumps its epoch after a batch it gave up and later sends are kept") {
  test::FlakyCluster flaky(1);
  test::FlakyFileSystem& fs = flaky.fs;
  std::unique_ptr<Cluster>& cluster = flaky.cluster;
  REQUIRE(cluster->CreateTopic("t", {.partitions = 2, .replication_factor = 1}).ok());
  ProducerOptions o;
  o.idempotent = true;
  o.acks = keel::mq::Acks::kLeader;
  auto producer = *Producer::Create(*cluster, o);
  const ProducerIdAndEpoch first = producer->identity();
  CHECK(first.epoch == 0);
  REQUIRE(SendAndWait(*producer, 1, "before").ok());
  REQUIRE(SendAndWait(*producer, 0, "zero").ok());
  // The leader writes "one" to its log, but the sync fails: the broker has the batch (and its
  // sequence number) while the producer hears an error that says nothing of it.
  fs.FailSyncsUnder("/broker-0/t-0/log");
  CHECK(!SendAndWait(*producer, 0, "one").ok());
  fs.FailSyncsUnder("");
  // Same id, next epoch: the partitions take sequence 0 again from it.
  CHECK(producer->identity() == ProducerIdAndEpoch{first.id, 1});
  // The log refuses writes after a failed sync until it is opened again.
  REQUIRE(cluster->StopBroker(0).ok());
  REQUIRE(cluster->StartBroker(0).ok());
  // Numbered like "one" in the old epoch, "two" would be dropped as its duplicate.
  for (const auto& [partition, value] :
       std::vector<std::pair<uint32_t, std::string>>{{0, "two"}, {1, "after"}}) {
    const absl::StatusOr<Ack> ack = SendAndWait(*producer, partition, value);
    REQUIRE(ack.ok());
    CHECK(!ack->duplicate);
  }
  CHECK(Values(ReadAll(*cluster, "t", 0)) == std::vector<std::string>{"zero", "one", "two"});
  CHECK(Values(ReadAll(*cluster, "t", 1)) == std::vector<std::string>{"before", "after"});
  for (uint32_t p = 0; p < 2; ++p) {
    const Message last = ReadAll(*cluster, "t", p).back().message;
    CHECK(last.producer_id == first.id);
    CHECK(last.producer_epoch == 1);
    CHECK(last.sequence == 0);
  }
}

TEST_CASE("A named producer refuses sends while it cannot bump its epoch and resumes once it can") {
  test::FlakyCluster flaky(1);
  test::FlakyFileSystem& fs = flaky.fs;
  std::unique_ptr<Cluster>& cluster = flaky.cluster;
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 1}).ok());
  ProducerOptions o;
  o.idempotent = true;
  o.name = "billing";
  o.acks = keel::mq::Acks::kLeader;
  auto producer = *Producer::Create(*cluster, o);
  const ProducerIdAndEpoch first = producer->identity();
  REQUIRE(SendAndWait(*producer, 0, "zero").ok());
  // Every sync fails: the send, and the new epoch the cluster would have to store for the name.
  fs.FailSyncsUnder(flaky.dir.path());
  CHECK(!SendAndWait(*producer, 0, "one").ok());
  for (int attempt = 0; attempt < 2; ++attempt) {
    const absl::Status refused = producer->Send("t", Value("refused"));
    CAPTURE(refused);
    CHECK(!refused.ok());
    CHECK(absl::StrContains(refused.message(), "cannot bump its epoch"));
  }
  fs.FailSyncsUnder("");
  REQUIRE(cluster->StopBroker(0).ok());
  REQUIRE(cluster->StartBroker(0).ok());
  const absl::StatusOr<Ack> two = SendAndWait(*producer, 0, "two");
  REQUIRE(two.ok());
  CHECK(!two->duplicate);
  CHECK(producer->identity() == ProducerIdAndEpoch{first.id, first.epoch + 1});
  CHECK(Values(ReadAll(*cluster, "t", 0)) == std::vector<std::string>{"zero", "one", "two"});
}

TEST_CASE("A restarted named producer fences its zombie in every partition") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 2, .replication_factor = 2}).ok());
  ProducerOptions o;
  o.idempotent = true;
  o.name = "orders-writer";
  auto zombie = *Producer::Create(*cluster, o);
  REQUIRE(SendAndWait(*zombie, 0, "old 1").ok());
  // The same name again: the same id, a higher epoch.
  auto fresh = *Producer::Create(*cluster, o);
  CHECK(fresh->identity() ==
        ProducerIdAndEpoch{zombie->identity().id, zombie->identity().epoch + 1});
  REQUIRE(SendAndWait(*fresh, 0, "new 1").ok());
  // The zombie is refused where the new instance wrote (the partition's own check), where it did
  // not (the cluster's), and from then on by its own Send.
  for (const uint32_t partition : {0u, 1u}) {
    CAPTURE(partition);
    const absl::StatusOr<Ack> refused = SendAndWait(*zombie, partition, "old 2");
    CHECK(ErrorOf(refused.status()) == Error::kProducerFenced);
    CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  }
  CHECK(ErrorOf(zombie->Send("t", Value("old 3"))) == Error::kProducerFenced);
  REQUIRE(SendAndWait(*fresh, 1, "new 2").ok());
  CHECK(Values(ReadAll(*cluster, "t", 0)) == std::vector<std::string>{"old 1", "new 1"});
  CHECK(Values(ReadAll(*cluster, "t", 1)) == std::vector<std::string>{"new 2"});
  // The name's epoch survives a restart of the cluster.
  zombie.reset();
  fresh.reset();
  cluster.reset();
  cluster = *Cluster::Open(dir.path(), Manual(&clock));
  auto third = *Producer::Create(*cluster, o);
  CHECK(third->identity().epoch == 2);
}

TEST_CASE("A retried batch keeps its numbers and is appended once") {
  test::FlakyCluster flaky;
  test::FlakyFileSystem& fs = flaky.fs;
  std::unique_ptr<Cluster>& cluster = flaky.cluster;
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 2}).ok());
  const PartitionState state = *cluster->DescribePartition("t", 0);
  const uint32_t follower = state.replicas[0].broker == *state.leader ? state.replicas[1].broker
                                                                      : state.replicas[0].broker;
  ProducerOptions o;
  o.idempotent = true;
  o.retries = 1000;
  o.retry_backoff_ns = base::kNanosPerMilli;
  auto producer = *Producer::Create(*cluster, o);
  const ProducerIdAndEpoch identity = producer->identity();
  REQUIRE(SendAndWait(*producer, 0, "first").ok());
  // The follower stops, but its leaving the ISR cannot be written: it stays in the ISR, and
  // acks=all times out (retriably) with the batch on the leader.
  fs.FailSyncsUnder("/partitions");
  CHECK(!cluster->StopBroker(follower).ok());
  Acks acks;
  REQUIRE(producer->SendTo("t", 0, Value("second"), acks.Callback()).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a few attempts
  // Maintenance writes the smaller ISR: the next retry finds its batch committed.
  fs.FailSyncsUnder("");
  REQUIRE(cluster->Tick().ok());
  producer->Flush();
  REQUIRE(acks.got.size() == 1);
  REQUIRE(acks.got[0].ok());
  CHECK(acks.got[0]->duplicate);
  CHECK(acks.got[0]->offset == 1);
  CHECK(producer->identity() == identity);
  CHECK(Values(ReadAll(*cluster, "t", 0)) == std::vector<std::string>{"first", "second"});
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
