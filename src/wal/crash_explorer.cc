// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CrashExplorer: the recording is the crash model's trace of the workload's changes; exploring
// replays it into a fresh model, one change at a time, and at each point checks the states the
// model allows (see keel/wal/crash_explorer.h for which).
#include "keel/wal/crash_explorer.h"

#include <cstdlib>
#include <set>

#include "absl/strings/numbers.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/internal/crash_model.h"
#include "keel/wal/memory_file_system.h"

namespace keel::wal {
namespace {

using internal::CrashChoice;
using internal::CrashPiece;

constexpr int64_t kDefaultRandomStates = 4;

absl::StatusOr<int64_t> RandomStates(const CrashExplorerOptions& options) {
  if (options.random_states >= 0) return options.random_states;
  const char* env = std::getenv("KEEL_CRASH_STATES");
  if (env == nullptr || *env == '\0') return kDefaultRandomStates;
  int64_t n;
  if (!absl::SimpleAtoi(env, &n) || n < 0) {
    return absl::InvalidArgumentError(base::Cat("KEEL_CRASH_STATES ", base::Quoted(env),
                                                " is not a count of random crash states"));
  }
  return n;
}

// A state to check at one point, with its description.
struct Candidate {
  CrashChoice choice;
  std::string description;
};

// Identifies a choice, to check each state once.
std::string KeyOf(const CrashChoice& choice) {
  std::string key(choice.persisted.size(), '0');
  for (size_t i = 0; i < key.size(); ++i) {
    if (choice.persisted[i]) key[i] = '1';
  }
  for (const auto& [piece, kept] : choice.torn) {
    key = base::Cat(key, "|", piece, ":");
    for (const uint32_t k : kept) key = base::Cat(key, k, ",");
  }
  return key;
}

size_t Count(const CrashChoice& choice) {
  size_t n = 0;
  for (const bool p : choice.persisted) n += p ? 1 : 0;
  return n;
}

// The systematic states of a point (see the header), sampled down to `max` if there are more.
std::vector<Candidate> SystematicStates(const std::vector<CrashPiece>& pieces, uint64_t max,
                                        base::Random& random) {
  std::vector<Candidate> states;
  states.push_back({internal::NothingPersisted(pieces),
                    pieces.empty() ? "nothing was pending"
                                   : base::Cat("none of ", pieces.size(), " pending pieces")});
  if (pieces.empty()) return states;
  states.push_back(
      {internal::EverythingPersisted(pieces), base::Cat("all ", pieces.size(), " pending pieces")});
  std::vector<Candidate> singles;
  for (uint32_t i = 0; i < pieces.size(); ++i) {
    CrashChoice without = internal::AllBut(pieces, i);
    const size_t dependents = pieces.size() - 1 - Count(without);
    singles.push_back(
        {std::move(without),
         base::Cat("all but ", pieces[i].label,
                   dependents > 0 ? base::Cat(" and ", dependents, " after it") : "")});
    CrashChoice alone = internal::OnlyWith(pieces, i);
    const size_t prerequisites = Count(alone) - 1;
    singles.push_back(
        {std::move(alone),
         base::Cat("only ", pieces[i].label,
                   prerequisites > 0 ? base::Cat(" and ", prerequisites, " before it") : "")});
  }
  if (states.size() + singles.size() > max) {
    random.Shuffle(singles);
    singles.resize(static_cast<size_t>(max - states.size()));
  }
  for (Candidate& single : singles) states.push_back(std::move(single));
  return states;
}

// Builds `image` in `fs`, an empty MemoryFileSystem.
absl::Status Materialize(const internal::CrashImage& image, FileSystem& fs) {
  for (const auto& [path, node] : image.nodes) {
    if (node.is_dir) {
      KEEL_RETURN_IF_ERROR(fs.CreateDir(path));
      continue;
    }
    if (!node.content_known) {
      return absl::InternalError(
          base::Cat("the recording does not know what ", base::Quoted(path, 256), " holds"));
    }
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, OpenMode::kCreate));
    KEEL_RETURN_IF_ERROR(file->Append(node.content));
  }
  return absl::OkStatus();
}

}  // namespace

