// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// DurableLedger: the state survives closing and reopening, from the events alone or from a
// snapshot and the events after it, and survives every crash the tests can make:
//
//   - the log cut at every byte, and the snapshot cut at every byte;
//   - a bit flipped in every byte of the log and of the snapshot;
//   - every crash state the crash explorer builds (keel/wal/crash_explorer.h), snapshots included;
//   - a writer process killed with SIGKILL at a random moment;
//   - a thread syncing (group commit) while another applies batches.
//
// In each case the ledger opened afterwards must hold exactly the state after some number of the
// commands applied, at least every one made durable before the crash: the reference is a plain
// Ledger that applied the same commands, with its StateHash after each. (The randomized
// differential test in ledger_random_test.cc also sends every batch through a DurableLedger,
// reopened from events and snapshots, over all of the ledger's corner cases.)
#include "keel/ledger/durable_ledger.h"

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/ledger/ledger.h"
#include "keel/wal/crash_explorer.h"
#include "keel/wal/memory_file_system.h"
#include "ledger/workload.h"
#include "testing/testing.h"

namespace keel::ledger {
namespace {

using testing::kSecond;
using testing::ReferenceHashes;
using testing::Workload;

DurableLedgerOptions Options(wal::FileSystem* fs) {
  DurableLedgerOptions options;
  options.log.file_system = fs;
  options.log.salt = 7;
  options.log.max_segment_bytes = 2 << 20;
  options.log.max_record_bytes = 3 << 19;
  options.log.preallocate_bytes = 0;
  return options;
}

std::unique_ptr<DurableLedger> OpenOrDie(const std::string& dir, const DurableLedgerOptions& o,
                                         DurableLedgerReport* report = nullptr) {
  absl::StatusOr<std::unique_ptr<DurableLedger>> opened = DurableLedger::Open(dir, o, report);
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  return std::move(*opened);
}

// Applies `commands` of the workload, syncing after each; snapshots after command `snapshot_at`
// (when > 0).
void Write(DurableLedger& ledger, uint64_t seed, size_t commands, size_t snapshot_at = 0) {
  Workload workload(seed);
  for (size_t i = 0; i < commands; ++i) {
    CommandResult result;
    const absl::StatusOr<uint64_t> position = ledger.Execute(workload.Next(), result);
    REQUIRE_MESSAGE(position.ok(), position.status().ToString());
    REQUIRE(*position == i + 1);
    REQUIRE(ledger.Sync().ok());
    if (i + 1 == snapshot_at) REQUIRE(ledger.WriteSnapshot().ok());
  }
}

std::string ReadAll(wal::FileSystem& fs, const std::string& path) {
  auto file = fs.Open(path, wal::OpenMode::kExisting);
  REQUIRE(file.ok());
  std::string bytes((*file)->size(), '\0');
  const absl::StatusOr<size_t> n = (*file)->ReadAt(0, bytes.data(), bytes.size());
  REQUIRE((n.ok() && *n == bytes.size()));
  return bytes;
}

void WriteAll(wal::FileSystem& fs, const std::string& path, std::string_view bytes) {
  (void)fs.Remove(path);
  auto file = fs.Open(path, wal::OpenMode::kCreate);
  REQUIRE(file.ok());
  REQUIRE((*file)->Append(bytes).ok());
}

// Copies every file of `dir` (one level of subdirectories) from one file system to another.
void CopyTree(wal::FileSystem& from, wal::FileSystem& to, const std::string& dir) {
  REQUIRE(to.CreateDir(dir).ok());
  auto names = from.List(dir);
  REQUIRE(names.ok());
  for (const std::string& name : *names) {
    const std::string path = base::Cat(dir, "/", name);
    if (auto sub = from.List(path); sub.ok()) {
      CopyTree(from, to, path);
    } else if (name != "LOCK") {
      WriteAll(to, path, ReadAll(from, path));
    }
  }
}

// The one segment file of a small log.
std::string SegmentPath(wal::FileSystem& fs, const std::string& log_dir) {
  auto names = fs.List(log_dir);
  REQUIRE(names.ok());
  std::string segment;
  for (const std::string& name : *names) {
    if (name.ends_with(".wal")) {
      REQUIRE(segment.empty());
      segment = base::Cat(log_dir, "/", name);
    }
  }
  REQUIRE(!segment.empty());
  return segment;
}

// Opens a copy of `dir` with `path` replaced by `bytes`; checks that what opens is the state
// after some prefix of the commands (returns its length), or returns -1 when Open refuses.
int64_t OpenDamaged(wal::FileSystem& source, const std::string& dir, const std::string& path,
                    std::string_view bytes, const std::vector<uint64_t>& hashes,
                    absl::StatusCode* refused = nullptr) {
  wal::MemoryFileSystem fs;
  CopyTree(source, fs, dir);
  WriteAll(fs, path, bytes);
  absl::StatusOr<std::unique_ptr<DurableLedger>> opened = DurableLedger::Open(dir, Options(&fs));
  if (!opened.ok()) {
    if (refused != nullptr) *refused = opened.status().code();
    return -1;
  }
  const uint64_t position = (*opened)->position();
  REQUIRE(position < hashes.size());
  CHECK_MESSAGE((*opened)->ledger().StateHash() == hashes[position], "at position ", position);
  CHECK((*opened)->ledger().CheckInvariants().ok());
  return static_cast<int64_t>(position);
}

TEST_CASE("A reopened DurableLedger holds the same state, from its events or from a snapshot") {
  const uint64_t seed = keel::testing::TestSeed(1551);
  CAPTURE(seed);
  constexpr size_t kCommands = 60;
  const std::vector<uint64_t> hashes = ReferenceHashes(seed, kCommands);
  wal::MemoryFileSystem fs;

  SUBCASE("events only") {
    Write(*OpenOrDie("/l", Options(&fs)), seed, kCommands);
    DurableLedgerReport report;
    auto ledger = OpenOrDie("/l", Options(&fs), &report);
    CHECK(ledger->position() == kCommands);
    CHECK(ledger->durable_position() == kCommands);
    CHECK(ledger->ledger().StateHash() == hashes[kCommands]);
    CHECK(!report.snapshot_loaded);
    CHECK(report.events_replayed == kCommands);
    CHECK(report.transfers_replayed > 0);
  }
  SUBCASE("a snapshot and the events after it") {
    Write(*OpenOrDie("/l", Options(&fs)), seed, kCommands, /*snapshot_at=*/35);
    DurableLedgerReport report;
    auto ledger = OpenOrDie("/l", Options(&fs), &report);
    CHECK(ledger->ledger().StateHash() == hashes[kCommands]);
    CHECK(report.snapshot_loaded);
    CHECK(report.snapshot_position == 35);
    CHECK(report.events_replayed == kCommands - 35);
    // The log still starts at the first event: the audit trail is whole.
    CHECK(ledger->log().first_offset() == 0);
  }
  SUBCASE("a snapshot at the end, then more commands after reopening") {
    Write(*OpenOrDie("/l", Options(&fs)), seed, kCommands, /*snapshot_at=*/kCommands);
    auto ledger = OpenOrDie("/l", Options(&fs));
    CHECK(ledger->ledger().StateHash() == hashes[kCommands]);
    // The next command continues the positions.
    std::vector<CreateTransfersResult> results;
    const absl::StatusOr<uint64_t> position =
        ledger->CreateTransfers(std::vector<Transfer>{{.id = 1u << 20,
                                                       .debit_account_id = 1,
                                                       .credit_account_id = 2,
                                                       .amount = 1,
                                                       .ledger = 1,
                                                       .code = 1}},
                                ledger->ledger().stats().last_timestamp + 1, results);
    REQUIRE(position.ok());
    CHECK(*position == kCommands + 1);
  }
  SUBCASE("snapshots every few events, with the log compacted") {
    DurableLedgerOptions options = Options(&fs);
    options.snapshot_every_events = 7;
    options.compact_log_on_snapshot = true;
    options.log.max_segment_bytes = 8 << 10;
    options.log.max_record_bytes = 8 << 10;
    // Small records only: this workload's events are at most a few kilobytes. (The ledger asks
    // for room for the largest event, so this is refused...)
    CHECK(absl::IsInvalidArgument(DurableLedger::Open("/l", options).status()));
    options.log.max_segment_bytes = 2 << 20;
    options.log.max_record_bytes = 3 << 19;
    {
      auto ledger = OpenOrDie("/l", options);
      Workload workload(seed);
      for (size_t i = 0; i < kCommands; ++i) {
        CommandResult result;
        REQUIRE(ledger->Execute(workload.Next(), result).ok());
      }
      REQUIRE(ledger->Sync().ok());
    }
    DurableLedgerReport report;
    auto ledger = OpenOrDie("/l", options, &report);
    CHECK(ledger->ledger().StateHash() == hashes[kCommands]);
    CHECK(report.snapshot_position == 56);
    CHECK(report.events_replayed == kCommands - 56);
  }
}

TEST_CASE("Refused batches and empty ones leave no event") {
  wal::MemoryFileSystem fs;
  auto ledger = OpenOrDie("/l", Options(&fs));
  std::vector<CreateAccountsResult> results;
  const std::vector<Account> accounts = {{.id = 1, .ledger = 1, .code = 1},
                                         {.id = 2, .ledger = 1, .code = 1}};
  REQUIRE(ledger->CreateAccounts(accounts, 100, results).ok());
  CHECK(ledger->position() == 1);
  // A timestamp that does not move on: refused, and nothing is written.
  CHECK(absl::IsInvalidArgument(ledger->CreateAccounts(accounts, 100, results).status()));
  CHECK(ledger->position() == 1);
  // An empty batch: OK, no event.
  const absl::StatusOr<uint64_t> empty = ledger->CreateAccounts({}, 200, results);
  REQUIRE(empty.ok());
  CHECK(*empty == 1);
  CHECK(ledger->position() == 1);
  // A batch in which every event fails still uses up its timestamps: it is an event.
  REQUIRE(ledger->CreateAccounts(accounts, 300, results).ok());
  CHECK(results.size() == 2);
  CHECK(ledger->position() == 2);
  // An expiry is an event even when nothing expires.
  const absl::StatusOr<DurableLedger::Expiry> expiry = ledger->ExpirePendingTransfers(400);
  REQUIRE(expiry.ok());
  CHECK(expiry->expired == 0);
  CHECK(expiry->position == 3);
  REQUIRE(ledger->Sync().ok());
  const uint64_t hash = ledger->ledger().StateHash();
  ledger.reset();
  ledger = OpenOrDie("/l", Options(&fs));
  CHECK(ledger->ledger().StateHash() == hash);
  CHECK(ledger->ledger().stats().last_timestamp == 400);
  // A second ledger on the same directory is refused while the first is open.
  CHECK(absl::IsUnavailable(DurableLedger::Open("/l", Options(&fs)).status()));
}

TEST_CASE("The log cut at every byte opens as a prefix of the commands") {
  const uint64_t seed = keel::testing::TestSeed(1552);
  CAPTURE(seed);
  constexpr size_t kCommands = 16;
  const std::vector<uint64_t> hashes = ReferenceHashes(seed, kCommands);
  wal::MemoryFileSystem fs;
  Write(*OpenOrDie("/l", Options(&fs)), seed, kCommands);
  const std::string segment = SegmentPath(fs, "/l/log");
  const std::string bytes = ReadAll(fs, segment);
  int64_t previous = 0;
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    CAPTURE(cut);
    const int64_t position = OpenDamaged(fs, "/l", segment, bytes.substr(0, cut), hashes);
    REQUIRE(position >= previous);  // a longer prefix of the file never holds fewer events
    previous = position;
  }
  CHECK(previous == kCommands);
}

TEST_CASE("A bit flipped anywhere in the log is found, or cut as a torn tail") {
  const uint64_t seed = keel::testing::TestSeed(1553);
  CAPTURE(seed);
  constexpr size_t kCommands = 20;
  const std::vector<uint64_t> hashes = ReferenceHashes(seed, kCommands);
  wal::MemoryFileSystem fs;
  Write(*OpenOrDie("/l", Options(&fs)), seed, kCommands);
  const std::string segment = SegmentPath(fs, "/l/log");
  const std::string bytes = ReadAll(fs, segment);
  base::Random rng(seed);
  size_t refused = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    CAPTURE(at);
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ (1 << rng.Uniform(8)));
    absl::StatusCode code = absl::StatusCode::kOk;
    // Either refused as damage, or a prefix of the commands (damage in the last record cannot be
    // told from a torn write); never a state that did not happen.
    if (OpenDamaged(fs, "/l", segment, flipped, hashes, &code) < 0) {
      CHECK_MESSAGE(
          (code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kFailedPrecondition),
          absl::StatusCodeToString(code));
      ++refused;
    }
  }
  CHECK(refused > bytes.size() / 2);
}

