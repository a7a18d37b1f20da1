// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/cluster.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/memory_file_system.h"
#include "mq/mq_testing.h"
#include "testing/testing.h"

namespace keel::mq {
namespace {

using test::Manual;
using test::ProduceOne;
using test::ReadAll;
using test::Text;

TEST_CASE("Cluster appends and fetches messages with consecutive offsets") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("orders", {.partitions = 2, .replication_factor = 3}).ok());
  std::vector<Message> batch = {Text("a"), Text("b"), Text("c")};
  const ProduceResult first = *cluster->Produce("orders", 1, batch, Acks::kAll);
  CHECK(first.partition == 1);
  CHECK(first.base_offset == 0);
  CHECK(first.count == 3);
  CHECK(ProduceOne(*cluster, "orders", 1, "d", Acks::kAll)->base_offset == 3);
  CHECK(ReadAll(*cluster, "orders", 1) ==
        std::map<uint64_t, std::string>{{0, "a"}, {1, "b"}, {2, "c"}, {3, "d"}});
  CHECK(ReadAll(*cluster, "orders", 0).empty());
  const FetchResult fetched = *cluster->Fetch("orders", 1, 2, {.max_messages = 1});
  REQUIRE(fetched.messages.size() == 1);
  CHECK(fetched.messages[0].offset == 2);
  CHECK(fetched.messages[0].message.value == "c");
  CHECK(fetched.next_offset == 3);
  CHECK(fetched.high_watermark == 4);
  CHECK(cluster->Topics() == std::vector<std::string>{"orders"});
}

TEST_CASE("Consumers see only messages every in-sync replica has") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 3}).ok());
  // Acks 0 and 1 return before the followers have the messages: not committed yet.
  CHECK(ProduceOne(*cluster, "t", 0, "fire", Acks::kNone)->base_offset == 0);
  CHECK(ProduceOne(*cluster, "t", 0, "leader", Acks::kLeader)->base_offset == 1);
  PartitionState state = *cluster->DescribePartition("t", 0);
  CHECK(state.log_end == 2);
  CHECK(state.high_watermark == 0);
  CHECK(ReadAll(*cluster, "t", 0).empty());
  CHECK(cluster->Fetch("t", 0, 1, {}).status().code() == absl::StatusCode::kOutOfRange);
  // One replication round: every follower copies and the high watermark moves.
  REQUIRE(cluster->Replicate().ok());
  state = *cluster->DescribePartition("t", 0);
  CHECK(state.high_watermark == 2);
  for (const ReplicaState& r : state.replicas) {
    CHECK(r.up);
    CHECK(r.in_sync);
    CHECK(r.log_end == 2);
  }
  // Acks all waits for the followers.
  CHECK(ProduceOne(*cluster, "t", 0, "all", Acks::kAll)->base_offset == 2);
  CHECK(cluster->DescribePartition("t", 0)->high_watermark == 3);
  CHECK(ReadAll(*cluster, "t", 0) ==
        std::map<uint64_t, std::string>{{0, "fire"}, {1, "leader"}, {2, "all"}});
}

TEST_CASE("A stopped leader is replaced from the ISR and catches up when it starts") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 3}).ok());
  for (int i = 0; i < 5; ++i)
    REQUIRE(ProduceOne(*cluster, "t", 0, absl::StrCat(i), Acks::kAll).ok());
  const uint32_t old_leader = *cluster->DescribePartition("t", 0)->leader;
  // Two messages only the leader has (acks 1), then the leader stops: they were never committed.
  REQUIRE(ProduceOne(*cluster, "t", 0, "lost 5", Acks::kLeader).ok());
  REQUIRE(ProduceOne(*cluster, "t", 0, "lost 6", Acks::kLeader).ok());
  REQUIRE(cluster->StopBroker(old_leader).ok());
  PartitionState state = *cluster->DescribePartition("t", 0);
  REQUIRE(state.leader.has_value());
  CHECK(*state.leader != old_leader);
  CHECK(state.leader_epoch == 2);
  CHECK(state.high_watermark == 5);
  // The new leader takes new messages at the offsets the old one had used.
  CHECK(ProduceOne(*cluster, "t", 0, "new 5", Acks::kAll)->base_offset == 5);
  CHECK(ProduceOne(*cluster, "t", 0, "new 6", Acks::kAll)->base_offset == 6);
  REQUIRE(cluster->StartBroker(old_leader).ok());
  state = *cluster->DescribePartition("t", 0);
  CHECK(*state.leader != old_leader);  // no automatic move back
  REQUIRE(cluster->Replicate().ok());
  state = *cluster->DescribePartition("t", 0);
  for (const ReplicaState& r : state.replicas) {
    CHECK(r.in_sync);
    CHECK(r.log_end == 7);
  }
  const auto all = ReadAll(*cluster, "t", 0);
  CHECK(all.at(5) == "new 5");
  CHECK(all.at(6) == "new 6");
  // The old leader really threw away its uncommitted tail: make it the only replica left.
  for (uint32_t b = 0; b < 3; ++b) {
    if (b != old_leader) REQUIRE(cluster->StopBroker(b).ok());
  }
  CHECK(*cluster->DescribePartition("t", 0)->leader == old_leader);
  CHECK(ReadAll(*cluster, "t", 0) == all);
  const std::vector<Cluster::Event> events = cluster->TakeEvents();
  CHECK(std::any_of(events.begin(), events.end(), [](const Cluster::Event& e) {
    return absl::StrContains(e.text, "cuts its log from 7 back to 5");
  }));
}

