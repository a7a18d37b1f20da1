// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Helpers shared by keel's tests. Not installed.
//
//   TestSeed(default)   the seed a randomized test uses: `default`, or the value of the
//                       KEEL_TEST_SEED environment variable when it is set, so a failure printed
//                       with its seed can be replayed. Pass it to CAPTURE() so doctest prints it.
//   TestRounds(name, default)
//                       how many rounds a long randomized test runs: `default`, sized so that the
//                       whole test command stays within its CI budget, or the value of the
//                       environment variable `name` when it is set (KEEL_WAL_STRESS_ROUNDS=500
//                       for a longer hunt).
//   RunInChild(fn)      runs fn in a forked child and reports how the child ended and what it
//                       wrote to stderr; for testing that KEEL_ASSERT stops the program.
//   KillChildAfter(fn, delay_us)
//                       runs fn(report_fd) in a forked child, kills it with SIGKILL after
//                       delay_us, and returns the complete lines it wrote to report_fd: for crash
//                       tests, where the child reports what it had acknowledged before it died.
//   TempDir             a fresh directory under $TMPDIR (or /tmp), removed with everything in
//                       it when the object goes.
//   Eventually(condition, timeout)
//                       polls condition() every few milliseconds until it holds (true) or the
//                       timeout passes (false): for state another thread or process changes.
#ifndef KEEL_TESTS_TESTING_TESTING_H_
#define KEEL_TESTS_TESTING_TESTING_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace keel::testing {

[[nodiscard]] uint64_t TestSeed(uint64_t default_seed);
[[nodiscard]] uint64_t TestRounds(const char* name, uint64_t default_rounds);

struct ChildResult {
  bool aborted = false;  // ended by SIGABRT
  int exit_code = -1;    // when it exited normally
  std::string stderr_text;
};

[[nodiscard]] ChildResult RunInChild(const std::function<void()>& fn);

struct KilledChild {
  bool killed = false;  // ended by the SIGKILL (not by exiting first)
  int exit_code = -1;   // when it exited before the kill
  std::string reports;  // the complete lines it wrote (a line the kill cut short is dropped)
};

[[nodiscard]] KilledChild KillChildAfter(const std::function<void(int report_fd)>& fn,
                                         int64_t delay_us);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

template <typename Condition>
[[nodiscard]] bool Eventually(Condition condition,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

}  // namespace keel::testing

#endif  // KEEL_TESTS_TESTING_TESTING_H_
