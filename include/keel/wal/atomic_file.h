// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Small files replaced whole, atomically and durably: metadata, checkpoints, a Raft node's term
// and vote. WriteFileAtomically writes the new contents to a temporary file, syncs it, renames it
// over the old one and syncs the directory, so that after a crash the file holds either the old
// contents or the new, never a mixture. The contents are framed with a magic number, their length
// and a masked CRC32C, so that ReadFileChecked tells damage from data.
//
//   file := magic (fixed64 "KEELFILE") length (fixed32) contents crc (fixed32, masked CRC32C of
//           length and contents)
//
// Example:
//
//   KEEL_RETURN_IF_ERROR(keel::wal::WriteFileAtomically(fs, "/var/lib/app", "topics", encoded));
//   KEEL_ASSIGN_OR_RETURN(std::string encoded, keel::wal::ReadFileChecked(fs,
//   "/var/lib/app/topics"));
#ifndef KEEL_WAL_ATOMIC_FILE_H_
#define KEEL_WAL_ATOMIC_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keel/wal/file_system.h"

namespace keel::wal {

// The largest contents these files hold: they are read whole into memory.
inline constexpr uint32_t kMaxAtomicFileBytes = 64u << 20;

// Replaces `dir`/`name` with `contents`. A leftover `name`.tmp from an interrupted write is
// replaced. Errors: kInvalidArgument for contents over kMaxAtomicFileBytes; I/O errors (after
// which the file holds the old contents or the new).
[[nodiscard]] absl::Status WriteFileAtomically(FileSystem& fs, const std::string& dir,
                                               const std::string& name, std::string_view contents);

// The contents of a file WriteFileAtomically wrote. Errors: kNotFound if there is no such file;
// kDataLoss, naming the file, if it is not one or is damaged; I/O errors.
[[nodiscard]] absl::StatusOr<std::string> ReadFileChecked(FileSystem& fs, const std::string& path);

}  // namespace keel::wal

#endif  // KEEL_WAL_ATOMIC_FILE_H_
