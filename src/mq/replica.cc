// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "replica.h"

#include <algorithm>
#include <charconv>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/atomic_file.h"

namespace keel::mq::internal {
namespace {

constexpr char kLogDir[] = "log";
constexpr std::string_view kSnapshotPrefix = "producers-";
constexpr size_t kSnapshotDigits = 20;

// The offset in a snapshot file's name; nullopt for any other name.
std::optional<uint64_t> SnapshotOffset(std::string_view name) {
  if (!name.starts_with(kSnapshotPrefix) ||
      name.size() != kSnapshotPrefix.size() + kSnapshotDigits) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(kSnapshotPrefix.size());
  uint64_t offset = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), offset);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return offset;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Replica>> Replica::Open(Context& ctx, const std::string& dir,
                                                       std::string label, bool* damaged) {
  *damaged = false;
  std::unique_ptr<Replica> r(new Replica(ctx, dir, std::move(label)));
  KEEL_RETURN_IF_ERROR(CreateDirDurably(ctx.fs(), dir));
  KEEL_RETURN_IF_ERROR(r->OpenLog(damaged));
  absl::Status loaded = r->LoadEpochs();
  if (loaded.ok()) loaded = r->LoadProducerState();
  if (absl::IsDataLoss(loaded)) {
    // Damage in a sealed segment, which the log's Open does not read: start over empty and copy
    // everything from the leader.
    ctx.Record(base::Cat(r->label_, " is damaged (", loaded.message(), "): emptying its log"));
    *damaged = true;
    if (r->epochs_ == nullptr) r->epochs_ = LeaderEpochCache::Empty(ctx.fs(), dir);
    std::lock_guard lock(r->write_mu_);
    KEEL_RETURN_IF_ERROR(r->Reset(r->log_->first_offset()));
  } else {
    KEEL_RETURN_IF_ERROR(loaded);
  }
  return r;
}

Replica::~Replica() = default;

std::string Replica::SnapshotName(uint64_t offset) const {
  std::string digits = base::Cat(offset);
  return base::Cat(kSnapshotPrefix, std::string(kSnapshotDigits - digits.size(), '0'), digits);
}

absl::Status Replica::OpenLog(bool* damaged) {
  wal::LogOptions o;
  // Syncs are explicit: the leader's when a producer or a follower waits for it, a follower's
  // after each copy.
  o.sync = wal::SyncPolicy::kNone;
  o.max_segment_bytes = ctx_.options().segment_bytes;
  o.max_record_bytes = ctx_.options().max_message_bytes;
  o.file_system = &ctx_.fs();
  o.clock = &ctx_.clock();
  const std::string path = base::Cat(dir_, "/", kLogDir);
  wal::RecoveryReport report;
  absl::StatusOr<std::unique_ptr<wal::Log>> log = wal::Log::Open(path, o, &report);
  if (absl::IsDataLoss(log.status())) {
    ctx_.Record(base::Cat(label_, " is damaged (", log.status().message(),
                          "): cutting its log at the damage; it leaves the ISR and copies the "
                          "rest from the leader"));
    *damaged = true;
    o.recovery = wal::RecoveryMode::kPointInTime;
    report = {};
    log = wal::Log::Open(path, o, &report);
  }
  if (!log.ok()) {
    return absl::Status(log.status().code(), base::Cat(label_, ": ", log.status().message()));
  }
  for (const std::string& line : report.events) {
    ctx_.Record(base::Cat(label_, " recovery: ", line));
  }
  log_ = std::move(*log);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EpochEntry>> Replica::ScanEpochs() const {
  std::vector<EpochEntry> entries;
  KEEL_ASSIGN_OR_RETURN(auto reader, log_->NewReader(log_->first_offset()));
  for (;;) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> record, reader->Next());
    if (!record) break;
    KEEL_ASSIGN_OR_RETURN(const MessageHeader h, DecodeMessageHeader(record->payload));
    if (!entries.empty() && h.leader_epoch < entries.back().epoch) {
      return absl::DataLossError(base::Cat("message ", record->offset, " has leader epoch ",
                                           h.leader_epoch, " after epoch ", entries.back().epoch));
    }
    if (entries.empty() || h.leader_epoch > entries.back().epoch) {
      entries.push_back({h.leader_epoch, record->offset});
    }
  }
  return entries;
}

