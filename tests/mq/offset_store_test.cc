// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The offset store is internal to keel/mq (no public header), so this includes it from src/.
#include "../../src/mq/offset_store.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "testing/testing.h"

namespace keel::mq::internal {
namespace {

// Small limits, so that a few hundred entries span several segments: batches of at most
// (4096 - 32) / 4 = 1016 bytes and records of at most 991.
OffsetStoreOptions Small(uint64_t slack = 4) {
  OffsetStoreOptions o;
  o.max_segment_bytes = 4096;
  o.max_record_bytes = 1024;
  o.compaction_slack = slack;
  return o;
}

// Every (group, partition) the store should hold, and its offset.
using Oracle = std::map<std::pair<std::string, TopicPartition>, uint64_t>;

// Topics with long names, so that each entry takes about 75 bytes.
std::string LongTopic(int t) { return absl::StrCat("topic-", t, "-", std::string(56, 'x')); }

void CheckAgainst(const OffsetStore& store, const Oracle& oracle) {
  for (const auto& [key, offset] : oracle) {
    CAPTURE(key.first);
    CAPTURE(key.second.topic);
    CAPTURE(key.second.partition);
    CHECK(store.Get(key.first, key.second) == offset);
  }
}

absl::Status Commit(OffsetStore& store, Oracle& oracle, const std::string& group,
                    const OffsetStore::Offsets& offsets) {
  const absl::Status status = store.Commit(group, offsets);
  if (status.ok()) {
    for (const auto& [tp, offset] : offsets) oracle[{group, tp}] = offset;
  }
  return status;
}

TEST_CASE("Compaction writes many groups in chunks that each fit in a segment") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  const std::string path = dir.path() + "/offsets";
  Oracle oracle;
  {
    auto store = *OffsetStore::Open(path, wal::FileSystem::Posix(), clock, Small());
    // 4 groups of 2 topics x 15 partitions: 120 entries, about 9 KiB, over two segments; each
    // group's commit takes three records.
    for (int g = 0; g < 4; ++g) {
      OffsetStore::Offsets offsets;
      for (int t = 0; t < 2; ++t) {
        for (uint32_t p = 0; p < 15; ++p) offsets[{LongTopic(t), p}] = 1000 * g + 10 * t + p;
      }
      REQUIRE(Commit(*store, oracle, absl::StrCat("group-", g), offsets).ok());
    }
    // Single updates until the log has compacted twice.
    for (int i = 0; store->compactions() < 2; ++i) {
      REQUIRE(i < 1000);
      const OffsetStore::Offsets one = {
          {{LongTopic(i % 2), static_cast<uint32_t>(i % 15)}, static_cast<uint64_t>(100'000 + i)}};
      const absl::Status status = Commit(*store, oracle, absl::StrCat("group-", i % 4), one);
      CAPTURE(status);
      REQUIRE(status.ok());
    }
    CheckAgainst(*store, oracle);
    // The snapshot replaced what came before it, but for the rest of its first segment.
    CHECK(store->log_records() < 120 + 4 + 4096 / 30);
  }
  // Reopened, the store reads the snapshot's chunks back to the same offsets, and goes on.
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto store = *OffsetStore::Open(path, wal::FileSystem::Posix(), clock, Small());
    CheckAgainst(*store, oracle);
    CHECK(store->Get("group-9", {LongTopic(0), 0}) == std::nullopt);
    CHECK(store->Get("group-0", {LongTopic(0), 15}) == std::nullopt);
    REQUIRE(Commit(*store, oracle, "group-4", {{{"t", 0}, 7u + reopen}}).ok());
  }
}

TEST_CASE("Compaction runs once per slack of commits and not at every commit") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  // Segments that hold many records: the first snapshot starts in the middle of one, whose older
  // records stay until the segment is dropped whole.
  OffsetStoreOptions o;
  o.compaction_slack = 10;
  auto store = *OffsetStore::Open(dir.path(), wal::FileSystem::Posix(), clock, o);
  for (uint64_t i = 0; i < 100; ++i) {
    REQUIRE(store->Commit("g", {{{"t", static_cast<uint32_t>(i % 2)}, i}}).ok());
  }
  // 2 entries and a slack of 10: the first snapshot after 13 commits, and as its 2 records count
  // towards the next 13, another after every 11 commits: at commits 13, 24, ..., 90.
  CHECK(store->compactions() == 8);
}

TEST_CASE("Commit refuses names too long for a record and stores nothing") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  auto store = *OffsetStore::Open(dir.path(), wal::FileSystem::Posix(), clock, Small());
  const std::string group(600, 'g');
  const absl::Status refused = store->Commit(group, {{{std::string(400, 't'), 0}, 1}});
  CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
  CHECK(store->Get(group, {std::string(400, 't'), 0}) == std::nullopt);
  CHECK(store->log_records() == 0);
  // A group's many partitions take several records of one batch.
  OffsetStore::Offsets many;
  for (uint32_t p = 0; p < 40; ++p) many[{LongTopic(0), p}] = p;
  REQUIRE(store->Commit("g", many).ok());
  CHECK(store->log_records() > 1);
}

TEST_CASE("Opening a log with a record that is not a commit is data loss") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  {
    wal::LogOptions o;
    o.max_segment_bytes = 4096;
    o.max_record_bytes = 1024;
    auto log = *wal::Log::Open(dir.path(), o);
    REQUIRE(log->Append(std::string("\x01g\x01\x01t\x00\x05", 7)).ok());
    REQUIRE(log->Append("garbage that is not a commit").ok());
  }
  const auto store = OffsetStore::Open(dir.path(), wal::FileSystem::Posix(), clock, Small());
  CHECK(store.status().code() == absl::StatusCode::kDataLoss);
}

