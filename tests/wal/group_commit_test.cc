// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Group commit under stress: many appenders, batches, readers and explicit syncs at once, with
// segments rolling under them, and the power cut while they run. Each appender writes payloads
// that name it and count up ("t3-17"), so that whatever survives can be checked against what
// each thread was told.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "keel/base/random.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/log.h"
#include "log_testing.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

using log_testing::Contents;
using log_testing::ReadAll;

// What one appender was told: the offsets and payloads of its acknowledged records, in order.
struct Acked {
  std::vector<std::pair<uint64_t, std::string>> records;
};

// "t<thread>-<sequence>:" then filler, so that records vary in size.
std::string PayloadFor(base::Random& rng, size_t thread, uint64_t sequence) {
  std::string p = absl::StrFormat("t%d-%d:", thread, sequence);
  p.append(rng.Uniform(200), static_cast<char>('a' + thread % 26));
  return p;
}

// The thread and sequence a payload names.
std::pair<size_t, uint64_t> Parse(const std::string& payload) {
  size_t thread = 0;
  unsigned long long sequence = 0;
  REQUIRE(std::sscanf(payload.c_str(), "t%zu-%llu:", &thread, &sequence) == 2);
  return {thread, static_cast<uint64_t>(sequence)};
}

TEST_CASE("Log group commit keeps every acknowledged record when the power is cut mid-flight") {
  const uint64_t seed = keel::testing::TestSeed(91);
  CAPTURE(seed);
  base::Random rng(seed);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_WAL_STRESS_ROUNDS", 12);
  for (uint64_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    testing::TempDir dir;
    FaultInjectingFileSystem faulty(FileSystem::Posix());
    LogOptions o;
    o.file_system = &faulty;
    o.max_segment_bytes = 16 << 10;  // rolls while the appenders run
    o.max_record_bytes = 1024;
    o.index_interval_bytes = 256;
    // kEveryAppend acknowledges on return; kNone when WaitDurable covers the record (so that
    // appenders race each other's syncs).
    o.sync = round % 2 == 0 ? SyncPolicy::kEveryAppend : SyncPolicy::kNone;
    const uint64_t preallocate[] = {1 << 20, 2048, 0};
    o.preallocate_bytes = preallocate[(round / 2) % 3];
    CAPTURE(static_cast<int>(o.sync));
    CAPTURE(o.preallocate_bytes);
    const size_t threads_count = round % 3 == 0 ? 32 : 8;
    std::vector<Acked> acked(threads_count);
    std::atomic<uint64_t> total_acked{0};
    std::atomic<bool> reader_ok{true};
    std::atomic<bool> power_cut{false};
    {
      auto log = *Log::Open(dir.path(), o);
      std::vector<std::thread> threads;
      for (size_t t = 0; t < threads_count; ++t) {
        threads.emplace_back([&, t] {
          base::Random local(seed * 1000 + round * 100 + t);
          for (uint64_t sequence = 0;;) {
            // A batch of one to four records, or a single record.
            const size_t n = local.Bernoulli(0.3) ? 1 + local.Uniform(4) : 1;
            std::vector<std::string> payloads;
            for (size_t k = 0; k < n; ++k) payloads.push_back(PayloadFor(local, t, sequence + k));
            std::vector<std::string_view> views(payloads.begin(), payloads.end());
            const absl::StatusOr<uint64_t> first =
                n == 1 ? log->Append(views[0]) : log->AppendBatch(views);
            if (!first.ok()) return;
            if (o.sync == SyncPolicy::kNone && !log->WaitDurable(*first + n).ok()) return;
            for (size_t k = 0; k < n; ++k) acked[t].records.push_back({*first + k, payloads[k]});
            total_acked.fetch_add(n);
            sequence += n;
          }
        });
      }
      // A reader follows the log as it grows: offsets come in order, without gaps.
      threads.emplace_back([&] {
        absl::StatusOr<std::unique_ptr<LogReader>> reader = log->NewReader(0);
        if (!reader.ok()) return;
        uint64_t expected = 0;
        while (true) {
          absl::StatusOr<std::optional<RecordView>> record = (*reader)->Next();
          if (!record.ok()) return;  // the power went
          if (!*record) {
            if (power_cut.load()) return;  // the log's end, which no appender moves any more
            std::this_thread::yield();
            continue;
          }
          if ((*record)->offset != expected) reader_ok.store(false);
          ++expected;
        }
      });
      // Cut the power at a random moment while everyone is busy.
      const uint64_t cut_after = 50 + rng.Uniform(2000);
      while (total_acked.load() < cut_after)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      // The appenders still running belong to the program that lost its power: nothing they do
      // may land after the cut.
      REQUIRE(faulty.PowerCut(rng, {.stop_mutations = true}).ok());
      power_cut.store(true);
      for (std::thread& t : threads) t.join();
      faulty.FailMutationsAfter(-1);
    }
    CHECK(reader_ok.load());
    RecoveryReport report;
    auto log = Log::Open(dir.path(), o, &report);
    CAPTURE(log.status());
    REQUIRE(log.ok());
    std::map<uint64_t, std::string> got;
    {
      auto reader = *(*log)->NewReader((*log)->first_offset());
      while (true) {
        absl::StatusOr<std::optional<RecordView>> record = reader->Next();
        REQUIRE(record.ok());
        if (!*record) break;
        got[(*record)->offset] = std::string((*record)->payload);
      }
    }
    // Every acknowledged record is there, at its offset, unchanged.
    for (const Acked& a : acked) {
      for (const auto& [offset, payload] : a.records) {
        REQUIRE(got.contains(offset));
        REQUIRE(got.at(offset) == payload);
      }
    }
    // Nothing else was invented: each thread's records come in the order it wrote them, with no
    // sequence number twice, and the log has no gaps.
    std::vector<int64_t> last_sequence(threads_count, -1);
    uint64_t expected_offset = (*log)->first_offset();
    for (const auto& [offset, payload] : got) {
      REQUIRE(offset == expected_offset++);
      const auto [thread, sequence] = Parse(payload);
      REQUIRE(thread < threads_count);
      REQUIRE(static_cast<int64_t>(sequence) > last_sequence[thread]);
      last_sequence[thread] = static_cast<int64_t>(sequence);
    }
  }
}