TEST_CASE("A partition whose in-sync replicas are all down is offline until one starts") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 2}).ok());
  REQUIRE(ProduceOne(*cluster, "t", 0, "x", Acks::kAll).ok());
  const PartitionState state = *cluster->DescribePartition("t", 0);
  const uint32_t leader = *state.leader;
  const uint32_t follower =
      state.replicas[0].broker == leader ? state.replicas[1].broker : state.replicas[0].broker;
  REQUIRE(cluster->StopBroker(follower).ok());
  REQUIRE(ProduceOne(*cluster, "t", 0, "only on the leader", Acks::kAll).ok());
  REQUIRE(cluster->StopBroker(leader).ok());
  CHECK(!cluster->DescribePartition("t", 0)->leader.has_value());
  CHECK(ProduceOne(*cluster, "t", 0, "y", Acks::kAll).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(cluster->Fetch("t", 0, 0, {}).status().code() == absl::StatusCode::kUnavailable);
  // The follower left the ISR before the last message: it must not lead (that would lose it).
  REQUIRE(cluster->StartBroker(follower).ok());
  CHECK(!cluster->DescribePartition("t", 0)->leader.has_value());
  REQUIRE(cluster->StartBroker(leader).ok());
  CHECK(*cluster->DescribePartition("t", 0)->leader == leader);
  REQUIRE(cluster->Replicate().ok());
  CHECK(ReadAll(*cluster, "t", 0) ==
        std::map<uint64_t, std::string>{{0, "x"}, {1, "only on the leader"}});
}

TEST_CASE("A topic created while all its brokers are down gets a leader when one starts") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  for (uint32_t b = 0; b < 3; ++b) REQUIRE(cluster->StopBroker(b).ok());
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 2}).ok());
  CHECK(!cluster->DescribePartition("t", 0)->leader.has_value());
  const uint32_t first = cluster->DescribePartition("t", 0)->replicas[1].broker;
  REQUIRE(cluster->StartBroker(first).ok());
  CHECK(*cluster->DescribePartition("t", 0)->leader == first);
  CHECK(ProduceOne(*cluster, "t", 0, "x", Acks::kAll)->base_offset == 0);
  for (uint32_t b = 0; b < 3; ++b) REQUIRE(cluster->StartBroker(b).ok());
  REQUIRE(cluster->Replicate().ok());
  const PartitionState state = *cluster->DescribePartition("t", 0);
  for (const ReplicaState& r : state.replicas) CHECK(r.in_sync);
}

TEST_CASE("The last in-sync replica keeps its log through a stop and a reopen") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  uint32_t leader = 0;
  {
    auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
    REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 2}).ok());
    REQUIRE(ProduceOne(*cluster, "t", 0, "both", Acks::kAll).ok());
    const PartitionState state = *cluster->DescribePartition("t", 0);
    leader = *state.leader;
    const uint32_t follower =
        state.replicas[0].broker == leader ? state.replicas[1].broker : state.replicas[0].broker;
    REQUIRE(cluster->StopBroker(follower).ok());
    REQUIRE(ProduceOne(*cluster, "t", 0, "leader alone", Acks::kAll).ok());
    REQUIRE(cluster->StopBroker(leader).ok());
  }
  // The follower was cut back to the high watermark it knew (1); the leader keeps both.
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  CHECK(*cluster->DescribePartition("t", 0)->leader == leader);
  CHECK(ReadAll(*cluster, "t", 0) ==
        std::map<uint64_t, std::string>{{0, "both"}, {1, "leader alone"}});
  const PartitionState state = *cluster->DescribePartition("t", 0);
  for (const ReplicaState& r : state.replicas) {
    CHECK(r.in_sync);
    CHECK(r.log_end == 2);
  }
}

TEST_CASE("A follower far behind copies in batches that fit a segment") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));  // 64 KiB segments
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 2}).ok());
  const PartitionState state = *cluster->DescribePartition("t", 0);
  const uint32_t follower = state.replicas[0].broker == *state.leader ? state.replicas[1].broker
                                                                      : state.replicas[0].broker;
  REQUIRE(cluster->StopBroker(follower).ok());
  for (int i = 0; i < 60; ++i) {
    REQUIRE(ProduceOne(*cluster, "t", 0, std::string(8 << 10, static_cast<char>('a' + i % 26)),
                       Acks::kAll)
                .ok());
  }
  REQUIRE(cluster->StartBroker(follower).ok());
  for (int round = 0; round < 20; ++round) REQUIRE(cluster->Replicate().ok());
  const PartitionState after = *cluster->DescribePartition("t", 0);
  for (const ReplicaState& r : after.replicas) {
    CHECK(r.in_sync);
    CHECK(r.log_end == 60);
  }
}

