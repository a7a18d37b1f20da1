// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Group commit under stress: many appenders, batches, readers and explicit syncs at once, with
// segments rolling under them, and the power cut while they run. Each appender writes payloads
// that name it and count up ("t3-17"), so that whatever survives can be checked against what
// each thread was told.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/log.h"
#include "keel/wal/memory_file_system.h"
#include "log_testing.h"
#include "testing/forwarding_file_system.h"
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

// A file system whose appends block while it is armed, so that a test can hold a group commit's
// leader in the middle of its write.
class BlockingFileSystem final : public keel::testing::ForwardingFileSystem {
 public:
  BlockingFileSystem() : ForwardingFileSystem(memory_) {}

  void Arm() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = false;
    cv_.notify_all();
  }
  void WaitUntilBlocked() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return blocked_ > 0; });
  }

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, ForwardingFileSystem::Open(path, mode));
    return std::unique_ptr<File>(new BlockingFile(*this, std::move(file)));
  }

 private:
  class BlockingFile final : public keel::testing::ForwardingFile {
   public:
    BlockingFile(BlockingFileSystem& fs, std::unique_ptr<File> file)
        : ForwardingFile(std::move(file)), fs_(fs) {}
    absl::Status Append(std::string_view data) override {
      fs_.MaybeBlock();
      return ForwardingFile::Append(data);
    }
    absl::Status WriteAt(uint64_t offset, std::string_view data) override {
      fs_.MaybeBlock();
      return ForwardingFile::WriteAt(offset, data);
    }

   private:
    BlockingFileSystem& fs_;
  };

  void MaybeBlock() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!armed_) return;
    ++blocked_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !armed_; });
    --blocked_;
  }

  // Built after the base class, which only keeps a reference to it until then.
  MemoryFileSystem memory_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  int blocked_ = 0;
};

// WaitDurable(offset) that waits for a queued append must return (or fail) once the log no longer
// holds `offset`: a Truncate that lands between the append's completion and the waiter's wake-up
// would otherwise leave it asleep until some later append happens to wake it, forever if none
// comes. The race is hit within a few rounds.
TEST_CASE("Log::WaitDurable returns when a Truncate removes the offset it waits for") {
  int hangs = 0;
  for (int round = 0; round < 200 && hangs == 0; ++round) {
    CAPTURE(round);
    BlockingFileSystem blocking;
    LogOptions o;
    o.sync = SyncPolicy::kNone;
    o.file_system = &blocking;
    auto log = *Log::Open("/wal", o);
    REQUIRE(*log->Append("a") == 0);
    blocking.Arm();
    std::atomic<bool> appended{false};
    std::thread appender([&] { appended = log->Append("b").ok(); });
    blocking.WaitUntilBlocked();  // the leader holds the log's write lock, mid-write
    auto waited = std::async(std::launch::async, [&] { return log->WaitDurable(2); });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the waiter sleeps on the queue
    std::atomic<bool> truncated{false};
    std::thread truncater([&] {
      // Refused while the append is queued; retried until it is not.
      for (;;) {
        const absl::Status status = log->Truncate(1);
        if (status.ok()) break;
        if (status.code() != absl::StatusCode::kFailedPrecondition) return;
      }
      truncated = true;
    });
    blocking.Release();
    appender.join();
    truncater.join();
    REQUIRE(appended.load());
    REQUIRE(truncated.load());
    if (waited.wait_for(std::chrono::seconds(2)) == std::future_status::timeout) {
      ++hangs;
      // Rescue the waiter, so that the test can end: an append past offset 2 wakes it.
      REQUIRE(log->Append("c").ok());
      REQUIRE(log->Append("d").ok());
    }
    // Durable before the cut, refused after it, or (when the waiter only started once the cut was
    // done) refused as past the log's end: whichever, it returned.
    const absl::Status status = waited.get();
    CAPTURE(status);
    CHECK((status.ok() || status.code() == absl::StatusCode::kFailedPrecondition ||
           status.code() == absl::StatusCode::kOutOfRange));
  }
  CHECK(hangs == 0);
}

}  // namespace
}  // namespace keel::wal
