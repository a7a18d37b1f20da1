// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "scan.h"

#include <algorithm>

#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::wal::internal {
namespace {

// Recovery reads segments through a window this large.
constexpr size_t kScanWindowBytes = 4 << 20;

// Runs of preallocated zeros are checked this much at a time.
constexpr uint64_t kZeroScanBytes = 64 << 10;

}  // namespace

absl::StatusOr<std::string_view> Window::Get(uint64_t pos, size_t n) {
  if (pos < start_ || pos + n > start_ + data_.size()) {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(std::max(n, kScanWindowBytes), size_ - pos));
    data_.resize(want);
    KEEL_ASSIGN_OR_RETURN(const size_t got, file_.ReadAt(pos, data_.data(), want));
    if (got < n) {
      return absl::DataLossError(base::Cat("short read at position ", pos));
    }
    data_.resize(got);
    start_ = pos;
  }
  return std::string_view(data_).substr(static_cast<size_t>(pos - start_), n);
}

absl::StatusOr<Probe> ProbeRecord(Window& w, uint64_t pos) {
  Probe probe;
  if (w.size() - pos < kRecordHeaderBytes) return probe;
  KEEL_ASSIGN_OR_RETURN(const std::string_view head, w.Get(pos, kRecordHeaderBytes));
  probe.header = DecodeRecordHeader(head.data());
  const uint64_t length = probe.header.length;
  if (length > kMaxRecordBytesLimit || w.size() - pos - kRecordHeaderBytes < length) return probe;
  probe.complete = true;
  if (!IsRecordType(static_cast<uint8_t>(probe.header.type))) return probe;
  const std::string header_copy(head);  // the window may move when the payload is fetched
  KEEL_ASSIGN_OR_RETURN(const std::string_view payload,
                        w.Get(pos + kRecordHeaderBytes, static_cast<size_t>(length)));
  probe.valid = RecordCrcMatches(header_copy.data(), payload, w.salt());
  return probe;
}

absl::StatusOr<std::optional<uint64_t>> FindValidRecordAfter(Window& w, uint64_t from,
                                                             uint64_t min_offset,
                                                             bool sync_points_only) {
  for (uint64_t pos = from + 1; pos + kRecordHeaderBytes <= w.size(); ++pos) {
    KEEL_ASSIGN_OR_RETURN(const std::string_view head, w.Get(pos, kRecordHeaderBytes));
    const RecordHeader h = DecodeRecordHeader(head.data());
    // Cheap plausibility first; the CRC only for candidates.
    if ((sync_points_only && !h.sync_point) || !IsRecordType(static_cast<uint8_t>(h.type)) ||
        h.offset < min_offset || h.offset - min_offset > (uint64_t{1} << 40) ||
        h.length > kMaxRecordBytesLimit || w.size() - pos - kRecordHeaderBytes < h.length) {
      continue;
    }
    KEEL_ASSIGN_OR_RETURN(const Probe probe, ProbeRecord(w, pos));
    if (probe.valid) return pos;
  }
  return std::nullopt;
}

absl::StatusOr<bool> ZerosToEnd(Window& w, uint64_t from) {
  for (uint64_t pos = from; pos < w.size();) {
    // The first chunk is a record header's worth: where one starts, that is all it takes.
    const uint64_t chunk = pos == from ? kRecordHeaderBytes : kZeroScanBytes;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, w.size() - pos));
    KEEL_ASSIGN_OR_RETURN(const std::string_view bytes, w.Get(pos, n));
    if (bytes.find_first_not_of('\0') != std::string_view::npos) return false;
    pos += n;
  }
  return true;
}

absl::StatusOr<uint64_t> EndOfNonZero(Window& w, uint64_t from) {
  for (uint64_t hi = w.size(); hi > from;) {
    const uint64_t lo = hi - std::min(kZeroScanBytes, hi - from);
    KEEL_ASSIGN_OR_RETURN(const std::string_view bytes, w.Get(lo, static_cast<size_t>(hi - lo)));
    const size_t last = bytes.find_last_not_of('\0');
    if (last != std::string_view::npos) return lo + last + 1;
    hi = lo;
  }
  return from;
}

absl::StatusOr<uint64_t> CountIntactFrom(Window& w, uint64_t position) {
  uint64_t count = 0;
  while (position < w.size()) {
    KEEL_ASSIGN_OR_RETURN(const Probe probe, ProbeRecord(w, position));
    if (!probe.valid) break;
    ++count;
    position += kRecordHeaderBytes + probe.header.length;
  }
  return count;
}

absl::StatusOr<std::optional<std::string>> ReadSegmentHeader(const File& file) {
  std::string bytes(kSegmentHeaderBytes, '\0');
  KEEL_ASSIGN_OR_RETURN(const size_t got, file.ReadAt(0, bytes.data(), bytes.size()));
  if (got < bytes.size()) return std::nullopt;
  return bytes;
}

absl::StatusOr<SegmentIndex> ReadIndexFile(FileSystem& fs, const std::string& path) {
  KEEL_ASSIGN_OR_RETURN(const std::unique_ptr<File> file, fs.Open(path, OpenMode::kExisting));
  std::string bytes(file->size(), '\0');
  KEEL_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(0, bytes.data(), bytes.size()));
  bytes.resize(got);
  return DecodeIndex(bytes);
}

}  // namespace keel::wal::internal