TEST_CASE("A lagging follower leaves the ISR after replica_lag_max_ns and rejoins") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  ClusterOptions o = Manual(&clock);
  o.replica_lag_max_ns = 100 * base::kNanosPerMilli;
  auto cluster = *Cluster::Open(dir.path(), o);
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 2}).ok());
  REQUIRE(ProduceOne(*cluster, "t", 0, "a", Acks::kLeader).ok());
  clock.Advance(50 * base::kNanosPerMilli);
  REQUIRE(cluster->Tick().ok());
  CHECK(cluster->DescribePartition("t", 0)->replicas[1].in_sync);
  clock.Advance(100 * base::kNanosPerMilli);
  REQUIRE(cluster->Tick().ok());
  PartitionState state = *cluster->DescribePartition("t", 0);
  const auto follower =
      std::find_if(state.replicas.begin(), state.replicas.end(),
                   [&](const ReplicaState& r) { return r.broker != *state.leader; });
  CHECK(!follower->in_sync);
  CHECK(state.high_watermark == 1);  // the leader alone decides now
  REQUIRE(cluster->Replicate().ok());
  state = *cluster->DescribePartition("t", 0);
  for (const ReplicaState& r : state.replicas) CHECK(r.in_sync);
}

TEST_CASE("Committed messages survive any sequence of broker failures in random runs") {
  const uint64_t seed = keel::testing::TestSeed(204);
  CAPTURE(seed);
  base::Random rng(seed);
  const int runs = 6 * test::StressRounds();  // 12 by default
  for (int run = 0; run < runs; ++run) {
    CAPTURE(run);
    // In memory, under a file system that can lose power: the process sometimes ends in a crash.
    wal::MemoryFileSystem memory;
    wal::FaultInjectingFileSystem fs(memory);
    const std::string dir = "/mq";
    base::ManualClock clock(1'000);
    ClusterOptions o = Manual(&clock);
    o.file_system = &fs;
    o.segment_bytes = 8 << 10;
    o.max_message_bytes = 2 << 10;
    o.replica_lag_max_ns = 10 * base::kNanosPerMilli;
    o.retention_check_interval_ns = 0;
    // Some runs copy a message or a few per round, so followers are often far behind.
    o.max_replica_fetch = run % 3 == 0 ? 1 + static_cast<uint32_t>(rng.Uniform(4)) : 4096;
    // Some runs keep only about 16 KiB per replica, so retention races the followers.
    const uint64_t retention = run % 2 == 0 ? 16 << 10 : 0;
    CAPTURE(o.max_replica_fetch);
    CAPTURE(retention);
    auto cluster = std::move(*Cluster::Open(dir, o));
    REQUIRE(cluster
                ->CreateTopic(
                    "t", {.partitions = 2, .replication_factor = 3, .retention_bytes = retention})
                .ok());
    // The oracle: what consumers have seen at each offset must never change, and everything
    // acknowledged with acks=all must be there, unless retention has deleted it.
    std::map<std::pair<uint32_t, uint64_t>, std::string> seen, acked;
    auto check = [&](uint32_t partition) {
      const PartitionState state = *cluster->DescribePartition("t", partition);
      if (!state.leader) return;
      CHECK(state.log_start <= state.high_watermark);
      const auto all = ReadAll(*cluster, "t", partition);
      for (const auto& [offset, value] : all) {
        auto [it, fresh] = seen.try_emplace({partition, offset}, value);
        REQUIRE(it->second == value);
      }
      for (const auto& [key, value] : acked) {
        if (key.first == partition && key.second >= state.log_start) {
          CAPTURE(key.second);
          REQUIRE(all.contains(key.second));
          CHECK(all.at(key.second) == value);
        }
      }
    };
    // An idempotent producer per partition; after an error that is not a plain "no leader" it
    // takes a new id, as keel::mq::Producer does.
    uint64_t producer[2] = {*cluster->NewProducerId(), *cluster->NewProducerId()};
    uint64_t sequence[2] = {0, 0};
    int counter = 0;
    for (int step = 0; step < 300; ++step) {
      const uint64_t dice = rng.Uniform(100);
      const auto partition = static_cast<uint32_t>(rng.Uniform(2));
      if (dice < 55) {
        const Acks acks = static_cast<Acks>(rng.Uniform(3));
        Message m = Text(absl::StrCat("m", counter++));
        const bool idempotent = rng.Uniform(2) == 0;
        if (idempotent) {
          m.producer_id = producer[partition];
          m.sequence = sequence[partition];
        }
        absl::StatusOr<ProduceResult> r = cluster->Produce("t", partition, {&m, 1}, acks);
        if (idempotent && r.ok() && rng.Uniform(3) == 0) {
          // A retry, as after a lost answer: the same offset, nothing appended again.
          const absl::StatusOr<ProduceResult> retry =
              cluster->Produce("t", partition, {&m, 1}, acks);
          REQUIRE_MESSAGE(retry.ok(), retry.status());
          CHECK(retry->duplicate);
          CHECK(retry->base_offset == r->base_offset);
          r = retry;
        }
        if (r.ok() && acks == Acks::kAll) {
          acked[{partition, r->base_offset}] = m.value;
        }
        if (r.ok() && idempotent) ++sequence[partition];
        if (!r.ok()) {
          // No leader; or (acks all) the ISR did not confirm within this round of copying; or
          // an idempotent sequence the new leader never saw because its predecessor's copy of an
          // earlier message was lost.
          const bool expected = absl::IsUnavailable(r.status()) ||
                                absl::IsDeadlineExceeded(r.status()) ||
                                (idempotent && absl::IsFailedPrecondition(r.status()));
          CHECK_MESSAGE(expected, r.status());
          // The message may be on some replica: its sequence number is spent, and a new id is
          // the only way to go on (keel::mq::Producer does the same).
          if (idempotent) {
            producer[partition] = *cluster->NewProducerId();
            sequence[partition] = 0;
          }
        }
      } else if (dice < 64) {
        REQUIRE(cluster->StopBroker(static_cast<uint32_t>(rng.Uniform(3))).ok());
      } else if (dice < 78) {
        REQUIRE(cluster->StartBroker(static_cast<uint32_t>(rng.Uniform(3))).ok());
      } else if (dice < 90) {
        REQUIRE(cluster->Replicate().ok());
      } else if (dice < 98) {
        clock.Advance(static_cast<int64_t>(rng.Uniform(20)) * base::kNanosPerMilli);
        REQUIRE(cluster->Tick().ok());
      } else {
        // The process ends, with whatever brokers are down, and starts again: closed, or in a
        // power cut that keeps any state POSIX allows of what was not synced.
        if (rng.Uniform(2) == 0) {
          REQUIRE(cluster->Close().ok());
        } else {
          wal::PowerCutOptions cut;
          cut.stop_mutations = true;  // nothing the closing cluster writes lands after the cut
          REQUIRE(fs.PowerCut(rng, cut).ok());
          cluster.reset();
          fs.FailMutationsAfter(-1);
        }
        auto reopened = Cluster::Open(dir, o);
        REQUIRE_MESSAGE(reopened.ok(), reopened.status());
        cluster = std::move(*reopened);
      }
      check(partition);
    }
    // Everyone back, caught up, and in agreement; nothing acknowledged is missing. Then the same
    // after reopening the directory.
    for (uint32_t b = 0; b < 3; ++b) REQUIRE(cluster->StartBroker(b).ok());
    for (int round = 0; round < 400; ++round) REQUIRE(cluster->Replicate().ok());
    for (int reopen = 0; reopen < 2; ++reopen) {
      for (uint32_t p = 0; p < 2; ++p) {
        const PartitionState state = *cluster->DescribePartition("t", p);
        for (const ReplicaState& r : state.replicas) {
          CHECK(r.in_sync);
          CHECK(r.log_end == state.log_end);
        }
        check(p);
      }
      REQUIRE(cluster->Close().ok());
      cluster = std::move(*Cluster::Open(dir, o));
    }
  }
}

TEST_CASE("A broker still down when the process ends is cut back when the cluster reopens") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  std::map<uint64_t, std::string> want;
  {
    auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
    REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 2}).ok());
    REQUIRE(ProduceOne(*cluster, "t", 0, "committed", Acks::kAll).ok());
    const uint32_t leader = *cluster->DescribePartition("t", 0)->leader;
    REQUIRE(ProduceOne(*cluster, "t", 0, "uncommitted", Acks::kLeader).ok());
    REQUIRE(cluster->StopBroker(leader).ok());
    REQUIRE(ProduceOne(*cluster, "t", 0, "replacement", Acks::kAll).ok());
    want = ReadAll(*cluster, "t", 0);
    REQUIRE(want == std::map<uint64_t, std::string>{{0, "committed"}, {1, "replacement"}});
  }
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  CHECK(ReadAll(*cluster, "t", 0) == want);
  const PartitionState state = *cluster->DescribePartition("t", 0);
  for (const ReplicaState& r : state.replicas) CHECK(r.log_end == 2);
}

