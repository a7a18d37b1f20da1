// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "offset_store.h"

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::mq::internal {
namespace {

// record := group (length-prefixed) count (varint32) entry*
// entry := topic (length-prefixed) partition (varint32) offset (varint64)
std::string EncodeCommit(const std::string& group, const OffsetStore::Offsets& offsets) {
  std::string out;
  base::PutLengthPrefixed(out, group);
  base::PutVarint32(out, static_cast<uint32_t>(offsets.size()));
  for (const auto& [tp, offset] : offsets) {
    base::PutLengthPrefixed(out, tp.topic);
    base::PutVarint32(out, tp.partition);
    base::PutVarint64(out, offset);
  }
  return out;
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

// Compact when the log holds this many more records than there are (group, partition) pairs.
constexpr uint64_t kCompactionSlack = 4096;

}  // namespace

absl::StatusOr<std::unique_ptr<OffsetStore>> OffsetStore::Open(const std::string& dir,
                                                               wal::FileSystem& fs,
                                                               const base::Clock& clock) {
  wal::LogOptions o;
  o.sync = wal::SyncPolicy::kEveryAppend;
  o.max_segment_bytes = 4 << 20;
  o.max_record_bytes = 2 << 20;
  o.file_system = &fs;
  o.clock = &clock;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::Log> log, wal::Log::Open(dir, o));
  std::unique_ptr<OffsetStore> store(new OffsetStore(std::move(log)));
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
  return store;
}

absl::Status OffsetStore::Commit(const std::string& group, const Offsets& offsets) {
  if (offsets.empty()) return absl::OkStatus();
  std::lock_guard lock(mu_);
  KEEL_RETURN_IF_ERROR(log_->Append(EncodeCommit(group, offsets)).status());
  Offsets& stored = groups_[group];
  for (const auto& [tp, offset] : offsets) {
    if (stored.insert_or_assign(tp, offset).second) ++entries_;
  }
  if (log_->next_offset() - log_->first_offset() > entries_ + kCompactionSlack) {
    return Compact();
  }
  return absl::OkStatus();
}

absl::Status OffsetStore::Compact() {
  std::vector<std::string> records;
  for (const auto& [group, offsets] : groups_) records.push_back(EncodeCommit(group, offsets));
  std::vector<std::string_view> views(records.begin(), records.end());
  KEEL_ASSIGN_OR_RETURN(const uint64_t base, log_->AppendBatch(views));
  return log_->DropBefore(base).status();
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

}  // namespace keel::mq::internal
