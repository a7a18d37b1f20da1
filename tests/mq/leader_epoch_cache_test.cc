// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The leader epoch cache is internal to keel/mq (no public header), so this includes it from src/.
#include "../../src/mq/leader_epoch_cache.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "keel/wal/atomic_file.h"
#include "keel/wal/file_system.h"
#include "testing/testing.h"

namespace keel::mq::internal {
namespace {

// A replica's log in the model: each message is (leader epoch, a number no other message has).
struct Record {
  uint64_t epoch = 0;
  uint64_t id = 0;
  friend bool operator==(const Record&, const Record&) = default;
};
using ModelLog = std::vector<Record>;

// What a cache holds for a log: the first offset of each epoch.
std::vector<EpochEntry> EntriesOf(const ModelLog& log) {
  std::vector<EpochEntry> entries;
  for (size_t o = 0; o < log.size(); ++o) {
    if (entries.empty() || log[o].epoch != entries.back().epoch)
      entries.push_back({log[o].epoch, o});
  }
  return entries;
}

// The oracle: how long a prefix two logs share.
uint64_t CommonPrefix(const ModelLog& a, const ModelLog& b) {
  uint64_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

TEST_CASE("EndOffsetFor answers with the largest epoch at or below the one asked") {
  const std::vector<EpochEntry> entries = {{1, 0}, {3, 5}, {4, 9}};
  CHECK(EndOffsetFor(entries, 0, 12) == EpochEnd{std::nullopt, 0});
  CHECK(EndOffsetFor(entries, 1, 12) == EpochEnd{1, 5});
  CHECK(EndOffsetFor(entries, 2, 12) == EpochEnd{1, 5});
  CHECK(EndOffsetFor(entries, 3, 12) == EpochEnd{3, 9});
  CHECK(EndOffsetFor(entries, 4, 12) == EpochEnd{4, 12});
  CHECK(EndOffsetFor(entries, 9, 12) == EpochEnd{4, 12});
  CHECK(EndOffsetFor({}, 5, 7) == EpochEnd{std::nullopt, 0});
}

// KIP-279's example of why one round of KIP-101 is not enough: the follower led epoch 2 and 4,
// which the leader never saw, and the leader led epoch 3.
TEST_CASE("A follower whose epochs the leader never had cuts back in several rounds") {
  ModelLog leader = {{1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}, {3, 6}, {3, 7}, {3, 8}};
  ModelLog follower = {{1, 1}, {1, 2}, {1, 3}, {2, 9}, {2, 10}, {2, 11}, {4, 12}, {4, 13}};
  std::vector<uint64_t> asked;
  const std::optional<uint64_t> point =
      DivergencePoint(EntriesOf(follower), 0, follower.size(), [&](uint64_t epoch) {
        asked.push_back(epoch);
        return EndOffsetFor(EntriesOf(leader), epoch, leader.size());
      });
  CHECK(point == 3);
  CHECK(asked == std::vector<uint64_t>{4, 2, 1});
  CHECK(CommonPrefix(leader, follower) == 3);
}

TEST_CASE("Followers cut back to exactly the prefix they share with the leader in random runs") {
  const uint64_t seed = keel::testing::TestSeed(301);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int run = 0; run < 200; ++run) {
    CAPTURE(run);
    const size_t n = 2 + rng.Uniform(4);
    std::vector<ModelLog> logs(n);
    uint64_t epoch = 0;
    uint64_t next_id = 1;
    size_t leader = 0;
    for (int step = 0; step < 60; ++step) {
      const uint64_t dice = rng.Uniform(100);
      if (dice < 15) {
        // Any replica may be elected (even an unclean choice keeps one leader per epoch, which is
        // all the cache relies on); the epoch goes up.
        leader = rng.Uniform(n);
        ++epoch;
      } else if (dice < 45) {
        if (epoch == 0) ++epoch;
        for (uint64_t k = rng.Uniform(4); k > 0; --k) logs[leader].push_back({epoch, next_id++});
      } else if (dice < 90) {
        // A follower compares its log with the leader's, cuts, and copies some of the rest.
        const size_t f = rng.Uniform(n);
        if (f == leader) continue;
        ModelLog& log = logs[f];
        const ModelLog& lead = logs[leader];
        const std::optional<uint64_t> point = DivergencePoint(
            EntriesOf(log), 0, log.size(),
            [&](uint64_t e) { return EndOffsetFor(EntriesOf(lead), e, lead.size()); });
        // No epoch in common (the leader holds only later ones) means starting over where the
        // leader's log starts, which is 0 here: nothing is ever deleted in this model.
        CHECK(point.value_or(0) == CommonPrefix(log, lead));
        log.resize(point.value_or(0));
        const size_t copy = rng.Uniform(lead.size() - log.size() + 1);
        log.insert(log.end(), lead.begin() + static_cast<ptrdiff_t>(log.size()),
                   lead.begin() + static_cast<ptrdiff_t>(log.size() + copy));
      } else {
        // A crash loses an unsynced tail of some replica; a leader that crashed does not lead
        // again in the same epoch.
        const size_t r = rng.Uniform(n);
        ModelLog& log = logs[r];
        log.resize(log.size() - rng.Uniform(std::min<uint64_t>(log.size(), 3) + 1));
        if (r == leader) {
          leader = rng.Uniform(n);
          ++epoch;
        }
      }
    }
  }
}

TEST_CASE("A follower older than everything the leader kept starts over") {
  // The leader's retention deleted epochs 1 and 2; its first kept message is of epoch 3.
  const std::vector<EpochEntry> leader = {{3, 40}, {5, 60}};
  auto ask = [&](uint64_t e) { return EndOffsetFor(leader, e, 80); };
  CHECK(!DivergencePoint({{1, 0}, {2, 10}}, 0, 50, ask).has_value());
  // An empty log has nothing to cut; one that shares epoch 3 cuts where it ends.
  CHECK(DivergencePoint({}, 20, 20, ask) == 20);
  CHECK(DivergencePoint({{3, 40}}, 40, 70, ask) == 60);
  // Messages without an epoch cannot be compared.
  CHECK(!DivergencePoint({}, 0, 5, ask).has_value());
}

TEST_CASE("The cache is durable and drops entries past the log's end when loaded") {
  testing::TempDir dir;
  wal::FileSystem& fs = wal::FileSystem::Posix();
  {
    auto cache = *LeaderEpochCache::Load(fs, dir.path(), 0);
    CHECK(!cache->latest_epoch().has_value());
    REQUIRE(cache->Assign(1, 0).ok());
    REQUIRE(cache->Assign(1, 5).ok());  // the latest already: nothing to do
    REQUIRE(cache->Assign(3, 10).ok());
    REQUIRE(cache->Assign(4, 20).ok());
    CHECK(cache->Assign(2, 30).code() == absl::StatusCode::kInternal);
    CHECK(cache->Assign(6, 15).code() == absl::StatusCode::kInternal);
    CHECK(cache->entries() == std::vector<EpochEntry>{{1, 0}, {3, 10}, {4, 20}});
    CHECK(cache->EndOffsetFor(2, 25) == EpochEnd{1, 10});
  }
  // A crash lost the messages from offset 20 on: epoch 4's entry goes with them.
  auto cache = *LeaderEpochCache::Load(fs, dir.path(), 20);
  CHECK(cache->entries() == std::vector<EpochEntry>{{1, 0}, {3, 10}});
  // An epoch that got no message is replaced by the next at the same offset.
  REQUIRE(cache->Assign(5, 20).ok());
  REQUIRE(cache->Assign(6, 20).ok());
  CHECK(cache->entries() == std::vector<EpochEntry>{{1, 0}, {3, 10}, {6, 20}});
  REQUIRE(cache->TruncateFromEnd(12).ok());
  CHECK((*LeaderEpochCache::Load(fs, dir.path(), 100))->entries() ==
        std::vector<EpochEntry>{{1, 0}, {3, 10}});
  // Retention keeps the entry that covers the new log start.
  REQUIRE(cache->Assign(7, 30).ok());
  cache->TruncateFromStart(15);
  CHECK(cache->entries() == std::vector<EpochEntry>{{3, 10}, {7, 30}});
  cache->TruncateFromStart(30);
  CHECK(cache->entries() == std::vector<EpochEntry>{{7, 30}});
  REQUIRE(cache->Replace({}).ok());
  CHECK((*LeaderEpochCache::Load(fs, dir.path(), 100))->entries().empty());
}

TEST_CASE("A damaged or disordered cache file is refused as data loss") {
  testing::TempDir dir;
  wal::FileSystem& fs = wal::FileSystem::Posix();
  const std::string path = dir.path() + "/" + LeaderEpochCache::kFileName;
  {
    auto cache = *LeaderEpochCache::Load(fs, dir.path(), 0);
    REQUIRE(cache->Assign(1, 0).ok());
    REQUIRE(cache->Assign(2, 7).ok());
  }
  std::string bytes;
  {
    auto file = *fs.Open(path, wal::OpenMode::kExisting);
    bytes.resize(file->size());
    REQUIRE(*file->ReadAt(0, bytes.data(), bytes.size()) == bytes.size());
  }
  auto write = [&](const std::string& contents) {
    REQUIRE(fs.Remove(path).ok());
    auto file = *fs.Open(path, wal::OpenMode::kCreate);
    REQUIRE(file->Append(contents).ok());
  };
  for (size_t i = 0; i < bytes.size(); ++i) {
    CAPTURE(i);
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x10);
    write(flipped);
    CHECK(LeaderEpochCache::Load(fs, dir.path(), 100).status().code() ==
          absl::StatusCode::kDataLoss);
    write(bytes.substr(0, i));
    CHECK(LeaderEpochCache::Load(fs, dir.path(), 100).status().code() ==
          absl::StatusCode::kDataLoss);
  }
  // Well framed, but the entries go backwards: refused, naming the entry.
  std::string disordered;
  base::PutVarint32(disordered, 1);
  base::PutVarint32(disordered, 2);
  for (const uint64_t v : {5, 10, 4, 20}) base::PutVarint64(disordered, v);
  REQUIRE(fs.Remove(path).ok());
  REQUIRE(wal::WriteFileAtomically(fs, dir.path(), LeaderEpochCache::kFileName, disordered).ok());
  const absl::Status status = LeaderEpochCache::Load(fs, dir.path(), 100).status();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(status.message(), "out of order"));
}

}  // namespace
}  // namespace keel::mq::internal