TEST_CASE("Topics offsets and messages persist across reopening and the directory is locked") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  {
    auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
    REQUIRE(cluster
                ->CreateTopic(
                    "a", {.partitions = 3, .replication_factor = 2, .retention_bytes = 1 << 20})
                .ok());
    REQUIRE(ProduceOne(*cluster, "a", 2, "kept", Acks::kLeader).ok());
    REQUIRE(cluster->CommitOffsets("g", "", 0, {{{"a", 2}, 1}}).ok());
    CHECK(Cluster::Open(dir.path(), Manual(&clock)).status().code() ==
          absl::StatusCode::kUnavailable);
  }
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  CHECK(*cluster->GetTopic("a") ==
        TopicConfig{.partitions = 3, .replication_factor = 2, .retention_bytes = 1 << 20});
  CHECK(ReadAll(*cluster, "a", 2) == std::map<uint64_t, std::string>{{0, "kept"}});
  CHECK(**cluster->CommittedOffset("g", {"a", 2}) == 1);
  CHECK(!cluster->CommittedOffset("g", {"a", 1})->has_value());
  ClusterOptions four = Manual(&clock, 4);
  cluster.reset();
  CHECK(Cluster::Open(dir.path(), four).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Cluster refuses bad input with errors naming the bad value") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  CHECK(cluster->CreateTopic("bad name", {}).code() == absl::StatusCode::kInvalidArgument);
  CHECK(cluster->CreateTopic("__mine", {}).code() == absl::StatusCode::kInvalidArgument);
  CHECK(cluster->CreateTopic("t", {.partitions = 0}).code() == absl::StatusCode::kInvalidArgument);
  CHECK(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 4}).code() ==
        absl::StatusCode::kInvalidArgument);
  REQUIRE(cluster->CreateTopic("t", {.partitions = 2}).ok());
  CHECK(cluster->CreateTopic("t", {.partitions = 2}).code() == absl::StatusCode::kAlreadyExists);
  CHECK(ProduceOne(*cluster, "nope", 0, "x", Acks::kAll).status().code() ==
        absl::StatusCode::kNotFound);
  const absl::Status partition = ProduceOne(*cluster, "t", 2, "x", Acks::kAll).status();
  CHECK(partition.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(partition.message(), "partition 2"));
  CHECK(cluster->Produce("t", 0, {}, Acks::kAll).status().code() ==
        absl::StatusCode::kInvalidArgument);
  const absl::Status big =
      ProduceOne(*cluster, "t", 0, std::string(20 << 10, 'x'), Acks::kAll).status();
  CHECK(big.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(big.message(), "max_message_bytes"));
  CHECK(ProduceOne(*cluster, "__delayed", 0, "x", Acks::kAll).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(cluster->Fetch("__delayed", 0, 0, {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(cluster->JoinGroup("g", "", {"__delayed"}, AssignmentStrategy::kRange).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(cluster->StopBroker(3).code() == absl::StatusCode::kInvalidArgument);
  // Nothing was stored by any of that.
  CHECK(ReadAll(*cluster, "t", 0).empty());
  // Options out of range are refused before anything is opened.
  testing::TempDir unused;
  ClusterOptions bad = Manual(&clock);
  bad.request_timeout_ns = INT64_MAX;
  const absl::Status timeout = Cluster::Open(unused.path(), bad).status();
  CHECK(timeout.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(timeout.message(), "request_timeout_ns"));
  bad = Manual(&clock);
  bad.retention_check_interval_ns = -1;
  CHECK(Cluster::Open(unused.path(), bad).status().code() == absl::StatusCode::kInvalidArgument);
  bad = Manual(&clock);
  bad.max_replica_fetch = 0;
  CHECK(Cluster::Open(unused.path(), bad).status().code() == absl::StatusCode::kInvalidArgument);
  // A directory that is not a cluster's is left alone.
  testing::TempDir other;
  std::ofstream(other.path() + "/precious") << "data";
  const absl::Status foreign = Cluster::Open(other.path(), Manual(&clock)).status();
  CHECK(foreign.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(foreign.message(), "precious"));
  CHECK(std::filesystem::exists(other.path() + "/precious"));
}

TEST_CASE("An idempotent producer's retried batch is appended once") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 2}).ok());
  const uint64_t producer = *cluster->NewProducerId();
  CHECK(*cluster->NewProducerId() == producer + 1);
  auto batch = [&](uint64_t first, int n) {
    std::vector<Message> out;
    for (int i = 0; i < n; ++i) {
      Message m = Text(absl::StrCat("seq ", first + static_cast<uint64_t>(i)));
      m.producer_id = producer;
      m.sequence = first + static_cast<uint64_t>(i);
      out.push_back(m);
    }
    return out;
  };
  CHECK(cluster->Produce("t", 0, batch(0, 3), Acks::kAll)->base_offset == 0);
  REQUIRE(ProduceOne(*cluster, "t", 0, "someone else", Acks::kAll).ok());
  CHECK(cluster->Produce("t", 0, batch(3, 2), Acks::kAll)->base_offset == 4);
  // The same batches again (a retry after a lost answer): the original offsets, nothing added.
  ProduceResult again = *cluster->Produce("t", 0, batch(0, 3), Acks::kAll);
  CHECK(again.duplicate);
  CHECK(again.base_offset == 0);
  again = *cluster->Produce("t", 0, batch(3, 2), Acks::kAll);
  CHECK(again.duplicate);
  CHECK(again.base_offset == 4);
  CHECK(cluster->DescribePartition("t", 0)->log_end == 6);
  // A retry of a batch appended with acks 1 waits, as the first attempt would have, for the ISR.
  CHECK(cluster->Produce("t", 0, batch(5, 1), Acks::kLeader)->base_offset == 6);
  CHECK(cluster->DescribePartition("t", 0)->high_watermark == 6);
  again = *cluster->Produce("t", 0, batch(5, 1), Acks::kAll);
  CHECK(again.duplicate);
  CHECK(cluster->DescribePartition("t", 0)->high_watermark == 7);
  // A gap is an error.
  CHECK(cluster->Produce("t", 0, batch(7, 1), Acks::kAll).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  // The broker remembers across a leader change and a restart of the whole cluster.
  REQUIRE(cluster->StopBroker(*cluster->DescribePartition("t", 0)->leader).ok());
  CHECK(cluster->Produce("t", 0, batch(3, 2), Acks::kAll)->duplicate);
  cluster.reset();
  cluster = *Cluster::Open(dir.path(), Manual(&clock));
  CHECK(cluster->Produce("t", 0, batch(3, 2), Acks::kAll)->duplicate);
  CHECK(cluster->Produce("t", 0, batch(6, 1), Acks::kAll)->base_offset == 7);
  CHECK(*cluster->NewProducerId() == producer + 2);
}

TEST_CASE("Delayed messages appear in their partition only once due and survive a restart") {
  testing::TempDir dir;
  base::ManualClock clock(base::kNanosPerSecond);
  {
    auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
    REQUIRE(cluster->CreateTopic("t", {.partitions = 1, .replication_factor = 3}).ok());
    Message soon = Text("in 1 s"), later = Text("in 5 s");
    soon.deliver_at_ns = clock.NowNanos() + base::kNanosPerSecond;
    later.deliver_at_ns = clock.NowNanos() + 5 * base::kNanosPerSecond;
    const ProduceResult r = *cluster->Produce("t", 0, {&later, 1}, Acks::kAll);
    CHECK(r.delayed);
    REQUIRE(cluster->Produce("t", 0, {&soon, 1}, Acks::kAll).ok());
    REQUIRE(ProduceOne(*cluster, "t", 0, "now", Acks::kAll).ok());
    REQUIRE(cluster->Tick().ok());
    CHECK(ReadAll(*cluster, "t", 0) == std::map<uint64_t, std::string>{{0, "now"}});
    clock.Advance(2 * base::kNanosPerSecond);
    REQUIRE(cluster->Tick().ok());
    CHECK(ReadAll(*cluster, "t", 0) == std::map<uint64_t, std::string>{{0, "now"}, {1, "in 1 s"}});
  }
  // The pending one is still pending after a restart, and is delivered once.
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->Tick().ok());
  CHECK(ReadAll(*cluster, "t", 0).size() == 2);
  clock.Advance(5 * base::kNanosPerSecond);
  REQUIRE(cluster->Tick().ok());
  REQUIRE(cluster->Tick().ok());
  CHECK(ReadAll(*cluster, "t", 0) ==
        std::map<uint64_t, std::string>{{0, "now"}, {1, "in 1 s"}, {2, "in 5 s"}});
  cluster.reset();
  cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->Tick().ok());
  CHECK(ReadAll(*cluster, "t", 0).size() == 3);
  // A batch with one message for later waits whole, and arrives in its order.
  Message due = Text("due now"), after = Text("due in 1 s");
  after.deliver_at_ns = clock.NowNanos() + base::kNanosPerSecond;
  const std::vector<Message> mixed = {due, after};
  CHECK(cluster->Produce("t", 0, mixed, Acks::kNone)->delayed);
  CHECK(ReadAll(*cluster, "t", 0).size() == 3);
  REQUIRE(cluster->Tick().ok());
  CHECK(ReadAll(*cluster, "t", 0).size() == 4);
  clock.Advance(base::kNanosPerSecond);
  REQUIRE(cluster->Tick().ok());
  const auto all = ReadAll(*cluster, "t", 0);
  CHECK(all.at(3) == "due now");
  CHECK(all.at(4) == "due in 1 s");
}

