// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// One segment file of a write-ahead log as the log holds it open: its file, how much of it
// readers may see, its sparse index, and the ranges recovery skipped. Also the names of a log's
// files. Internal to keel/wal.
#ifndef KEEL_SRC_WAL_SEGMENT_H_
#define KEEL_SRC_WAL_SEGMENT_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/wal/file_system.h"
#include "keel/wal/format.h"
#include "record.h"

namespace keel::wal::internal {

// 00000000000000000042.wal and 00000000000000000042.idx: a segment and its sparse index, named
// by the offset of the segment's first record.
std::string SegmentFileName(uint64_t first_offset);
std::string IndexFileName(uint64_t first_offset);

// The offset in a file name of 20 digits followed by `suffix`, or nullopt.
std::optional<uint64_t> ParseFileName(std::string_view name, std::string_view suffix);

struct Segment {
  uint64_t first_offset = 0;
  std::string path;
  std::unique_ptr<File> file;
  // Bytes of complete records readers may read; a sealed segment's final size. The file may run
  // on past it, preallocated.
  std::atomic<uint64_t> visible_size{kSegmentHeaderBytes};
  std::atomic<uint64_t> end_offset{0};  // one past its last record
  std::atomic<int64_t> max_timestamp_ns{0};
  uint32_t salt = 0;    // from its header: every record's checksum holds with it
  bool sealed = false;  // guarded by the log's mu_

  // Sparse index, ascending. The writer appends under index_mu; readers search under it.
  mutable std::mutex index_mu;
  std::vector<IndexEntry> index;
  uint64_t next_index_position = kSegmentHeaderBytes;  // only the writer touches this

  // Byte ranges [from, to) that kSkipCorruptedRecords recovery skipped, ascending: set by Open,
  // cut back by Truncate. Guarded by index_mu; has_damage tells whether there ever were any, so
  // that readers of an undamaged segment need not take the lock.
  std::vector<std::pair<uint64_t, uint64_t>> damaged;
  std::atomic<bool> has_damage{false};

  // `position`, or the end of the damaged range that starts there.
  uint64_t SkipDamaged(uint64_t position) const {
    if (!has_damage.load(std::memory_order_acquire)) return position;
    std::lock_guard<std::mutex> lock(index_mu);
    for (const auto& [from, to] : damaged) {
      if (position == from) return to;
    }
    return position;
  }

  // The position and offset of the last indexed record at or before `offset`, or of the
  // segment's first record.
  std::pair<uint64_t, uint64_t> Seek(uint64_t offset) const {
    std::lock_guard<std::mutex> lock(index_mu);
    auto it = std::upper_bound(index.begin(), index.end(), offset,
                               [](uint64_t o, const IndexEntry& e) { return o < e.offset; });
    if (it == index.begin()) return {kSegmentHeaderBytes, first_offset};
    --it;
    return {it->position, it->offset};
  }

  void MaybeIndex(uint64_t offset, uint64_t position, uint32_t interval) {
    if (position < next_index_position) return;
    std::lock_guard<std::mutex> lock(index_mu);
    index.push_back({offset, position});
    next_index_position = position + interval;
  }

  // After the index lost its entries past a cut (Truncate, recovery), the next entry is due an
  // interval after the last one kept. REQUIRES: index_mu held.
  void ResetNextIndexPosition(uint32_t interval) {
    next_index_position = index.empty() ? kSegmentHeaderBytes : index.back().position + interval;
  }
};

}  // namespace keel::wal::internal

#endif  // KEEL_SRC_WAL_SEGMENT_H_
