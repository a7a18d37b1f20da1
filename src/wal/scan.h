// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Reading a segment's records during recovery, where damage is expected: a window over the file,
// a probe that says whether the record at a position is whole and intact, and the searches that
// tell a torn tail (nothing valid follows the damage) from corruption (something does). Readers
// never search; they stop at damage (see reader.cc). Internal to keel/wal.
#ifndef KEEL_SRC_WAL_SCAN_H_
#define KEEL_SRC_WAL_SCAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keel/wal/file_system.h"
#include "record.h"

namespace keel::wal::internal {

// Reads a segment's file through a sliding window, for scanning, and knows the salt its records'
// checksums hold with (the segment header's).
class Window {
 public:
  Window(const File& file, uint32_t salt) : file_(file), size_(file.size()), salt_(salt) {}

  uint64_t size() const { return size_; }
  uint32_t salt() const { return salt_; }

  // The bytes [pos, pos + n), or an error. REQUIRES: pos + n <= size(). The view is valid until
  // the next call.
  absl::StatusOr<std::string_view> Get(uint64_t pos, size_t n);

 private:
  const File& file_;
  uint64_t size_;
  uint32_t salt_;
  uint64_t start_ = 0;
  std::string data_;
};

// A record's header and whether its bytes check out, at `pos` of a window.
struct Probe {
  bool complete = false;  // header and payload are within the file
  bool valid = false;     // and the CRC matches
  RecordHeader header{};
};

absl::StatusOr<Probe> ProbeRecord(Window& w, uint64_t pos);

// The position of the first valid record after `from` whose offset is at least `min_offset` (and
// that is a sync point, if `sync_points_only`), or nullopt. How a torn tail (nothing valid
// follows) is told from corruption (something does).
absl::StatusOr<std::optional<uint64_t>> FindValidRecordAfter(Window& w, uint64_t from,
                                                             uint64_t min_offset,
                                                             bool sync_points_only = false);

// Whether every byte from `from` to the end of the window is zero: what a log that preallocates
// leaves after its last record (see LogOptions::preallocate_bytes). No record's header is all
// zeros (type 0 is none), so a run of zeros where a record would start is the end of the log.
absl::StatusOr<bool> ZerosToEnd(Window& w, uint64_t from);

// The end of the bytes in [from, end of window) that are not a trailing run of zeros.
absl::StatusOr<uint64_t> EndOfNonZero(Window& w, uint64_t from);

// How many intact records follow one another from `position`, up to the first that is not.
absl::StatusOr<uint64_t> CountIntactFrom(Window& w, uint64_t position);

// The first kSegmentHeaderBytes of a segment file, or nullopt when it is shorter.
absl::StatusOr<std::optional<std::string>> ReadSegmentHeader(const File& file);

// The index file at `path`. Errors: kNotFound when there is none; kDataLoss when it is damaged.
absl::StatusOr<SegmentIndex> ReadIndexFile(FileSystem& fs, const std::string& path);

}  // namespace keel::wal::internal

#endif  // KEEL_SRC_WAL_SCAN_H_
