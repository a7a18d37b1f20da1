// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The write-ahead log against the system calls it is made of, and against RocksDB's log, on the
// same disk in the same run. Items are records; bytes are what reaches the file, framing included
// (a payload plus keel's 25-byte record header), so keel and its baselines write identical
// amounts.
//
//   BM_Append_Keel/<payload>                Log::Append with SyncPolicy::kNone: framing, CRC32C,
//                                           the writer queue and one pwrite() per record, into
//                                           the page cache.
//   BM_Append_RawWriteBaseline/<payload>    one write() per record of exactly as many bytes to a
//                                           plain file in the same directory: the floor.
//   BM_DurableAppend_Keel/<payload>/...     SyncPolicy::kEveryAppend with 1, 4, 16 and 64 appender
//                                           threads: one thread is an fsync per record; more share
//                                           fsyncs (group commit). Counter: records per fsync.
//   BM_DurableAppend_FdatasyncBaseline/...  write() + fdatasync() per record, one thread.
//   BM_DurableAppend_RocksDbPeer/...        RocksDB Put(key = 8-byte sequence number, value =
//                                           payload) with WriteOptions::sync and its WAL on, with
//                                           1, 4, 16 and 64 threads: RocksDB groups commits too.
//                                           Counter: writes per WAL sync (its statistics).
//   BM_Replay_Keel/<MiB>                    a LogReader from offset 0 through a log of 1 KiB
//                                           records that is in the page cache.
//   BM_Replay_ReadBaseline/<MiB>            read() of the same segment files, 256 KiB at a time
//                                           (the size of keel's read-ahead): the floor.
//
// The files live in a fresh directory under $KEEL_BENCH_DIR, else the system's temporary directory,
// removed at exit; its path and file system are printed in the run's context. It must be on the
// disk being measured: on tmpfs an fsync costs nothing. The kNone appends restart their file every
// 32 MiB, outside the timing, so that neither keel (whose segments roll at 64 MiB, with an fsync)
// nor the baseline grows a file without bound or waits for writeback. Wall-clock time throughout:
// the durable figures are time spent waiting for the disk.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/scratch_dir.h"
#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/wal/format.h"
#include "keel/wal/log.h"

