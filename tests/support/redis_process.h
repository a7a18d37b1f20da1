// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A redis-server process for tests and benchmarks: the oracle keel's Redis-compatible parts are
// compared with, and the peer keel-server is measured against. It runs on a free loopback port,
// with no persistence, in a scratch directory of its own, with one database (so that SELECT's
// errors are Redis's for a server with "databases 1", as keel-server is), and it is killed
// (SIGKILL) when the object goes, or when the process that started it dies.
//
//   FindOnPath("redis-server")       the executable's path, or empty when it is not installed
//   FreeLoopbackPort()               a loopback port nothing listens on right now
//   RedisProcess::Start(options)     kNotFound when redis-server is not installed (callers skip)
//   RedisProcess::StartKeelServer(binary, args)   keel-server the same way (its output: Log())
//
// Example:
//
//   auto redis = keel::testing::RedisProcess::Start();
//   if (absl::IsNotFound(redis.status())) return;  // not installed: skip
//   auto client = keel::net::RespClient::Connect("127.0.0.1", (*redis)->port());
#ifndef KEEL_TESTS_SUPPORT_REDIS_PROCESS_H_
#define KEEL_TESTS_SUPPORT_REDIS_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace keel::testing {

[[nodiscard]] std::string FindOnPath(const std::string& name);

[[nodiscard]] uint16_t FreeLoopbackPort();

struct RedisProcessOptions {
  // Cluster mode (CLUSTER KEYSLOT and friends), its cluster bus on a second free port (Redis's
  // default, port + 10000, fails for ports above 55535).
  bool cluster = false;
  std::vector<std::string> extra_args;
};

class RedisProcess {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RedisProcess>> Start(
      const RedisProcessOptions& options = {});
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  // keel-server, the program at `binary`, with `extra_args` after --bind and --port.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RedisProcess>> StartKeelServer(
      const std::string& binary, const std::vector<std::string>& extra_args = {});

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  // What the server has written to its log.
  [[nodiscard]] std::string Log() const;
  // SIGKILL, and waits for the process to end. Idempotent.
  void Kill();

 private:
  // Starts `binary` with args_for(port, scratch dir) on a free port, trying another port if the
  // server exits at once (the port was taken meanwhile).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RedisProcess>> Launch(
      const std::string& binary,
      const std::function<std::vector<std::string>(uint16_t port, const std::string& dir)>&
          args_for);

  RedisProcess(std::string dir, pid_t pid, uint16_t port)
      : dir_(std::move(dir)), pid_(pid), port_(port) {}
  std::string dir_;
  pid_t pid_;
  uint16_t port_;
};

}  // namespace keel::testing

#endif  // KEEL_TESTS_SUPPORT_REDIS_PROCESS_H_
