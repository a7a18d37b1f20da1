// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// DurableKeyStore: the log records, the checkpoint file and recovery. docs/idempotency.md has the
// grammar of both.
#include "keel/idempotency/durable_key_store.h"

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/crc32c.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::idempotency {
namespace {

// Log records.
constexpr char kCompletedRecord = 'C';  // created_ns tenant key fingerprint outcome effects
constexpr char kEffectsRecord = 'E';    // effects (the rest of the record)

// The checkpoint file.
constexpr std::string_view kCheckpointMagic = "KEELIDEM";
constexpr uint32_t kCheckpointVersion = 1;
constexpr std::string_view kCheckpointName = "checkpoint";
constexpr std::string_view kCheckpointTemp = "checkpoint.tmp";
constexpr size_t kWriteChunkBytes = 1 << 20;
constexpr char kEntryMarker = 1;  // an entry follows
constexpr char kEndMarker = 0;    // the entries are over; the state follows

struct CheckpointContents {
  bool found = false;  // false: there is no checkpoint
  uint64_t log_offset = 0;
  std::vector<StoredEntry> entries;  // views into the file's bytes
  std::string_view state;
};

std::string CorruptRecord(uint64_t offset, std::string_view what) {
  return base::Cat("idempotency log record at offset ", offset, " is damaged: ", what);
}

}  // namespace

class DurableKeyStore::Impl {
 public:
  Impl(std::string dir, const DurableKeyStoreOptions& options)
      : dir_(std::move(dir)), options_(options), keys_(options.keys) {}

  absl::Status Open(const Application& app, DurableRecovery* recovery) {
    wal::FileSystem& fs = file_system();
    KEEL_RETURN_IF_ERROR(fs.CreateDir(dir_));
    KEEL_RETURN_IF_ERROR(wal::SyncParentDir(fs, dir_));
    KEEL_ASSIGN_OR_RETURN(log_, wal::Log::Open(dir_ + "/log", options_.log, &recovery->log));

    std::string checkpoint_bytes;
    KEEL_ASSIGN_OR_RETURN(CheckpointContents checkpoint, ReadCheckpoint(checkpoint_bytes));
    uint64_t from = log_->first_offset();
    if (checkpoint.found) {
      recovery->checkpoint = true;
      recovery->checkpoint_offset = checkpoint.log_offset;
      recovery->checkpoint_keys = checkpoint.entries.size();
      for (const StoredEntry& e : checkpoint.entries) {
        KEEL_RETURN_IF_ERROR(keys_.Insert(e.tenant, e.key, e.fingerprint, e.outcome, e.created_ns));
      }
      KEEL_RETURN_IF_ERROR(app.restore(checkpoint.state));
      if (checkpoint.log_offset < log_->first_offset() ||
          checkpoint.log_offset > log_->next_offset()) {
        return absl::DataLossError(base::Cat("the idempotency checkpoint in ", dir_,
                                             " covers the log up to offset ", checkpoint.log_offset,
                                             ", but the log holds offsets ", log_->first_offset(),
                                             " to ", log_->next_offset()));
      }
      from = checkpoint.log_offset;
    } else {
      KEEL_RETURN_IF_ERROR(app.restore(""));
      if (log_->first_offset() != 0) {
        return absl::DataLossError(base::Cat("the idempotency log in ", dir_, " starts at offset ",
                                             log_->first_offset(), " and there is no checkpoint"));
      }
    }
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log_->NewReader(from));
    while (true) {
      KEEL_ASSIGN_OR_RETURN(std::optional<wal::RecordView> record, reader->Next());
      if (!record) break;
      KEEL_RETURN_IF_ERROR(Replay(*record, app));
      ++recovery->replayed_records;
    }
    // What recovery read is on disk, but perhaps only in the page cache of a process that died.
    KEEL_RETURN_IF_ERROR(log_->Sync());
    checkpoint_offset_ = from;
    checkpoint_bytes_ = log_->size_bytes();
    return absl::OkStatus();
  }

  absl::StatusOr<Claim> Begin(std::string_view tenant, std::string_view key,
                              std::string_view fingerprint) {
    return keys_.Begin(tenant, key, fingerprint, log_->durable_offset());
  }

  absl::StatusOr<uint64_t> Complete(const Ticket& ticket, std::string_view outcome,
                                    std::string_view effects) {
    KEEL_ASSIGN_OR_RETURN(const StoredEntry pending, keys_.Pending(ticket));
    if (outcome.size() > kMaxOutcomeBytes) {
      return absl::InvalidArgumentError(base::Cat("outcome of key ", base::Quoted(pending.key),
                                                  " has ", outcome.size(), " bytes; the most is ",
                                                  kMaxOutcomeBytes));
    }
    std::string& record = scratch();
    record.clear();
    record.push_back(kCompletedRecord);
    base::PutFixed64(record, static_cast<uint64_t>(pending.created_ns));
    base::PutLengthPrefixed(record, pending.tenant);
    base::PutLengthPrefixed(record, pending.key);
    base::PutLengthPrefixed(record, pending.fingerprint);
    base::PutLengthPrefixed(record, outcome);
    record.append(effects);
    KEEL_ASSIGN_OR_RETURN(const uint64_t offset, log_->Append(record));
    // Complete cannot fail now: the ticket was checked above and only its owner completes it.
    // (Running out of max_bytes here would leave a logged outcome unstored, so it is a bug.)
    const absl::Status stored = keys_.Complete(ticket, outcome, offset);
    KEEL_ASSERT(stored.ok(), stored.ToString());
    return offset;
  }

  absl::StatusOr<uint64_t> LogEffects(std::string_view effects) {
    std::string& record = scratch();
    record.clear();
    record.push_back(kEffectsRecord);
    record.append(effects);
    return log_->Append(record);
  }

  bool ShouldCheckpoint() const {
    return log_->size_bytes() >= checkpoint_bytes_ + options_.checkpoint_log_bytes;
  }

  absl::Status Checkpoint(std::string_view state) {
    KEEL_RETURN_IF_ERROR(log_->Sync());
    const uint64_t offset = log_->next_offset();
    wal::FileSystem& fs = file_system();
    const std::string temp = base::Cat(dir_, "/", kCheckpointTemp);
    const std::string path = base::Cat(dir_, "/", kCheckpointName);
    if (absl::Status removed = fs.Remove(temp); !removed.ok() && !absl::IsNotFound(removed)) {
      return removed;
    }
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::File> file, fs.Open(temp, wal::OpenMode::kCreate));
    // Written in chunks, with the CRC running over everything after the magic.
    std::string chunk;
    uint32_t crc = 0;
    uint64_t total = 0;
    auto flush = [&](bool force) -> absl::Status {
      if (chunk.size() < kWriteChunkBytes && !force) return absl::OkStatus();
      total += chunk.size();
      if (total > kMaxCheckpointBytes) {
        return absl::ResourceExhaustedError(
            base::Cat("idempotency checkpoint passes ", kMaxCheckpointBytes, " bytes"));
      }
      KEEL_RETURN_IF_ERROR(file->Append(chunk));
      chunk.clear();
      return absl::OkStatus();
    };
    chunk.append(kCheckpointMagic);
    KEEL_RETURN_IF_ERROR(flush(true));
    auto put = [&](std::string_view bytes) -> absl::Status {
      crc = base::ExtendCrc32c(crc, bytes);
      chunk.append(bytes);
      return flush(false);
    };
    std::string header;
    base::PutFixed32(header, kCheckpointVersion);
    base::PutFixed64(header, offset);
    KEEL_RETURN_IF_ERROR(put(header));
    absl::Status status;
    std::string encoded;
    keys_.ForEachCompleted([&](const StoredEntry& e) {
      if (!status.ok()) return;
      encoded.assign(1, kEntryMarker);
      base::PutFixed64(encoded, static_cast<uint64_t>(e.created_ns));
      base::PutLengthPrefixed(encoded, e.tenant);
      base::PutLengthPrefixed(encoded, e.key);
      base::PutLengthPrefixed(encoded, e.fingerprint);
      base::PutLengthPrefixed(encoded, e.outcome);
      status = put(encoded);
    });
    KEEL_RETURN_IF_ERROR(status);
    encoded.assign(1, kEndMarker);
    base::PutFixed64(encoded, state.size());
    KEEL_RETURN_IF_ERROR(put(encoded));
    for (size_t at = 0; at < state.size(); at += kWriteChunkBytes) {
      KEEL_RETURN_IF_ERROR(put(state.substr(at, kWriteChunkBytes)));
    }
    base::PutFixed32(chunk, base::MaskCrc32c(crc));
    KEEL_RETURN_IF_ERROR(flush(true));
    KEEL_RETURN_IF_ERROR(file->Sync());
    file.reset();
    KEEL_RETURN_IF_ERROR(fs.Rename(temp, path));
    KEEL_RETURN_IF_ERROR(fs.SyncDir(dir_));
    KEEL_RETURN_IF_ERROR(log_->DropBefore(offset).status());
    checkpoint_offset_ = offset;
    checkpoint_bytes_ = log_->size_bytes();
    return absl::OkStatus();
  }

  KeyStore& keys() { return keys_; }
  wal::Log& log() { return *log_; }

 private:
  wal::FileSystem& file_system() const {
    return options_.log.file_system != nullptr ? *options_.log.file_system
                                               : wal::FileSystem::Posix();
  }

  // A buffer per thread for encoding records, so that a steady stream of requests allocates none.
  static std::string& scratch() {
    thread_local std::string buffer;
    return buffer;
  }

  absl::Status Replay(const wal::RecordView& record, const Application& app) {
    const std::string_view payload = record.payload;
    if (payload.empty()) return absl::DataLossError(CorruptRecord(record.offset, "empty"));
    if (payload[0] == kEffectsRecord) return app.apply(payload.substr(1));
    if (payload[0] != kCompletedRecord) {
      return absl::DataLossError(
          CorruptRecord(record.offset, base::Cat("unknown kind ", static_cast<int>(payload[0]))));
    }
    base::Reader reader(payload.substr(1));
    auto created = reader.ReadFixed64();
    auto tenant = reader.ReadLengthPrefixed();
    auto key = reader.ReadLengthPrefixed();
    auto fingerprint = reader.ReadLengthPrefixed();
    auto outcome = reader.ReadLengthPrefixed();
    if (!created.ok() || !tenant.ok() || !key.ok() || !fingerprint.ok() || !outcome.ok()) {
      return absl::DataLossError(CorruptRecord(record.offset, "cut short"));
    }
    KEEL_RETURN_IF_ERROR(
        keys_.Insert(*tenant, *key, *fingerprint, *outcome, static_cast<int64_t>(*created)));
    const std::string_view effects = reader.rest();
    return effects.empty() ? absl::OkStatus() : app.apply(effects);
  }

  // The checkpoint, reading the file into `file_bytes`, which it fills with the file.
  absl::StatusOr<CheckpointContents> ReadCheckpoint(std::string& file_bytes) {
    wal::FileSystem& fs = file_system();
    const std::string path = base::Cat(dir_, "/", kCheckpointName);
    absl::StatusOr<std::unique_ptr<wal::File>> file = fs.Open(path, wal::OpenMode::kExisting);
    if (absl::IsNotFound(file.status())) return CheckpointContents{};
    KEEL_RETURN_IF_ERROR(file.status());
    const uint64_t size = (*file)->size();
    auto damaged = [&](std::string_view what) {
      return absl::DataLossError(
          base::Cat("idempotency checkpoint ", path, " (", size, " bytes) ", what));
    };
    if (size > kMaxCheckpointBytes) return damaged("is larger than any checkpoint");
    CheckpointContents checkpoint;
    checkpoint.found = true;
    file_bytes.resize(size);
    KEEL_ASSIGN_OR_RETURN(const size_t read, (*file)->ReadAt(0, file_bytes.data(), size));
    if (read != size) return damaged("could not be read whole");
    const std::string_view bytes = file_bytes;
    if (size < kCheckpointMagic.size() + 4 || bytes.substr(0, 8) != kCheckpointMagic) {
      return damaged("is not a checkpoint");
    }
    const std::string_view body = bytes.substr(8, size - 12);
    if (base::UnmaskCrc32c(base::DecodeFixed32(bytes.data() + size - 4)) != base::Crc32c(body)) {
      return damaged("fails its checksum");
    }
    base::Reader reader(body);
    auto version = reader.ReadFixed32();
    auto offset = reader.ReadFixed64();
    if (!version.ok() || !offset.ok()) return damaged("has a short header");
    if (*version != kCheckpointVersion) {
      return damaged(
          base::Cat("has version ", *version, "; this build reads ", kCheckpointVersion));
    }
    checkpoint.log_offset = *offset;
    while (true) {
      auto marker = reader.ReadByte();
      if (!marker.ok()) return damaged("ends inside its entries");
      if (*marker == kEndMarker) break;
      auto created = reader.ReadFixed64();
      auto tenant = reader.ReadLengthPrefixed();
      auto key = reader.ReadLengthPrefixed();
      auto fingerprint = reader.ReadLengthPrefixed();
      auto outcome = reader.ReadLengthPrefixed();
      if (*marker != kEntryMarker || !created.ok() || !tenant.ok() || !key.ok() ||
          !fingerprint.ok() || !outcome.ok()) {
        return damaged(base::Cat("has a damaged entry after ", checkpoint.entries.size()));
      }
      checkpoint.entries.push_back(
          {*tenant, *key, *fingerprint, *outcome, static_cast<int64_t>(*created)});
    }
    auto state_size = reader.ReadFixed64();
    if (!state_size.ok() || *state_size != reader.remaining()) {
      return damaged("has a state whose length disagrees with the file's");
    }
    checkpoint.state = reader.rest();
    return checkpoint;
  }

  std::string dir_;
  DurableKeyStoreOptions options_;
  KeyStore keys_;
  std::unique_ptr<wal::Log> log_;
  uint64_t checkpoint_offset_ = 0;
  uint64_t checkpoint_bytes_ = 0;
};

