// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/memory_file_system.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <thread>

#include "absl/strings/str_replace.h"
#include "keel/base/random.h"
#include "keel/wal/log.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

// Runs the same operations on Posix() under a temporary directory and on a MemoryFileSystem at
// its root, and checks that each gives the same result: the same status code, the same message
// (once the temporary directory is taken out of Posix's), the same bytes and names.
class Twins {
 public:
  std::string Posix(std::string_view path) const { return base::Cat(dir_.path(), path); }

  // "OK", or the code and the message.
  std::string Outcome(const absl::Status& status) const {
    if (status.ok()) return "OK";
    return base::Cat(absl::StatusCodeToString(status.code()), ": ",
                     absl::StrReplaceAll(status.message(), {{dir_.path(), ""}}));
  }

  // Checks that `op` does the same to both. `op(fs, prefix)` returns a status and a result.
  template <typename Op>
  void Same(std::string_view what, Op op) {
    const auto [posix_status, posix_result] = op(FileSystem::Posix(), dir_.path());
    const auto [memory_status, memory_result] = op(memory_, std::string());
    INFO(what);
    CHECK(Outcome(memory_status) == Outcome(posix_status));
    CHECK(memory_result == posix_result);
  }

  MemoryFileSystem& memory() { return memory_; }

 private:
  testing::TempDir dir_;
  MemoryFileSystem memory_;
};

// The names in `dir`, sorted and joined, for Twins::Same.
std::pair<absl::Status, std::string> Listed(FileSystem& fs, const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = fs.List(dir);
  std::string joined;
  if (names.ok()) {
    std::sort(names->begin(), names->end());
    for (const std::string& n : *names) joined = base::Cat(joined, n, ",");
  }
  return {names.status(), joined};
}

// What an operation gave, for Twins::Same.
std::pair<absl::Status, std::string> Got(const absl::Status& status, std::string value = "") {
  return {status, std::move(value)};
}

