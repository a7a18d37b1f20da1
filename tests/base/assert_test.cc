// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/assert.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "testing/testing.h"

namespace keel::base {
namespace {

TEST_CASE("KEEL_ASSERT does nothing when its condition holds") {
  int evaluations = 0;
  KEEL_ASSERT(++evaluations == 1);
  KEEL_ASSERT(evaluations == 1, "evaluated ", evaluations, " times");
  CHECK(evaluations == 1);
}

TEST_CASE("KEEL_ASSERT aborts naming the file and the condition") {
  const testing::ChildResult child = testing::RunInChild([] {
    const int capacity = 4;
    KEEL_ASSERT(capacity > 8);
  });
  CHECK(child.aborted);
  CHECK(absl::StrContains(child.stderr_text, "assert_test.cc:"));
  CHECK(absl::StrContains(child.stderr_text, "keel assertion failed: capacity > 8"));
}

TEST_CASE("KEEL_ASSERT includes its message built from pieces") {
  const testing::ChildResult child = testing::RunInChild([] {
    const std::string_view name = "ring";
    KEEL_ASSERT(1 + 1 == 3, "push onto a full ", name, " of ", 16);
  });
  CHECK(child.aborted);
  CHECK(absl::StrContains(child.stderr_text, "1 + 1 == 3: push onto a full ring of 16"));
}

TEST_CASE("KEEL_DCHECK checks in debug builds and evaluates nothing in release builds") {
  int evaluations = 0;
  KEEL_DCHECK(++evaluations > 0);
  const testing::ChildResult child = testing::RunInChild([] { KEEL_DCHECK(false, "debug only"); });
#ifdef NDEBUG
  CHECK(evaluations == 0);
  CHECK(!child.aborted);
  CHECK(child.exit_code == 0);
#else
  CHECK(evaluations == 1);
  CHECK(child.aborted);
  CHECK(absl::StrContains(child.stderr_text, "false: debug only"));
#endif
}

}  // namespace
}  // namespace keel::base
