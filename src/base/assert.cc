// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace keel::base::internal {

void AssertionFailed(const char* file, int line, const char* condition, std::string_view message) {
  // stdio rather than iostreams: this may run while the program is in a bad state, and one
  // unbuffered fprintf to stderr is the least that can go wrong.
  if (message.empty()) {
    std::fprintf(stderr, "%s:%d: keel assertion failed: %s\n", file, line, condition);
  } else {
    std::fprintf(stderr, "%s:%d: keel assertion failed: %s: %.*s\n", file, line, condition,
                 static_cast<int>(message.size()), message.data());
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace keel::base::internal
