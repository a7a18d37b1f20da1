// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CrashExplorer: checks a workload against every kind of crash POSIX allows, not a random few.
// A testing API, for the write-ahead log and for anything else built on keel::wal::FileSystem.
//
// It follows ALICE (T. S. Pillai et al., "All File Systems Are Not Created Equal: On the
// Complexity of Crafting Crash-Consistent Applications", OSDI 2014): run the workload once and
// record the file-system changes it makes; then, at every point where a crash could come (before
// the first change and after each one), build the states a crash there may leave, and check that
// the program recovers from each. What a crash may leave is FaultInjectingFileSystem's model
// (keel/wal/fault_injecting_file_system.h has it in full): the durable state plus any subset of
// the pending changes, cut into pieces (a directory entry change; a 4096-byte page of a write; a
// write's new size; a truncation), each piece only with those it must follow. At each crash point
// the states are, as in ALICE:
//
//   - nothing pending persisted, and everything persisted;
//   - for each piece, everything but it (and what depends on it);
//   - for each piece, it alone (with what it depends on);
//   - `random_states` random subsets, with torn sectors (options.freedoms says which freedoms).
//
// The same state reached twice at one point is checked once. Each state is built in a fresh
// MemoryFileSystem and handed to the checker, which recovers from it (opens the log, say) and
// returns an error when something is wrong: a failure names the crash point, the change before
// it and the state, and the whole run is deterministic for options.seed, so that a failure can be
// replayed (first_point and last_point narrow a run to one point).
//
// Acknowledgements. The checker must know what the workload had promised by the time of the
// crash. The workload notes it as it goes together with mutations(), the number of changes
// recorded so far: a promise made when mutations() returned m holds after every crash point that
// comes after m or more changes (CrashPoint::mutations >= m), and not before. For the log: an
// Append that returned under SyncPolicy::kEveryAppend, or a Sync() that returned, promises every
// record up to it.
//
// Cost: the recording holds every byte written, and each state costs a copy of the files in
// memory and a run of the checker; max_states bounds the run, and first_point skips the points of
// a workload's preamble that other tests cover. The number of random states per point comes from
// the environment variable KEEL_CRASH_STATES unless set in the options, so that CI runs a few and
// a long run many. One recording may be explored several times, with other checkers or options.
//
// Example:
//
//   keel::wal::CrashExplorer explorer;
//   keel::wal::FileSystem& fs = explorer.file_system();
//   std::vector<std::pair<uint64_t, std::string>> promised;  // (mutations(), what)
//   ... run the workload on `fs`; after each promise:
//   promised.emplace_back(explorer.mutations(), what);
//   KEEL_ASSIGN_OR_RETURN(keel::wal::CrashExploration result,
//       explorer.Explore([&](keel::wal::FileSystem& crashed, const keel::wal::CrashPoint& point) {
//         ... recover from `crashed`; for each (m, what) in promised with m <= point.mutations,
//         ... return an error unless `what` survived.
//         return absl::OkStatus();
//       }, {.seed = 42}));
//   if (!result.failures.empty()) std::puts(result.Summary().c_str());
#ifndef KEEL_WAL_CRASH_EXPLORER_H_
#define KEEL_WAL_CRASH_EXPLORER_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/file_system.h"

namespace keel::wal {

struct CrashExplorerOptions {
  // Seeds the random states and the sampling of systematic ones.
  uint64_t seed = 1;
  // Random states per crash point. Negative: the environment variable KEEL_CRASH_STATES, or 4
  // when it is not set.
  int64_t random_states = -1;
  // The systematic states of one crash point, at most: when a point has more pending pieces than
  // fit, a seeded sample of the all-but-one and one-alone states is checked (nothing and
  // everything persisted always are). At least 2.
  uint64_t max_systematic_states = 256;
  // States checked in all, at most: the run stops there, incomplete.
  uint64_t max_states = 200'000;
  // The run stops after this many failed states. At least 1.
  uint64_t max_failures = 10;
  // The freedoms the random states take (systematic states never tear sectors).
  PowerCutOptions freedoms{};
  // Only crash points in [first_point, last_point] are explored.
  uint64_t first_point = 0;
  uint64_t last_point = std::numeric_limits<uint64_t>::max();
};

// Where a state handed to the checker comes from.
struct CrashPoint {
  uint64_t mutations = 0;         // the crash came after this many recorded changes
  std::string last_change;        // the last of them, e.g. `sync "/wal/...log"`; empty for none
  uint64_t state = 0;             // the state's number at this point, counting from 0
  std::string state_description;  // which pending pieces persisted, which were torn

  // All of it in a line, for a failure message.
  [[nodiscard]] std::string ToString() const;
};

struct CrashFailure {
  CrashPoint point;
  absl::Status status;  // what the checker returned
};

struct CrashExploration {
  uint64_t seed = 0;
  uint64_t recorded_changes = 0;
  uint64_t crash_points = 0;  // explored
  uint64_t states = 0;        // checked, all points together
  uint64_t pieces_max = 0;    // the most pending pieces at one point
  bool complete = true;       // false when max_states or max_failures stopped the run
  std::vector<CrashFailure> failures;

  // The seed, the counts and every failure, one per line.
  [[nodiscard]] std::string Summary() const;
};

class CrashExplorer {
 public:
  CrashExplorer();
  ~CrashExplorer();
  CrashExplorer(const CrashExplorer&) = delete;
  CrashExplorer& operator=(const CrashExplorer&) = delete;

  // Where the workload runs: in memory, empty at first, every change recorded. Its failure
  // injection (FailSyncs and the others) works as usual; its PowerCut is refused.
  [[nodiscard]] FaultInjectingFileSystem& file_system();

  // The changes recorded so far (see Acknowledgements above).
  [[nodiscard]] uint64_t mutations() const;

  // Returns an error to fail the state it is given.
  using Checker = std::function<absl::Status(FileSystem& crashed, const CrashPoint& point)>;

  // Explores the crash points of what was recorded so far (see the file comment). Errors:
  // kInvalidArgument for bad options or a bad KEEL_CRASH_STATES; failed states are not errors but
  // CrashExploration::failures.
  [[nodiscard]] absl::StatusOr<CrashExploration> Explore(
      const Checker& check, const CrashExplorerOptions& options = {}) const;

 private:
  struct Recording;

  std::unique_ptr<Recording> recording_;
};

}  // namespace keel::wal

#endif  // KEEL_WAL_CRASH_EXPLORER_H_
