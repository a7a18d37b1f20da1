// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// DurableLedger: commands validated in memory, their events appended to keel's WAL, state rebuilt
// from a snapshot and the events after it (durable_ledger.h has the design).
//
//   snapshot file := magic ("KEELLSNP") position (u64) length (u64) snapshot (length bytes,
//                    Ledger::Save's) crc (u32, masked CRC32C of everything before it)
#include "keel/ledger/durable_ledger.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "event.h"
#include "keel/base/clock.h"
#include "keel/base/coding.h"
#include "keel/base/crc32c.h"
#include "keel/base/internal/arena.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "ledger_impl.h"

namespace keel::ledger {
namespace internal {
namespace {

constexpr std::string_view kSnapshotMagic = "KEELLSNP";
constexpr size_t kSnapshotHeaderBytes = 24;
constexpr char kSnapshotName[] = "snapshot";
constexpr char kSnapshotTempName[] = "snapshot.tmp";

// Gathers Ledger::Save's small pieces into large appends, with the CRC as it goes.
class SnapshotWriter {
 public:
  explicit SnapshotWriter(wal::File& file) : file_(file) { buffer_.reserve(kBufferBytes); }

  absl::Status Write(std::string_view bytes) {
    crc_ = base::ExtendCrc32c(crc_, bytes);
    length_ += bytes.size();
    if (buffer_.size() + bytes.size() > kBufferBytes) KEEL_RETURN_IF_ERROR(Flush());
    if (bytes.size() >= kBufferBytes) return file_.Append(bytes);
    buffer_.append(bytes);
    return absl::OkStatus();
  }
  absl::Status Flush() {
    if (buffer_.empty()) return absl::OkStatus();
    KEEL_RETURN_IF_ERROR(file_.Append(buffer_));
    buffer_.clear();
    return absl::OkStatus();
  }
  uint32_t crc() const { return crc_; }
  uint64_t length() const { return length_; }

 private:
  static constexpr size_t kBufferBytes = 1 << 20;
  wal::File& file_;
  std::string buffer_;
  uint32_t crc_ = 0;
  uint64_t length_ = 0;
};

// A buffer for a whole file, on huge pages when it is large: reading a snapshot of hundreds of
// megabytes into fresh small pages would cost a page fault per 4 KiB.
class ReadBuffer {
 public:
  explicit ReadBuffer(size_t size) {
    constexpr size_t kHuge = base::internal::Arena::kHugeChunkBytes;
    if (size >= kHuge) {
      mapped_ = (size + kHuge - 1) & ~(kHuge - 1);
      data_ = base::internal::MapHugePages(mapped_);
    }
    if (data_ == nullptr) {
      mapped_ = 0;
      heap_.resize(size);
      data_ = heap_.data();
    }
  }
  ~ReadBuffer() {
    if (mapped_ != 0) base::internal::UnmapHugePages(data_, mapped_);
  }
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  char* data() { return data_; }

 private:
  char* data_ = nullptr;
  size_t mapped_ = 0;
  std::string heap_;
};

// A snapshot file read and checked: the position it covers and Ledger::Save's bytes.
struct SnapshotFile {
  uint64_t position = 0;
  std::unique_ptr<ReadBuffer> buffer;
  std::string_view body;
};

}  // namespace

class DurableLedgerImpl {
 public:
  DurableLedgerImpl(std::string dir, const DurableLedgerOptions& options, wal::FileSystem& fs)
      : dir_(std::move(dir)), options_(options), fs_(fs), ledger_(options.ledger) {}

  absl::Status Open(DurableLedgerReport& report);

  template <typename Run>
  absl::StatusOr<uint64_t> Apply(CommandKind kind, uint64_t timestamp, size_t events, Run run);
  absl::StatusOr<uint64_t> WriteSnapshot();

  std::string dir_;
  DurableLedgerOptions options_;
  wal::FileSystem& fs_;
  Ledger ledger_;
  std::unique_ptr<wal::Log> log_;
  std::string event_;
  uint64_t last_snapshot_ = 0;
  bool failed_ = false;

