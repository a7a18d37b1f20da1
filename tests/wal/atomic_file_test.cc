// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/atomic_file.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

std::string ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteRaw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST_CASE("Atomic files round trip and replace their old contents") {
  testing::TempDir dir;
  FileSystem& fs = FileSystem::Posix();
  CHECK(ReadFileChecked(fs, dir.path() + "/meta").status().code() == absl::StatusCode::kNotFound);
  REQUIRE(WriteFileAtomically(fs, dir.path(), "meta", "first").ok());
  CHECK(*ReadFileChecked(fs, dir.path() + "/meta") == "first");
  REQUIRE(WriteFileAtomically(fs, dir.path(), "meta", std::string("\0second\xff", 8)).ok());
  CHECK(*ReadFileChecked(fs, dir.path() + "/meta") == std::string("\0second\xff", 8));
  REQUIRE(WriteFileAtomically(fs, dir.path(), "meta", "").ok());
  CHECK(ReadFileChecked(fs, dir.path() + "/meta")->empty());
  CHECK(!std::filesystem::exists(dir.path() + "/meta.tmp"));
  // A leftover temporary file from an interrupted write does not get in the way.
  WriteRaw(dir.path() + "/meta.tmp", "half");
  REQUIRE(WriteFileAtomically(fs, dir.path(), "meta", "third").ok());
  CHECK(*ReadFileChecked(fs, dir.path() + "/meta") == "third");
}

TEST_CASE("Atomic files detect every truncation and every flipped bit") {
  testing::TempDir dir;
  FileSystem& fs = FileSystem::Posix();
  REQUIRE(WriteFileAtomically(fs, dir.path(), "meta", "topics=orders,payments").ok());
  const std::string path = dir.path() + "/meta";
  const std::string good = ReadRaw(path);
  for (size_t size = 0; size < good.size(); ++size) {
    CAPTURE(size);
    WriteRaw(path, good.substr(0, size));
    const absl::Status status = ReadFileChecked(fs, path).status();
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(status.message(), "meta"));
  }
  for (size_t bit = 0; bit < good.size() * 8; ++bit) {
    CAPTURE(bit);
    std::string bad = good;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    WriteRaw(path, bad);
    CHECK(ReadFileChecked(fs, path).status().code() == absl::StatusCode::kDataLoss);
  }
}

TEST_CASE("Atomic files hold the old or the new contents after a power cut") {
  const uint64_t seed = keel::testing::TestSeed(91);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int trial = 0; trial < 50; ++trial) {
    testing::TempDir dir;
    FaultInjectingFileSystem faulty(FileSystem::Posix());
    REQUIRE(WriteFileAtomically(faulty, dir.path(), "meta", "old").ok());
    // Cut the power after a random number of the write's steps succeeded.
    faulty.FailAppendsAfter(rng.Bernoulli(0.5) ? 0 : 1 << 20);
    if (rng.Bernoulli(0.5)) faulty.FailSyncs(true);
    (void)WriteFileAtomically(faulty, dir.path(), "meta", "new contents");
    base::Random torn(seed + static_cast<uint64_t>(trial));
    REQUIRE(faulty.PowerCut(&torn).ok());
    const absl::StatusOr<std::string> got =
        ReadFileChecked(FileSystem::Posix(), dir.path() + "/meta");
    REQUIRE(got.ok());
    CHECK((*got == "old" || *got == "new contents"));
  }
}

}  // namespace
}  // namespace keel::wal