TEST_CASE("A partition that cannot take its delayed message does not hold up the others") {
  testing::TempDir dir;
  base::ManualClock clock(base::kNanosPerSecond);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {.partitions = 3, .replication_factor = 1}).ok());
  const uint32_t down = *cluster->DescribePartition("t", 0)->leader;
  std::vector<uint32_t> up_partitions;
  for (uint32_t p = 0; p < 3; ++p) {
    Message m = Text(absl::StrCat("for ", p));
    m.deliver_at_ns = clock.NowNanos() + 1;
    REQUIRE(cluster->Produce("t", p, {&m, 1}, Acks::kAll).ok());
    if (*cluster->DescribePartition("t", p)->leader != down) up_partitions.push_back(p);
  }
  REQUIRE(up_partitions.size() == 2);
  REQUIRE(cluster->StopBroker(down).ok());
  clock.Advance(1000);
  CHECK(cluster->Tick().code() == absl::StatusCode::kUnavailable);
  for (const uint32_t p : up_partitions) CHECK(ReadAll(*cluster, "t", p).size() == 1);
  REQUIRE(cluster->StartBroker(down).ok());
  REQUIRE(cluster->Tick().ok());
  CHECK(ReadAll(*cluster, "t", 0) == std::map<uint64_t, std::string>{{0, "for 0"}});
}