 private:
  absl::StatusOr<std::optional<SnapshotFile>> ReadSnapshot();
  std::string Path(std::string_view name) const { return base::Cat(dir_, "/", name); }
};

absl::StatusOr<std::optional<SnapshotFile>> DurableLedgerImpl::ReadSnapshot() {
  const std::string path = Path(kSnapshotName);
  absl::StatusOr<std::unique_ptr<wal::File>> file = fs_.Open(path, wal::OpenMode::kExisting);
  if (absl::IsNotFound(file.status())) return std::nullopt;
  KEEL_RETURN_IF_ERROR(file.status());
  const uint64_t size = (*file)->size();
  if (size < kSnapshotHeaderBytes + 4) {
    return absl::DataLossError(base::Cat(path, ": ", size, " bytes is too short for a snapshot"));
  }
  SnapshotFile snapshot;
  snapshot.buffer = std::make_unique<ReadBuffer>(size);
  char* bytes = snapshot.buffer->data();
  for (uint64_t done = 0; done < size;) {
    KEEL_ASSIGN_OR_RETURN(const size_t n, (*file)->ReadAt(done, bytes + done, size - done));
    if (n == 0) return absl::DataLossError(base::Cat(path, ": ended at byte ", done));
    done += n;
  }
  const std::string_view whole(bytes, size);
  const uint64_t length = base::DecodeFixed64(bytes + 16);
  const uint32_t stored = base::DecodeFixed32(bytes + size - 4);
  if (whole.substr(0, kSnapshotMagic.size()) != kSnapshotMagic ||
      length != size - kSnapshotHeaderBytes - 4 ||
      base::MaskCrc32c(base::Crc32c(whole.substr(0, size - 4))) != stored) {
    return absl::DataLossError(base::Cat(path, ": damaged (magic, length or CRC)"));
  }
  snapshot.position = base::DecodeFixed64(bytes + 8);
  snapshot.body = whole.substr(kSnapshotHeaderBytes, length);
  return snapshot;
}

absl::Status DurableLedgerImpl::Open(DurableLedgerReport& report) {
  if (options_.log.max_record_bytes < kMaxEventBytes) {
    return absl::InvalidArgumentError(
        base::Cat("log.max_record_bytes ", options_.log.max_record_bytes,
                  " cannot hold the largest event, ", kMaxEventBytes, " bytes"));
  }
  KEEL_RETURN_IF_ERROR(fs_.CreateDir(dir_));
  KEEL_RETURN_IF_ERROR(wal::SyncParentDir(fs_, dir_));
  wal::LogOptions log_options = options_.log;
  log_options.sync = wal::SyncPolicy::kNone;
  log_options.file_system = &fs_;
  KEEL_ASSIGN_OR_RETURN(log_, wal::Log::Open(Path("log"), log_options, &report.log));
  // The log's lock is held from here on, so the snapshot files are this ledger's alone.
  if (absl::Status removed = fs_.Remove(Path(kSnapshotTempName));
      !removed.ok() && !absl::IsNotFound(removed)) {
    return removed;
  }

  const base::MonotonicClock clock;
  const int64_t snapshot_start = clock.NowNanos();
  uint64_t from = 0;
  absl::StatusOr<std::optional<SnapshotFile>> snapshot = ReadSnapshot();
  if (snapshot.ok() && snapshot->has_value()) {
    absl::StatusOr<Ledger> restored = Ledger::Restore((*snapshot)->body, options_.ledger);
    if (restored.ok()) {
      ledger_ = std::move(*restored);
      from = (*snapshot)->position;
      report.snapshot_loaded = true;
    } else {
      snapshot = restored.status();
    }
  }
  report.snapshot_nanos = clock.NowNanos() - snapshot_start;
  // The memory asked for, after the snapshot (which brings what it holds).
  KEEL_RETURN_IF_ERROR(ledger_.Reserve(options_.reserve_accounts, options_.reserve_transfers,
                                       options_.reserve_history_rows));
  if (!snapshot.ok()) {
    // Damage a crash cannot cause (the rename makes a snapshot whole or absent). The events
    // still hold the state if the log starts at the first one.
    if (!absl::IsDataLoss(snapshot.status()) || log_->first_offset() != 0) {
      return snapshot.status();
    }
    report.snapshot_damaged = true;
  }
  report.snapshot_position = from;
  if (log_->first_offset() > from || log_->next_offset() < from) {
    return absl::DataLossError(base::Cat(dir_, ": the log holds events ", log_->first_offset(),
                                         " to ", log_->next_offset(), ", which do not continue ",
                                         "the snapshot at ", from));
  }

  const int64_t replay_start = clock.NowNanos();
  LedgerImpl& s = LedgerAccess::Of(ledger_);
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log_->NewReader(from));
  for (uint64_t expected = from;; ++expected) {
    KEEL_ASSIGN_OR_RETURN(std::optional<wal::RecordView> record, reader->Next());
    if (!record.has_value()) break;
    if (record->offset != expected) {
      return absl::DataLossError(base::Cat(dir_, ": event ", expected, " is missing from the log"));
    }
    if (absl::Status applied = ApplyEvent(s, record->payload); !applied.ok()) {
      return absl::DataLossError(
          base::Cat(dir_, ": event ", record->offset, ": ", applied.message()));
    }
    ++report.events_replayed;
    if (static_cast<CommandKind>(record->payload[0]) == CommandKind::kCreateTransfers) {
      report.transfers_replayed += base::DecodeFixed32(record->payload.data() + 4);
    }
  }
  report.replay_nanos = clock.NowNanos() - replay_start;
  last_snapshot_ = from;
  return absl::OkStatus();
}

template <typename Run>
absl::StatusOr<uint64_t> DurableLedgerImpl::Apply(CommandKind kind, uint64_t timestamp,
                                                  size_t events, Run run) {
  if (failed_) {
    return absl::FailedPreconditionError(
        base::Cat(dir_, ": an event failed to reach the log; open the ledger again to continue"));
  }
  LedgerImpl& s = LedgerAccess::Of(ledger_);
  if (events == 0 && kind != CommandKind::kExpirePendingTransfers) {
    // An empty batch changes nothing, and leaves no event.
    KEEL_RETURN_IF_ERROR(run().status());
    return log_->next_offset();
  }
  BeginEvent(s, &event_, kind, timestamp);
  if (absl::Status status = run().status(); !status.ok()) {
    s.event_ = nullptr;
    return status;
  }
  FinishEvent(s);
  absl::StatusOr<uint64_t> offset = log_->Append(event_);
  if (!offset.ok()) {
    failed_ = true;
    return offset.status();
  }
  const uint64_t position = *offset + 1;
  if (options_.snapshot_every_events != 0 &&
      position - last_snapshot_ >= options_.snapshot_every_events) {
    KEEL_RETURN_IF_ERROR(WriteSnapshot().status());
  }
  return position;
}

absl::StatusOr<uint64_t> DurableLedgerImpl::WriteSnapshot() {
  // The snapshot must never hold an event the log could still lose: a crash would then leave a
  // state ahead of the log, whose next event would reuse a position.
  KEEL_RETURN_IF_ERROR(log_->Sync());
  const uint64_t position = log_->next_offset();
  const std::string temp = Path(kSnapshotTempName);
  if (absl::Status removed = fs_.Remove(temp); !removed.ok() && !absl::IsNotFound(removed)) {
    return removed;
  }
  {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::File> file, fs_.Open(temp, wal::OpenMode::kCreate));
    SnapshotWriter writer(*file);
    // The header holds the body's length: a first pass over the state counts it, copying nothing.
    uint64_t length = 0;
    KEEL_RETURN_IF_ERROR(ledger_.Save([&](std::string_view bytes) {
      length += bytes.size();
      return absl::OkStatus();
    }));
    std::string header(kSnapshotMagic);
    base::PutFixed64(header, position);
    base::PutFixed64(header, length);
    KEEL_RETURN_IF_ERROR(writer.Write(header));
    KEEL_RETURN_IF_ERROR(ledger_.Save([&](std::string_view bytes) { return writer.Write(bytes); }));
    std::string crc;
    base::PutFixed32(crc, base::MaskCrc32c(writer.crc()));
    KEEL_RETURN_IF_ERROR(writer.Flush());
    KEEL_RETURN_IF_ERROR(file->Append(crc));
    KEEL_RETURN_IF_ERROR(file->Sync());
  }
  KEEL_RETURN_IF_ERROR(fs_.Rename(temp, Path(kSnapshotName)));
  KEEL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  last_snapshot_ = position;
  if (options_.compact_log_on_snapshot) KEEL_RETURN_IF_ERROR(log_->DropBefore(position).status());
  return position;
}

}  // namespace internal