TEST_CASE("Log group commit gives concurrent appenders distinct ordered offsets") {
  // 64 appenders make groups that gather, and that the writer completing them takes over.
  for (const int threads_count : {8, 64}) {
    CAPTURE(threads_count);
    testing::TempDir dir;
    LogOptions options;
    options.max_segment_bytes = 1 << 16;
    options.max_record_bytes = 1024;
    options.sync = SyncPolicy::kEveryAppend;
    auto log = *Log::Open(dir.path(), options);
    const size_t n = static_cast<size_t>(threads_count);
    constexpr size_t kPerThread = 300;
    std::vector<std::vector<uint64_t>> offsets(n);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < n; ++t) {
      threads.emplace_back([&, t] {
        for (size_t i = 0; i < kPerThread; ++i) {
          absl::StatusOr<uint64_t> offset = log->Append(absl::StrFormat("t%d-%d", t, i));
          if (!offset.ok()) return;
          offsets[t].push_back(*offset);
          // Durable when Append returns.
          if (log->durable_offset() <= *offset) return;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    const Contents all = ReadAll(*log, 0);
    REQUIRE(all.size() == n * kPerThread);
    for (size_t t = 0; t < n; ++t) {
      REQUIRE(offsets[t].size() == kPerThread);
      for (size_t i = 0; i < kPerThread; ++i) {
        CHECK(all.at(offsets[t][i]) == absl::StrFormat("t%d-%d", t, i));
        if (i > 0) CHECK(offsets[t][i] > offsets[t][i - 1]);
      }
    }
    const LogStats stats = log->stats();
    CHECK(stats.records == n * kPerThread);
    CHECK(stats.syncs < stats.appends);  // fsyncs were shared
    MESSAGE("group commit, ", threads_count, " appenders: ", stats.appends, " appends, ",
            stats.syncs, " syncs, ", stats.group_commits, " shared writes");
  }
}

}  // namespace
}  // namespace keel::wal