// The cache must give the epoch of the log's last message as its latest: a cache that lost its
// file (or is damaged) is rebuilt from the log, which is slow but only happens after damage.
absl::Status Replica::LoadEpochs() {
  const uint64_t end = log_->next_offset();
  absl::StatusOr<std::unique_ptr<LeaderEpochCache>> cache =
      LeaderEpochCache::Load(ctx_.fs(), dir_, end);
  std::string why;
  if (absl::IsDataLoss(cache.status())) {
    why = std::string(cache.status().message());
    cache = LeaderEpochCache::Empty(ctx_.fs(), dir_);
  }
  KEEL_RETURN_IF_ERROR(cache.status());
  epochs_ = std::move(*cache);
  if (end == log_->first_offset()) return absl::OkStatus();
  if (why.empty()) {
    KEEL_ASSIGN_OR_RETURN(auto reader, log_->NewReader(end - 1));
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> last, reader->Next());
    if (last) {
      KEEL_ASSIGN_OR_RETURN(const MessageHeader h, DecodeMessageHeader(last->payload));
      const std::optional<uint64_t> latest = epochs_->latest_epoch();
      if (latest == h.leader_epoch) return absl::OkStatus();
      why = base::Cat("its last message has leader epoch ", h.leader_epoch, " but the cache's is ",
                      latest ? base::Cat(*latest) : std::string("none"));
    } else {
      return absl::OkStatus();  // the last offsets were skipped as damaged: nothing to check
    }
  }
  ctx_.Record(base::Cat(label_, ": rebuilding its leader epochs from its log (", why, ")"));
  KEEL_ASSIGN_OR_RETURN(std::vector<EpochEntry> entries, ScanEpochs());
  return epochs_->Replace(std::move(entries));
}

absl::StatusOr<std::vector<uint64_t>> Replica::ListSnapshots() const {
  KEEL_ASSIGN_OR_RETURN(const std::vector<std::string> names, ctx_.fs().List(dir_));
  std::vector<uint64_t> offsets;
  for (const std::string& name : names) {
    if (const std::optional<uint64_t> offset = SnapshotOffset(name)) offsets.push_back(*offset);
  }
  std::sort(offsets.begin(), offsets.end());
  return offsets;
}

absl::Status Replica::RemoveSnapshotsAfter(std::optional<uint64_t> end) {
  KEEL_ASSIGN_OR_RETURN(const std::vector<uint64_t> offsets, ListSnapshots());
  bool removed = false;
  for (const uint64_t offset : offsets) {
    if (end && offset <= *end) continue;
    KEEL_RETURN_IF_ERROR(ctx_.fs().Remove(base::Cat(dir_, "/", SnapshotName(offset))));
    removed = true;
  }
  return removed ? ctx_.fs().SyncDir(dir_) : absl::OkStatus();
}

absl::Status Replica::Replay(uint64_t from) {
  from = std::max(from, log_->first_offset());
  if (from >= log_->next_offset()) return absl::OkStatus();
  KEEL_ASSIGN_OR_RETURN(auto reader, log_->NewReader(from));
  for (;;) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> record, reader->Next());
    if (!record) return absl::OkStatus();
    KEEL_ASSIGN_OR_RETURN(const MessageHeader h, DecodeMessageHeader(record->payload));
    producers_.Apply(h, record->offset, record->timestamp_ns);
    bytes_since_snapshot_ += wal::kRecordHeaderBytes + record->payload.size();
  }
}

absl::Status Replica::LoadProducerState() {
  const uint64_t start = log_->first_offset();
  const uint64_t end = log_->next_offset();
  std::lock_guard snapshots(snapshot_mu_);
  KEEL_RETURN_IF_ERROR(RemoveSnapshotsAfter(end));
  KEEL_ASSIGN_OR_RETURN(const std::vector<uint64_t> offsets, ListSnapshots());
  producers_.Clear();
  uint64_t from = start;
  for (auto it = offsets.rbegin(); it != offsets.rend(); ++it) {
    // As Kafka does, only a snapshot within the log: one before its start is of messages it no
    // longer has (retention deleted them, or a reset that a crash interrupted left it).
    if (*it < start) break;
    const std::string path = base::Cat(dir_, "/", SnapshotName(*it));
    absl::StatusOr<std::string> bytes = wal::ReadFileChecked(ctx_.fs(), path);
    absl::Status problem = bytes.status();
    if (bytes.ok()) {
      const absl::StatusOr<uint64_t> offset = producers_.Decode(*bytes);
      if (offset.ok() && *offset == *it) {
        from = *it;
        break;
      }
      problem = offset.ok() ? absl::DataLossError(base::Cat("it holds offset ", *offset))
                            : offset.status();
    }
    if (!absl::IsDataLoss(problem)) return problem;
    ctx_.Record(base::Cat(label_, ": skipping the damaged producer snapshot ",
                          base::Quoted(path, 256), ": ", problem.message()));
    producers_.Clear();
  }
  bytes_since_snapshot_ = 0;
  return Replay(from);
}

