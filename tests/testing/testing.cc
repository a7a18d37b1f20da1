// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "testing/testing.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "absl/strings/numbers.h"
#include "keel/base/assert.h"

namespace keel::testing {

uint64_t TestSeed(uint64_t default_seed) {
  const char* env = std::getenv("KEEL_TEST_SEED");
  if (env == nullptr) return default_seed;
  uint64_t seed = 0;
  KEEL_ASSERT(absl::SimpleAtoi(env, &seed), "KEEL_TEST_SEED=", env, " is not a number");
  return seed;
}

uint64_t TestRounds(const char* name, uint64_t default_rounds) {
  const char* env = std::getenv(name);
  if (env == nullptr) return default_rounds;
  uint64_t rounds = 0;
  KEEL_ASSERT(absl::SimpleAtoi(env, &rounds), name, "=", env, " is not a number");
  return rounds;
}

ChildResult RunInChild(const std::function<void()>& fn) {
  int fds[2];
  KEEL_ASSERT(pipe(fds) == 0);
  const pid_t pid = fork();
  KEEL_ASSERT(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    fn();
    _exit(0);
  }
  close(fds[1]);
  ChildResult result;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) {
    result.stderr_text.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  KEEL_ASSERT(waitpid(pid, &status, 0) == pid);
  result.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

KilledChild KillChildAfter(const std::function<void(int report_fd)>& fn, int64_t delay_us) {
  int fds[2];
  KEEL_ASSERT(pipe(fds) == 0);
  const pid_t pid = fork();
  KEEL_ASSERT(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    fn(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  usleep(static_cast<useconds_t>(delay_us));
  kill(pid, SIGKILL);
  KilledChild result;
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) {
    result.reports.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  result.reports.erase(result.reports.find_last_of('\n') + 1);
  int status = 0;
  KEEL_ASSERT(waitpid(pid, &status, 0) == pid);
  result.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/keel_test_XXXXXX";
  KEEL_ASSERT(mkdtemp(pattern.data()) != nullptr, "cannot create a temporary directory");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

}  // namespace keel::testing
