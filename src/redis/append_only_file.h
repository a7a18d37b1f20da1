// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// AppendOnlyFile: the engine's persistence, private to src/redis. It is Redis 7's multi-part
// append-only file (a base holding the keyspace as commands, an incremental log of the commands
// since, and a manifest naming the base; https://redis.io/docs/latest/operate/oss_and_stack/
// management/persistence/) built from keel's pieces:
//
//   <dir>/MANIFEST       which base is current and which log offset it covers, replaced whole
//                        (keel/wal/atomic_file.h)
//   <dir>/log/           a keel::wal::Log, one record per command (its RESP array)
//   <dir>/base-<offset>/ a keel::wal::Log written once by a rewrite: the keyspace as commands,
//                        equal to replaying the log's records below <offset>
//
// The log's offsets are the engine's sequence numbers: the n-th command logged since the log
// began gets offset n, because records are queued under the engine's lock in the order commands
// run and one flusher at a time appends them in that order. A token is one past an offset.
//
// docs/redis_persistence.md has the format as a grammar, the policies and the recovery rules.
//
// Thread safety: Queue is called under the engine's lock; Flush, WaitDurable, Sync and Rewrite
// from any thread; Load only before any other call. One thread at a time writes what is queued
// (group commit: the others wait until a write has covered their records).
#ifndef KEEL_SRC_REDIS_APPEND_ONLY_FILE_H_
#define KEEL_SRC_REDIS_APPEND_ONLY_FILE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/redis/engine.h"
#include "keel/wal/file_system.h"
#include "keel/wal/log.h"

namespace keel::redis::internal {

// What a rewrite hands over: the keyspace as commands, covering the log below `covered`.
struct BaseImage {
  uint64_t covered = 0;
  std::vector<std::string> records;  // each one command, RESP-encoded
  int64_t pause_us = 0;              // how long the keyspace was locked to take it
};

// Decodes one record: a RESP array of bulk strings, nothing before or after. The views point
// into `record`. Errors: kDataLoss naming what is wrong and where in the record.
[[nodiscard]] absl::Status DecodeCommand(std::string_view record,
                                         std::vector<std::string_view>* args);

class AppendOnlyFile {
 public:
  // Opens (creating if needed) the files in options.dir, and removes what an interrupted rewrite
  // left. Errors as Engine::Open.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<AppendOnlyFile>> Open(
      const EngineOptions& options);
  ~AppendOnlyFile();
  AppendOnlyFile(const AppendOnlyFile&) = delete;
  AppendOnlyFile& operator=(const AppendOnlyFile&) = delete;

  // Calls `apply` with every command of the base and then of the log, in order. An error from
  // `apply` or a damaged record stops the load, and is returned naming the file and the offset.
  using Apply = std::function<absl::Status(std::span<const std::string_view> args)>;
  [[nodiscard]] absl::Status Load(const Apply& apply);

  // The largest write command (its arguments' bytes) whose record is sure to fit in the log.
  [[nodiscard]] uint64_t max_command_bytes() const { return max_command_bytes_; }

  // Queues a command's record and returns its token. REQUIRES: under the engine's lock.
  uint64_t Queue(std::span<const std::string_view> args);
  uint64_t Queue(const std::vector<std::string>& args);
  // The offset the next queued record gets: a rewrite taken now (under the engine's lock)
  // covers the log below it.
  [[nodiscard]] uint64_t next_offset() const;
  // The token of the last record queued if it is not yet written (under kAlways, synced), else
  // 0: a reply that reads the keyspace now must wait for it, as it may show that record's write.
  // 0 as well once a write has failed (nothing will be written again; reads go on).
  [[nodiscard]] uint64_t PendingToken() const;

  // Writes every queued record.
  [[nodiscard]] absl::Status Flush();
  // Returns once the record before `token` is written (under kAlways, synced too).
  [[nodiscard]] absl::Status WaitDurable(uint64_t token);
  // Writes and syncs everything queued (everysec's tick, shutdown).
  [[nodiscard]] absl::Status Sync();

