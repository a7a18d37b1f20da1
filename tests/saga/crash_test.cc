// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The orchestrator through crashes and damage:
//
//   - every crash state POSIX allows at every step of a random workload (keel::wal::CrashExplorer,
//     so after every log record, sync and checkpoint file operation): the recovered orchestrator
//     resumes every saga to the outcome the reference model gives, each participant effect
//     applied once (the participants deduplicate by key, and no action arrives after its
//     compensation), and every saga whose Start returned is there;
//   - the log truncated at every byte and with a bit flipped in every byte: recovery either
//     reports the damage or gives exactly the state after some prefix of the transitions, never
//     a step that did not happen; a damaged checkpoint is refused;
//   - a writer process killed with SIGKILL at a random moment, then recovered in the parent.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/saga/orchestrator.h"
#include "keel/wal/crash_explorer.h"
#include "keel/wal/memory_file_system.h"
#include "saga/saga_testing.h"
#include "testing/testing.h"

namespace keel::saga {
namespace {

constexpr char kDir[] = "/sagas";
constexpr size_t kDefinitions = 4;

testing::Mix CompensationMix() { return testing::Mix{.fail = 0.3, .non_retryable = 0.02}; }

OrchestratorOptions Options(wal::FileSystem* fs, const base::Clock* clock, std::string dir,
                            uint64_t checkpoint_interval) {
  OrchestratorOptions options;
  options.dir = std::move(dir);
  options.clock = clock;
  options.log.file_system = fs;
  options.log.clock = clock;
  options.log.salt = 7;
  options.log.preallocate_bytes = 0;
  options.log.max_segment_bytes = 4096;
  options.log.max_record_bytes = 1024;
  options.max_input_bytes = 64;
  options.max_output_bytes = 64;
  options.max_message_bytes = 64;
  options.checkpoint_interval_records = checkpoint_interval;
  return options;
}

// A saga of the workload: its id, its definition, and when its Start returned (in recorded
// file-system changes), if it did.
struct Started {
  std::string id;
  size_t definition = 0;
  uint64_t acknowledged_at = 0;
};

// Recovers from `fs`, starts again the sagas recovery does not know (an error for one whose
// Start had returned by `mutations`), runs everything to the end with `world` and checks each
// saga against the oracle and the participants' effects.
absl::Status RecoverAndFinish(wal::FileSystem& fs, const std::string& dir, uint64_t seed,
                              testing::World& world, const std::vector<Started>& sagas,
                              uint64_t mutations, uint64_t checkpoint_interval) {
  testing::Sim sim(seed, kDefinitions, world);
  const std::vector<SagaDefinition>& definitions = sim.definitions;
  KEEL_ASSIGN_OR_RETURN(
      std::unique_ptr<Orchestrator> orchestrator,
      Orchestrator::Open(Options(&fs, &sim.clock, dir, checkpoint_interval), definitions));
  for (const Started& saga : sagas) {
    const absl::StatusOr<SagaInfo> info = orchestrator->Inspect(saga.id);
    if (info.ok()) continue;
    if (saga.acknowledged_at <= mutations) {
      return absl::DataLossError(base::Cat("saga ", saga.id, " was started (acknowledged after ",
                                           saga.acknowledged_at, " changes) but is gone"));
    }
    KEEL_RETURN_IF_ERROR(orchestrator->Start(saga.id, definitions[saga.definition].name, ""));
  }
  KEEL_RETURN_IF_ERROR(testing::Drive(*orchestrator, sim.network));
  std::set<std::string> effects;
  for (const Started& saga : sagas) {
    const testing::Expected expected =
        testing::Reference(definitions[saga.definition], saga.id, world);
    KEEL_RETURN_IF_ERROR(testing::CheckAgainst(*orchestrator, saga.id, expected));
    effects.insert(expected.effects.begin(), expected.effects.end());
  }
  if (world.effects != effects) {
    return absl::InternalError("the participants' effects differ from the oracle's");
  }
  if (!world.violations.empty()) return absl::InternalError(world.violations.front());
  return absl::OkStatus();
}

TEST_CASE("Every crash state at every step resumes each saga to the reference outcome once") {
  const uint64_t seed = keel::testing::TestSeed(2301);
  CAPTURE(seed);
  const uint64_t checkpoint_interval = 5;
  wal::CrashExplorer explorer;
  wal::FileSystem& fs = explorer.file_system();
  std::vector<Started> sagas;
  std::vector<std::pair<std::string, uint64_t>> effect_times;  // key, changes before it
  {
    testing::World world(seed, testing::Mix{}, CompensationMix());
    world.on_effect = [&](const std::string& key) {
      effect_times.emplace_back(key, explorer.mutations());
    };
    testing::Sim sim(seed, kDefinitions, world);
    base::ManualClock& clock = sim.clock;
    testing::Network& network = sim.network;
    const std::vector<SagaDefinition>& definitions = sim.definitions;
    base::Random random(seed, /*stream=*/12);
    auto opened = Orchestrator::Open(Options(&fs, &clock, kDir, checkpoint_interval), definitions);
    REQUIRE_MESSAGE(opened.ok(), opened.status());
    const uint64_t count = keel::testing::TestRounds("KEEL_SAGA_CRASH_SAGAS", 5);
    for (uint64_t i = 0; i < count; ++i) {
      Started saga{.id = base::Cat("s", i), .definition = random.Uniform(kDefinitions)};
      REQUIRE((*opened)->Start(saga.id, definitions[saga.definition].name, "").ok());
      saga.acknowledged_at = explorer.mutations();
      sagas.push_back(saga);
      REQUIRE(testing::RunUntil(**opened, network, clock.NowNanos() + base::kNanosPerMilli).ok());
    }
    const absl::Status driven = testing::Drive(**opened, network);
    REQUIRE_MESSAGE(driven.ok(), driven);
    CHECK((*opened)->stats().checkpoints > 0);
  }
  wal::CrashExplorerOptions explore;
  explore.seed = seed;
  explore.random_states = 1;
  explore.max_systematic_states = 8;
  const absl::StatusOr<wal::CrashExploration> result = explorer.Explore(
      [&](wal::FileSystem& crashed, const wal::CrashPoint& point) -> absl::Status {
        testing::World world(seed, testing::Mix{}, CompensationMix());
        for (const auto& [key, at] : effect_times) {
          if (at <= point.mutations) world.effects.insert(key);
        }
        return RecoverAndFinish(crashed, kDir, seed, world, sagas, point.mutations,
                                checkpoint_interval);
      },
      explore);
  REQUIRE_MESSAGE(result.ok(), result.status());
  CHECK_MESSAGE(result->failures.empty(), result->Summary());
  CHECK(result->crash_points > 50);
  MESSAGE(base::Cat(result->states, " crash states at ", result->crash_points, " points"));
}

// ---------------------------------------------------------------------------------------------
// Damage: truncation and flipped bits.
// ---------------------------------------------------------------------------------------------

// Every file under `dir` of `from`, by path.
std::map<std::string, std::string> ReadTree(wal::FileSystem& from, const std::string& dir) {
  std::map<std::string, std::string> files;
  const absl::StatusOr<std::vector<std::string>> names = from.List(dir);
  REQUIRE(names.ok());
  for (const std::string& name : *names) {
    const std::string path = base::Cat(dir, "/", name);
    auto file = from.Open(path, wal::OpenMode::kExisting);
    if (!file.ok()) {  // a directory
      for (auto& [p, bytes] : ReadTree(from, path)) files[p] = std::move(bytes);
      continue;
    }
    std::string bytes((*file)->size(), '\0');
    REQUIRE((*file)->ReadAt(0, bytes.data(), bytes.size()).ok());
    files[path] = std::move(bytes);
  }
  return files;
}

void WriteTree(wal::FileSystem& to, const std::map<std::string, std::string>& files) {
  std::set<std::string> dirs;
  for (const auto& [path, bytes] : files) {
    for (size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      if (dirs.insert(path.substr(0, slash)).second)
        REQUIRE(to.CreateDir(path.substr(0, slash)).ok());
    }
    auto file = to.Open(path, wal::OpenMode::kCreate);
    REQUIRE(file.ok());
    REQUIRE((*file)->Append(bytes).ok());
  }
}

// The whole state as one string: every saga's summary, "-" for one not (yet) started.
std::string StateOf(const Orchestrator& orchestrator, size_t sagas) {
  std::string state;
  for (size_t i = 0; i < sagas; ++i) {
    const absl::StatusOr<SagaInfo> info = orchestrator.Inspect(base::Cat("s", i));
    state += info.ok() ? testing::Summary(*info) : "-";
    state += "\n";
  }
  return state;
}

struct Recorded {
  uint64_t seed = 0;
  std::map<std::string, std::string> files;
  std::vector<std::string> states;  // after each batch of records, in order
  size_t sagas = 0;
};

// A workload in which every Start and every Poll appends at most one batch (the participants
// answer through the network, never inline), with the state after each.
Recorded RecordWorkload(uint64_t seed, uint64_t checkpoint_interval, size_t sagas = 4,
                        uint64_t max_segment_bytes = 1 << 20) {
  Recorded recorded;
  recorded.seed = seed;
  wal::MemoryFileSystem fs;
  testing::World world(seed, testing::Mix{}, CompensationMix());
  testing::Sim sim(seed, kDefinitions, world);
  base::ManualClock& clock = sim.clock;
  testing::Network& network = sim.network;
  const std::vector<SagaDefinition>& definitions = sim.definitions;
  OrchestratorOptions options = Options(&fs, &clock, kDir, checkpoint_interval);
  options.log.max_segment_bytes = max_segment_bytes;
  auto opened = Orchestrator::Open(options, definitions);
  REQUIRE(opened.ok());
  Orchestrator& orchestrator = **opened;
  recorded.sagas = sagas;
  recorded.states.push_back(StateOf(orchestrator, recorded.sagas));
  for (size_t i = 0; i < recorded.sagas; ++i) {
    REQUIRE(orchestrator.Start(base::Cat("s", i), definitions[i % kDefinitions].name, "in").ok());
    recorded.states.push_back(StateOf(orchestrator, recorded.sagas));
  }
  for (int round = 0; round < 100'000; ++round) {
    network.DeliverDue();
    REQUIRE(orchestrator.Poll().ok());
    if (recorded.states.back() != StateOf(orchestrator, recorded.sagas)) {
      recorded.states.push_back(StateOf(orchestrator, recorded.sagas));
    }
    std::optional<int64_t> next = network.Next();
    if (const auto timer = orchestrator.NextDeadlineNs(); timer.has_value()) {
      next = next.has_value() ? std::min(*next, *timer) : *timer;
    }
    if (!next.has_value()) break;
    clock.Set(std::max(clock.NowNanos(), *next));
  }
  opened->reset();
  recorded.files = ReadTree(fs, kDir);
  return recorded;
}

std::string SegmentPath(const std::map<std::string, std::string>& files) {
  for (const auto& [path, bytes] : files) {
    if (path.ends_with(".wal")) return path;
  }
  FAIL("no segment");
  return "";
}

// Opens a copy of `files`: kDataLoss, or a state the workload passed through at or after
// `*at_least` (updated). Anything else fails the test.
void CheckDamaged(const Recorded& recorded, const std::map<std::string, std::string>& files,
                  size_t* at_least, size_t* refused) {
  wal::MemoryFileSystem fs;
  WriteTree(fs, files);
  // The definitions' shapes come from the seed the workload used (the participants never run).
  testing::World world(recorded.seed, testing::Mix{}, testing::Mix{});
  testing::Sim sim(recorded.seed, kDefinitions, world);
  auto opened = Orchestrator::Open(Options(&fs, &sim.clock, kDir, 0), sim.definitions);
  if (!opened.ok()) {
    CHECK_MESSAGE(opened.status().code() == absl::StatusCode::kDataLoss, opened.status());
    ++*refused;
    return;
  }
  const std::string state = StateOf(**opened, recorded.sagas);
  const auto found = std::find(recorded.states.begin() + static_cast<ptrdiff_t>(*at_least),
                               recorded.states.end(), state);
  CHECK_MESSAGE(found != recorded.states.end(),
                base::Cat("a state the workload never had:\n", state));
  if (found != recorded.states.end()) {
    *at_least = static_cast<size_t>(found - recorded.states.begin());
  }
}

TEST_CASE("A log truncated at every byte recovers a prefix of the transitions") {
  const Recorded recorded = RecordWorkload(2302, /*checkpoint_interval=*/0);
  const std::string segment = SegmentPath(recorded.files);
  const std::string& bytes = recorded.files.at(segment);
  size_t at_least = 0;
  size_t refused = 0;
  for (size_t size = 0; size <= bytes.size(); ++size) {
    CAPTURE(size);
    std::map<std::string, std::string> files = recorded.files;
    files[segment].resize(size);
    CheckDamaged(recorded, files, &at_least, &refused);
  }
  CHECK(at_least == recorded.states.size() - 1);  // the whole log gives the final state
  MESSAGE(base::Cat(bytes.size() + 1, " truncations, ", recorded.states.size(), " states, ",
                    refused, " refused"));
}

TEST_CASE("A flipped bit anywhere in the log is reported or cut and never invents a step") {
  const Recorded recorded = RecordWorkload(2302, /*checkpoint_interval=*/0);
  const std::string segment = SegmentPath(recorded.files);
  const size_t size = recorded.files.at(segment).size();
  size_t refused = 0;
  for (size_t i = 0; i < size; ++i) {
    CAPTURE(i);
    std::map<std::string, std::string> files = recorded.files;
    files[segment][i] = static_cast<char>(files[segment][i] ^ (1 << (i % 8)));
    size_t at_least = 0;
    CheckDamaged(recorded, files, &at_least, &refused);
  }
  CHECK(refused > size / 2);  // most flips hit a record before the last and are corruption
}

TEST_CASE("A damaged checkpoint is refused with kDataLoss") {
  // Enough sagas to fill a few small segments, so that checkpoints drop some.
  const Recorded recorded = RecordWorkload(2302, /*checkpoint_interval=*/3, 40, 4096);
  const std::string path = base::Cat(kDir, "/checkpoint");
  REQUIRE(recorded.files.contains(path));
  const std::string& bytes = recorded.files.at(path);
  base::Random random(keel::testing::TestSeed(5));
  for (int i = 0; i < 200; ++i) {
    std::map<std::string, std::string> files = recorded.files;
    const size_t at = random.Uniform(bytes.size());
    files[path][at] = static_cast<char>(files[path][at] ^ (1 << random.Uniform(8)));
    size_t at_least = 0;
    size_t refused = 0;
    CheckDamaged(recorded, files, &at_least, &refused);
    CHECK(refused == 1);
  }
  // Without it, the log no longer starts at 0 (segments were dropped): also refused.
  std::map<std::string, std::string> files = recorded.files;
  files.erase(path);
  size_t at_least = 0;
  size_t refused = 0;
  CheckDamaged(recorded, files, &at_least, &refused);
  CHECK(refused == 1);
  // Whole, it recovers the final state.
  refused = 0;
  CheckDamaged(recorded, recorded.files, &at_least, &refused);
  CHECK(refused == 0);
  CHECK(at_least == recorded.states.size() - 1);
}

// ---------------------------------------------------------------------------------------------
// A killed writer process.
// ---------------------------------------------------------------------------------------------

TEST_CASE("Sagas of a writer process killed at a random moment finish as the reference says") {
  const uint64_t seed = keel::testing::TestSeed(2303);
  CAPTURE(seed);
  base::Random rng(seed);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_SAGA_KILL_ROUNDS", 4);
  for (uint64_t round = 0; round < rounds; ++round) {
    keel::testing::TempDir temp;
    const std::string dir = base::Cat(temp.path(), "/sagas");
    const std::string effects_path = base::Cat(temp.path(), "/effects");
    const uint64_t workload_seed = seed + round;
    const keel::testing::KilledChild child = keel::testing::KillChildAfter(
        [&](int report_fd) {
          const int effects_fd = open(effects_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
          if (effects_fd < 0) _exit(2);
          testing::World world(workload_seed, testing::Mix{}, CompensationMix());
          world.on_effect = [&](const std::string& key) {
            const std::string line = key + "\n";
            if (write(effects_fd, line.data(), line.size()) < 0) _exit(4);
          };
          testing::Sim sim(workload_seed, kDefinitions, world);
          base::ManualClock& clock = sim.clock;
          testing::Network& network = sim.network;
          const std::vector<SagaDefinition>& definitions = sim.definitions;
          auto opened = Orchestrator::Open(
              Options(&wal::FileSystem::Posix(), &clock, dir, /*checkpoint_interval=*/16),
              definitions);
          if (!opened.ok()) _exit(3);
          for (uint64_t i = 0;; ++i) {
            if (!(*opened)->Start(base::Cat("s", i), definitions[i % kDefinitions].name, "").ok()) {
              _exit(5);
            }
            const std::string ack = base::Cat(i, "\n");
            if (write(report_fd, ack.data(), ack.size()) < 0) _exit(6);
            for (int step = 0; step < 3; ++step) {
              if (!testing::RunUntil(**opened, network, clock.NowNanos() + 5 * base::kNanosPerMilli)
                       .ok()) {
                _exit(7);
              }
            }
          }
        },
        static_cast<int64_t>(rng.UniformInRange(5'000, 80'000)));
    REQUIRE(child.killed);
    int64_t acknowledged = -1;
    for (absl::string_view line : absl::StrSplit(child.reports, '\n', absl::SkipEmpty())) {
      REQUIRE(absl::SimpleAtoi(line, &acknowledged));
    }
    CAPTURE(acknowledged);
    testing::World world(workload_seed, testing::Mix{}, CompensationMix());
    std::ifstream effects(effects_path);
    std::stringstream contents;
    contents << effects.rdbuf();
    std::string text = contents.str();
    text.erase(text.find_last_of('\n') + 1);  // a line cut short by the kill never took effect
    for (absl::string_view key : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      world.effects.insert(std::string(key));
    }
    // The saga after the last acknowledged one may have been started too.
    std::vector<Started> sagas;
    for (int64_t i = 0; i <= acknowledged + 1; ++i) {
      sagas.push_back(Started{.id = base::Cat("s", i),
                              .definition = static_cast<size_t>(i) % kDefinitions,
                              .acknowledged_at = i <= acknowledged ? 0 : UINT64_MAX});
    }
    const absl::Status status = RecoverAndFinish(wal::FileSystem::Posix(), dir, workload_seed,
                                                 world, sagas, /*mutations=*/0, 16);
    CHECK_MESSAGE(status.ok(), status);
  }
}

}  // namespace
}  // namespace keel::saga