DurableLedger::DurableLedger(std::unique_ptr<internal::DurableLedgerImpl> impl)
    : impl_(std::move(impl)) {}
DurableLedger::~DurableLedger() = default;

absl::StatusOr<std::unique_ptr<DurableLedger>> DurableLedger::Open(
    const std::string& dir, const DurableLedgerOptions& options, DurableLedgerReport* report) {
  wal::FileSystem& fs =
      options.log.file_system != nullptr ? *options.log.file_system : wal::FileSystem::Posix();
  auto impl = std::make_unique<internal::DurableLedgerImpl>(dir, options, fs);
  DurableLedgerReport local;
  KEEL_RETURN_IF_ERROR(impl->Open(report != nullptr ? *report : local));
  return std::unique_ptr<DurableLedger>(new DurableLedger(std::move(impl)));
}

absl::StatusOr<uint64_t> DurableLedger::CreateAccounts(std::span<const Account> events,
                                                       uint64_t timestamp,
                                                       std::vector<CreateAccountsResult>& results) {
  return impl_->Apply(
      CommandKind::kCreateAccounts, timestamp, events.size(), [&]() -> absl::StatusOr<uint32_t> {
        KEEL_RETURN_IF_ERROR(impl_->ledger_.CreateAccounts(events, timestamp, results));
        return 0;
      });
}

