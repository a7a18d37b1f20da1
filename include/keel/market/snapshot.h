// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Engine snapshots: a MatchingEngine's whole state after its first N commands, in a file, so that
// recovery starts from the latest snapshot and replays only the commands logged after it instead
// of the whole day (keel/market/sequencer.h takes and uses them).
//
// In the case study the sequenced command log is the golden source of truth and a replay rebuilds
// the state; a snapshot is a shortcut through that replay, never a second truth: the state it
// holds is exactly what replaying its N commands gives (same StateHash, same answers to every
// later command), and a snapshot that cannot be read whole and checked is skipped for an older
// one, or for the log itself. So a snapshot is written to a temporary file, synced, renamed into
// place and its directory synced (after a crash the file is there whole or not at all), and
// carries its length and a CRC32C, so that a torn or damaged file is detected, never loaded:
//
//   file    := magic (fixed64 "KEELSNAP") version (fixed32, 1) commands (fixed64)
//              length (fixed64) state crc (fixed32)
//   state   := MatchingEngine::AppendState's bytes (docs/market.md has their grammar)
//   crc     := masked CRC32C of version, commands, length and state
//
// Files are named snapshot-<commands, 20 digits>, so that names sort as their positions.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(uint64_t bytes, keel::market::WriteSnapshot(fs, dir, engine));
//   KEEL_ASSIGN_OR_RETURN(keel::market::SnapshotListing listing,
//                         keel::market::ListSnapshots(fs, dir));
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<keel::market::MatchingEngine> restored,
//                         keel::market::ReadSnapshot(
//                             fs, dir + "/" + keel::market::SnapshotFileName(
//                                                 listing.snapshots.back()), {}));
//
// A snapshot is built in memory and read whole (it is the size of the books: about 20 bytes per
// resting order), up to kMaxSnapshotBytes.
#ifndef KEEL_MARKET_SNAPSHOT_H_
#define KEEL_MARKET_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/market/matching_engine.h"
#include "keel/wal/file_system.h"

namespace keel::market {

// The largest snapshot written or read: 4 GiB, some 200 million resting orders.
inline constexpr uint64_t kMaxSnapshotBytes = uint64_t{1} << 32;

// "snapshot-00000000000000001234" for 1,234 commands, and back (nullopt for any other name).
[[nodiscard]] std::string SnapshotFileName(uint64_t commands);
[[nodiscard]] std::optional<uint64_t> ParseSnapshotFileName(std::string_view name);

// Writes `engine`'s state as `dir`/SnapshotFileName(engine.commands()), replacing any file of
// that name, atomically and durably (a temporary file synced, renamed, the directory synced).
// Returns the file's size in bytes. REQUIRES: `dir` exists. Errors: kResourceExhausted for a
// state over kMaxSnapshotBytes; I/O errors (after which the snapshot is whole or absent, and a
// temporary file may be left: ListSnapshots reports it).
[[nodiscard]] absl::StatusOr<uint64_t> WriteSnapshot(wal::FileSystem& fs, const std::string& dir,
                                                     const MatchingEngine& engine);

// The engine a snapshot file holds. Errors: kNotFound if there is no such file; kDataLoss,
// naming the file and what is wrong, for a file that is cut short, damaged, not a snapshot, of
// another version, or whose name, header and state disagree on its command count;
// kFailedPrecondition for a state `options` cannot hold (MatchingEngine::FromState); I/O errors.
[[nodiscard]] absl::StatusOr<std::unique_ptr<MatchingEngine>> ReadSnapshot(
    wal::FileSystem& fs, const std::string& path, const EngineOptions& options);

struct SnapshotListing {
  std::vector<uint64_t> snapshots;     // their command counts, ascending
  std::vector<std::string> leftovers;  // temporary files of writes a crash interrupted
};

// The snapshots in `dir`. Errors: kFailedPrecondition, naming it, for a file that is neither a
// snapshot nor a leftover of one; I/O errors.
[[nodiscard]] absl::StatusOr<SnapshotListing> ListSnapshots(wal::FileSystem& fs,
                                                            const std::string& dir);

}  // namespace keel::market

#endif  // KEEL_MARKET_SNAPSHOT_H_
