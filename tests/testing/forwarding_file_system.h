// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A file system, and a file, that pass every call on to another: a test's file system derives
// from them and overrides only the calls it changes (fails, counts or blocks).
//
// Example:
//
//   class CountingFileSystem final : public keel::testing::ForwardingFileSystem {
//    public:
//     CountingFileSystem() : ForwardingFileSystem(wal::FileSystem::Posix()) {}
//     absl::Status SyncDir(const std::string& dir) override {
//       ++dir_syncs;
//       return ForwardingFileSystem::SyncDir(dir);
//     }
//     int dir_syncs = 0;
//   };
#ifndef KEEL_TESTS_TESTING_FORWARDING_FILE_SYSTEM_H_
#define KEEL_TESTS_TESTING_FORWARDING_FILE_SYSTEM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/wal/file_system.h"

namespace keel::testing {

class ForwardingFile : public wal::File {
 public:
  explicit ForwardingFile(std::unique_ptr<wal::File> base) : base_(std::move(base)) {}

  absl::Status Append(std::string_view data) override { return base_->Append(data); }
  absl::Status WriteAt(uint64_t offset, std::string_view data) override {
    return base_->WriteAt(offset, data);
  }
  absl::Status Sync() override { return base_->Sync(); }
  absl::Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override {
    return base_->ReadAt(offset, buf, n);
  }
  uint64_t size() const override { return base_->size(); }

 private:
  std::unique_ptr<wal::File> base_;
};

class ForwardingFileSystem : public wal::FileSystem {
 public:
  // `base` must outlive this file system.
  explicit ForwardingFileSystem(wal::FileSystem& base) : base_(base) {}

  absl::StatusOr<std::unique_ptr<wal::File>> Open(const std::string& path,
                                                  wal::OpenMode mode) override {
    return base_.Open(path, mode);
  }
  absl::Status Remove(const std::string& path) override { return base_.Remove(path); }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    return base_.Rename(from, to);
  }
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override {
    return base_.List(dir);
  }
  absl::Status CreateDir(const std::string& dir) override { return base_.CreateDir(dir); }
  absl::Status SyncDir(const std::string& dir) override { return base_.SyncDir(dir); }
  absl::Status RemoveDir(const std::string& dir) override { return base_.RemoveDir(dir); }
  absl::StatusOr<std::unique_ptr<wal::FileLock>> Lock(const std::string& path) override {
    return base_.Lock(path);
  }

 private:
  wal::FileSystem& base_;
};

}  // namespace keel::testing

#endif  // KEEL_TESTS_TESTING_FORWARDING_FILE_SYSTEM_H_
