// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "offset_store.h"

#include <algorithm>
#include <cstddef>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::mq::internal {
namespace {

// record := group (length-prefixed) count (varint32) entry*
// entry := topic (length-prefixed) partition (varint32) offset (varint64)
//
// A group's offsets may take several records; replay merges them.

// The most bytes a record takes besides its entries (the group's name aside), and an entry
// besides its topic's name.
constexpr size_t kRecordOverheadBytes = base::kMaxVarint64Bytes + base::kMaxVarint32Bytes;
constexpr size_t kEntryOverheadBytes =
    base::kMaxVarint64Bytes + base::kMaxVarint32Bytes + base::kMaxVarint64Bytes;

// Appends `group`'s `offsets` to `records`, as few records as hold them in `max_bytes` each.
// REQUIRES: every entry fits in a record of its own (Commit checks).
void EncodeCommits(const std::string& group, const OffsetStore::Offsets& offsets, size_t max_bytes,
                   std::vector<std::string>& records) {
  std::string entries;
  std::string entry;
  uint32_t count = 0;
  auto flush = [&] {
    std::string& record = records.emplace_back();
    record.reserve(kRecordOverheadBytes + group.size() + entries.size());
    base::PutLengthPrefixed(record, group);
    base::PutVarint32(record, count);
    record += entries;
    KEEL_ASSERT(record.size() <= max_bytes, "an offsets record of ", record.size(),
                " bytes is over its limit of ", max_bytes);
    entries.clear();
    count = 0;
  };
  for (const auto& [tp, offset] : offsets) {
    entry.clear();
    base::PutLengthPrefixed(entry, tp.topic);
    base::PutVarint32(entry, tp.partition);
    base::PutVarint64(entry, offset);
    if (count > 0 &&
        kRecordOverheadBytes + group.size() + entries.size() + entry.size() > max_bytes) {
      flush();
    }
    entries += entry;
    ++count;
  }
  if (count > 0) flush();
}

absl::Status DecodeCommit(std::string_view record, std::string& group,
                          OffsetStore::Offsets& offsets) {
  base::Reader in(record);
  KEEL_ASSIGN_OR_RETURN(const std::string_view name, in.ReadLengthPrefixed());
  group = name;
  KEEL_ASSIGN_OR_RETURN(const uint32_t count, in.ReadVarint32());
  for (uint32_t i = 0; i < count; ++i) {
    KEEL_ASSIGN_OR_RETURN(const std::string_view topic, in.ReadLengthPrefixed());
    KEEL_ASSIGN_OR_RETURN(const uint32_t partition, in.ReadVarint32());
    KEEL_ASSIGN_OR_RETURN(const uint64_t offset, in.ReadVarint64());
    offsets[{std::string(topic), partition}] = offset;
  }
  return in.ExpectEnd();
}

}  // namespace

// A quarter of a segment per batch: the log starts a new segment for a batch that does not fit
// in the rest of the current one, and refuses only one larger than a whole segment.
OffsetStore::OffsetStore(std::unique_ptr<wal::Log> log, const OffsetStoreOptions& options)
    : options_(options),
      batch_bytes_max_((options.max_segment_bytes - wal::kSegmentHeaderBytes) / 4),
      record_bytes_max_(static_cast<size_t>(std::min<uint64_t>(
          options.max_record_bytes, batch_bytes_max_ - wal::kRecordHeaderBytes))),
      log_(std::move(log)) {}

absl::StatusOr<std::unique_ptr<OffsetStore>> OffsetStore::Open(const std::string& dir,
                                                               wal::FileSystem& fs,
                                                               const base::Clock& clock,
                                                               const OffsetStoreOptions& options) {
  wal::LogOptions o;
  o.sync = wal::SyncPolicy::kEveryAppend;
  o.max_segment_bytes = options.max_segment_bytes;
  o.max_record_bytes = options.max_record_bytes;
  o.file_system = &fs;
  o.clock = &clock;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::Log> log, wal::Log::Open(dir, o));
  std::unique_ptr<OffsetStore> store(new OffsetStore(std::move(log), options));
  KEEL_ASSIGN_OR_RETURN(auto reader, store->log_->NewReader(store->log_->first_offset()));
  for (;;) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> record, reader->Next());
    if (!record) break;
    std::string group;
    Offsets offsets;
    const absl::Status decoded = DecodeCommit(record->payload, group, offsets);
    if (!decoded.ok()) {
      return absl::DataLossError(base::Cat("group offsets in ", dir, ", record ", record->offset,
                                           ": ", decoded.message()));
    }
    for (const auto& [tp, offset] : offsets) store->groups_[group][tp] = offset;
  }
  store->entries_ = 0;
  for (const auto& [group, offsets] : store->groups_) store->entries_ += offsets.size();
  // Where the last snapshot began is not recorded; counting from the log's start only makes the
  // first compaction come sooner.
  store->snapshot_start_ = store->log_->first_offset();
  return store;
}

