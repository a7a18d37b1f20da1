// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Encoding and decoding the byte layouts of keel/wal/format.h: segment headers, record headers,
// sparse index files and truncation intents. Not installed.
#ifndef KEEL_SRC_WAL_RECORD_H_
#define KEEL_SRC_WAL_RECORD_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/base/coding.h"
#include "keel/base/crc32c.h"
#include "keel/wal/format.h"

namespace keel::wal::internal {

// ---------------------------------------------------------------------------------------------
// Records: masked_crc(4) length(4) type(1) offset(8) timestamp_ns(8) payload.
// ---------------------------------------------------------------------------------------------

struct RecordHeader {
  uint32_t masked_crc;
  uint32_t length;
  RecordType type;  // the type byte without kSyncPointBit
  uint64_t offset;
  int64_t timestamp_ns;
  bool sync_point;  // kSyncPointBit
};

inline bool IsRecordType(uint8_t type) { return type >= 1 && type <= 4; }

// The CRC of a record's header fields (the 21 bytes after its CRC), preceded by the salt of the
// segment it is in (see kSegmentHeaderBytes in keel/wal/format.h): a record's checksum holds only
// in a segment with that salt, so bytes inside a payload that happen to spell a record, or were
// put there to, never pass for one when recovery searches past damage.
inline uint32_t FieldsCrc(uint32_t salt, const char* fields) {
  char salted[4 + kRecordHeaderBytes - 4];
  base::EncodeFixed32(salted, salt);
  std::memcpy(salted + 4, fields, kRecordHeaderBytes - 4);
  return base::Crc32c(std::string_view(salted, sizeof(salted)));
}

// The 21 header bytes after the CRC.
inline void EncodeFields(char* fields, RecordType type, bool sync_point, uint64_t offset,
                         int64_t timestamp_ns, uint32_t length) {
  base::EncodeFixed32(fields, length);
  fields[4] = static_cast<char>(static_cast<uint8_t>(type) | (sync_point ? kSyncPointBit : 0));
  base::EncodeFixed64(fields + 5, offset);
  base::EncodeFixed64(fields + 13, static_cast<uint64_t>(timestamp_ns));
}

// Appends a record's header to `out`, for a segment with `salt`. `payload_crc` is
// Crc32c(payload); the record's CRC joins it with the header fields' CRC.
inline void EncodeRecordHeader(std::string& out, uint32_t salt, RecordType type, uint64_t offset,
                               int64_t timestamp_ns, uint32_t length, uint32_t payload_crc,
                               bool sync_point = false) {
  char fields[kRecordHeaderBytes - 4];
  EncodeFields(fields, type, sync_point, offset, timestamp_ns, length);
  const uint32_t crc = base::CombineCrc32c(FieldsCrc(salt, fields), payload_crc, length);
  base::PutFixed32(out, base::MaskCrc32c(crc));
  out.append(fields, sizeof(fields));
}

// Appends a record to `out`. `payload_crc` is Crc32c(payload), computed beforehand (outside the
// log's lock).
inline void EncodeRecord(std::string& out, uint32_t salt, RecordType type, uint64_t offset,
                         int64_t timestamp_ns, std::string_view payload, uint32_t payload_crc) {
  EncodeRecordHeader(out, salt, type, offset, timestamp_ns, static_cast<uint32_t>(payload.size()),
                     payload_crc);
  out.append(payload);
}

// As EncodeRecord, checksumming the payload here: for small payloads, cheaper than combining.
inline void EncodeRecordDirect(std::string& out, uint32_t salt, RecordType type, uint64_t offset,
                               int64_t timestamp_ns, std::string_view payload) {
  char fields[kRecordHeaderBytes - 4];
  EncodeFields(fields, type, false, offset, timestamp_ns, static_cast<uint32_t>(payload.size()));
  const uint32_t crc = base::ExtendCrc32c(FieldsCrc(salt, fields), payload);
  base::PutFixed32(out, base::MaskCrc32c(crc));
  out.append(fields, sizeof(fields));
  out.append(payload);
}

inline RecordHeader DecodeRecordHeader(const char* p) {
  const auto type_byte = static_cast<uint8_t>(p[8]);
  return {base::DecodeFixed32(p),
          base::DecodeFixed32(p + 4),
          static_cast<RecordType>(type_byte & ~kSyncPointBit),
          base::DecodeFixed64(p + 9),
          static_cast<int64_t>(base::DecodeFixed64(p + 17)),
          (type_byte & kSyncPointBit) != 0};
}

// Sets kSyncPointBit in the record that starts at `record` (header and payload, encoded for a
// segment with `salt`) and checksums it again.
inline void MarkSyncPoint(char* record, uint32_t salt) {
  record[8] = static_cast<char>(static_cast<uint8_t>(record[8]) | kSyncPointBit);
  const uint32_t length = base::DecodeFixed32(record + 4);
  const uint32_t crc = base::ExtendCrc32c(FieldsCrc(salt, record + 4),
                                          std::string_view(record + kRecordHeaderBytes, length));
  base::EncodeFixed32(record, base::MaskCrc32c(crc));
}

// True when the CRC of `header_bytes` (kRecordHeaderBytes of them) followed by `payload` checks
// in a segment with `salt`.
inline bool RecordCrcMatches(const char* header_bytes, std::string_view payload, uint32_t salt) {
  const uint32_t stored = base::UnmaskCrc32c(base::DecodeFixed32(header_bytes));
  return base::ExtendCrc32c(FieldsCrc(salt, header_bytes + 4), payload) == stored;
}

// ---------------------------------------------------------------------------------------------
// Segment headers: magic(8) version(4) flags(4) first_offset(8) salt(4) masked_crc(4).
// ---------------------------------------------------------------------------------------------

struct SegmentHeader {
  uint64_t first_offset = 0;
  uint32_t salt = 0;
};

inline std::string EncodeSegmentHeader(const SegmentHeader& header) {
  std::string out;
  base::PutFixed64(out, kSegmentMagic);
  base::PutFixed32(out, kFormatVersion);
  base::PutFixed32(out, 0);  // flags: none are defined
  base::PutFixed64(out, header.first_offset);
  base::PutFixed32(out, header.salt);
  base::PutFixed32(out, base::MaskCrc32c(base::Crc32c(out)));
  return out;
}

// The header `bytes` hold, or nullopt unless they are a valid one. A header with a flag set is not
// valid: this version defines none.
inline std::optional<SegmentHeader> DecodeSegmentHeader(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderBytes) return std::nullopt;
  const char* p = bytes.data();
  if (base::DecodeFixed64(p) != kSegmentMagic || base::DecodeFixed32(p + 8) != kFormatVersion) {
    return std::nullopt;
  }
  const uint32_t crc = base::UnmaskCrc32c(base::DecodeFixed32(p + 28));
  if (crc != base::Crc32c(bytes.substr(0, 28))) return std::nullopt;
  if (base::DecodeFixed32(p + 12) != 0) return std::nullopt;
  return SegmentHeader{base::DecodeFixed64(p + 16), base::DecodeFixed32(p + 24)};
}

