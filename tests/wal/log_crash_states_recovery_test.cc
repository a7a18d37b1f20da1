// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Crash states around recovery itself: a crash while Open repairs a crashed log (then Open again),
// and a process that died between a change to the directory and its sync, after which the next
// process appends and acknowledges before the power goes (crash_states_testing.h has the checks).
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "crash_states_testing.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/memory_file_system.h"

namespace keel::wal::crash_states {
namespace {

// A crash during Open's own repairs, then Open again: for each crash state, Open is run on a copy
// with its k-th change failing (k = 0, 1, ... until Open finishes), the power is cut (keeping
// nothing pending, and then a random subset), and the log is checked as CheckLog does.
absl::Status CheckLogThroughInterruptedRecovery(FileSystem& crashed, const CrashPoint& point,
                                                const Workload& workload, RecoveryMode mode,
                                                uint64_t seed) {
  // The crashed directory's files.
  std::map<std::string, std::string> files;
  bool has_dir = false;
  if (const auto names = crashed.List(kDir); names.ok()) {
    has_dir = true;
    for (const std::string& name : *names) {
      KEEL_ASSIGN_OR_RETURN(auto file,
                            crashed.Open(base::Cat(kDir, "/", name), OpenMode::kExisting));
      std::string bytes(file->size(), '\0');
      KEEL_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(0, bytes.data(), bytes.size()));
      bytes.resize(got);
      files[name] = std::move(bytes);
    }
  }
  for (int64_t k = 0;; ++k) {
    if (k > 200) return absl::InternalError("Open never finished");
    for (const bool random_cut : {false, true}) {
      MemoryFileSystem memory;
      if (has_dir) {
        KEEL_RETURN_IF_ERROR(memory.CreateDir(kDir));
        for (const auto& [name, bytes] : files) {
          KEEL_ASSIGN_OR_RETURN(auto file,
                                memory.Open(base::Cat(kDir, "/", name), OpenMode::kCreate));
          KEEL_RETURN_IF_ERROR(file->Append(bytes));
        }
      }
      FaultInjectingFileSystem faulty(memory);
      LogOptions options = workload.options();
      options.file_system = &faulty;
      options.recovery = mode;
      const base::ManualClock clock(2'000'000'000'000);
      options.clock = &clock;
      faulty.FailMutationsAfter(k);
      bool finished = false;
      {
        absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(kDir, options);
        finished = log.ok();
      }
      base::Random random(seed, static_cast<uint64_t>(k) * 2 + 1);
      KEEL_RETURN_IF_ERROR(faulty.PowerCut(random_cut ? &random : nullptr));
      const absl::Status status = CheckLog(memory, point, workload, mode);
      if (!status.ok()) {
        return absl::Status(status.code(),
                            base::Cat("after Open was stopped at change ", k,
                                      random_cut ? " and a random power cut" : " and a power cut",
                                      ": ", status.message()));
      }
      if (finished && random_cut) return absl::OkStatus();
    }
  }
}

void ExploreInterruptedRecovery(const LogOptions& options,
                                std::initializer_list<RecoveryMode> modes,
                                const std::function<void(Workload&)>& workload) {
  CrashExplorer explorer;
  Workload w(explorer, options);
  w.MakeDirectory();
  w.Open();
  workload(w);
  CrashExplorerOptions explorer_options;
  explorer_options.seed = keel::testing::TestSeed(103);
  explorer_options.first_point = w.focus();
  explorer_options.random_states = 2;
  CAPTURE(explorer_options.seed);
  for (const RecoveryMode mode : modes) {
    CAPTURE(static_cast<int>(mode));
    const absl::StatusOr<CrashExploration> result = explorer.Explore(
        [&](FileSystem& crashed, const CrashPoint& point) {
          return CheckLogThroughInterruptedRecovery(crashed, point, w, mode, explorer_options.seed);
        },
        explorer_options);
    REQUIRE_MESSAGE(result.ok(), result.status());
    MESSAGE(result->Summary().substr(0, result->Summary().find('\n')));
    CHECK_MESSAGE(result->failures.empty(), result->Summary());
  }
}

TEST_CASE("Log crash states: a crash during the recovery of appends and rolls") {
  ExploreInterruptedRecovery(kPreallocated, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    for (int i = 0; i < 30; ++i) {
      if (i % 5 == 3) {
        w.AppendBatch(3, 300);
      } else {
        w.Append(200 + 37 * (i % 11));
      }
    }
  });
}

