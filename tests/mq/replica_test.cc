// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A replica's log, leader epoch cache and producer snapshots staying consistent through appends,
// snapshots and truncations, and through every crash state of them (keel::wal::CrashExplorer).
// The replica is internal to keel/mq (no public header), so this includes it from src/.
#include "../../src/mq/replica.h"

#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/clock.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/crash_explorer.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/memory_file_system.h"
#include "testing/testing.h"

namespace keel::mq::internal {
namespace {

constexpr char kBrokerDir[] = "/b";
constexpr char kReplicaDir[] = "/b/t-0";

struct Setup {
  base::ManualClock clock{1'000};
  ClusterOptions options;
  std::unique_ptr<Context> ctx;

  explicit Setup(wal::FileSystem& fs) {
    options.segment_bytes = 8 << 10;
    options.max_message_bytes = 1 << 10;
    ctx = std::make_unique<Context>("/", options, fs, clock);
  }
};

// Appends `count` messages of producer 7 in `producer_epoch` from `first_sequence`, in leader
// epoch `epoch`, and syncs them.
void AppendBatch(Replica& replica, uint64_t epoch, uint32_t producer_epoch, uint64_t first_sequence,
                 int count) {
  std::vector<std::string> records;
  std::vector<MessageHeader> headers;
  for (int i = 0; i < count; ++i) {
    Message m;
    m.value = absl::StrCat("e", epoch, "-", first_sequence + static_cast<uint64_t>(i));
    m.producer_id = 7;
    m.producer_epoch = producer_epoch;
    m.sequence = first_sequence + static_cast<uint64_t>(i);
    std::string record;
    AppendEncodedMessage(m, epoch, record);
    records.push_back(std::move(record));
    headers.push_back({epoch, m.timestamp_ns, m.producer_id, m.producer_epoch, m.sequence});
  }
  const std::vector<std::string_view> views(records.begin(), records.end());
  std::lock_guard lock(replica.write_mu());
  REQUIRE(replica.Append(views, headers).ok());
  REQUIRE(replica.log().Sync().ok());
}

// What the replica's log says its epochs and producers are, read from the log itself: the
// oracle for what the cache and the snapshots must give. Producers' idle times are left out
// (a snapshot keeps the time a message was applied, a replay the time it was written).
struct Derived {
  std::vector<EpochEntry> epochs;
  std::map<uint64_t, std::pair<uint32_t, std::deque<ProducerStateMap::Run>>> producers;
  friend bool operator==(const Derived&, const Derived&) = default;
};

absl::StatusOr<Derived> FromLog(const wal::Log& log) {
  Derived d;
  ProducerStateMap map;
  KEEL_ASSIGN_OR_RETURN(auto reader, log.NewReader(log.first_offset()));
  for (;;) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> record, reader->Next());
    if (!record) break;
    KEEL_ASSIGN_OR_RETURN(const MessageHeader h, DecodeMessageHeader(record->payload));
    if (d.epochs.empty() || h.leader_epoch != d.epochs.back().epoch) {
      d.epochs.push_back({h.leader_epoch, record->offset});
    }
    map.Apply(h, record->offset, 0);
  }
  for (const auto& [id, p] : map.producers()) d.producers[id] = {p.epoch, p.runs};
  return d;
}

Derived FromReplica(Replica& replica) {
  Derived d;
  d.epochs = replica.epochs().entries();
  std::lock_guard lock(replica.write_mu());
  for (const auto& [id, p] : replica.producers().producers()) d.producers[id] = {p.epoch, p.runs};
  return d;
}

absl::StatusOr<std::unique_ptr<Replica>> OpenReplica(Context& ctx) {
  bool damaged = false;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Replica> replica,
                        Replica::Open(ctx, kReplicaDir, "t-0 on broker 0", &damaged));
  if (damaged) return absl::DataLossError("opened damaged");
  return replica;
}

// Appends, snapshots, a truncation past the last snapshot, and appends of another history.
void Workload(Context& ctx) {
  REQUIRE(CreateDirDurably(ctx.fs(), kBrokerDir).ok());
  auto replica = *OpenReplica(ctx);
  AppendBatch(*replica, 1, 0, 0, 6);
  AppendBatch(*replica, 1, 0, 6, 4);
  REQUIRE(replica->MaybeSnapshot(0, /*force=*/true).ok());  // as of offset 10
  AppendBatch(*replica, 2, 0, 10, 3);
  REQUIRE(replica->MaybeSnapshot(0, /*force=*/true).ok());  // as of offset 13
  {
    std::lock_guard lock(replica->write_mu());
    REQUIRE(replica->Truncate(5).ok());
  }
  AppendBatch(*replica, 3, 1, 0, 8);  // offsets 5 to 12: past both dropped snapshots
}

// The same, then a snapshot and a reset (a follower behind its leader's log start), and appends
// after it.
void WorkloadWithReset(Context& ctx) {
  Workload(ctx);
  auto replica = *OpenReplica(ctx);
  REQUIRE(replica->MaybeSnapshot(0, /*force=*/true).ok());  // as of offset 13
  {
    std::lock_guard lock(replica->write_mu());
    REQUIRE(replica->Reset(13).ok());
  }
  AppendBatch(*replica, 4, 2, 0, 3);
}

TEST_CASE(
    "Truncation drops later epochs and snapshots and a reopened replica agrees with its log") {
  wal::MemoryFileSystem memory;
  wal::FaultInjectingFileSystem fs(memory);
  Setup setup(fs);
  Workload(*setup.ctx);
  // Nothing unsynced survives: a snapshot removal whose directory was not synced would be back.
  REQUIRE(fs.PowerCut().ok());
  auto replica = *OpenReplica(*setup.ctx);
  CHECK(replica->log().next_offset() == 13);
  CHECK(FromReplica(*replica) == *FromLog(replica->log()));
  CHECK(replica->epochs().entries() == std::vector<EpochEntry>{{1, 0}, {3, 5}});
  // The producer's retry of its first batch in epoch 1 is a duplicate, at offset 5.
  std::lock_guard lock(replica->write_mu());
  CHECK(*replica->producers().Check({7, 1, 0, 5}, "t-0") == std::optional<uint64_t>(5));
}

TEST_CASE("A replica reopens consistent with its log from every crash state of its files") {
  wal::CrashExplorer explorer;
  Setup setup(explorer.file_system());
  WorkloadWithReset(*setup.ctx);
  wal::CrashExplorerOptions options;
  options.seed = keel::testing::TestSeed(351);
  CAPTURE(options.seed);
  options.random_states = 2;
  const absl::StatusOr<wal::CrashExploration> result = explorer.Explore(
      [&](wal::FileSystem& crashed, const wal::CrashPoint&) -> absl::Status {
        Setup s(crashed);
        (void)crashed.CreateDir(kBrokerDir);  // a crash before the workload made it
        KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Replica> replica, OpenReplica(*s.ctx));
        KEEL_ASSIGN_OR_RETURN(const Derived want, FromLog(replica->log()));
        const Derived got = FromReplica(*replica);
        if (got.epochs != want.epochs) {
          return absl::DataLossError(base::Cat("the epoch cache has ", got.epochs.size(),
                                               " entries, the log ", want.epochs.size()));
        }
        if (got.producers != want.producers) {
          return absl::DataLossError("the producer state is not the log's");
        }
        return absl::OkStatus();
      },
      options);
  REQUIRE(result.ok());
  CHECK_MESSAGE(result->failures.empty(), result->Summary());
}

}  // namespace
}  // namespace keel::mq::internal