TEST_CASE("Tags filter messages at the broker") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto cluster = *Cluster::Open(dir.path(), Manual(&clock));
  REQUIRE(cluster->CreateTopic("t", {}).ok());
  std::vector<Message> batch;
  for (int i = 0; i < 10; ++i) {
    Message m = Text(absl::StrCat(i));
    m.tag = i % 3 == 0 ? "red" : (i % 3 == 1 ? "green" : "");
    batch.push_back(m);
  }
  REQUIRE(cluster->Produce("t", 0, batch, Acks::kAll).ok());
  const FetchResult red = *cluster->Fetch("t", 0, 0, {.tags = {"red"}});
  std::vector<uint64_t> offsets;
  for (const FetchedMessage& m : red.messages) offsets.push_back(m.offset);
  CHECK(offsets == std::vector<uint64_t>{0, 3, 6, 9});
  CHECK(red.next_offset == 10);
  const FetchResult some = *cluster->Fetch("t", 0, 1, {.max_messages = 2, .tags = {"red", ""}});
  offsets.clear();
  for (const FetchedMessage& m : some.messages) offsets.push_back(m.offset);
  CHECK(offsets == std::vector<uint64_t>{2, 3});
  CHECK(some.next_offset == 4);
}

TEST_CASE("Retention deletes old segments by size and by age") {
  testing::TempDir dir;
  base::ManualClock clock(base::kNanosPerSecond);
  ClusterOptions o = Manual(&clock);
  o.segment_bytes = 8 << 10;
  o.max_message_bytes = 2 << 10;
  o.retention_check_interval_ns = 0;
  auto cluster = *Cluster::Open(dir.path(), o);
  REQUIRE(
      cluster->CreateTopic("by-size", {.replication_factor = 2, .retention_bytes = 32 << 10}).ok());
  REQUIRE(cluster
              ->CreateTopic("by-age",
                            {.replication_factor = 2, .retention_ns = 60 * base::kNanosPerSecond})
              .ok());
  for (int i = 0; i < 400; ++i) {
    REQUIRE(ProduceOne(*cluster, "by-size", 0, std::string(200, 'x'), Acks::kAll).ok());
    REQUIRE(ProduceOne(*cluster, "by-age", 0, std::string(200, 'y'), Acks::kAll).ok());
  }
  clock.Advance(30 * base::kNanosPerSecond);
  REQUIRE(cluster->Tick().ok());
  PartitionState size = *cluster->DescribePartition("by-size", 0);
  CHECK(size.log_start > 0);
  CHECK(size.log_end == 400);
  CHECK(cluster->DescribePartition("by-age", 0)->log_start == 0);
  CHECK(cluster->Fetch("by-size", 0, 0, {}).status().code() == absl::StatusCode::kOutOfRange);
  clock.Advance(31 * base::kNanosPerSecond);
  REQUIRE(cluster->Tick().ok());
  CHECK(cluster->DescribePartition("by-age", 0)->log_start > 300);
}

