// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A directory for a benchmark binary's files: a fresh one under $KEEL_BENCH_DIR, else the
// system's temporary directory, removed with everything in it when the object goes. Its path is
// printed in the run's context. It must be on the disk being measured: on tmpfs an fsync costs
// nothing.
#ifndef KEEL_BENCHMARKS_COMMON_SCRATCH_DIR_H_
#define KEEL_BENCHMARKS_COMMON_SCRATCH_DIR_H_

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "keel/base/strings.h"

namespace keel::bench {

class ScratchDir {
 public:
  // `name` names the directory (keel_<name>.XXXXXX) and its context line (<name>_dir).
  explicit ScratchDir(std::string_view name) {
    const char* env = std::getenv("KEEL_BENCH_DIR");
    const std::string base =
        env != nullptr && *env != '\0' ? env : std::filesystem::temp_directory_path().string();
    std::string pattern = base::Cat(base, "/keel_", name, ".XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::fprintf(stderr, "cannot create a directory in %s\n", base.c_str());
      std::abort();
    }
    root_ = pattern;
    benchmark::AddCustomContext(base::Cat(name, "_dir"), root_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::string& root() const { return root_; }
  // A path under the directory that nothing uses yet.
  [[nodiscard]] std::string NewPath(std::string_view name) {
    return base::Cat(root_, "/", name, "_", next_++);
  }

 private:
  std::string root_;
  std::atomic<int> next_{0};
};

}  // namespace keel::bench

#endif  // KEEL_BENCHMARKS_COMMON_SCRATCH_DIR_H_