// A template store whose next commit compacts, copied for each crash point: a crash after every
// number of file system changes the commit and its compaction make.
TEST_CASE("A crash at any step of a compaction loses no committed offset") {
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  const std::string original = dir.path() + "/original";
  const OffsetStoreOptions options = Small();
  Oracle oracle;
  {
    auto store = *OffsetStore::Open(original, wal::FileSystem::Posix(), clock, options);
    for (int g = 0; g < 2; ++g) {
      OffsetStore::Offsets offsets;
      for (uint32_t p = 0; p < 30; ++p) offsets[{LongTopic(g), p}] = 1000 * g + p;
      REQUIRE(Commit(*store, oracle, absl::StrCat("group-", g), offsets).ok());
    }
    for (uint32_t i = 0; store->log_records() < 60 + options.compaction_slack; ++i) {
      REQUIRE(Commit(*store, oracle, "group-0", {{{LongTopic(0), i % 30}, 5000 + i}}).ok());
    }
    REQUIRE(store->compactions() == 0);
  }
  const TopicPartition last{LongTopic(1), 29};
  bool completed = false;
  for (int64_t steps = 0; !completed; ++steps) {
    CAPTURE(steps);
    REQUIRE(steps < 1000);
    const std::string copy = absl::StrCat(dir.path(), "/crash-", steps);
    std::filesystem::copy(original, copy, std::filesystem::copy_options::recursive);
    wal::FaultInjectingFileSystem fs(wal::FileSystem::Posix());
    absl::Status committed;
    {
      auto store = *OffsetStore::Open(copy, fs, clock, options);
      fs.FailMutationsAfter(steps);
      committed = store->Commit("group-1", {{last, 99'999}});
      completed = committed.ok() && store->compactions() == 1;
    }
    REQUIRE(fs.PowerCut().ok());
    auto store = OffsetStore::Open(copy, fs, clock, options);
    REQUIRE(store.ok());
    Oracle expected = oracle;
    // The commit being made when the crash came may or may not have survived it; one that
    // returned OK must have.
    const std::optional<uint64_t> got = (*store)->Get("group-1", last);
    if (committed.ok() || got == 99'999u) expected[{"group-1", last}] = 99'999;
    CheckAgainst(**store, expected);
    // And the store takes commits again.
    REQUIRE((*store)->Commit("group-2", {{{"t", 0}, 1}}).ok());
    std::filesystem::remove_all(copy);
  }
}

TEST_CASE("OffsetStore matches a map through random commits compactions and reopens") {
  const uint64_t seed = keel::testing::TestSeed(20260517);
  CAPTURE(seed);
  base::Random rng(seed);
  testing::TempDir dir;
  base::ManualClock clock(1'000);
  OffsetStoreOptions options = Small(rng.Uniform(17));
  CAPTURE(options.compaction_slack);
  std::vector<std::string> topics;
  for (int t = 0; t < 4; ++t) {
    topics.push_back(absl::StrCat("t", t, std::string(rng.Uniform(80), 'x')));
  }
  Oracle oracle;
  uint64_t compactions = 0;
  auto store = *OffsetStore::Open(dir.path(), wal::FileSystem::Posix(), clock, options);
  for (int op = 0; op < 600; ++op) {
    CAPTURE(op);
    const uint64_t what = rng.Uniform(100);
    if (what < 5) {
      compactions += store->compactions();
      store.reset();
      store = *OffsetStore::Open(dir.path(), wal::FileSystem::Posix(), clock, options);
      CheckAgainst(*store, oracle);
      continue;
    }
    const std::string group = absl::StrCat("group-", rng.Uniform(4));
    const TopicPartition tp{topics[rng.Uniform(topics.size())],
                            static_cast<uint32_t>(rng.Uniform(8))};
    if (what < 10) {
      auto it = oracle.find({group, tp});
      const std::optional<uint64_t> want =
          it == oracle.end() ? std::nullopt : std::optional<uint64_t>(it->second);
      CHECK(store->Get(group, tp) == want);
      continue;
    }
    OffsetStore::Offsets offsets;
    const uint64_t n = 1 + rng.Uniform(12);
    for (uint64_t i = 0; i < n; ++i) {
      offsets[{topics[rng.Uniform(topics.size())], static_cast<uint32_t>(rng.Uniform(8))}] =
          rng.Uniform(uint64_t{1} << rng.Uniform(64));
    }
    const absl::Status status = Commit(*store, oracle, group, offsets);
    CAPTURE(status);
    REQUIRE(status.ok());
  }
  CHECK(compactions + store->compactions() > 0);
  store.reset();
  store = *OffsetStore::Open(dir.path(), wal::FileSystem::Posix(), clock, options);
  CheckAgainst(*store, oracle);
}

}  // namespace
}  // namespace keel::mq::internal