TEST_CASE("A damaged snapshot is set aside when the log holds every event, refused otherwise") {
  const uint64_t seed = keel::testing::TestSeed(1554);
  CAPTURE(seed);
  constexpr size_t kCommands = 6;
  const std::vector<uint64_t> hashes = ReferenceHashes(seed, kCommands);
  wal::MemoryFileSystem fs;
  Write(*OpenOrDie("/l", Options(&fs)), seed, kCommands, /*snapshot_at=*/kCommands);
  const std::string bytes = ReadAll(fs, "/l/snapshot");
  base::Random rng(seed);
  // Cut at every byte, or a bit flipped in every third byte: the state comes from the log.
  for (size_t at = 0; at < bytes.size(); ++at) {
    CAPTURE(at);
    CHECK(OpenDamaged(fs, "/l", "/l/snapshot", bytes.substr(0, at), hashes) == kCommands);
    if (at % 3 != 0) continue;
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ (1 << rng.Uniform(8)));
    CHECK(OpenDamaged(fs, "/l", "/l/snapshot", flipped, hashes) == kCommands);
  }
  DurableLedgerReport report;
  {
    wal::MemoryFileSystem copy;
    CopyTree(fs, copy, "/l");
    WriteAll(copy, "/l/snapshot", bytes.substr(0, 100));
    REQUIRE(DurableLedger::Open("/l", Options(&copy), &report).ok());
    CHECK(report.snapshot_damaged);
    CHECK(report.events_replayed == kCommands);
  }
  // With the log compacted, the events before the snapshot are gone: a damaged snapshot is an
  // error naming it. Two batches of kBatchMax transfers fill segments of their own, so that the
  // snapshot has whole segments to drop.
  wal::MemoryFileSystem compacted;
  DurableLedgerOptions options = Options(&compacted);
  options.compact_log_on_snapshot = true;
  uint64_t hash = 0;
  {
    auto ledger = OpenOrDie("/l", options);
    Write(*ledger, seed, kCommands);
    for (uint64_t batch = 0; batch < 2; ++batch) {
      std::vector<Transfer> transfers;
      for (uint64_t i = 0; i < kBatchMax; ++i) {
        transfers.push_back({.id = (Uint128{1} << 40) + batch * kBatchMax + i,
                             .debit_account_id = 1,
                             .credit_account_id = (Uint128{3} << 70) | 3,
                             .amount = 1,
                             .ledger = 2,
                             .code = 1});
      }
      std::vector<CreateTransfersResult> results;
      REQUIRE(ledger
                  ->CreateTransfers(transfers, ledger->ledger().stats().last_timestamp + kSecond,
                                    results)
                  .ok());
      REQUIRE(results.empty());
    }
    REQUIRE(ledger->WriteSnapshot().ok());
    REQUIRE(ledger->log().first_offset() > 0);
    hash = ledger->ledger().StateHash();
  }
  const std::string snapshot = ReadAll(compacted, "/l/snapshot");
  wal::MemoryFileSystem copy;
  CopyTree(compacted, copy, "/l");
  CHECK(OpenOrDie("/l", Options(&copy))->ledger().StateHash() == hash);
  WriteAll(copy, "/l/snapshot", snapshot.substr(0, snapshot.size() - 1));
  const absl::Status status = DurableLedger::Open("/l", Options(&copy)).status();
  CHECK(absl::IsDataLoss(status));
  CHECK_MESSAGE(absl::StrContains(status.message(), "snapshot"), status.message());
}

