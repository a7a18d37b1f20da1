// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "append_only_file.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <utility>

#include "absl/strings/str_split.h"
#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"
#include "keel/wal/atomic_file.h"
#include "keel/wal/file_system.h"
#include "keel/wal/format.h"

namespace keel::redis::internal {
namespace {

constexpr char kManifestName[] = "MANIFEST";
constexpr char kManifestMagic[] = "keel-aof 1";
constexpr char kLogName[] = "log";
constexpr char kBasePrefix[] = "base-";
constexpr char kLockName[] = "LOCK";
constexpr uint64_t kMinSegmentBytes = 64 << 10;
// Records handed to one AppendBatch: one write (and under kAlways one fsync) each.
constexpr size_t kMaxBatchBytes = 4 << 20;
constexpr uint32_t kMaxBatchRecords = 1 << 14;

std::string Join(const std::string& dir, std::string_view name) {
  return base::Cat(dir, "/", name);
}

// Parses a decimal number that is the whole of `text`.
std::optional<uint64_t> ParseUnsigned(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Removes a directory a log lived in, with its files.
absl::Status RemoveTree(wal::FileSystem& fs, const std::string& dir) {
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.List(dir));
  for (const std::string& name : names) KEEL_RETURN_IF_ERROR(fs.Remove(Join(dir, name)));
  return fs.RemoveDir(dir);
}

wal::LogOptions LogOptionsFor(const EngineOptions& options, wal::FileSystem& fs,
                              wal::SyncPolicy sync, wal::RecoveryMode recovery) {
  wal::LogOptions log;
  log.sync = sync;
  log.max_segment_bytes = options.log_segment_bytes;
  // A record and the headers around it must fit in a segment.
  log.max_record_bytes = static_cast<uint32_t>(std::min<uint64_t>(
      wal::kMaxRecordBytesLimit,
      options.log_segment_bytes - 2 * wal::kSegmentHeaderBytes - 2 * wal::kRecordHeaderBytes));
  log.max_batch_records = kMaxBatchRecords;
  log.preallocate_bytes = options.log_preallocate_bytes;
  log.recovery = recovery;
  log.file_system = &fs;
  return log;
}

// Opens the log in `dir`, naming the directory in any error (the log names only the file).
absl::StatusOr<std::unique_ptr<wal::Log>> OpenLog(const std::string& dir,
                                                  const wal::LogOptions& options) {
  absl::StatusOr<std::unique_ptr<wal::Log>> log = wal::Log::Open(dir, options);
  if (!log.ok()) {
    return absl::Status(log.status().code(), base::Cat(dir, ": ", log.status().message()));
  }
  return log;
}

// Appends `records` to `log` in batches, checking that they get the offsets from `first` on.
absl::Status AppendAll(wal::Log& log, const std::vector<std::string>& records, uint64_t first) {
  std::vector<std::string_view> batch;
  size_t i = 0;
  while (i < records.size()) {
    batch.clear();
    uint64_t bytes = 0;
    const uint64_t segment_room = log.options().max_segment_bytes / 2;
    while (i < records.size() && batch.size() < kMaxBatchRecords &&
           (batch.empty() ||
            bytes + records[i].size() <= std::min<uint64_t>(kMaxBatchBytes, segment_room))) {
      bytes += records[i].size() + wal::kRecordHeaderBytes;
      batch.emplace_back(records[i++]);
    }
    KEEL_ASSIGN_OR_RETURN(const uint64_t offset, log.AppendBatch(batch));
    KEEL_ASSERT(offset == first, "the log gave offset ", offset, " where ", first, " was due");
    first += batch.size();
  }
  return absl::OkStatus();
}

// Reads every record of `log` from `from`, decoding each and passing it to `apply`.
absl::Status ReplayLog(const wal::Log& log, uint64_t from, const std::string& name,
                       const AppendOnlyFile::Apply& apply, uint64_t* count) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log.NewReader(from));
  std::vector<std::string_view> args;
  while (true) {
    absl::StatusOr<std::optional<wal::RecordView>> next = reader->Next();
    if (!next.ok()) {
      return absl::Status(next.status().code(), base::Cat(name, ": ", next.status().message()));
    }
    const std::optional<wal::RecordView>& record = *next;
    if (!record) return absl::OkStatus();
    absl::Status status = DecodeCommand(record->payload, &args);
    if (status.ok()) status = apply(args);
    if (!status.ok()) {
      return absl::Status(status.code(), base::Cat(name, ", record at offset ", record->offset,
                                                   ": ", status.message()));
    }
    ++*count;
  }
}

}  // namespace