  // Whether the log has grown enough since the last rewrite for an automatic one.
  [[nodiscard]] bool RewriteDue() const;
  // Takes `snapshot()` (the keyspace, under the engine's lock) as the new base: writes and syncs
  // it, switches the manifest to it, and drops the log's segments it covers. One at a time.
  [[nodiscard]] absl::Status Rewrite(const std::function<BaseImage()>& snapshot);
  [[nodiscard]] bool rewrite_in_progress() const { return rewrite_in_progress_.load(); }

  void FillStats(PersistenceStats* stats) const;
  // After a failed write or sync the log refuses writes, and so does the engine.
  [[nodiscard]] bool write_failed() const { return write_failed_.load(); }
  [[nodiscard]] std::string write_error() const;

 private:
  AppendOnlyFile(const EngineOptions& options, wal::FileSystem& fs);
  [[nodiscard]] absl::Status OpenFiles();
  [[nodiscard]] absl::Status LoadBase(const Apply& apply, uint64_t* count);
  // One writer at a time (the others wait on written_cv_): appends what is queued.
  [[nodiscard]] absl::Status WriteQueued(bool gather);
  // Returns once the records before `token` are written, writing them if no one else is.
  [[nodiscard]] absl::Status WriteUpTo(uint64_t token, bool gather);
  [[nodiscard]] absl::Status InstallBase(const BaseImage& image);  // REQUIRES: rewrite_mu_ held
  void RecordWriteError(const absl::Status& status);
  [[nodiscard]] uint64_t CurrentSize() const;

  const EngineOptions options_;
  wal::FileSystem& fs_;
  const std::string log_dir_;
  std::unique_ptr<wal::FileLock> lock_;  // the directory's LOCK, held while open
  uint64_t max_command_bytes_ = 0;
  std::unique_ptr<wal::Log> log_;

  // The base the manifest names ("" for none): its number, the log offset it covers and how
  // many records it holds. Guarded by rewrite_mu_ once open.
  std::mutex rewrite_mu_;
  uint64_t base_number_ = 0;
  std::string base_name_;
  uint64_t base_covered_ = 0;
  uint64_t base_records_ = 0;

  // Records queued by commands and not yet appended.
  mutable std::mutex queue_mu_;
  std::condition_variable queued_cv_;  // a gathering writer waits here for gather_target_
  std::vector<std::string> queued_;
  uint64_t queued_bytes_ = 0;
  uint64_t next_offset_ = 0;
  size_t gather_target_ = 0;  // 0: no writer is gathering

  // One writer at a time appends, so that records reach the log in offset order.
  std::mutex flush_mu_;
  std::condition_variable written_cv_;
  bool writing_ = false;  // flush_mu_
  std::atomic<uint64_t> written_token_{0};
  // The writer's own (only the thread with writing_ set touches them).
  std::vector<std::string> flushing_;
  size_t last_group_size_ = 1;
  int64_t last_write_ns_ = 0;

  mutable std::mutex error_mu_;
  std::string write_error_;
  std::atomic<bool> write_failed_{false};

  // For INFO persistence.
  std::atomic<uint64_t> base_bytes_{0};
  std::atomic<uint64_t> size_after_rewrite_{0};
  std::atomic<bool> rewrite_in_progress_{false};
  std::atomic<uint64_t> rewrites_{0};
  std::atomic<int64_t> last_rewrite_ms_{-1};
  std::atomic<int64_t> last_rewrite_pause_us_{-1};
  std::atomic<bool> last_rewrite_ok_{true};
  std::atomic<uint64_t> logged_records_{0};
  uint64_t loaded_commands_ = 0;
};

}  // namespace keel::redis::internal

#endif  // KEEL_SRC_REDIS_APPEND_ONLY_FILE_H_
