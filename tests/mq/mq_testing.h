// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Helpers shared by keel/mq's tests. Not installed.
//
//   StressRounds()           KEEL_MQ_STRESS_ROUNDS, or 2: how long the randomized runs go.
//   Manual(clock, brokers)   ClusterOptions without background threads, on a manual clock, with
//                            small segments: every test that uses it is deterministic.
//   Text(value, key)         a message.
//   ReadAll(cluster, t, p)   everything committed in a partition, by offset.
//   FlakyCluster             a Manual cluster over a FlakyFileSystem in a fresh directory.
//   FlakyFileSystem          the operating system's file system, except that syncs under a chosen
//                            path fail (a disk that stops taking writes there), and that it counts
//                            the bytes read under another past each file's first byte: what log
//                            readers read, without the log's own recovery, which reads every
//                            segment from its start (to show what Open and elections read).
#ifndef KEEL_TESTS_MQ_MQ_TESTING_H_
#define KEEL_TESTS_MQ_MQ_TESTING_H_

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/clock.h"
#include "keel/mq/cluster.h"
#include "keel/wal/file_system.h"
#include "testing/forwarding_file_system.h"
#include "testing/testing.h"

namespace keel::mq::test {

inline int StressRounds() {
  const char* env = std::getenv("KEEL_MQ_STRESS_ROUNDS");
  return env != nullptr ? std::max(1, std::atoi(env)) : 2;
}

inline ClusterOptions Manual(const base::Clock* clock, uint32_t brokers = 3) {
  ClusterOptions o;
  o.brokers = brokers;
  o.background = false;
  o.clock = clock;
  o.segment_bytes = 64 << 10;
  o.max_message_bytes = 16 << 10;
  return o;
}

inline Message Text(std::string value, std::string key = "") {
  Message m;
  m.value = std::move(value);
  m.key = std::move(key);
  return m;
}

inline std::map<uint64_t, std::string> ReadAll(const Cluster& cluster, const std::string& topic,
                                               uint32_t partition) {
  std::map<uint64_t, std::string> out;
  const absl::StatusOr<PartitionState> state = cluster.DescribePartition(topic, partition);
  REQUIRE(state.ok());
  uint64_t from = state->log_start;
  for (;;) {
    const absl::StatusOr<FetchResult> batch = cluster.Fetch(topic, partition, from, {});
    REQUIRE_MESSAGE(batch.ok(), batch.status());
    for (const FetchedMessage& m : batch->messages) out[m.offset] = m.message.value;
    if (batch->next_offset == from) break;
    from = batch->next_offset;
  }
  return out;
}

inline absl::StatusOr<ProduceResult> ProduceOne(Cluster& cluster, const std::string& topic,
                                                uint32_t partition, const std::string& value,
                                                Acks acks) {
  const Message m = Text(value);
  return cluster.Produce(topic, partition, {&m, 1}, acks);
}

// The broker of the partition's first replica that is not its leader.
inline uint32_t AFollower(const Cluster& cluster, const std::string& topic, uint32_t partition) {
  const PartitionState state = *cluster.DescribePartition(topic, partition);
  for (const ReplicaState& r : state.replicas) {
    if (r.broker != state.leader) return r.broker;
  }
  FAIL("no follower");
  return 0;
}

class FlakyFileSystem final : public keel::testing::ForwardingFileSystem {
 public:
  FlakyFileSystem() : ForwardingFileSystem(wal::FileSystem::Posix()) {}

  // Fails syncs of files and directories whose paths contain `part` from now on; "" fails none.
  void FailSyncsUnder(std::string part) {
    std::lock_guard lock(mu_);
    fail_part_ = std::move(part);
  }
  // Counts the bytes read past position 0 of files whose paths contain `part` from now on.
  void CountReadsUnder(std::string part) {
    std::lock_guard lock(mu_);
    count_part_ = std::move(part);
    bytes_read_ = 0;
  }
  uint64_t bytes_read() const { return bytes_read_.load(); }

  absl::Status CheckSync(const std::string& path) const {
    std::lock_guard lock(mu_);
    if (fail_part_.empty() || path.find(fail_part_) == std::string::npos) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("injected failure to sync ", path));
  }
  void CountRead(const std::string& path, uint64_t offset, size_t n) const {
    std::lock_guard lock(mu_);
    if (offset > 0 && !count_part_.empty() && path.find(count_part_) != std::string::npos) {
      bytes_read_ += n;
    }
  }

  absl::StatusOr<std::unique_ptr<wal::File>> Open(const std::string& path,
                                                  wal::OpenMode mode) override {
    absl::StatusOr<std::unique_ptr<wal::File>> file = ForwardingFileSystem::Open(path, mode);
    if (!file.ok()) return file.status();
    return std::make_unique<File>(*this, path, std::move(*file));
  }
  absl::Status SyncDir(const std::string& dir) override {
    if (absl::Status status = CheckSync(dir); !status.ok()) return status;
    return ForwardingFileSystem::SyncDir(dir);
  }

 private:
  class File final : public keel::testing::ForwardingFile {
   public:
    File(const FlakyFileSystem& fs, std::string path, std::unique_ptr<wal::File> base)
        : ForwardingFile(std::move(base)), fs_(fs), path_(std::move(path)) {}
    absl::Status Sync() override {
      if (absl::Status status = fs_.CheckSync(path_); !status.ok()) return status;
      return ForwardingFile::Sync();
    }
    absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override {
      absl::StatusOr<size_t> got = ForwardingFile::ReadAt(offset, buf, n);
      if (got.ok()) fs_.CountRead(path_, offset, *got);
      return got;
    }

   private:
    const FlakyFileSystem& fs_;
    const std::string path_;
  };

  mutable std::mutex mu_;
  std::string fail_part_;
  std::string count_part_;
  mutable std::atomic<uint64_t> bytes_read_{0};
};

// A cluster without background threads, on a manual clock, over a FlakyFileSystem, in a fresh
// directory that goes with it.
struct FlakyCluster {
  keel::testing::TempDir dir;
  base::ManualClock clock{1'000};
  FlakyFileSystem fs;
  ClusterOptions options;
  std::unique_ptr<Cluster> cluster;

  explicit FlakyCluster(uint32_t brokers = 3) : options(Manual(&clock, brokers)) {
    options.file_system = &fs;
    absl::StatusOr<std::unique_ptr<Cluster>> opened = Cluster::Open(dir.path(), options);
    REQUIRE_MESSAGE(opened.ok(), opened.status());
    cluster = std::move(*opened);
  }
};

}  // namespace keel::mq::test

#endif  // KEEL_TESTS_MQ_MQ_TESTING_H_