TEST_CASE("Memory files behave as Posix files on every error the interface names") {
  Twins t;
  const auto open = [&](std::string path, OpenMode mode) {
    t.Same(base::Cat("open ", path), [&](FileSystem& fs, const std::string& at) {
      auto file = fs.Open(at + path, mode);
      return Got(file.status(), file.ok() ? base::Cat((*file)->size()) : "");
    });
  };
  const auto run = [&](std::string what, auto op) {
    t.Same(what, [&](FileSystem& fs, const std::string& at) { return Got(op(fs, at)); });
  };
  const auto list = [&](std::string dir) {
    t.Same(base::Cat("list ", dir),
           [&](FileSystem& fs, const std::string& at) { return Listed(fs, at + dir); });
  };
  open("/f", OpenMode::kExisting);  // kNotFound
  open("/f", OpenMode::kCreate);
  open("/f", OpenMode::kCreate);  // kAlreadyExists
  open("/f", OpenMode::kExisting);
  open("/missing/f", OpenMode::kCreate);  // kNotFound
  open("/f/g", OpenMode::kCreate);        // a file on the way: kFailedPrecondition
  run("mkdir /d", [](FileSystem& fs, const std::string& at) { return fs.CreateDir(at + "/d"); });
  run("mkdir /d again",
      [](FileSystem& fs, const std::string& at) { return fs.CreateDir(at + "/d"); });
  run("mkdir over a file",
      [](FileSystem& fs, const std::string& at) { return fs.CreateDir(at + "/f"); });
  run("mkdir under nothing",
      [](FileSystem& fs, const std::string& at) { return fs.CreateDir(at + "/x/y"); });
  open("/d", OpenMode::kExisting);  // a directory: kFailedPrecondition
  open("/d", OpenMode::kCreate);    // kAlreadyExists
  open("/d/g", OpenMode::kCreate);
  list("/d");
  list("/f");  // not a directory
  list("/nothing");
  run("remove a directory",
      [](FileSystem& fs, const std::string& at) { return fs.Remove(at + "/d"); });
  run("remove nothing", [](FileSystem& fs, const std::string& at) { return fs.Remove(at + "/z"); });
  run("rmdir a full one",
      [](FileSystem& fs, const std::string& at) { return fs.RemoveDir(at + "/d"); });
  run("rmdir a file",
      [](FileSystem& fs, const std::string& at) { return fs.RemoveDir(at + "/f"); });
  run("rmdir nothing",
      [](FileSystem& fs, const std::string& at) { return fs.RemoveDir(at + "/z"); });
  run("sync a file as a directory",
      [](FileSystem& fs, const std::string& at) { return fs.SyncDir(at + "/f"); });
  run("sync nothing", [](FileSystem& fs, const std::string& at) { return fs.SyncDir(at + "/z"); });
  run("sync /d", [](FileSystem& fs, const std::string& at) { return fs.SyncDir(at + "/d"); });
  run("rename nothing",
      [](FileSystem& fs, const std::string& at) { return fs.Rename(at + "/z", at + "/y"); });
  run("rename a file over a directory",
      [](FileSystem& fs, const std::string& at) { return fs.Rename(at + "/f", at + "/d"); });
  run("rename a directory over a file",
      [](FileSystem& fs, const std::string& at) { return fs.Rename(at + "/d", at + "/f"); });
  run("rename a directory into itself",
      [](FileSystem& fs, const std::string& at) { return fs.Rename(at + "/d", at + "/d/e"); });
  run("rename into nothing",
      [](FileSystem& fs, const std::string& at) { return fs.Rename(at + "/f", at + "/z/f"); });
  run("rename onto itself",
      [](FileSystem& fs, const std::string& at) { return fs.Rename(at + "/f", at + "/f"); });
  run("mkdir /e", [](FileSystem& fs, const std::string& at) { return fs.CreateDir(at + "/e"); });
  run("rename a directory over a full one",
      [](FileSystem& fs, const std::string& at) { return fs.Rename(at + "/e", at + "/d"); });
  run("rename a directory over an empty one",
      [](FileSystem& fs, const std::string& at) { return fs.Rename(at + "/d", at + "/e"); });
  list("/e");
  run("rename a file over a file",
      [](FileSystem& fs, const std::string& at) { return fs.Rename(at + "/e/g", at + "/f"); });
  list("/");
  run("rmdir an empty one",
      [](FileSystem& fs, const std::string& at) { return fs.RemoveDir(at + "/e"); });
  list("/");
  t.Same("lock twice", [](FileSystem& fs, const std::string& at) {
    auto first = fs.Lock(at + "/LOCK");
    auto second = fs.Lock(at + "/LOCK");
    return Got(first.ok() ? second.status() : first.status());
  });
  t.Same("lock again once released",
         [](FileSystem& fs, const std::string& at) { return Got(fs.Lock(at + "/LOCK").status()); });
  t.Same("lock a directory", [](FileSystem& fs, const std::string& at) {
    REQUIRE(fs.CreateDir(at + "/ld").ok());
    return Got(fs.Lock(at + "/ld").status());
  });
  t.Same("lock under nothing", [](FileSystem& fs, const std::string& at) {
    return Got(fs.Lock(at + "/x/LOCK").status());
  });
  list("/");
}