absl::StatusOr<uint64_t> Replica::Append(std::span<const std::string_view> records,
                                         std::span<const MessageHeader> headers) {
  KEEL_ASSERT(!records.empty() && records.size() == headers.size(),
              "a replica append needs a header per record");
  const uint64_t start = log_->next_offset();
  // Each new epoch in the batch is noted before any of its messages exist.
  std::optional<uint64_t> latest = epochs_->latest_epoch();
  for (size_t i = 0; i < headers.size(); ++i) {
    const uint64_t epoch = headers[i].leader_epoch;
    if (latest == epoch) continue;
    if (latest && epoch < *latest) {
      return absl::InternalError(base::Cat(label_, ": message ", start + i, " of leader epoch ",
                                           epoch, " after epoch ", *latest));
    }
    KEEL_RETURN_IF_ERROR(epochs_->Assign(epoch, start + i));
    latest = epoch;
  }
  KEEL_ASSIGN_OR_RETURN(const uint64_t base, log_->AppendBatch(records));
  KEEL_ASSERT(base == start, "a replica's log end moved while it appended");
  const int64_t now = ctx_.clock().NowNanos();
  for (size_t i = 0; i < headers.size(); ++i) {
    producers_.Apply(headers[i], base + i, now);
    bytes_since_snapshot_ += wal::kRecordHeaderBytes + records[i].size();
  }
  return base;
}

absl::Status Replica::Truncate(uint64_t end) {
  if (end >= log_->next_offset()) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(log_->Truncate(end));
  generation_.fetch_add(1);
  KEEL_RETURN_IF_ERROR(epochs_->TruncateFromEnd(end));
  return LoadProducerState();
}

// Each step leaves what a crash before the next can recover from: without snapshots the state is
// replayed from the log; without epochs they are rebuilt from it; an empty log needs neither.
absl::Status Replica::Reset(uint64_t next_offset) {
  generation_.fetch_add(1);
  {
    std::lock_guard snapshots(snapshot_mu_);
    KEEL_RETURN_IF_ERROR(RemoveSnapshotsAfter(std::nullopt));
  }
  KEEL_RETURN_IF_ERROR(epochs_->Replace({}));
  KEEL_RETURN_IF_ERROR(log_->Reset(next_offset));
  producers_.Clear();
  bytes_since_snapshot_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<size_t> Replica::ApplyRetention(uint64_t max_bytes, int64_t max_age_ns,
                                               uint64_t keep_from) {
  KEEL_ASSIGN_OR_RETURN(const size_t dropped,
                        log_->ApplyRetention(max_bytes, max_age_ns, keep_from));
  if (dropped > 0) epochs_->TruncateFromStart(log_->first_offset());
  return dropped;
}

absl::Status Replica::DropBefore(uint64_t offset) {
  KEEL_ASSIGN_OR_RETURN(const uint64_t start, log_->DropBefore(offset));
  epochs_->TruncateFromStart(start);
  return absl::OkStatus();
}

absl::Status Replica::MaybeSnapshot(uint64_t min_bytes, bool force) {
  std::string bytes;
  uint64_t offset = 0;
  uint64_t generation = 0;
  {
    std::lock_guard lock(write_mu_);
    if (bytes_since_snapshot_ == 0 || (!force && bytes_since_snapshot_ < min_bytes)) {
      return absl::OkStatus();
    }
    offset = log_->next_offset();
    bytes = producers_.Encode(offset);
    generation = generation_.load();
    bytes_since_snapshot_ = 0;
  }
  std::lock_guard snapshots(snapshot_mu_);
  // A truncation since: the state may be of messages the log no longer has.
  if (generation != generation_.load()) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(wal::WriteFileAtomically(ctx_.fs(), dir_, SnapshotName(offset), bytes));
  KEEL_ASSIGN_OR_RETURN(const std::vector<uint64_t> offsets, ListSnapshots());
  // Older snapshots are only fallbacks; one that reappears after a crash is harmless, since the
  // newest at or below the log end wins.
  for (size_t i = 0; i + kKeptSnapshots < offsets.size(); ++i) {
    KEEL_RETURN_IF_ERROR(ctx_.fs().Remove(base::Cat(dir_, "/", SnapshotName(offsets[i]))));
  }
  return absl::OkStatus();
}

size_t Replica::ExpireProducers(int64_t before_ns) {
  std::lock_guard lock(write_mu_);
  return producers_.Expire(before_ns);
}

absl::Status Replica::Close() {
  KEEL_RETURN_IF_ERROR(log_->Sync());
  return MaybeSnapshot(0, /*force=*/true);
}

}  // namespace keel::mq::internal