TEST_CASE("Retention never deletes what is above the high watermark") {
  testing::TempDir dir;
  base::ManualClock clock(base::kNanosPerSecond);
  ClusterOptions o = Manual(&clock);
  o.segment_bytes = 8 << 10;
  o.max_message_bytes = 2 << 10;
  o.retention_check_interval_ns = 0;
  auto cluster = *Cluster::Open(dir.path(), o);
  REQUIRE(cluster->CreateTopic("t", {.replication_factor = 2, .retention_bytes = 1}).ok());
  // The follower is in the ISR but has copied nothing, so nothing is committed.
  for (int i = 0; i < 100; ++i) {
    REQUIRE(ProduceOne(*cluster, "t", 0, std::string(200, 'x'), Acks::kLeader).ok());
  }
  REQUIRE(cluster->Tick().ok());
  PartitionState state = *cluster->DescribePartition("t", 0);
  CHECK(state.high_watermark == 0);
  CHECK(state.log_start == 0);
  for (int round = 0; round < 10; ++round) REQUIRE(cluster->Replicate().ok());
  REQUIRE(cluster->Tick().ok());
  state = *cluster->DescribePartition("t", 0);
  CHECK(state.high_watermark == 100);
  CHECK(state.log_start > 0);
  CHECK(state.log_start <= state.high_watermark);
}