// Random operations on a handful of names, files kept open across removals and renames.
TEST_CASE("Memory and Posix file systems agree on random operations") {
  const uint64_t seed = keel::testing::TestSeed(81);
  CAPTURE(seed);
  base::Random random(seed);
  Twins t;
  const std::string names[] = {"/a", "/b", "/d", "/d/a", "/d/b", "/e"};
  // One open file in each, opened by the same operation.
  std::unique_ptr<File> posix_file;
  std::unique_ptr<File> memory_file;
  for (int step = 0; step < 600; ++step) {
    const std::string& path = names[random.Uniform(6)];
    const std::string& other = names[random.Uniform(6)];
    CAPTURE(step);
    const uint64_t op = random.Uniform(12);
    if (op <= 1) {
      const OpenMode mode = op == 0 ? OpenMode::kCreate : OpenMode::kExisting;
      auto posix = FileSystem::Posix().Open(t.Posix(path), mode);
      auto memory = t.memory().Open(path, mode);
      CHECK(t.Outcome(memory.status()) == t.Outcome(posix.status()));
      if (posix.ok() && memory.ok()) {
        posix_file = *std::move(posix);
        memory_file = *std::move(memory);
      }
    } else if (op <= 4 && posix_file != nullptr) {
      REQUIRE(memory_file->size() == posix_file->size());
      const uint64_t size = posix_file->size();
      const std::string bytes(1 + random.Uniform(100), static_cast<char>('a' + step % 26));
      if (op == 2) {
        CHECK(posix_file->Append(bytes).ok());
        CHECK(memory_file->Append(bytes).ok());
      } else if (op == 3 && size >= bytes.size()) {
        const uint64_t at = random.Uniform(size - bytes.size() + 1);
        CHECK(posix_file->WriteAt(at, bytes).ok());
        CHECK(memory_file->WriteAt(at, bytes).ok());
      } else if (op == 4) {
        const uint64_t to = random.Uniform(size + 1);
        CHECK(posix_file->Truncate(to).ok());
        CHECK(memory_file->Truncate(to).ok());
      }
      CHECK(posix_file->Sync().ok());
      CHECK(memory_file->Sync().ok());
      char a[256];
      char b[256];
      const uint64_t at = random.Uniform(posix_file->size() + 10);
      const auto got_posix = posix_file->ReadAt(at, a, sizeof(a));
      const auto got_memory = memory_file->ReadAt(at, b, sizeof(b));
      REQUIRE(got_posix.ok());
      REQUIRE(got_memory.ok());
      CHECK(std::string(b, *got_memory) == std::string(a, *got_posix));
    } else if (op == 5) {
      t.Same("remove",
             [&](FileSystem& fs, const std::string& at) { return Got(fs.Remove(at + path)); });
    } else if (op == 6) {
      t.Same("rename", [&](FileSystem& fs, const std::string& at) {
        return Got(fs.Rename(at + path, at + other));
      });
    } else if (op == 7) {
      t.Same("mkdir",
             [&](FileSystem& fs, const std::string& at) { return Got(fs.CreateDir(at + path)); });
    } else if (op == 8) {
      t.Same("rmdir",
             [&](FileSystem& fs, const std::string& at) { return Got(fs.RemoveDir(at + path)); });
    } else if (op == 9) {
      t.Same("sync directory",
             [&](FileSystem& fs, const std::string& at) { return Got(fs.SyncDir(at + path)); });
    } else if (op == 10) {
      t.Same("list", [&](FileSystem& fs, const std::string& at) { return Listed(fs, at + path); });
    } else {
      t.Same("read whole", [&](FileSystem& fs, const std::string& at) {
        auto file = fs.Open(at + path, OpenMode::kExisting);
        if (!file.ok()) return Got(file.status());
        std::string bytes((*file)->size(), '\0');
        const auto got = (*file)->ReadAt(0, bytes.data(), bytes.size());
        REQUIRE(got.ok());
        bytes.resize(*got);
        return Got(absl::OkStatus(), bytes);
      });
    }
  }
}

TEST_CASE("Memory files and locks outlive their file system and removed files stay readable") {
  std::unique_ptr<File> file;
  std::unique_ptr<FileLock> lock;
  {
    MemoryFileSystem fs;
    file = *fs.Open("/f", OpenMode::kCreate);
    REQUIRE(file->Append("kept").ok());
    lock = *fs.Lock("/LOCK");
    CHECK(fs.TotalBytes() == 4);
    REQUIRE(fs.Remove("/f").ok());
    CHECK(fs.TotalBytes() == 0);
    char buf[8];
    CHECK(*file->ReadAt(0, buf, sizeof(buf)) == 4);
    // A file created again under the name is another file, with a lock of its own.
    REQUIRE(fs.Remove("/LOCK").ok());
    CHECK(fs.Lock("/LOCK").ok());
  }
  CHECK(file->Append("!").ok());
  CHECK(file->size() == 5);
  lock.reset();
}

TEST_CASE("Memory paths ignore empty components and refuse dot dot") {
  MemoryFileSystem fs;
  REQUIRE(fs.CreateDir("/d").ok());
  REQUIRE(fs.Open("//d/./f", OpenMode::kCreate).ok());
  CHECK(fs.Open("d/f", OpenMode::kExisting).ok());  // relative paths start at the root
  CHECK(fs.Open("/d/../d/f", OpenMode::kExisting).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(fs.Open("", OpenMode::kExisting).status().code() == absl::StatusCode::kNotFound);
  CHECK(*fs.List("/") == std::vector<std::string>{"d"});
}

TEST_CASE("A log runs on a memory file system from several threads") {
  MemoryFileSystem fs;
  LogOptions options;
  options.file_system = &fs;
  options.max_segment_bytes = 4096;
  options.max_record_bytes = 1024;
  auto log = Log::Open("/wal", options);
  REQUIRE_MESSAGE(log.ok(), log.status());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) REQUIRE((*log)->Append(base::Cat("t", t, " r", i)).ok());
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK((*log)->next_offset() == 200);
  log->reset();
  auto again = Log::Open("/wal", options);
  REQUIRE(again.ok());
  CHECK((*again)->next_offset() == 200);
  CHECK((*again)->stats().segments > 1);
}

}  // namespace
}  // namespace keel::wal