TEST_CASE("Every crash the explorer builds recovers every synced command and nothing else") {
  const uint64_t seed = keel::testing::TestSeed(1555);
  CAPTURE(seed);
  constexpr size_t kCommands = 10;
  const std::vector<uint64_t> hashes = ReferenceHashes(seed, kCommands);
  wal::CrashExplorer explorer;
  std::vector<std::pair<uint64_t, uint64_t>> promised;  // (mutations, position durable)
  {
    DurableLedgerOptions options = Options(&explorer.file_system());
    auto ledger = OpenOrDie("/l", options);
    Workload workload(seed);
    for (size_t i = 0; i < kCommands; ++i) {
      CommandResult result;
      REQUIRE(ledger->Execute(workload.Next(), result).ok());
      if (i % 2 == 1) {
        REQUIRE(ledger->Sync().ok());
        promised.emplace_back(explorer.mutations(), i + 1);
      }
      if (i == 6) {  // with an event not yet synced: the snapshot must sync the log first
        REQUIRE(ledger->WriteSnapshot().ok());
        promised.emplace_back(explorer.mutations(), i + 1);
      }
    }
  }
  const absl::StatusOr<wal::CrashExploration> result = explorer.Explore(
      [&](wal::FileSystem& crashed, const wal::CrashPoint& point) -> absl::Status {
        DurableLedgerReport report;
        absl::StatusOr<std::unique_ptr<DurableLedger>> opened =
            DurableLedger::Open("/l", Options(&crashed), &report);
        // The snapshot is renamed into place once synced: no crash leaves a damaged one.
        if (report.snapshot_damaged) return absl::DataLossError("a crash damaged the snapshot");
        if (!opened.ok()) {
          // Before the directory was made durable there is nothing to open; that is a crash
          // before the first promise.
          for (const auto& [m, position] : promised) {
            if (m <= point.mutations) return opened.status();
          }
          return absl::OkStatus();
        }
        const uint64_t position = (*opened)->position();
        for (const auto& [m, durable] : promised) {
          if (m <= point.mutations && position < durable) {
            return absl::DataLossError(
                base::Cat("position ", position, " after ", durable, " was durable"));
          }
        }
        if (position >= hashes.size() || (*opened)->ledger().StateHash() != hashes[position]) {
          return absl::InternalError(
              base::Cat("the state at position ", position, " is not the reference's"));
        }
        return absl::OkStatus();
      },
      {.seed = seed});
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK_MESSAGE(result->failures.empty(), result->Summary());
  CHECK(result->states > 50);
}