absl::Status OffsetStore::Commit(const std::string& group, const Offsets& offsets) {
  if (offsets.empty()) return absl::OkStatus();
  // Compaction may have to write any entry in a record of its own.
  for (const auto& [tp, offset] : offsets) {
    if (kRecordOverheadBytes + group.size() + kEntryOverheadBytes + tp.topic.size() >
        record_bytes_max_) {
      return absl::InvalidArgumentError(
          base::Cat("group ", base::Quoted(group), " (", group.size(), " bytes) and topic ",
                    base::Quoted(tp.topic), " (", tp.topic.size(),
                    " bytes): names too long for the offsets log's records of ", record_bytes_max_,
                    " bytes"));
    }
  }
  std::vector<std::string> records;
  EncodeCommits(group, offsets, record_bytes_max_, records);
  std::vector<std::string_view> views(records.begin(), records.end());
  std::lock_guard lock(mu_);
  // One batch, so that a crash keeps all of this commit or none of it.
  KEEL_RETURN_IF_ERROR(log_->AppendBatch(views).status());
  Offsets& stored = groups_[group];
  for (const auto& [tp, offset] : offsets) {
    if (stored.insert_or_assign(tp, offset).second) ++entries_;
  }
  // Counted from the last snapshot, not from the log's start: the segment the snapshot began in
  // keeps older records until it is dropped whole, and counting them would compact again at
  // every commit until it is.
  const uint64_t since = log_->next_offset() - std::max(snapshot_start_, log_->first_offset());
  if (since <= entries_ + options_.compaction_slack) return absl::OkStatus();
  const absl::Status compacted = Compact();
  if (!compacted.ok()) {
    return absl::Status(
        compacted.code(),
        base::Cat("the offsets of group ", base::Quoted(group),
                  " are committed, but compacting the offsets log failed: ", compacted.message()));
  }
  return absl::OkStatus();
}

absl::Status OffsetStore::Compact() {
  std::vector<std::string> records;
  for (const auto& [group, offsets] : groups_) {
    EncodeCommits(group, offsets, record_bytes_max_, records);
  }
  if (records.empty()) return absl::OkStatus();
  // The snapshot in batches that each fit in a segment; see the file comment for why a crash
  // between them is harmless.
  const size_t max_records = log_->options().max_batch_records;
  std::optional<uint64_t> start;
  size_t begin = 0;
  uint64_t bytes = 0;
  auto append = [&](size_t end) -> absl::Status {
    std::vector<std::string_view> views(records.begin() + static_cast<ptrdiff_t>(begin),
                                        records.begin() + static_cast<ptrdiff_t>(end));
    KEEL_ASSIGN_OR_RETURN(const uint64_t base, log_->AppendBatch(views));
    if (!start) start = base;
    begin = end;
    bytes = 0;
    return absl::OkStatus();
  };
  for (size_t i = 0; i < records.size(); ++i) {
    const uint64_t framed = wal::kRecordHeaderBytes + records[i].size();
    if (i > begin && (bytes + framed > batch_bytes_max_ || i - begin >= max_records)) {
      KEEL_RETURN_IF_ERROR(append(i));
    }
    bytes += framed;
  }
  KEEL_RETURN_IF_ERROR(append(records.size()));
  snapshot_start_ = *start;
  ++compactions_;
  return log_->DropBefore(*start).status();
}

std::optional<uint64_t> OffsetStore::Get(const std::string& group,
                                         const TopicPartition& partition) const {
  std::lock_guard lock(mu_);
  auto g = groups_.find(group);
  if (g == groups_.end()) return std::nullopt;
  auto it = g->second.find(partition);
  if (it == g->second.end()) return std::nullopt;
  return it->second;
}

uint64_t OffsetStore::log_records() const {
  std::lock_guard lock(mu_);
  return log_->next_offset() - log_->first_offset();
}

uint64_t OffsetStore::compactions() const {
  std::lock_guard lock(mu_);
  return compactions_;
}

}  // namespace keel::mq::internal
