// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The cluster's data directory under keel::wal::CrashExplorer: a workload (creating the cluster
// and a topic, producing with acks=all, a follower leaving and rejoining the ISR, a leader's
// divergent tail cut) is recorded once, and at every point where a crash could come, each state
// POSIX lets a crash leave (lost directory entries, writes persisted in any subset and order, torn
// sectors) must reopen, with every topic created and every message acknowledged before the crash.
//
// This is what checks the directory syncs: without the sync of a new directory's parent (the data
// directory's, a broker's, a replica's, partitions/ and offsets/), there are states in which it
// is gone with what it held.
#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/mq/cluster.h"
#include "keel/wal/crash_explorer.h"
#include "mq/mq_testing.h"
#include "testing/testing.h"

namespace keel::mq {
namespace {

constexpr char kDir[] = "/data/mq";  // below a directory of its own, whose entry must be synced

struct Promise {
  uint64_t at = 0;  // the recorded changes when it was made
  uint64_t offset = 0;
  std::string value;
};

TEST_CASE("The cluster reopens with every acknowledged message from every crash state") {
  wal::CrashExplorer explorer;
  wal::FileSystem& fs = explorer.file_system();
  REQUIRE(fs.CreateDir("/data").ok());
  REQUIRE(fs.SyncDir("/").ok());
  const uint64_t start = explorer.mutations();
  base::ManualClock clock(1'000);
  ClusterOptions o = test::Manual(&clock, 2);
  o.file_system = &fs;
  o.segment_bytes = 8 << 10;
  o.max_message_bytes = 1 << 10;
  uint64_t topic_at = std::numeric_limits<uint64_t>::max();
  std::vector<Promise> promised;
  {
    auto cluster = *Cluster::Open(kDir, o);
    REQUIRE(cluster->CreateTopic("t", {.replication_factor = 2}).ok());
    topic_at = explorer.mutations();
    auto produce = [&](const std::string& value, Acks acks) {
      const absl::StatusOr<ProduceResult> r = test::ProduceOne(*cluster, "t", 0, value, acks);
      REQUIRE_MESSAGE(r.ok(), r.status());
      if (acks == Acks::kAll) promised.push_back({explorer.mutations(), r->base_offset, value});
    };
    for (int i = 0; i < 3; ++i) produce(absl::StrCat("a", i), Acks::kAll);
    const uint32_t leader = *cluster->DescribePartition("t", 0)->leader;
    const uint32_t follower = test::AFollower(*cluster, "t", 0);
    // The follower leaves the ISR; the leader commits alone.
    REQUIRE(cluster->StopBroker(follower).ok());
    produce("b0", Acks::kAll);
    REQUIRE(cluster->StartBroker(follower).ok());
    REQUIRE(cluster->Replicate().ok());
    produce("c0", Acks::kAll);
    // The leader's uncommitted tail, then a change of leader: the old leader cuts it when it
    // returns.
    produce("lost", Acks::kLeader);
    REQUIRE(cluster->StopBroker(leader).ok());
    produce("d0", Acks::kAll);
    REQUIRE(cluster->StartBroker(leader).ok());
    REQUIRE(cluster->Replicate().ok());
    produce("e0", Acks::kAll);
    REQUIRE(cluster->Tick().ok());
  }
  const uint64_t seed = keel::testing::TestSeed(341);
  CAPTURE(seed);
  wal::CrashExplorerOptions options;
  options.seed = seed;
  options.first_point = start;
  options.random_states = 1;
  options.max_systematic_states = 24;
  const absl::StatusOr<wal::CrashExploration> result = explorer.Explore(
      [&](wal::FileSystem& crashed, const wal::CrashPoint& point) -> absl::Status {
        ClusterOptions co = o;
        co.file_system = &crashed;
        KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Cluster> cluster, Cluster::Open(kDir, co));
        if (point.mutations < topic_at) return absl::OkStatus();
        KEEL_RETURN_IF_ERROR(cluster->GetTopic("t").status());
        for (const Promise& p : promised) {
          if (p.at > point.mutations) break;
          const absl::StatusOr<FetchResult> got =
              cluster->Fetch("t", 0, p.offset, {.max_messages = 1});
          if (!got.ok() || got->messages.empty() || got->messages[0].message.value != p.value) {
            return absl::DataLossError(
                base::Cat("acknowledged ", p.value, " at offset ", p.offset,
                          " is gone: ", got.ok() ? "not there" : got.status().message()));
          }
        }
        return absl::OkStatus();
      },
      options);
  REQUIRE(result.ok());
  CHECK_MESSAGE(result->failures.empty(), result->Summary());
  CHECK(result->crash_points > 100);
}

}  // namespace
}  // namespace keel::mq