TEST_CASE("A writer process killed at a random moment loses no synced command") {
  const uint64_t seed = keel::testing::TestSeed(1556);
  CAPTURE(seed);
  base::Random rng(seed);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_LEDGER_KILL_ROUNDS", 4);
  for (uint64_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    keel::testing::TempDir temp;
    const std::string dir = base::Cat(temp.path(), "/ledger");
    const uint64_t workload_seed = seed + round;
    const keel::testing::KilledChild child = keel::testing::KillChildAfter(
        [&](int report_fd) {
          DurableLedgerOptions options;
          options.snapshot_every_events = 25;
          auto opened = DurableLedger::Open(dir, options);
          if (!opened.ok()) _exit(3);
          Workload workload(workload_seed);
          for (uint64_t i = 0;; ++i) {
            CommandResult result;
            if (!(*opened)->Execute(workload.Next(), result).ok()) _exit(4);
            if (i % 3 == 2) {
              if (!(*opened)->Sync().ok()) _exit(5);
              const std::string ack = base::Cat((*opened)->durable_position(), "\n");
              if (write(report_fd, ack.data(), ack.size()) < 0) _exit(6);
            }
          }
        },
        static_cast<int64_t>(rng.UniformInRange(20'000, 150'000)));
    REQUIRE(child.killed);
    uint64_t acknowledged = 0;
    for (absl::string_view line : absl::StrSplit(child.reports, '\n', absl::SkipEmpty())) {
      REQUIRE(absl::SimpleAtoi(line, &acknowledged));
    }
    CAPTURE(acknowledged);
    DurableLedgerReport report;
    auto ledger = OpenOrDie(dir, DurableLedgerOptions{}, &report);
    const uint64_t position = ledger->position();
    CHECK(position >= acknowledged);
    const std::vector<uint64_t> hashes = ReferenceHashes(workload_seed, position);
    CHECK(ledger->ledger().StateHash() == hashes[position]);
    MESSAGE("round ", round, ": ", acknowledged, " commands acknowledged, ", position,
            " recovered (snapshot at ", report.snapshot_position, ")");
  }
}

