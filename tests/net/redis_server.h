// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Helpers for keel/net's tests.
//
//   RedisServer        the redis-server oracle (keel::testing::RedisProcess); a test that needs
//                      it starts it with KEEL_NET_REQUIRE_REDIS, which skips the test with a
//                      MESSAGE when redis-server is not installed.
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
#include "redis_process.h"

namespace keel::net::testing {

// The redis-server oracle (tests/support/redis_process.h).
using RedisServer = ::keel::testing::RedisProcess;

// A loopback port nothing listens on right now.
[[nodiscard]] inline uint16_t FreePort() { return ::keel::testing::FreeLoopbackPort(); }

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
  auto var##_or = ::keel::testing::RedisProcess::Start();                         \
  if (absl::IsNotFound(var##_or.status())) {                                      \
    MESSAGE("redis-server is not on PATH: the comparison with Redis is skipped"); \
    return;                                                                       \
  }                                                                               \
  REQUIRE_MESSAGE(var##_or.ok(), var##_or.status().ToString());                   \
  const std::unique_ptr<::keel::testing::RedisProcess> var = *std::move(var##_or)

#endif  // KEEL_TESTS_NET_REDIS_SERVER_H_
