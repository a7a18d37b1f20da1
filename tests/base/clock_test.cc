// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/clock.h"

#include <doctest/doctest.h>

#include <ctime>
#include <limits>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "testing/testing.h"

namespace keel::base {
namespace {

TEST_CASE("MonotonicClock never goes backwards") {
  const Clock& clock = MonotonicClock::Default();
  int64_t previous = clock.NowNanos();
  for (int i = 0; i < 100000; ++i) {
    const int64_t now = clock.NowNanos();
    REQUIRE(now >= previous);
    previous = now;
  }
}

TEST_CASE("MonotonicClock measures a sleep") {
  const MonotonicClock clock;
  const int64_t start = clock.NowNanos();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(clock.NowNanos() - start >= 20 * kNanosPerMilli);
}

TEST_CASE("CoarseMonotonicClock trails MonotonicClock by at most its lag, and never goes back") {
  const Clock& coarse = CoarseMonotonicClock::Default();
  const Clock& fine = MonotonicClock::Default();
  const int64_t lag = coarse.MaxLagNanos();
  REQUIRE(lag > 0);
  CHECK(lag <= kNanosPerSecond);
  CHECK(fine.MaxLagNanos() == 0);
  int64_t previous = coarse.NowNanos();
  for (int i = 0; i < 100000; ++i) {
    const int64_t before = fine.NowNanos();
    const int64_t now = coarse.NowNanos();
    const int64_t after = fine.NowNanos();
    REQUIRE(now >= previous);
    REQUIRE(now <= after);  // the same clock, read as of its last tick
    // A tick late at most; the margin allows for this thread being preempted between reads.
    REQUIRE(now >= before - lag - 50 * kNanosPerMilli);
    previous = now;
  }
}

TEST_CASE("SystemClock counts nanoseconds since the Unix epoch") {
  const int64_t before_s = static_cast<int64_t>(std::time(nullptr));
  const int64_t now_ns = SystemClock::Default().NowNanos();
  const int64_t after_s = static_cast<int64_t>(std::time(nullptr));
  CHECK(now_ns / kNanosPerSecond >= before_s);
  CHECK(now_ns / kNanosPerSecond <= after_s);
}

TEST_CASE("ManualClock moves only when advanced or set") {
  ManualClock clock(1'000);
  CHECK(clock.NowNanos() == 1'000);
  CHECK(clock.NowNanos() == 1'000);
  clock.Advance(500);
  CHECK(clock.NowNanos() == 1'500);
  clock.Advance(0);
  CHECK(clock.NowNanos() == 1'500);
  clock.Set(10 * kNanosPerSecond);
  CHECK(clock.NowNanos() == 10 * kNanosPerSecond);
  clock.Set(10 * kNanosPerSecond);  // setting the current time is allowed
  CHECK(clock.NowNanos() == 10 * kNanosPerSecond);
}

TEST_CASE("ManualClock can be advanced from many threads at once") {
  ManualClock clock(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 10000; ++i) clock.Advance(3);
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(clock.NowNanos() == 4 * 10000 * 3);
}

TEST_CASE("ManualClock refuses to go backwards or overflow") {
  const testing::ChildResult back = testing::RunInChild([] {
    ManualClock clock(100);
    clock.Advance(-1);
  });
  CHECK(back.aborted);
  CHECK(absl::StrContains(back.stderr_text, "cannot go back 1 ns"));

  const testing::ChildResult set_back = testing::RunInChild([] {
    ManualClock clock(100);
    clock.Set(99);
  });
  CHECK(set_back.aborted);
  CHECK(absl::StrContains(set_back.stderr_text, "cannot be set back to 99 ns"));

  const testing::ChildResult overflow = testing::RunInChild([] {
    ManualClock clock(std::numeric_limits<int64_t>::max() - 5);
    clock.Advance(6);
  });
  CHECK(overflow.aborted);
  CHECK(absl::StrContains(overflow.stderr_text, "overflows"));
}

}  // namespace
}  // namespace keel::base
