// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Log's public face: checking options, opening, and handing every call to its LogImpl. See
// keel/wal/log.h for the contract, src/wal/log_impl.h for where the work is done, and
// docs/wal_format.md for the bytes.
#include "keel/wal/log.h"

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "log_impl.h"

namespace keel::wal {
namespace {

absl::Status CheckOptions(const LogOptions& o) {
  if (o.sync_interval_ns <= 0) {
    return absl::InvalidArgumentError(
        base::Cat("sync_interval_ns ", o.sync_interval_ns, " must be positive"));
  }
  if (o.max_segment_bytes < 4096 || o.max_segment_bytes > kMaxSegmentBytesLimit) {
    return absl::InvalidArgumentError(base::Cat("max_segment_bytes ", o.max_segment_bytes,
                                                " is outside [4096, ", kMaxSegmentBytesLimit, "]"));
  }
  if (o.max_record_bytes < 1 || o.max_record_bytes > kMaxRecordBytesLimit ||
      o.max_record_bytes + kRecordHeaderBytes + kSegmentHeaderBytes > o.max_segment_bytes) {
    return absl::InvalidArgumentError(
        base::Cat("max_record_bytes ", o.max_record_bytes, " is outside [1, ", kMaxRecordBytesLimit,
                  "] or does not fit in a segment of ", o.max_segment_bytes, " bytes"));
  }
  if (o.max_batch_records < 1) {
    return absl::InvalidArgumentError("max_batch_records must be at least 1");
  }
  if (o.index_interval_bytes < 64) {
    return absl::InvalidArgumentError(
        base::Cat("index_interval_bytes ", o.index_interval_bytes, " must be at least 64"));
  }
  return absl::OkStatus();
}

}  // namespace

Log::Log(std::unique_ptr<internal::LogImpl> impl) : impl_(std::move(impl)) {}

Log::~Log() = default;

absl::StatusOr<std::unique_ptr<Log>> Log::Open(const std::string& dir, const LogOptions& options,
                                               RecoveryReport* report) {
  KEEL_RETURN_IF_ERROR(CheckOptions(options));
  FileSystem& fs = options.file_system != nullptr ? *options.file_system : FileSystem::Posix();
  const base::Clock& clock =
      options.clock != nullptr ? *options.clock : base::SystemClock::Default();
  auto impl = std::make_unique<internal::LogImpl>(dir, options, fs, clock);
  RecoveryReport local;
  RecoveryReport* r = report != nullptr ? report : &local;
  *r = RecoveryReport{};
  KEEL_RETURN_IF_ERROR(impl->Recover(r));
  return std::unique_ptr<Log>(new Log(std::move(impl)));
}

absl::StatusOr<uint64_t> Log::Append(std::string_view payload) {
  return impl_->Submit(std::span<const std::string_view>(&payload, 1));
}

absl::StatusOr<uint64_t> Log::AppendBatch(std::span<const std::string_view> payloads) {
  if (payloads.empty()) return absl::InvalidArgumentError("an empty batch appends nothing");
  if (payloads.size() > impl_->options().max_batch_records) {
    return absl::InvalidArgumentError(base::Cat("a batch of ", payloads.size(),
                                                " records is over max_batch_records ",
                                                impl_->options().max_batch_records));
  }
  return impl_->Submit(payloads);
}

absl::Status Log::Sync() { return impl_->Sync(); }
absl::Status Log::SyncIfDue() { return impl_->SyncIfDue(); }
absl::Status Log::WaitDurable(uint64_t offset) { return impl_->WaitDurable(offset); }
uint64_t Log::first_offset() const { return impl_->first_offset(); }
uint64_t Log::next_offset() const { return impl_->next_offset(); }
uint64_t Log::durable_offset() const { return impl_->durable_offset(); }

absl::StatusOr<std::unique_ptr<LogReader>> Log::NewReader(uint64_t from) const {
  return impl_->NewReader(from);
}

absl::Status Log::Truncate(uint64_t end_offset) { return impl_->Truncate(end_offset); }
absl::Status Log::Reset(uint64_t next_offset) { return impl_->Reset(next_offset); }
absl::StatusOr<uint64_t> Log::DropBefore(uint64_t offset) { return impl_->DropBefore(offset); }

absl::StatusOr<size_t> Log::ApplyRetention(uint64_t max_bytes, int64_t max_age_ns,
                                           uint64_t keep_from) {
  return impl_->ApplyRetention(max_bytes, max_age_ns, keep_from);
}

LogStats Log::stats() const { return impl_->stats(); }
uint64_t Log::size_bytes() const { return impl_->size_bytes(); }
const std::string& Log::dir() const { return impl_->dir(); }
const LogOptions& Log::options() const { return impl_->options(); }

LogReader::LogReader(std::unique_ptr<internal::LogReaderImpl> impl) : impl_(std::move(impl)) {}
LogReader::~LogReader() = default;

absl::StatusOr<std::optional<RecordView>> LogReader::Next() { return impl_->Next(); }
uint64_t LogReader::position() const { return impl_->position(); }

}  // namespace keel::wal
