// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A redis-server started by a test, as an oracle: on a free loopback port, with no persistence,
// in a scratch directory, and killed when the object goes (also when a check failed first).
//
//   FindOnPath("redis-server")    the executable's path, or empty when it is not installed
//   RedisServer::Start(args)      starts it with `args` added to the loopback/no-persistence ones
//   server->Call(commands)        sends the commands pipelined, returns one reply per command
//
// Replies are returned in a compact text form: an integer as ":42", a simple string as "+OK", an
// error as "-ERR ...", a bulk string as its bytes ("$" prefix, "$-1" for nil). Arrays are not
// needed by the tests that use this and are refused.
#ifndef KEEL_TESTS_SHARD_REDIS_SERVER_H_
#define KEEL_TESTS_SHARD_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "testing/testing.h"

namespace keel::shard::testing {

[[nodiscard]] std::string FindOnPath(const std::string& name);

class RedisServer {
 public:
  // Starts redis-server (found on PATH) bound to 127.0.0.1 on a free port and waits until it
  // answers PING. With `cluster`, in cluster mode, its node file in its scratch directory and its
  // cluster bus on a second free port (by default Redis puts the bus at port + 10000, which fails
  // for the upper part of the range the kernel hands out).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      bool cluster, const std::vector<std::string>& extra_args = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Sends every command (each a list of arguments) in one pipelined write and reads one reply
  // for each.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> Call(
      const std::vector<std::vector<std::string>>& commands);

  [[nodiscard]] int port() const { return port_; }
  // What the server wrote to its log file so far.
  [[nodiscard]] std::string Log() const;

 private:
  RedisServer() = default;
  absl::Status Connect();

  keel::testing::TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int fd_ = -1;
  std::string buffer_;  // bytes read but not yet parsed
};

}  // namespace keel::shard::testing

#endif  // KEEL_TESTS_SHARD_REDIS_SERVER_H_