absl::StatusOr<std::unique_ptr<DurableKeyStore>> DurableKeyStore::Open(
    const std::string& dir, const DurableKeyStoreOptions& options, const Application& app,
    DurableRecovery* recovery) {
  KEEL_RETURN_IF_ERROR(KeyStore::Validate(options.keys));
  if (!app.restore || !app.apply) {
    return absl::InvalidArgumentError("the application's restore and apply must both be set");
  }
  DurableRecovery ignored;
  auto impl = std::make_unique<Impl>(dir, options);
  KEEL_RETURN_IF_ERROR(impl->Open(app, recovery != nullptr ? recovery : &ignored));
  return std::unique_ptr<DurableKeyStore>(new DurableKeyStore(std::move(impl)));
}

DurableKeyStore::DurableKeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DurableKeyStore::~DurableKeyStore() = default;

absl::StatusOr<Claim> DurableKeyStore::Begin(std::string_view tenant, std::string_view key,
                                             std::string_view fingerprint) {
  return impl_->Begin(tenant, key, fingerprint);
}
absl::StatusOr<uint64_t> DurableKeyStore::Complete(const Ticket& ticket, std::string_view outcome,
                                                   std::string_view effects) {
  return impl_->Complete(ticket, outcome, effects);
}
absl::Status DurableKeyStore::Release(const Ticket& ticket) {
  return impl_->keys().Release(ticket);
}
absl::StatusOr<uint64_t> DurableKeyStore::LogEffects(std::string_view effects) {
  return impl_->LogEffects(effects);
}
absl::Status DurableKeyStore::Sync() { return impl_->log().Sync(); }
absl::Status DurableKeyStore::WaitDurable(uint64_t end_offset) {
  return impl_->log().WaitDurable(end_offset);
}
bool DurableKeyStore::ShouldCheckpoint() const { return impl_->ShouldCheckpoint(); }
absl::Status DurableKeyStore::Checkpoint(std::string_view state) {
  return impl_->Checkpoint(state);
}
const KeyStore& DurableKeyStore::keys() const { return impl_->keys(); }
const wal::Log& DurableKeyStore::log() const { return impl_->log(); }

}  // namespace keel::idempotency
