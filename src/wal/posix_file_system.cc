// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// FileSystem on POSIX system calls.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/wal/file_system.h"

namespace keel::wal {
namespace {

absl::Status Errno(int error, std::string_view what, const std::string& path) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      base::Cat(what, " ", base::Quoted(path, 256), ": ", std::strerror(error)));
}

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixFile() override { ::close(fd_); }

  absl::Status Append(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(size_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, "cannot write to", path_);
      }
      data.remove_prefix(static_cast<size_t>(n));
      size_.fetch_add(static_cast<uint64_t>(n), std::memory_order_release);
    }
    return absl::OkStatus();
  }

  absl::Status WriteAt(uint64_t offset, std::string_view data) override {
    KEEL_ASSERT(offset + data.size() <= size_.load(), "overwriting ", path_, " at ", offset,
                " for ", data.size(), " bytes would grow it");
    while (!data.empty()) {
      const ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, "cannot write to", path_);
      }
      data.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return Errno(errno, "cannot sync", path_);
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    KEEL_ASSERT(size <= size_.load(), "truncating ", path_, " to ", size, " would grow it");
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Errno(errno, "cannot truncate", path_);
    }
    size_.store(size, std::memory_order_release);
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override {
    size_t done = 0;
    while (done < n) {
      const ssize_t got = ::pread(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, "cannot read", path_);
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  uint64_t size() const override { return size_.load(std::memory_order_acquire); }

 private:
  std::string path_;
  int fd_;
  std::atomic<uint64_t> size_;
};

// flock() locks belong to the open file description, so a second open of the same file conflicts
// even within one process, and the kernel drops the lock when the process dies.
class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }

 private:
  int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    const int flags = O_RDWR | O_CLOEXEC | (mode == OpenMode::kCreate ? O_CREAT | O_EXCL : 0);
    const int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return Errno(errno, "cannot open", path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int error = errno;
      ::close(fd);
      return Errno(error, "cannot stat", path);
    }
    return std::make_unique<PosixFile>(path, fd, static_cast<uint64_t>(st.st_size));
  }

  absl::Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Errno(errno, "cannot remove", path);
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno(errno, "cannot rename", from);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return Errno(errno, "cannot list", dir);
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(d)) {
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(d);
    return names;
  }

  absl::Status CreateDir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return Errno(errno, "cannot create directory", dir);
    }
    return absl::OkStatus();
  }

  absl::Status RemoveDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return Errno(errno, "cannot remove directory", dir);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno(errno, "cannot open directory", dir);
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0) return Errno(error, "cannot sync directory", dir);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno(errno, "cannot open lock file", path);
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      if (error == EWOULDBLOCK) {
        return absl::UnavailableError(
            base::Cat(base::Quoted(path, 256), " is locked: another process or object owns it"));
      }
      return Errno(error, "cannot lock", path);
    }
    return std::make_unique<PosixFileLock>(fd);
  }
};

}  // namespace

absl::Status FileSystem::RemoveDir(const std::string& dir) {
  return absl::UnimplementedError(
      base::Cat("this file system cannot remove directories (", base::Quoted(dir, 256), ")"));
}

FileSystem& FileSystem::Posix() {
  static PosixFileSystem fs;
  return fs;
}

}  // namespace keel::wal