absl::Status DecodeCommand(std::string_view record, std::vector<std::string_view>* args) {
  args->clear();
  size_t pos = 0;
  // Reads "<prefix><decimal>\r\n" at pos.
  auto number = [&](char prefix, uint64_t* value) -> absl::Status {
    if (pos >= record.size() || record[pos] != prefix) {
      return absl::DataLossError(base::Cat("expected '", std::string_view(&prefix, 1), "' at byte ",
                                           pos, " of the command"));
    }
    const size_t end = record.find("\r\n", pos + 1);
    const std::optional<uint64_t> parsed =
        end == std::string_view::npos ? std::nullopt
                                      : ParseUnsigned(record.substr(pos + 1, end - pos - 1));
    if (!parsed) return absl::DataLossError(base::Cat("a bad length at byte ", pos));
    *value = *parsed;
    pos = end + 2;
    return absl::OkStatus();
  };
  uint64_t count = 0;
  KEEL_RETURN_IF_ERROR(number('*', &count));
  if (count == 0 || count > record.size()) {
    return absl::DataLossError(base::Cat("a command of ", count, " arguments"));
  }
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t length = 0;
    KEEL_RETURN_IF_ERROR(number('$', &length));
    if (length > record.size() - pos || record.size() - pos - length < 2 ||
        record.substr(pos + length, 2) != "\r\n") {
      return absl::DataLossError(base::Cat("argument ", i, " overruns the command"));
    }
    args->push_back(record.substr(pos, length));
    pos += length + 2;
  }
  if (pos != record.size()) {
    return absl::DataLossError(base::Cat(record.size() - pos, " bytes after the command"));
  }
  return absl::OkStatus();
}

AppendOnlyFile::AppendOnlyFile(const EngineOptions& options, wal::FileSystem& fs)
    : options_(options), fs_(fs), log_dir_(Join(options.dir, kLogName)) {}

AppendOnlyFile::~AppendOnlyFile() = default;

absl::StatusOr<std::unique_ptr<AppendOnlyFile>> AppendOnlyFile::Open(const EngineOptions& options) {
  if (options.log_segment_bytes < kMinSegmentBytes ||
      options.log_segment_bytes > wal::kMaxSegmentBytesLimit) {
    return absl::InvalidArgumentError(base::Cat("log_segment_bytes ", options.log_segment_bytes,
                                                " is outside [", kMinSegmentBytes, ", ",
                                                wal::kMaxSegmentBytesLimit, "]"));
  }
  if (options.background_interval_ms <= 0) {
    return absl::InvalidArgumentError(
        base::Cat("background_interval_ms ", options.background_interval_ms, " is not positive"));
  }
  wal::FileSystem& fs = options.file_system ? *options.file_system : wal::FileSystem::Posix();
  std::unique_ptr<AppendOnlyFile> file(new AppendOnlyFile(options, fs));
  KEEL_RETURN_IF_ERROR(file->OpenFiles());
  return file;
}