TEST_CASE("Log crash states: a crash during the recovery of kNone appends with syncs") {
  ExploreInterruptedRecovery(kNoSyncs, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    for (int i = 0; i < 30; ++i) {
      if (i % 5 == 3) {
        w.AppendBatch(3, 300);
      } else {
        w.Append(200 + 37 * (i % 11));
      }
      if (i % 4 == 1) w.Sync();
    }
  });
}

TEST_CASE("Log crash states: a crash during the recovery of a truncation and a reset") {
  ExploreInterruptedRecovery(kPreallocated, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    FillSegments(w, 22);
    w.Focus();
    w.Truncate(5);  // inside a batch, removing a later segment
    w.Append(100);
    w.Reset(500);
    w.Append(100);
  });
}

// A process that dies in the middle of a roll, after the new segment is created and synced but
// before the directory is: the next process appends to that segment, and acknowledges.
TEST_CASE("Log crash states: appends after a process died in a roll before its directory sync") {
  Explore(kNoSyncs, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    FillSegments(w, 12);
    w.Sync();
    // Fill the active segment to within 1,000 bytes of its end.
    while (ActiveSegmentSize(w) + 925 + 1000 < 16384) w.Append(900);
    w.Sync();
    w.Focus();
    // The roll's steps: sync the old segment; create, write and sync its .idx.tmp; rename it;
    // create, write and sync the new segment: eight changes, then the directory sync, which fails.
    w.Killed(8, w.log().next_offset(),
             [](Log& log) { return log.Append(std::string(1500, 'r')).ok(); });
    w.Close();
    w.Open();
    w.Append(100);
    w.Sync();  // acknowledged: in the new segment, whose entry no one synced
    w.Append(100);
  });
}

// A process that dies while Truncate removes later segments, after a removal but before the
// directory sync that makes it durable: the next process appends to the segment that is now last.
TEST_CASE("Log crash states: appends after a process died in Truncate before a directory sync") {
  Explore(kPreallocated, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    FillSegments(w, 40);
    REQUIRE(w.log().stats().segments >= 3);
    w.Focus();
    // A cut at a unit boundary in the first segment (no plan): remove the last segment's .idx
    // (there is none) and .wal, then the directory sync, which fails.
    w.Killed(2, 3, [](Log& log) { return log.Truncate(3).ok(); });
    w.Close();
    w.Open();
    w.Append(100);  // acknowledged (kEveryAppend), in the segment that is now last
    w.Append(100);
  });
}

// A process that dies in Truncate after removing TRUNCATE but before the directory sync that
// makes the removal durable: the next process appends and acknowledges; a power cut then brings
// TRUNCATE back, and Open carries out the cut again, over the records appended since.
TEST_CASE("Log crash states: appends after a process died before TRUNCATE's removal was synced") {
  Explore(kPreallocated, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    for (int i = 0; i < 4; ++i) w.Append(300);
    w.AppendBatch(4, 100);  // offsets 4 to 7
    w.Focus();
    // Create, write and sync TRUNCATE, sync the directory; remove the segment's .idx (none, but
    // the attempt counts), sync the directory; rewrite the header, cut, sync; remove TRUNCATE:
    // ten changes, then the directory sync, which fails.
    w.Killed(10, 6, [](Log& log) { return log.Truncate(6).ok(); });
    w.Close();
    w.Open();
    w.Append(100);  // acknowledged (kEveryAppend) at offset 6
    w.Append(100);
  });
}

}  // namespace
}  // namespace keel::wal::crash_states