TEST_CASE("Groups rebalance on join leave and expiry and refuse stale commits") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  ClusterOptions o = Manual(&clock);
  o.session_timeout_ns = base::kNanosPerSecond;
  auto cluster = *Cluster::Open(dir.path(), o);
  REQUIRE(cluster->CreateTopic("t", {.partitions = 4}).ok());
  const GroupAssignment a = *cluster->JoinGroup("g", "a", {"t"}, AssignmentStrategy::kRange);
  CHECK(a.generation == 1);
  CHECK(a.partitions.size() == 4);
  const GroupAssignment b = *cluster->JoinGroup("g", "b", {"t"}, AssignmentStrategy::kRange);
  CHECK(b.generation == 2);
  CHECK(b.partitions == std::vector<TopicPartition>{{"t", 2}, {"t", 3}});
  // a still thinks it is in generation 1: its commit is refused until it heartbeats.
  CHECK(cluster->CommitOffsets("g", "a", 1, {{{"t", 0}, 5}}).code() ==
        absl::StatusCode::kFailedPrecondition);
  const GroupAssignment a2 = *cluster->Heartbeat("g", "a");
  CHECK(a2.generation == 2);
  CHECK(a2.partitions == std::vector<TopicPartition>{{"t", 0}, {"t", 1}});
  REQUIRE(cluster->CommitOffsets("g", "a", 2, {{{"t", 0}, 5}}).ok());
  CHECK(cluster->CommitOffsets("g", "a", 2, {{{"t", 3}, 5}}).code() ==
        absl::StatusCode::kFailedPrecondition);  // b's partition
  CHECK(cluster->JoinGroup("g", "c", {"t"}, AssignmentStrategy::kRoundRobin).status().code() ==
        absl::StatusCode::kInvalidArgument);
  // b stops heartbeating: after the session timeout it is out, and a has everything.
  clock.Advance(600 * base::kNanosPerMilli);
  REQUIRE(cluster->Heartbeat("g", "a").ok());
  clock.Advance(600 * base::kNanosPerMilli);
  REQUIRE(cluster->Tick().ok());
  CHECK(cluster->Heartbeat("g", "b").status().code() == absl::StatusCode::kNotFound);
  CHECK(cluster->Heartbeat("g", "a")->partitions.size() == 4);
  REQUIRE(cluster->LeaveGroup("g", "a").ok());
  CHECK(cluster->DescribeGroup("g")->members.empty());
  CHECK(**cluster->CommittedOffset("g", {"t", 0}) == 5);
}

// A child process produces with acks=all and reports each acknowledged offset through a pipe;
// it is killed at a random moment. Everything it reported must be there after reopening.
TEST_CASE("Acknowledged messages survive the producing process being killed") {
  const uint64_t seed = keel::testing::TestSeed(205);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int round = 0; round < 8; ++round) {
    testing::TempDir dir;
    const testing::KilledChild child = testing::KillChildAfter(
        [&](int report_fd) {
          ClusterOptions o;
          o.segment_bytes = 16 << 10;
          o.max_message_bytes = 4 << 10;
          auto cluster = Cluster::Open(dir.path(), o);
          if (!cluster.ok() ||
              !(*cluster)->CreateTopic("t", {.partitions = 2, .replication_factor = 3}).ok()) {
            _exit(2);
          }
          for (uint64_t i = 0;; ++i) {
            const auto partition = static_cast<uint32_t>(i % 2);
            const absl::StatusOr<ProduceResult> r =
                ProduceOne(**cluster, "t", partition, absl::StrCat("m", i), Acks::kAll);
            if (!r.ok()) _exit(3);
            const std::string line = absl::StrCat(partition, " ", r->base_offset, " m", i, "\n");
            if (write(report_fd, line.data(), line.size()) < 0) _exit(4);
          }
        },
        rng.UniformInRange(20'000, 200'000));
    CAPTURE(child.exit_code);
    CHECK(child.killed);
    const std::string& reported = child.reports;
    ClusterOptions o;
    o.segment_bytes = 16 << 10;
    o.max_message_bytes = 4 << 10;
    o.background = false;
    auto cluster = Cluster::Open(dir.path(), o);
    if (reported.empty()) continue;  // killed before the topic existed, perhaps
    REQUIRE(cluster.ok());
    std::map<uint64_t, std::string> partitions[2] = {ReadAll(**cluster, "t", 0),
                                                     ReadAll(**cluster, "t", 1)};
    size_t lines = 0;
    const std::vector<std::string> reported_lines =
        absl::StrSplit(reported, '\n', absl::SkipEmpty());
    for (const std::string& line : reported_lines) {
      const std::vector<std::string> parts = absl::StrSplit(line, ' ');
      REQUIRE(parts.size() == 3);
      const uint32_t p = static_cast<uint32_t>(std::stoul(parts[0]));
      CHECK(partitions[p].at(std::stoull(parts[1])) == parts[2]);
      ++lines;
    }
    CHECK(lines > 0);
  }
}

}  // namespace
}  // namespace keel::mq
