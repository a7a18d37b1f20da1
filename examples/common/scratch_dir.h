// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ScratchDir: a fresh directory under $TMPDIR (or /tmp) for an example's narrated run, removed
// with everything in it when the object goes. Header-only; not part of the library.
#ifndef KEEL_EXAMPLES_COMMON_SCRATCH_DIR_H_
#define KEEL_EXAMPLES_COMMON_SCRATCH_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace keel::examples {

class ScratchDir {
 public:
  // `prefix` names the directory, e.g. "keel-wallet" for /tmp/keel-wallet-XXXXXX. path() is
  // empty when it cannot be created.
  explicit ScratchDir(std::string_view prefix) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr ? tmp : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_COMMON_SCRATCH_DIR_H_
