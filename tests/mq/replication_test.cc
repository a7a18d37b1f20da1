// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The replication guarantees of keel/mq/cluster.h: min.insync.replicas, a high watermark of
// durable messages only, leader epochs deciding truncation, the ISR written before it is relied
// on, damaged replicas, and producer state that needs no scan of the log.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "keel/base/clock.h"
#include "keel/mq/cluster.h"
#include "keel/mq/errors.h"
#include "keel/wal/format.h"
#include "mq/mq_testing.h"
#include "testing/testing.h"

namespace keel::mq {
namespace {

using test::AFollower;
using test::FlakyFileSystem;
using test::Manual;
using test::ProduceOne;
using test::ReadAll;
using test::Text;

bool HasEvent(Cluster& cluster, const std::string& text) {
  for (const Cluster::Event& e : cluster.TakeEvents()) {
    if (absl::StrContains(e.text, text)) return true;
  }
  return false;
}

// The segment files of broker `broker`'s replica of t-0, oldest first.
std::vector<std::string> Segments(const std::string& dir, uint32_t broker) {
  std::vector<std::string> out;
  for (const auto& entry :
       std::filesystem::directory_iterator(absl::StrCat(dir, "/broker-", broker, "/t-0/log"))) {
    if (entry.path().extension() == wal::kSegmentSuffix) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void FlipByte(const std::string& path, uint64_t at) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(at));
  const char c = static_cast<char>(file.get());
  file.seekp(static_cast<std::streamoff>(at));
  file.put(static_cast<char>(c ^ 0x40));
}

TEST_CASE("Acks all is refused before the append when the ISR is below min_insync_replicas") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  CHECK(cluster->CreateTopic("t", {.replication_factor = 3, .min_insync_replicas = 4}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(cluster->CreateTopic("t", {.replication_factor = 3, .min_insync_replicas = 0}).code() ==
        absl::StatusCode::kInvalidArgument);
  REQUIRE(cluster->CreateTopic("t", {.replication_factor = 3, .min_insync_replicas = 2}).ok());
  CHECK(cluster->GetTopic("t")->min_insync_replicas == 2);
  REQUIRE(ProduceOne(*cluster, "t", 0, "a", Acks::kAll).ok());
  const uint32_t leader = *cluster->DescribePartition("t", 0)->leader;
  for (uint32_t b = 0; b < 3; ++b) {
    if (b != leader) REQUIRE(cluster->StopBroker(b).ok());
  }
  const absl::Status refused = ProduceOne(*cluster, "t", 0, "b", Acks::kAll).status();
  CHECK(refused.code() == absl::StatusCode::kUnavailable);
  CHECK(ErrorOf(refused) == Error::kNotEnoughReplicas);
  CHECK(cluster->DescribePartition("t", 0)->log_end == 1);  // nothing appended
  // acks=1 asks nothing of the ISR.
  CHECK(ProduceOne(*cluster, "t", 0, "c", Acks::kLeader)->base_offset == 1);
  // With one follower back and caught up, acks=all goes through again.
  REQUIRE(cluster->StartBroker((leader + 1) % 3).ok());
  REQUIRE(cluster->Replicate().ok());
  CHECK(ProduceOne(*cluster, "t", 0, "d", Acks::kAll)->base_offset == 2);
  // The setting survives a restart.
  cluster.reset();
  cluster = *Cluster::Open(dir.path(), Manual(&clock));
  CHECK(cluster->GetTopic("t")->min_insync_replicas == 2);
}

TEST_CASE("Acks all reports NotEnoughReplicasAfterAppend when the ISR shrank during the wait") {
  testing::TempDir dir;
  FlakyFileSystem fs;
  ClusterOptions o;
  o.file_system = &fs;
  o.replica_lag_max_ns = 30 * base::kNanosPerMilli;
  o.request_timeout_ns = 20 * base::kNanosPerSecond;
  auto cluster = *Cluster::Open(dir.path(), o);
  REQUIRE(cluster->CreateTopic("t", {.replication_factor = 2, .min_insync_replicas = 2}).ok());
  REQUIRE(ProduceOne(*cluster, "t", 0, "a", Acks::kAll).ok());
  // The follower's disk stops taking writes: it cannot copy, and leaves the ISR for lagging.
  fs.FailSyncsUnder(absl::StrCat("/broker-", AFollower(*cluster, "t", 0), "/t-0/log"));
  Message m = Text("b");
  m.producer_id = *cluster->NewProducerId();
  const absl::Status shrank = cluster->Produce("t", 0, {&m, 1}, Acks::kAll).status();
  CHECK(shrank.code() == absl::StatusCode::kUnavailable);
  CHECK(ErrorOf(shrank) == Error::kNotEnoughReplicasAfterAppend);
  // The message is on the leader (committed by the smaller ISR); the retry, which would find it,
  // is refused before the append instead.
  CHECK(ReadAll(*cluster, "t", 0) == std::map<uint64_t, std::string>{{0, "a"}, {1, "b"}});
  CHECK(ErrorOf(cluster->Produce("t", 0, {&m, 1}, Acks::kAll).status()) ==
        Error::kNotEnoughReplicas);
  fs.FailSyncsUnder("");
}

TEST_CASE("The high watermark covers only what the leader holds durably") {
  test::FlakyCluster flaky;
  test::FlakyFileSystem& fs = flaky.fs;
  std::unique_ptr<Cluster>& cluster = flaky.cluster;
  REQUIRE(cluster->CreateTopic("t", {.replication_factor = 3}).ok());
  const uint32_t leader = *cluster->DescribePartition("t", 0)->leader;
  // The leader cannot sync: the followers copy and sync acks=0 messages, but a crash of the
  // leader's broker could still take them from it, so they are not committed.
  fs.FailSyncsUnder(absl::StrCat("/broker-", leader, "/t-0/log"));
  REQUIRE(ProduceOne(*cluster, "t", 0, "fire", Acks::kNone).ok());
  CHECK(!cluster->Replicate().ok());  // the round that would sync the leader fails
  PartitionState state = *cluster->DescribePartition("t", 0);
  CHECK(state.high_watermark == 0);
  for (const ReplicaState& r : state.replicas) CHECK(r.log_end == 1);
  CHECK(ReadAll(*cluster, "t", 0).empty());
  // A leader whose syncs work again: the next round syncs it, without any producer waiting.
  fs.FailSyncsUnder("");
  REQUIRE(cluster->StopBroker(leader).ok());  // its log refuses writes after the failed sync
  REQUIRE(cluster->StartBroker(leader).ok());
  REQUIRE(ProduceOne(*cluster, "t", 0, "forget", Acks::kNone).ok());
  CHECK(cluster->DescribePartition("t", 0)->high_watermark == 1);
  REQUIRE(cluster->Replicate().ok());
  CHECK(ReadAll(*cluster, "t", 0) == std::map<uint64_t, std::string>{{0, "fire"}, {1, "forget"}});
  // Without a producer waiting, maintenance syncs what is still unsynced a tick later (a fresh
  // tail it leaves to the producers that sync it themselves).
  REQUIRE(cluster->CreateTopic("alone", {.replication_factor = 1}).ok());
  REQUIRE(ProduceOne(*cluster, "alone", 0, "x", Acks::kNone).ok());
  CHECK(cluster->DescribePartition("alone", 0)->high_watermark == 0);
  REQUIRE(cluster->Tick().ok());
  CHECK(cluster->DescribePartition("alone", 0)->high_watermark == 0);
  REQUIRE(cluster->Tick().ok());
  CHECK(cluster->DescribePartition("alone", 0)->high_watermark == 1);
}

// The scenario cut files could not survive: a replica out of the ISR, with a longer log than the
// leader, when the process ends without it having written anything (a crash writes nothing).
TEST_CASE("A reopened cluster elects from the written ISR not the longest log") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  uint32_t old_leader = 0;
  {
    auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
    REQUIRE(cluster->CreateTopic("t", {.replication_factor = 2}).ok());
    REQUIRE(ProduceOne(*cluster, "t", 0, "x", Acks::kAll).ok());
    old_leader = *cluster->DescribePartition("t", 0)->leader;
    for (const char* lost : {"y1", "y2", "y3"}) {
      REQUIRE(ProduceOne(*cluster, "t", 0, lost, Acks::kLeader).ok());
    }
    REQUIRE(cluster->StopBroker(old_leader).ok());
    REQUIRE(ProduceOne(*cluster, "t", 0, "z", Acks::kAll)->base_offset == 1);
  }
  for (uint32_t b = 0; b < 3; ++b) {
    for (const auto& entry :
         std::filesystem::directory_iterator(absl::StrCat(dir.path(), "/broker-", b))) {
      CHECK(entry.path().extension() != ".cut");
    }
  }
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  const PartitionState state = *cluster->DescribePartition("t", 0);
  CHECK(state.leader != old_leader);
  CHECK(ReadAll(*cluster, "t", 0) == std::map<uint64_t, std::string>{{0, "x"}, {1, "z"}});
  for (const ReplicaState& r : state.replicas) {
    CHECK(r.in_sync);
    CHECK(r.log_end == 2);
  }
  CHECK(HasEvent(*cluster, "cuts its log from 4 back to 1"));
}

TEST_CASE("A replica that returns with a divergent tail cuts it where the epochs part") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.replication_factor = 2}).ok());
  REQUIRE(ProduceOne(*cluster, "t", 0, "x", Acks::kAll).ok());
  const uint32_t a = *cluster->DescribePartition("t", 0)->leader;
  const uint32_t b = AFollower(*cluster, "t", 0);
  for (const char* lost : {"y1", "y2"}) {
    REQUIRE(ProduceOne(*cluster, "t", 0, lost, Acks::kLeader).ok());
  }
  REQUIRE(cluster->StopBroker(a).ok());  // crashes: nothing is written for it
  for (const char* value : {"z1", "z2", "z3"}) {
    REQUIRE(ProduceOne(*cluster, "t", 0, value, Acks::kAll).ok());
  }
  REQUIRE(cluster->StartBroker(a).ok());
  REQUIRE(cluster->Replicate().ok());
  CHECK(HasEvent(*cluster, "cuts its log from 3 back to 1"));
  const std::map<uint64_t, std::string> want = {{0, "x"}, {1, "z1"}, {2, "z2"}, {3, "z3"}};
  CHECK(ReadAll(*cluster, "t", 0) == want);
  // What `a` holds now, read from it as the leader.
  REQUIRE(cluster->StopBroker(b).ok());
  CHECK(cluster->DescribePartition("t", 0)->leader == a);
  CHECK(ReadAll(*cluster, "t", 0) == want);
  for (const auto& [offset, value] : want) {
    CHECK(
        cluster->Fetch("t", 0, offset, {.max_messages = 1})->messages.at(0).message.leader_epoch ==
        (offset == 0 ? 1u : 2u));
  }
}

