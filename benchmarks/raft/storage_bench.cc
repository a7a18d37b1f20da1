// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What a Ready costs on disk: Storage::Save of a Ready with 1 or 64 entries of 100 bytes, durable
// on return (one fdatasync of the log), against writing the same bytes with plain POSIX calls.
//
//   BM_StorageSave/entries                  keel::raft::Storage on a directory under $TMPDIR
//   BM_AppendFdatasyncBaseline/entries      write(2) of the entries' bytes at the end of a file,
//                                           then fdatasync: the file grows, so each sync also
//                                           commits its new size to the journal
//   BM_OverwriteFdatasyncBaseline/entries   pwrite(2) over zeros written beforehand, then
//                                           fdatasync: the floor for a synced write, which the
//                                           log's preallocation aims at
//
// Every variant writes to the same file system. The baselines write the entries' data only,
// without the log's 25-byte record headers or the entry encoding (a few bytes each).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "keel/base/assert.h"
#include "keel/raft/storage.h"

namespace keel::raft {
namespace {

constexpr size_t kEntryBytes = 100;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at the end.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/keel_bench_XXXXXX";
    KEEL_ASSERT(mkdtemp(pattern.data()) != nullptr, "mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void SetCounters(benchmark::State& state, int64_t entries) {
  state.SetItemsProcessed(state.iterations() * entries);
  state.SetBytesProcessed(state.iterations() * entries * static_cast<int64_t>(kEntryBytes));
}

void BM_StorageSave(benchmark::State& state) {
  const auto count = static_cast<size_t>(state.range(0));
  ScratchDir dir;
  auto storage = Storage::Open(dir.path() + "/node", StorageOptions{}, {0});
  KEEL_ASSERT(storage.ok(), storage.status().ToString());
  (void)(*storage)->TakeInitialState();
  Ready ready;
  ready.hard_state = HardState{.term = 1, .vote = 0, .commit = 1};
  ready.must_sync = true;
  ready.entries.resize(count);
  for (Entry& entry : ready.entries) {
    entry.term = 1;
    entry.data = std::string(kEntryBytes, 'x');
  }
  uint64_t next = 2;  // after the configuration at 1
  for (auto _ : state) {
    for (Entry& entry : ready.entries) entry.index = next++;
    const absl::Status saved = (*storage)->Save(ready);
    KEEL_ASSERT(saved.ok(), saved.ToString());
    ready.hard_state.reset();  // the term and vote are written once
  }
  SetCounters(state, static_cast<int64_t>(count));
  state.counters["syncs_per_save"] = benchmark::Counter(
      static_cast<double>((*storage)->stats().syncs), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_StorageSave)->Arg(1)->Arg(64)->UseRealTime();

void BM_AppendFdatasyncBaseline(benchmark::State& state) {
  const auto count = static_cast<size_t>(state.range(0));
  ScratchDir dir;
  const int fd = open((dir.path() + "/log").c_str(), O_CREAT | O_WRONLY | O_APPEND, 0644);
  KEEL_ASSERT(fd >= 0, "open failed");
  const std::string bytes(count * kEntryBytes, 'x');
  for (auto _ : state) {
    KEEL_ASSERT(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()),
                "write failed");
    KEEL_ASSERT(fdatasync(fd) == 0, "fdatasync failed");
  }
  close(fd);
  SetCounters(state, static_cast<int64_t>(count));
}
BENCHMARK(BM_AppendFdatasyncBaseline)->Arg(1)->Arg(64)->UseRealTime();

void BM_OverwriteFdatasyncBaseline(benchmark::State& state) {
  const auto count = static_cast<size_t>(state.range(0));
  ScratchDir dir;
  const int fd = open((dir.path() + "/log").c_str(), O_CREAT | O_RDWR, 0644);
  KEEL_ASSERT(fd >= 0, "open failed");
  const std::string bytes(count * kEntryBytes, 'x');
  // Zeros ahead of the writes, synced, as the log preallocates: 64 MiB, reused from the start
  // when the writes reach the end.
  constexpr off_t kFileBytes = 64 << 20;
  const std::string zeros(1 << 20, '\0');
  for (off_t at = 0; at < kFileBytes; at += static_cast<off_t>(zeros.size())) {
    KEEL_ASSERT(pwrite(fd, zeros.data(), zeros.size(), at) == static_cast<ssize_t>(zeros.size()),
                "pwrite failed");
  }
  KEEL_ASSERT(fsync(fd) == 0, "fsync failed");
  off_t at = 0;
  for (auto _ : state) {
    if (at + static_cast<off_t>(bytes.size()) > kFileBytes) at = 0;
    KEEL_ASSERT(pwrite(fd, bytes.data(), bytes.size(), at) == static_cast<ssize_t>(bytes.size()),
                "pwrite failed");
    KEEL_ASSERT(fdatasync(fd) == 0, "fdatasync failed");
    at += static_cast<off_t>(bytes.size());
  }
  close(fd);
  SetCounters(state, static_cast<int64_t>(count));
}
BENCHMARK(BM_OverwriteFdatasyncBaseline)->Arg(1)->Arg(64)->UseRealTime();

}  // namespace
}  // namespace keel::raft