namespace keel::wal {
namespace {

// The kNone appends start a new file (and a new log) before one would grow past this.
constexpr uint64_t kRestartBytes = 32 << 20;
// The baseline's read size in the replay, the same as keel's reader reads ahead.
constexpr size_t kReadBytes = 256 << 10;
constexpr size_t kReplayRecordBytes = 1024;

// Setup and I/O failures stop the run: a benchmark thread that left its loop early would let
// thread 0 tear down what the others are still using.
void Die(std::string_view what, std::string_view error) {
  std::fprintf(stderr, "wal_bench: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(error.size()), error.data());
  std::abort();
}

void Check(const absl::Status& status, std::string_view what) {
  if (!status.ok()) Die(what, status.ToString());
}

std::string FileSystemName(const std::string& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return "unknown";
  switch (static_cast<uint64_t>(st.f_type)) {
    case EXT4_SUPER_MAGIC:
      return "ext4 (or ext2/ext3)";
    case XFS_SUPER_MAGIC:
      return "xfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    case TMPFS_MAGIC:
      return "tmpfs: fsync costs nothing here, so the durable figures are not a disk's";
    default:
      return base::Cat("magic 0x", absl::Hex(st.f_type));
  }
}

// The directory every benchmark works in, created when the binary starts and removed at exit.
bench::ScratchDir& Scratch() {
  static bench::ScratchDir dir("wal_bench");
  static const bool described =
      (benchmark::AddCustomContext("wal_bench_file_system", FileSystemName(dir.root())), true);
  (void)described;
  return dir;
}
// Created before main, so that its context is printed with the run's.
[[maybe_unused]] const bench::ScratchDir& kScratchAtStart = Scratch();

void RemoveAll(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) Die(base::Cat("cannot remove ", path), error.message());
}

// Closes `log` if open, deletes `dir` and opens a new, empty log there.
void OpenFreshLog(std::unique_ptr<Log>& log, const std::string& dir, const LogOptions& options) {
  log.reset();
  RemoveAll(dir);
  absl::StatusOr<std::unique_ptr<Log>> opened = Log::Open(dir, options);
  Check(opened.status(), base::Cat("cannot open a log in ", dir));
  log = *std::move(opened);
}

int CreateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die(base::Cat("cannot create ", path), std::strerror(errno));
  return fd;
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Die("write", std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string RandomBytes(size_t n, uint64_t seed) {
  base::Random rng(seed);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(rng.Next());
  return bytes;
}

// What a record of `payload_bytes` occupies in a segment file.
int64_t FramedBytes(int64_t payload_bytes) {
  return payload_bytes + static_cast<int64_t>(kRecordHeaderBytes);
}

// Items are this thread's records; Google Benchmark adds the threads' figures up.
void SetRecordThroughput(benchmark::State& state, int64_t bytes_per_record) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * bytes_per_record);
}

// ---------------------------------------------------------------------------------------------
// Appends into the page cache.
// ---------------------------------------------------------------------------------------------

void BM_Append_Keel(benchmark::State& state) {
  const std::string payload = RandomBytes(static_cast<size_t>(state.range(0)), 1);
  const auto record_bytes = static_cast<uint64_t>(FramedBytes(state.range(0)));
  const std::string dir = Scratch().NewPath("append_keel");
  LogOptions options;
  options.sync = SyncPolicy::kNone;
  std::unique_ptr<Log> log;
  OpenFreshLog(log, dir, options);
  uint64_t file_bytes = kSegmentHeaderBytes;
  for (auto _ : state) {
    if (file_bytes + record_bytes > kRestartBytes) {
      state.PauseTiming();
      OpenFreshLog(log, dir, options);
      file_bytes = kSegmentHeaderBytes;
      state.ResumeTiming();
    }
    const absl::StatusOr<uint64_t> offset = log->Append(payload);
    if (!offset.ok()) Die("append", offset.status().ToString());
    file_bytes += record_bytes;
  }
  log.reset();
  RemoveAll(dir);
  SetRecordThroughput(state, FramedBytes(state.range(0)));
}

void BM_Append_RawWriteBaseline(benchmark::State& state) {
  // A header's worth of bytes, then the payload: a record's size, not its contents.
  const std::string record =
      std::string(kRecordHeaderBytes, '\0') + RandomBytes(static_cast<size_t>(state.range(0)), 1);
  const std::string path = Scratch().NewPath("append_raw");
  int fd = CreateFile(path);
  uint64_t file_bytes = 0;
  for (auto _ : state) {
    if (file_bytes + record.size() > kRestartBytes) {
      state.PauseTiming();
      ::close(fd);
      RemoveAll(path);
      fd = CreateFile(path);
      file_bytes = 0;
      state.ResumeTiming();
    }
    WriteAll(fd, record);
    file_bytes += record.size();
  }
  ::close(fd);
  RemoveAll(path);
  SetRecordThroughput(state, FramedBytes(state.range(0)));
}

BENCHMARK(BM_Append_Keel)->Arg(100)->Arg(1024)->UseRealTime();
BENCHMARK(BM_Append_RawWriteBaseline)->Arg(100)->Arg(1024)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// Durable appends. Thread 0 sets up before the loop and tears down after it; Google Benchmark
// holds every thread at a barrier at both ends of the loop.
// ---------------------------------------------------------------------------------------------

void BM_DurableAppend_Keel(benchmark::State& state) {
  static std::string dir;
  static std::unique_ptr<Log> shared_log;
  if (state.thread_index() == 0) {
    dir = Scratch().NewPath("durable_keel");
    LogOptions options;
    options.sync = SyncPolicy::kEveryAppend;
    OpenFreshLog(shared_log, dir, options);
  }
  const std::string payload =
      RandomBytes(static_cast<size_t>(state.range(0)), static_cast<uint64_t>(state.thread_index()));
  for (auto _ : state) {
    const absl::StatusOr<uint64_t> offset = shared_log->Append(payload);
    if (!offset.ok()) Die("durable append", offset.status().ToString());
  }
  if (state.thread_index() == 0) {
    const LogStats stats = shared_log->stats();
    state.counters["records_per_sync"] = static_cast<double>(stats.records) /
                                         static_cast<double>(std::max<uint64_t>(stats.syncs, 1));
    shared_log.reset();
    RemoveAll(dir);
  }
  SetRecordThroughput(state, FramedBytes(state.range(0)));
}

void BM_DurableAppend_FdatasyncBaseline(benchmark::State& state) {
  const std::string record =
      std::string(kRecordHeaderBytes, '\0') + RandomBytes(static_cast<size_t>(state.range(0)), 1);
  const std::string path = Scratch().NewPath("durable_raw");
  const int fd = CreateFile(path);
  for (auto _ : state) {
    WriteAll(fd, record);
    if (::fdatasync(fd) != 0) Die("fdatasync", std::strerror(errno));
  }
  ::close(fd);
  RemoveAll(path);
  SetRecordThroughput(state, FramedBytes(state.range(0)));
}

void BM_DurableAppend_RocksDbPeer(benchmark::State& state) {
  static std::string dir;
  static rocksdb::Options options;
  static std::unique_ptr<rocksdb::DB> db;
  static std::atomic<uint64_t> next_key{0};
  if (state.thread_index() == 0) {
    dir = Scratch().NewPath("durable_rocksdb");
    options = rocksdb::Options();
    options.create_if_missing = true;
    options.statistics = rocksdb::CreateDBStatistics();
    options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
    rocksdb::DB* opened = nullptr;
    const rocksdb::Status status = rocksdb::DB::Open(options, dir, &opened);
    if (!status.ok()) Die("cannot open RocksDB", status.ToString());
    db.reset(opened);
    next_key = 0;
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  write_options.disableWAL = false;
  const std::string payload =
      RandomBytes(static_cast<size_t>(state.range(0)), static_cast<uint64_t>(state.thread_index()));
  char key[8];
  for (auto _ : state) {
    // Big-endian, so that keys sort in the order they were written, as a log's offsets do.
    base::EncodeFixed64(key, __builtin_bswap64(next_key.fetch_add(1, std::memory_order_relaxed)));
    const rocksdb::Status status =
        db->Put(write_options, rocksdb::Slice(key, sizeof(key)), payload);
    if (!status.ok()) Die("RocksDB Put", status.ToString());
  }
  if (state.thread_index() == 0) {
    const uint64_t writes = options.statistics->getTickerCount(rocksdb::WRITE_DONE_BY_SELF) +
                            options.statistics->getTickerCount(rocksdb::WRITE_DONE_BY_OTHER);
    const uint64_t syncs = options.statistics->getTickerCount(rocksdb::WAL_FILE_SYNCED);
    state.counters["records_per_sync"] =
        static_cast<double>(writes) / static_cast<double>(std::max<uint64_t>(syncs, 1));
    const rocksdb::Status closed = db->Close();
    if (!closed.ok()) Die("cannot close RocksDB", closed.ToString());
    db.reset();
    const rocksdb::Status destroyed = rocksdb::DestroyDB(dir, options);
    if (!destroyed.ok()) Die("cannot destroy RocksDB", destroyed.ToString());
    RemoveAll(dir);
  }
  // Bytes: the key and value handed to RocksDB (its own framing differs from keel's).
  SetRecordThroughput(state, state.range(0) + static_cast<int64_t>(sizeof(key)));
}

BENCHMARK(BM_DurableAppend_Keel)
    ->Arg(100)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->Threads(64);
BENCHMARK(BM_DurableAppend_FdatasyncBaseline)->Arg(100)->UseRealTime();
BENCHMARK(BM_DurableAppend_RocksDbPeer)
    ->Arg(100)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->Threads(64);

// ---------------------------------------------------------------------------------------------
// Replay from the page cache.
// ---------------------------------------------------------------------------------------------

// A log of 1 KiB records, `mib` MiB of segment files, written once (before any timing) and kept
// open for every replay benchmark of that size.
struct ReplayLog {
  std::string dir;
  std::unique_ptr<Log> log;
  uint64_t records = 0;
  uint64_t file_bytes = 0;
  std::vector<std::string> segment_paths;  // in log order
};

const ReplayLog& GetReplayLog(uint64_t mib) {
  static std::map<uint64_t, std::unique_ptr<ReplayLog>> logs;
  std::unique_ptr<ReplayLog>& slot = logs[mib];
  if (slot != nullptr) return *slot;
  auto data = std::make_unique<ReplayLog>();
  data->dir = Scratch().NewPath(base::Cat("replay_", mib, "mib"));
  LogOptions options;
  options.sync = SyncPolicy::kNone;
  OpenFreshLog(data->log, data->dir, options);
  // Different payloads, so that no two records are alike: windows of a random pool.
  const std::string pool = RandomBytes(kReplayRecordBytes * 64, 7);
  const uint64_t target_bytes = mib << 20;
  while (data->log->size_bytes() < target_bytes) {
    const size_t at = static_cast<size_t>(data->records % 64) * kReplayRecordBytes;
    const absl::StatusOr<uint64_t> offset =
        data->log->Append(std::string_view(pool).substr(at, kReplayRecordBytes));
    if (!offset.ok()) Die("append", offset.status().ToString());
    ++data->records;
  }
  // Written back, so that no writeback runs during the timing; the pages stay cached.
  Check(data->log->Sync(), "sync");
  data->file_bytes = data->log->size_bytes();
  for (const auto& entry : std::filesystem::directory_iterator(data->dir)) {
    if (entry.path().extension() == kSegmentSuffix) {
      data->segment_paths.push_back(entry.path().string());
    }
  }
  // Segment names are zero-padded offsets: sorting the names puts them in log order.
  std::sort(data->segment_paths.begin(), data->segment_paths.end());
  slot = std::move(data);
  return *slot;
}

void BM_Replay_Keel(benchmark::State& state) {
  const ReplayLog& data = GetReplayLog(static_cast<uint64_t>(state.range(0)));
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<LogReader>> reader = data.log->NewReader(0);
    Check(reader.status(), "NewReader");
    uint64_t records = 0;
    for (;;) {
      absl::StatusOr<std::optional<RecordView>> record = (*reader)->Next();
      Check(record.status(), "Next");
      if (!record->has_value()) break;
      benchmark::DoNotOptimize((*record)->payload.data());
      ++records;
    }
    if (records != data.records) {
      state.SkipWithError("the reader returned a different number of records");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(data.records));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.file_bytes));
}

void BM_Replay_ReadBaseline(benchmark::State& state) {
  const ReplayLog& data = GetReplayLog(static_cast<uint64_t>(state.range(0)));
  std::string buffer(kReadBytes, '\0');
  for (auto _ : state) {
    uint64_t total = 0;
    for (const std::string& path : data.segment_paths) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) Die(base::Cat("cannot open ", path), std::strerror(errno));
      for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) Die("read", std::strerror(errno));
        if (n == 0) break;
        total += static_cast<uint64_t>(n);
        benchmark::DoNotOptimize(buffer.data());
      }
      ::close(fd);
    }
    if (total != data.file_bytes) {
      state.SkipWithError("read a different number of bytes than the log holds");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(data.records));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.file_bytes));
}

BENCHMARK(BM_Replay_Keel)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Replay_ReadBaseline)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keel::wal