absl::Status AppendOnlyFile::OpenFiles() {
  const std::string& dir = options_.dir;
  KEEL_RETURN_IF_ERROR(fs_.CreateDir(dir));
  KEEL_RETURN_IF_ERROR(wal::SyncParentDir(fs_, dir));  // the directory must survive a crash
  KEEL_ASSIGN_OR_RETURN(lock_, fs_.Lock(Join(dir, kLockName)));

  // The manifest: "keel-aof 1\n" and, after the first rewrite, "base <n> <covered> <records>\n".
  const std::string manifest_path = Join(dir, kManifestName);
  absl::StatusOr<std::string> manifest = wal::ReadFileChecked(fs_, manifest_path);
  if (manifest.ok()) {
    const std::vector<absl::string_view> lines = absl::StrSplit(*manifest, '\n', absl::SkipEmpty());
    std::vector<absl::string_view> fields;
    if (lines.size() == 2) fields = absl::StrSplit(lines[1], ' ');
    std::optional<uint64_t> number, covered, records;
    if (fields.size() == 4) {
      number = ParseUnsigned(std::string_view(fields[1].data(), fields[1].size()));
      covered = ParseUnsigned(std::string_view(fields[2].data(), fields[2].size()));
      records = ParseUnsigned(std::string_view(fields[3].data(), fields[3].size()));
    }
    if (lines.empty() || lines[0] != kManifestMagic || fields.size() != 4 || fields[0] != "base" ||
        !number || !covered || !records) {
      return absl::DataLossError(
          base::Cat(manifest_path, " is not a manifest: ", base::Quoted(*manifest)));
    }
    base_number_ = *number;
    base_name_ = base::Cat(kBasePrefix, *number);
    base_covered_ = *covered;
    base_records_ = *records;
  } else if (!absl::IsNotFound(manifest.status())) {
    return manifest.status();
  }

  // A rewrite that a crash interrupted leaves a base the manifest does not name.
  KEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.List(dir));
  for (const std::string& name : names) {
    if (name.starts_with(kBasePrefix) && name != base_name_) {
      KEEL_RETURN_IF_ERROR(RemoveTree(fs_, Join(dir, name)));
    }
  }

  // After a rewrite the log must be there: an empty one would silently lose what it held.
  if (!base_name_.empty() && absl::IsNotFound(fs_.List(log_dir_).status())) {
    return absl::DataLossError(
        base::Cat(log_dir_, " is missing, but ", manifest_path, " names a base"));
  }
  const wal::SyncPolicy sync = options_.fsync == FsyncPolicy::kAlways
                                   ? wal::SyncPolicy::kEveryAppend
                                   : wal::SyncPolicy::kNone;
  KEEL_ASSIGN_OR_RETURN(
      log_, OpenLog(log_dir_,
                    LogOptionsFor(options_, fs_, sync, wal::RecoveryMode::kTolerateCorruptedTail)));
  max_command_bytes_ = log_->options().max_record_bytes - 1024;
  if (log_->first_offset() > base_covered_) {
    return absl::DataLossError(base::Cat(log_dir_, " starts at offset ", log_->first_offset(),
                                         " but the base ", base_name_, " covers only up to ",
                                         base_covered_, ": the records between are missing"));
  }
  if (log_->next_offset() < base_covered_) {
    // The base was made durable before the records it covers were (everysec, no): they are all
    // in the base, and the log goes on after them.
    KEEL_RETURN_IF_ERROR(log_->Reset(base_covered_));
  }
  next_offset_ = log_->next_offset();
  written_token_ = next_offset_;
  return absl::OkStatus();
}

absl::Status AppendOnlyFile::Load(const Apply& apply) {
  uint64_t count = 0;
  if (!base_name_.empty()) KEEL_RETURN_IF_ERROR(LoadBase(apply, &count));
  KEEL_RETURN_IF_ERROR(ReplayLog(*log_, base_covered_, log_dir_, apply, &count));
  loaded_commands_ = count;
  size_after_rewrite_ = CurrentSize();
  return absl::OkStatus();
}

absl::Status AppendOnlyFile::LoadBase(const Apply& apply, uint64_t* count) {
  const std::string path = Join(options_.dir, base_name_);
  // A base is synced whole before the manifest names it, so any damage is corruption, a torn
  // tail included.
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::Log> base,
                        OpenLog(path, LogOptionsFor(options_, fs_, wal::SyncPolicy::kNone,
                                                    wal::RecoveryMode::kAbsoluteConsistency)));
  if (base->first_offset() != 0 || base->next_offset() != base_records_) {
    return absl::DataLossError(base::Cat(path, " holds records [", base->first_offset(), ", ",
                                         base->next_offset(), ") but the manifest says [0, ",
                                         base_records_, ")"));
  }
  base_bytes_ = base->size_bytes();
  return ReplayLog(*base, 0, path, apply, count);
}