// The salt field of a header that may be damaged: what recovery checks a damaged segment's
// records against, to count what it drops. REQUIRES: bytes.size() >= kSegmentHeaderBytes.
inline uint32_t SaltField(std::string_view bytes) { return base::DecodeFixed32(bytes.data() + 24); }

// ---------------------------------------------------------------------------------------------
// Sparse index files: magic(8) version(4) count(4) segment_size(8) end_offset(8)
// max_timestamp_ns(8) (offset(8) position(8)){count} masked_crc(4).
// ---------------------------------------------------------------------------------------------

struct IndexEntry {
  uint64_t offset;
  uint64_t position;
};

struct SegmentIndex {
  uint64_t segment_size = 0;
  uint64_t end_offset = 0;
  int64_t max_timestamp_ns = 0;
  std::vector<IndexEntry> entries;
};

inline std::string EncodeIndex(const SegmentIndex& index) {
  std::string out;
  base::PutFixed64(out, kIndexMagic);
  base::PutFixed32(out, kFormatVersion);
  base::PutFixed32(out, static_cast<uint32_t>(index.entries.size()));
  base::PutFixed64(out, index.segment_size);
  base::PutFixed64(out, index.end_offset);
  base::PutFixed64(out, static_cast<uint64_t>(index.max_timestamp_ns));
  for (const IndexEntry& e : index.entries) {
    base::PutFixed64(out, e.offset);
    base::PutFixed64(out, e.position);
  }
  base::PutFixed32(out, base::MaskCrc32c(base::Crc32c(out)));
  return out;
}