absl::StatusOr<uint64_t> DurableLedger::CreateTransfers(
    std::span<const Transfer> events, uint64_t timestamp,
    std::vector<CreateTransfersResult>& results) {
  return impl_->Apply(
      CommandKind::kCreateTransfers, timestamp, events.size(), [&]() -> absl::StatusOr<uint32_t> {
        KEEL_RETURN_IF_ERROR(impl_->ledger_.CreateTransfers(events, timestamp, results));
        return 0;
      });
}

absl::StatusOr<DurableLedger::Expiry> DurableLedger::ExpirePendingTransfers(uint64_t timestamp) {
  uint32_t expired = 0;
  KEEL_ASSIGN_OR_RETURN(
      const uint64_t position,
      impl_->Apply(
          CommandKind::kExpirePendingTransfers, timestamp, 0, [&]() -> absl::StatusOr<uint32_t> {
            KEEL_ASSIGN_OR_RETURN(expired, impl_->ledger_.ExpirePendingTransfers(timestamp));
            return expired;
          }));
  return Expiry{.expired = expired, .position = position};
}

absl::StatusOr<uint64_t> DurableLedger::Execute(const Command& command, CommandResult& result) {
  result = {};
  switch (command.kind) {
    case CommandKind::kCreateAccounts:
      return CreateAccounts(command.accounts, command.timestamp, result.accounts);
    case CommandKind::kCreateTransfers:
      return CreateTransfers(command.transfers, command.timestamp, result.transfers);
    case CommandKind::kExpirePendingTransfers: {
      KEEL_ASSIGN_OR_RETURN(const Expiry expiry, ExpirePendingTransfers(command.timestamp));
      result.expired = expiry.expired;
      return expiry.position;
    }
  }
  return absl::InvalidArgumentError("unknown command kind");
}

absl::Status DurableLedger::Sync() { return impl_->log_->Sync(); }
absl::Status DurableLedger::WaitDurable(uint64_t position) {
  return impl_->log_->WaitDurable(position);
}
uint64_t DurableLedger::position() const { return impl_->log_->next_offset(); }
uint64_t DurableLedger::durable_position() const { return impl_->log_->durable_offset(); }
absl::StatusOr<uint64_t> DurableLedger::WriteSnapshot() { return impl_->WriteSnapshot(); }
const Ledger& DurableLedger::ledger() const { return impl_->ledger_; }
const wal::Log& DurableLedger::log() const { return *impl_->log_; }
const std::string& DurableLedger::dir() const { return impl_->dir_; }

}  // namespace keel::ledger