TEST_CASE("A thread syncing while another applies commits every batch in groups") {
  const uint64_t seed = keel::testing::TestSeed(1557);
  CAPTURE(seed);
  keel::testing::TempDir temp;
  const std::string dir = base::Cat(temp.path(), "/ledger");
  constexpr size_t kCommands = 200;
  auto ledger = OpenOrDie(dir, DurableLedgerOptions{});
  std::atomic<uint64_t> applied{0};
  std::atomic<bool> done{false};
  uint64_t syncs = 0;
  std::thread syncer([&] {
    while (!done.load()) {
      const uint64_t target = applied.load();
      REQUIRE(ledger->WaitDurable(target).ok());
      CHECK(ledger->durable_position() >= target);
      ++syncs;
    }
  });
  Workload workload(seed);
  for (size_t i = 0; i < kCommands; ++i) {
    CommandResult result;
    const absl::StatusOr<uint64_t> position = ledger->Execute(workload.Next(), result);
    REQUIRE(position.ok());
    applied.store(*position);
  }
  REQUIRE(ledger->WaitDurable(kCommands).ok());
  done.store(true);
  syncer.join();
  CHECK(ledger->durable_position() == kCommands);
  CHECK(syncs > 0);
  const uint64_t hash = ledger->ledger().StateHash();
  ledger.reset();
  CHECK(OpenOrDie(dir, DurableLedgerOptions{})->ledger().StateHash() == hash);
}

}  // namespace
}  // namespace keel::ledger
