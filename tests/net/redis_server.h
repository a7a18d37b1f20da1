// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Helpers for keel/net's tests.
//
//   RedisServer        a redis-server process on a free loopback port, killed (SIGKILL) when the
//                      object goes, or when the test process dies (PR_SET_PDEATHSIG). Start()
//                      returns nullptr when redis-server is not on PATH: the test then skips its
//                      comparisons with a MESSAGE (KEEL_NET_REQUIRE_REDIS).
//   Exchange(...)      sends bytes to a server, closes the sending side, and returns everything
//                      the server writes until it closes the connection: what a server replies to
//                      a byte stream, including a protocol error and the close after it.
//   EchoSession        a tiny command layer for keel::net::Server tests: PING [msg], ECHO msg,
//                      HELLO [2|3], QUIT, with Redis's replies, and Redis's unknown-command and
//                      arity errors for anything else.
#ifndef KEEL_TESTS_NET_REDIS_SERVER_H_
#define KEEL_TESTS_NET_REDIS_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keel/net/resp_writer.h"
#include "keel/net/server.h"

namespace keel::net::testing {

class RedisServer {
 public:
  // nullptr if redis-server is not on PATH; an error if it does not come up.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RedisServer>> Start();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }

 private:
  RedisServer(pid_t pid, uint16_t port) : pid_(pid), port_(port) {}
  pid_t pid_;
  uint16_t port_;
};

// A loopback port nothing listens on right now.
[[nodiscard]] uint16_t FreePort();

[[nodiscard]] absl::StatusOr<std::string> Exchange(uint16_t port, std::string_view bytes);

// What EchoSession replies to one command.
void ReplyAsRedis(RespWriter& writer, std::span<const std::string_view> args, bool& quit);

class EchoSession : public Session {
 public:
  void OnCommand(Connection& connection, std::span<const std::string_view> args) override;
};

}  // namespace keel::net::testing

// In a test case: starts redis-server into `var`, or prints why not and returns.
#define KEEL_NET_REQUIRE_REDIS(var)                                               \
  auto var##_or = ::keel::net::testing::RedisServer::Start();                     \
  REQUIRE_MESSAGE(var##_or.ok(), var##_or.status().ToString());                   \
  if (*var##_or == nullptr) {                                                     \
    MESSAGE("redis-server is not on PATH: the comparison with Redis is skipped"); \
    return;                                                                       \
  }                                                                               \
  const std::unique_ptr<::keel::net::testing::RedisServer> var = *std::move(var##_or)

#endif  // KEEL_TESTS_NET_REDIS_SERVER_H_