TEST_CASE("The high watermark waits for a replica whose leaving the ISR is not yet written") {
  test::FlakyCluster flaky;
  test::FlakyFileSystem& fs = flaky.fs;
  std::unique_ptr<Cluster>& cluster = flaky.cluster;
  REQUIRE(cluster->CreateTopic("t", {.replication_factor = 2}).ok());
  REQUIRE(ProduceOne(*cluster, "t", 0, "a", Acks::kAll).ok());
  const uint32_t follower = AFollower(*cluster, "t", 0);
  fs.FailSyncsUnder("/partitions");
  CHECK(!cluster->StopBroker(follower).ok());
  CHECK(cluster->DescribePartition("t", 0)->replicas.size() == 2);
  CHECK(ProduceOne(*cluster, "t", 0, "b", Acks::kAll).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(!cluster->Tick().ok());
  CHECK(cluster->DescribePartition("t", 0)->high_watermark == 1);  // still waiting for it
  // Once the smaller ISR is written, the leader alone commits.
  fs.FailSyncsUnder("");
  REQUIRE(cluster->Tick().ok());
  const PartitionState state = *cluster->DescribePartition("t", 0);
  CHECK(state.high_watermark == 2);
  for (const ReplicaState& r : state.replicas) CHECK(r.in_sync == (r.broker != follower));
}

TEST_CASE("A replica damaged on disk leaves the ISR and copies from a healthy leader") {
  for (const bool damage_leader : {true, false}) {
    CAPTURE(damage_leader);
    testing::TempDir dir;
    base::ManualClock clock(1'000);
    ClusterOptions o = Manual(&clock);
    o.segment_bytes = 1 << 20;  // one segment: Open reads it whole and finds the damage
    std::map<uint64_t, std::string> want;
    uint32_t damaged = 0;
    {
      auto cluster = *Cluster::Open(dir.path(), o);
      REQUIRE(cluster->CreateTopic("t", {.replication_factor = 3}).ok());
      for (int i = 0; i < 200; ++i) {
        REQUIRE(ProduceOne(*cluster, "t", 0, absl::StrCat("m", i), Acks::kAll).ok());
      }
      want = ReadAll(*cluster, "t", 0);
      damaged =
          damage_leader ? *cluster->DescribePartition("t", 0)->leader : AFollower(*cluster, "t", 0);
    }
    // A bit flips in the middle of the replica's synced segment.
    const std::vector<std::string> segments = Segments(dir.path(), damaged);
    REQUIRE(segments.size() == 1);
    FlipByte(segments[0], std::filesystem::file_size(segments[0]) / 2);
    auto cluster = *Cluster::Open(dir.path(), o);
    CHECK(HasEvent(*cluster, absl::StrCat("t-0 on broker ", damaged, " is damaged")));
    PartitionState state = *cluster->DescribePartition("t", 0);
    CHECK(state.leader != damaged);  // never over a healthy in-sync replica
    CHECK(ReadAll(*cluster, "t", 0) == want);
    // It copied back what the damage cut, and is in the ISR again: read it as the leader.
    for (const ReplicaState& r : state.replicas) CHECK(r.in_sync);
    for (uint32_t b = 0; b < 3; ++b) {
      if (b != damaged) REQUIRE(cluster->StopBroker(b).ok());
    }
    CHECK(cluster->DescribePartition("t", 0)->leader == damaged);
    CHECK(ReadAll(*cluster, "t", 0) == want);
  }
}

TEST_CASE("A partition whose only replica is damaged opens with what the damage left") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  ClusterOptions o = Manual(&clock, 1);
  o.segment_bytes = 1 << 20;
  {
    auto cluster = *Cluster::Open(dir.path(), o);
    REQUIRE(cluster->CreateTopic("t", {}).ok());
    REQUIRE(cluster->CreateTopic("other", {}).ok());
    for (int i = 0; i < 100; ++i) {
      REQUIRE(ProduceOne(*cluster, "t", 0, absl::StrCat("m", i), Acks::kAll).ok());
      REQUIRE(ProduceOne(*cluster, "other", 0, absl::StrCat("o", i), Acks::kAll).ok());
    }
  }
  const std::vector<std::string> segments = Segments(dir.path(), 0);
  FlipByte(segments[0], std::filesystem::file_size(segments[0]) / 2);
  auto cluster = *Cluster::Open(dir.path(), o);  // the rest of the cluster is not held up
  CHECK(HasEvent(*cluster, "messages after its damage may be lost"));
  const std::map<uint64_t, std::string> left = ReadAll(*cluster, "t", 0);
  CHECK(left.size() > 10);
  CHECK(left.size() < 100);
  for (const auto& [offset, value] : left) CHECK(value == absl::StrCat("m", offset));
  CHECK(ReadAll(*cluster, "other", 0).size() == 100);
  CHECK(ProduceOne(*cluster, "t", 0, "after", Acks::kAll)->base_offset == left.size());
}

TEST_CASE("Neither a reopen nor an election reads the log to rebuild producer state") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  FlakyFileSystem fs;
  ClusterOptions o = Manual(&clock);
  o.file_system = &fs;
  o.segment_bytes = 16 << 10;
  o.max_message_bytes = 4 << 10;
  const uint64_t producer = [&] {
    auto cluster = *Cluster::Open(dir.path(), o);
    REQUIRE(cluster->CreateTopic("t", {.replication_factor = 2}).ok());
    return *cluster->NewProducerId();
  }();
  auto batch = [&](uint64_t first) {
    std::vector<Message> out;
    for (uint64_t i = first; i < first + 10; ++i) {
      Message m = Text(std::string(100, 'v'));
      m.producer_id = producer;
      m.sequence = i;
      out.push_back(m);
    }
    return out;
  };
  {
    auto cluster = *Cluster::Open(dir.path(), o);
    for (uint64_t first = 0; first < 4000; first += 10) {
      REQUIRE(cluster->Produce("t", 0, batch(first), Acks::kAll).ok());
      if (first % 500 == 0) REQUIRE(cluster->Tick().ok());  // snapshots as it goes
    }
  }
  const uint64_t log_bytes = [&] {
    uint64_t total = 0;
    for (const std::string& s : Segments(dir.path(), 0)) total += std::filesystem::file_size(s);
    return total;
  }();
  REQUIRE(log_bytes > 30 * o.segment_bytes);
  fs.CountReadsUnder("/t-0/log/");
  auto cluster = *Cluster::Open(dir.path(), o);
  CAPTURE(log_bytes);
  // Each replica's active segment, which every Open of a log reads whole, and the sealed
  // segments' small index files: not the log.
  CHECK(fs.bytes_read() < 3 * o.segment_bytes);
  fs.CountReadsUnder("/t-0/log/");
  REQUIRE(cluster->StopBroker(*cluster->DescribePartition("t", 0)->leader).ok());
  CHECK(fs.bytes_read() == 0);
  // And the producer state is whole: the last batch is a duplicate, the next one is new.
  const ProduceResult again = *cluster->Produce("t", 0, batch(3990), Acks::kAll);
  CHECK(again.duplicate);
  CHECK(again.base_offset == 3990);
  CHECK(!cluster->Produce("t", 0, batch(4000), Acks::kAll)->duplicate);
  CHECK(cluster->Produce("t", 0, batch(4020), Acks::kAll).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace keel::mq