uint64_t AppendOnlyFile::Queue(std::span<const std::string_view> args) {
  std::string record;
  net::AppendCommand(record, args);
  std::lock_guard lock(queue_mu_);
  queued_bytes_ += record.size();
  queued_.push_back(std::move(record));
  if (gather_target_ != 0 && queued_.size() >= gather_target_) queued_cv_.notify_one();
  return ++next_offset_;
}

uint64_t AppendOnlyFile::Queue(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  return Queue(views);
}

uint64_t AppendOnlyFile::next_offset() const {
  std::lock_guard lock(queue_mu_);
  return next_offset_;
}

uint64_t AppendOnlyFile::PendingToken() const {
  // After a failed write nothing more will be written: reads go on (as Redis serves reads after
  // an AOF write error), while writes are refused with MISCONF.
  if (write_failed_.load()) return 0;
  std::lock_guard lock(queue_mu_);
  return next_offset_ > written_token_.load() ? next_offset_ : 0;
}

absl::Status AppendOnlyFile::WriteQueued(bool gather) {
  uint64_t end;
  {
    std::unique_lock lock(queue_mu_);
    // Group commit: when fewer records are queued than the last group had, their writers are
    // probably on their way back with their next commands; wait for them a little (at most half
    // the last write's time, and never more than 200 us), as keel's log does for its appenders.
    if (gather && queued_.size() < last_group_size_) {
      gather_target_ = last_group_size_;
      queued_cv_.wait_for(lock,
                          std::chrono::nanoseconds(std::min<int64_t>(last_write_ns_ / 2, 200'000)),
                          [&] { return queued_.size() >= gather_target_; });
      gather_target_ = 0;
    }
    flushing_.swap(queued_);
    queued_bytes_ = 0;
    end = next_offset_;
  }
  if (flushing_.empty()) return absl::OkStatus();
  const uint64_t first = end - flushing_.size();
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = AppendAll(*log_, flushing_, first);
  last_write_ns_ =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  last_group_size_ = flushing_.size();
  flushing_.clear();
  if (!status.ok()) {
    RecordWriteError(status);
    return status;
  }
  logged_records_ += end - first;
  written_token_ = end;
  return absl::OkStatus();
}

absl::Status AppendOnlyFile::WriteUpTo(uint64_t token, bool gather) {
  std::unique_lock lock(flush_mu_);
  while (written_token_.load() < token) {
    if (write_failed_.load()) {
      return absl::FailedPreconditionError(base::Cat("the append-only log failed before record ",
                                                     token - 1, " was written: ", write_error()));
    }
    if (writing_) {
      written_cv_.wait(lock);  // the writer may take this token's record along
      continue;
    }
    writing_ = true;
    lock.unlock();
    const absl::Status status = WriteQueued(gather);
    lock.lock();
    writing_ = false;
    written_cv_.notify_all();
    KEEL_RETURN_IF_ERROR(status);
  }
  return absl::OkStatus();
}

absl::Status AppendOnlyFile::Flush() { return WriteUpTo(next_offset(), false); }

absl::Status AppendOnlyFile::WaitDurable(uint64_t token) {
  // Under kAlways the log syncs in each append, so written is durable.
  if (token <= written_token_.load()) return absl::OkStatus();
  return WriteUpTo(token, options_.fsync == FsyncPolicy::kAlways);
}

absl::Status AppendOnlyFile::Sync() {
  KEEL_RETURN_IF_ERROR(Flush());
  const absl::Status status = log_->Sync();
  if (!status.ok()) RecordWriteError(status);
  return status;
}

void AppendOnlyFile::RecordWriteError(const absl::Status& status) {
  std::lock_guard lock(error_mu_);
  if (write_error_.empty()) write_error_ = status.ToString();
  write_failed_ = true;
}

std::string AppendOnlyFile::write_error() const {
  std::lock_guard lock(error_mu_);
  return write_error_;
}

uint64_t AppendOnlyFile::CurrentSize() const { return base_bytes_.load() + log_->size_bytes(); }

bool AppendOnlyFile::RewriteDue() const {
  if (options_.rewrite_percentage == 0 || rewrite_in_progress_.load()) return false;
  const uint64_t current = CurrentSize();
  const uint64_t base = std::max<uint64_t>(size_after_rewrite_.load(), 1);
  return current >= options_.rewrite_min_bytes && current > base &&
         (current - base) / base * 100 + (current - base) % base * 100 / base >=
             options_.rewrite_percentage;
}

absl::Status AppendOnlyFile::Rewrite(const std::function<BaseImage()>& snapshot) {
  std::lock_guard lock(rewrite_mu_);
  rewrite_in_progress_ = true;
  const auto start = std::chrono::steady_clock::now();
  const BaseImage image = snapshot();
  const absl::Status status = InstallBase(image);
  last_rewrite_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  last_rewrite_pause_us_ = image.pause_us;
  last_rewrite_ok_ = status.ok();
  if (status.ok()) ++rewrites_;
  rewrite_in_progress_ = false;
  return status;
}

absl::Status AppendOnlyFile::InstallBase(const BaseImage& image) {
  KEEL_ASSERT(image.covered >= base_covered_, "a rewrite covering ", image.covered,
              " after one covering ", base_covered_);
  const uint64_t number = base_number_ + 1;
  const std::string name = base::Cat(kBasePrefix, number);
  const std::string path = Join(options_.dir, name);
  // A rewrite that failed part-way may have left this name behind.
  if (const absl::Status removed = RemoveTree(fs_, path);
      !removed.ok() && !absl::IsNotFound(removed)) {
    return removed;
  }
  {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::Log> base,
                          OpenLog(path, LogOptionsFor(options_, fs_, wal::SyncPolicy::kNone,
                                                      wal::RecoveryMode::kAbsoluteConsistency)));
    KEEL_ASSERT(base->next_offset() == 0, path, " was not removed at Open");
    KEEL_RETURN_IF_ERROR(AppendAll(*base, image.records, 0));
    KEEL_RETURN_IF_ERROR(base->Sync());
    base_bytes_ = base->size_bytes();
  }
  // The switch: once the manifest names the new base, the old one and the log below `covered`
  // are no longer needed.
  KEEL_RETURN_IF_ERROR(
      wal::WriteFileAtomically(fs_, options_.dir, kManifestName,
                               base::Cat(kManifestMagic, "\nbase ", number, " ", image.covered, " ",
                                         image.records.size(), "\n")));
  const std::string old = base_name_;
  base_number_ = number;
  base_name_ = name;
  base_covered_ = image.covered;
  base_records_ = image.records.size();
  if (!old.empty()) {
    // A failure leaves only garbage, which the next Open removes.
    (void)RemoveTree(fs_, Join(options_.dir, old));
  }
  // DropBefore removes only segments wholly below `covered`, and those records must be written
  // before that can be decided.
  KEEL_RETURN_IF_ERROR(Flush());
  KEEL_RETURN_IF_ERROR(log_->DropBefore(image.covered).status());
  size_after_rewrite_ = CurrentSize();
  return absl::OkStatus();
}

void AppendOnlyFile::FillStats(PersistenceStats* stats) const {
  stats->enabled = true;
  stats->current_size = CurrentSize();
  stats->base_size = size_after_rewrite_.load();
  stats->rewrites = rewrites_.load();
  stats->rewrite_in_progress = rewrite_in_progress_.load();
  stats->last_rewrite_time_ms = last_rewrite_ms_.load();
  stats->last_rewrite_pause_us = last_rewrite_pause_us_.load();
  stats->last_rewrite_ok = last_rewrite_ok_.load();
  stats->last_write_ok = !write_failed_.load();
  {
    std::lock_guard lock(queue_mu_);
    stats->pending_bytes = queued_bytes_;
  }
  stats->logged_records = logged_records_.load();
  stats->log_fsyncs = log_->stats().syncs;
  stats->loaded_commands = loaded_commands_;
}

}  // namespace keel::redis::internal