// Errors (kDataLoss) for anything but a complete, intact index file.
inline absl::StatusOr<SegmentIndex> DecodeIndex(std::string_view bytes) {
  if (bytes.size() < 4) return absl::DataLossError("index file too short");
  const uint32_t stored = base::UnmaskCrc32c(base::DecodeFixed32(bytes.data() + bytes.size() - 4));
  if (stored != base::Crc32c(bytes.substr(0, bytes.size() - 4))) {
    return absl::DataLossError("index file checksum mismatch");
  }
  base::Reader in(bytes.substr(0, bytes.size() - 4));
  SegmentIndex index;
  auto magic = in.ReadFixed64();
  auto version = in.ReadFixed32();
  auto count = in.ReadFixed32();
  auto size = in.ReadFixed64();
  auto end = in.ReadFixed64();
  auto max_ts = in.ReadFixed64();
  if (!magic.ok() || *magic != kIndexMagic || !version.ok() || *version != kFormatVersion ||
      !count.ok() || !size.ok() || !end.ok() || !max_ts.ok() || in.remaining() != *count * 16u) {
    return absl::DataLossError("index file header is not valid");
  }
  index.segment_size = *size;
  index.end_offset = *end;
  index.max_timestamp_ns = static_cast<int64_t>(*max_ts);
  index.entries.reserve(*count);
  for (uint32_t i = 0; i < *count; ++i) {
    const uint64_t offset = *in.ReadFixed64();
    const uint64_t position = *in.ReadFixed64();
    index.entries.push_back({offset, position});
  }
  return index;
}

// ---------------------------------------------------------------------------------------------
// Truncation intents: magic(8) segment_first_offset(8) cut_position(8) rewrite_position(8)
// rewritten_header(25) masked_crc(4), the CRC over everything before it.
// ---------------------------------------------------------------------------------------------

inline constexpr size_t kTruncationIntentBytes = 8 + 8 + 8 + 8 + kRecordHeaderBytes + 4;

struct TruncationIntent {
  uint64_t segment_first_offset = 0;  // the segment cut; every later one goes
  uint64_t cut_position = 0;          // its new size
  uint64_t rewrite_position = 0;      // where the last record kept starts
  std::string rewritten_header;       // that record's new header, kRecordHeaderBytes long
};

inline std::string EncodeTruncationIntent(const TruncationIntent& intent) {
  std::string out;
  base::PutFixed64(out, kTruncationMagic);
  base::PutFixed64(out, intent.segment_first_offset);
  base::PutFixed64(out, intent.cut_position);
  base::PutFixed64(out, intent.rewrite_position);
  out.append(intent.rewritten_header);
  base::PutFixed32(out, base::MaskCrc32c(base::Crc32c(out)));
  return out;
}

// nullopt for anything but a complete, intact intent (an incomplete one was never acted on).
inline std::optional<TruncationIntent> DecodeTruncationIntent(std::string_view bytes) {
  if (bytes.size() != kTruncationIntentBytes) return std::nullopt;
  const char* p = bytes.data();
  const uint32_t stored = base::UnmaskCrc32c(base::DecodeFixed32(p + bytes.size() - 4));
  if (stored != base::Crc32c(bytes.substr(0, bytes.size() - 4)) ||
      base::DecodeFixed64(p) != kTruncationMagic) {
    return std::nullopt;
  }
  TruncationIntent intent;
  intent.segment_first_offset = base::DecodeFixed64(p + 8);
  intent.cut_position = base::DecodeFixed64(p + 16);
  intent.rewrite_position = base::DecodeFixed64(p + 24);
  intent.rewritten_header.assign(p + 32, kRecordHeaderBytes);
  return intent;
}

}  // namespace keel::wal::internal

#endif  // KEEL_SRC_WAL_RECORD_H_
