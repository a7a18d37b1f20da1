// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The snapshot file of keel::raft::Storage: a snapshot's metadata and data under one checksum,
// replaced atomically and durably. Not for users: Storage is the interface. docs/raft.md gives
// the grammar:
//
//   snapshot := magic (fixed64 "KEELSNP1") metadata_length (fixed32) data_length (fixed64)
//               metadata data crc (fixed32, masked CRC32C of everything after the magic)
//
// Not keel::wal::WriteFileAtomically: that holds at most 64 MiB read whole into memory twice
// over (the framed bytes, then the contents), and an application's state can be larger. This
// file is written in place from the snapshot's shared data and read straight into the string the
// Snapshot will own.
#ifndef KEEL_SRC_RAFT_SNAPSHOT_FILE_H_
#define KEEL_SRC_RAFT_SNAPSHOT_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/raft/types.h"
#include "keel/wal/file_system.h"

namespace keel::raft::internal {

// The most bytes of encoded metadata a snapshot file may claim: a bound on what a damaged length
// can make the reader allocate before the checksum is known (a configuration of thousands of
// nodes takes kilobytes).
inline constexpr uint32_t kMaxSnapshotMetadataBytes = 1 << 20;

// Replaces `dir`/`name` with `snapshot`: written to `name`.tmp (replacing any leftover), synced,
// renamed over `name`, and the directory synced. A crash leaves the old file or the new one.
// Errors: kInvalidArgument for metadata over kMaxSnapshotMetadataBytes; I/O errors (after which
// the file holds the old snapshot or the new).
[[nodiscard]] absl::Status WriteSnapshotFile(wal::FileSystem& fs, const std::string& dir,
                                             const std::string& name, const Snapshot& snapshot);

// The snapshot in the file at `path`. Errors: kNotFound when there is none; kDataLoss, naming
// the file and what is wrong, when it is not a snapshot file or is damaged; I/O errors.
[[nodiscard]] absl::StatusOr<Snapshot> ReadSnapshotFile(wal::FileSystem& fs,
                                                        const std::string& path);

}  // namespace keel::raft::internal

#endif  // KEEL_SRC_RAFT_SNAPSHOT_FILE_H_
