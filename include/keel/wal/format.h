// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The on-disk format of keel's write-ahead log: constants only. docs/wal_format.md gives the
// grammar and a worked example.
//
// A log is a directory of segment files, each named by the offset of its first record
// (00000000000000000042.wal) and holding a header followed by records:
//
//   segment := segment_header record*
//   segment_header (32 bytes) := magic version flags first_offset salt header_crc
//   record := record_header payload
//   record_header (25 bytes) := masked_crc length type offset timestamp_ns
//
// The record's CRC32C (masked, keel/base/crc32c.h) covers its segment's salt (a random number a
// log picks when it is created and writes into every segment header) and then everything after
// the CRC: length, type, offset, timestamp and payload, so a torn, shifted or misplaced record
// never passes, and neither do bytes in a payload that spell a record (a payload is anyone's to
// choose; the salt is not). Carrying the
// offset in every record lets recovery tell a missing or reordered segment from a damaged one, and
// lets recovery, when it searches past damage for the next intact record, accept only one whose
// offset belongs where it is found. (Readers do not search: a reader that meets damage stops with
// kDataLoss.)
//
// Two more files exist only while an operation that must not be left half done is under way, and
// Open finishes (or, when they are incomplete, discards) what they describe:
//
//   TRUNCATE (61 bytes) := magic segment_first_offset cut_position rewrite_position
//                          rewritten_record_header crc
//   RESET := segment_header      ; the new, empty segment, renamed into place when done
#ifndef KEEL_WAL_FORMAT_H_
#define KEEL_WAL_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace keel::wal {

// "KEELWAL1", "KEELIDX1" and "KEELCUT1" as little-endian fixed64s.
inline constexpr uint64_t kSegmentMagic = 0x314c41574c45454bu;
inline constexpr uint64_t kIndexMagic = 0x315844494c45454bu;
inline constexpr uint64_t kTruncationMagic = 0x315455434c45454bu;
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderBytes = 32;
inline constexpr size_t kRecordHeaderBytes = 25;

// The suffix of segment files and of their sparse index files.
inline constexpr char kSegmentSuffix[] = ".wal";
inline constexpr char kIndexSuffix[] = ".idx";
// The lock file that keeps a second Log (in any process) out of a directory while one is open.
inline constexpr char kLockFileName[] = "LOCK";
// The intent of a Truncate that cuts a batch short: which record's header to rewrite and where to
// cut, so that a crash part-way can be finished from it (a redo record, like InnoDB's doublewrite
// buffer: it makes the in-place header rewrite safe even if the crash tears it).
inline constexpr char kTruncationFileName[] = "TRUNCATE";
// The new segment of a Reset, created (and synced) under this name before any old segment goes.
inline constexpr char kResetFileName[] = "RESET";

// A record stands alone (kFull), or is one of a batch that must be recovered whole or not at all
// (kFirst, kMiddle..., kLast; a batch of one is kFull).
enum class RecordType : uint8_t {
  kFull = 1,
  kFirst = 2,
  kMiddle = 3,
  kLast = 4,
};

// The high bit of a record's type byte marks a sync point: every byte before this record in its
// segment was durable when the record was written. Unsynced writes can reach the disk in any
// order (POSIX promises nothing about it, and records that overwrite preallocated zeros make it
// likely), so a crash can keep a later write and lose an earlier one; recovery tells such a hole
// from corruption of durable bytes by whether a sync point follows it (see docs/wal_format.md).
inline constexpr uint8_t kSyncPointBit = 0x80;

// Limits. Options may lower them; nothing may exceed them.
inline constexpr uint32_t kMaxRecordBytesLimit = 256u << 20;           // one payload: 256 MiB
inline constexpr uint64_t kMaxSegmentBytesLimit = uint64_t{16} << 30;  // one segment: 16 GiB

}  // namespace keel::wal

#endif  // KEEL_WAL_FORMAT_H_