std::string CrashPoint::ToString() const {
  return base::Cat("crash point ", mutations,
                   last_change.empty() ? " (before any change)"
                                       : base::Cat(" (after #", mutations, " ", last_change, ")"),
                   ", state ", state, ": ", state_description);
}

std::string CrashExploration::Summary() const {
  std::string out = base::Cat("seed ", seed, ": ", crash_points, " crash points of ",
                              recorded_changes + 1, ", ", states, " crash states checked (at most ",
                              pieces_max, " pending pieces at a point)",
                              complete ? "" : ", stopped early", ", ", failures.size(), " failed");
  for (const CrashFailure& failure : failures) {
    out = base::Cat(out, "\n  ", failure.point.ToString(), "\n    -> ", failure.status.ToString());
  }
  return out;
}

struct CrashExplorer::Recording {
  MemoryFileSystem memory;
  FaultInjectingFileSystem fs{memory};
  std::vector<internal::FsOp> trace;
};

CrashExplorer::CrashExplorer() : recording_(std::make_unique<Recording>()) {
  std::lock_guard<std::mutex> lock(recording_->fs.mu_);
  recording_->fs.model_->set_trace(&recording_->trace);
  recording_->fs.tracing_ = true;
}

CrashExplorer::~CrashExplorer() = default;

FaultInjectingFileSystem& CrashExplorer::file_system() { return recording_->fs; }

uint64_t CrashExplorer::mutations() const {
  std::lock_guard<std::mutex> lock(recording_->fs.mu_);
  return recording_->fs.model_->mutations();
}

absl::StatusOr<CrashExploration> CrashExplorer::Explore(const Checker& check,
                                                        const CrashExplorerOptions& options) const {
  KEEL_ASSIGN_OR_RETURN(const int64_t random_states, RandomStates(options));
  if (options.max_systematic_states < 2 || options.max_failures < 1) {
    return absl::InvalidArgumentError(base::Cat(
        "max_systematic_states ", options.max_systematic_states, " must be at least 2 and ",
        "max_failures ", options.max_failures, " at least 1"));
  }
  std::vector<internal::FsOp> trace;
  {
    std::lock_guard<std::mutex> lock(recording_->fs.mu_);
    trace = recording_->trace;
  }
  CrashExploration result;
  result.seed = options.seed;
  result.recorded_changes = trace.size();
  internal::CrashModel model;
  for (uint64_t point = 0; point <= trace.size(); ++point) {
    if (point > 0) {
      const absl::Status applied = model.Apply(trace[point - 1]);
      if (!applied.ok()) {
        return absl::InternalError(base::Cat("replaying change ", point, ": ", applied.ToString()));
      }
    }
    if (point < options.first_point || point > options.last_point) continue;
    const std::vector<CrashPiece> pieces = model.Pieces();
    result.pieces_max = std::max<uint64_t>(result.pieces_max, pieces.size());
    // One stream per point, so that a point replayed alone sees the same states.
    base::Random random(options.seed, point + 1);
    std::vector<Candidate> states = SystematicStates(pieces, options.max_systematic_states, random);
    for (int64_t r = 0; r < random_states; ++r) {
      CrashChoice choice = internal::RandomChoice(
          pieces, random,
          {options.freedoms.reorder_pages, options.freedoms.lose_directory_entries,
           options.freedoms.tear_sectors});
      std::string description =
          base::Cat("random ", r, ": ", internal::DescribeChoice(pieces, choice));
      states.push_back({std::move(choice), std::move(description)});
    }
    std::set<std::string> seen;
    uint64_t number = 0;
    for (const Candidate& state : states) {
      if (!seen.insert(KeyOf(state.choice)).second) continue;
      if (result.states >= options.max_states) {
        result.complete = false;
        return result;
      }
      MemoryFileSystem crashed;
      KEEL_RETURN_IF_ERROR(Materialize(model.Image(pieces, state.choice), crashed));
      CrashPoint where{point, point == 0 ? "" : trace[point - 1].Describe(), number++,
                       state.description};
      absl::Status status = check(crashed, where);
      ++result.states;
      if (status.ok()) continue;
      result.failures.push_back({std::move(where), std::move(status)});
      if (result.failures.size() >= options.max_failures) {
        result.complete = false;
        ++result.crash_points;
        return result;
      }
    }
    ++result.crash_points;
  }
  return result;
}

}  // namespace keel::wal
