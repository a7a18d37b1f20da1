// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Helpers for comparing keel's command engine with a real redis-server, byte for byte:
//
//   Differential     a connection to redis-server beside a keel Engine and client: Check runs a
//                    command on both and requires the same reply bytes; Both runs one on both
//                    without comparing (FLUSHALL, HELLO 3); RunRounds runs seeded random streams.
//   Printable(bytes) the bytes with \r, \n and unprintable bytes escaped, for failure messages.
//
// KEEL_REDIS_DIFF_DUMP=1 prints each command checked and Redis's reply to stderr.
//
// A test starts the server with KEEL_NET_REQUIRE_REDIS (tests/net/redis_server.h), which skips
// the comparison when redis-server is not installed.
#ifndef KEEL_TESTS_REDIS_DIFFERENTIAL_H_
#define KEEL_TESTS_REDIS_DIFFERENTIAL_H_

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"
#include "keel/net/resp_writer.h"
#include "keel/redis/engine.h"
#include "testing/testing.h"

namespace keel::redis::testing {

inline std::string Printable(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      out += base::Cat("\\x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  return out;
}

class Differential {
 public:
  // REQUIRES: a redis-server listening on `port`.
  explicit Differential(uint16_t port) : engine_(*Engine::Open({})) {
    auto redis = net::RespClient::Connect("127.0.0.1", port);
    REQUIRE_MESSAGE(redis.ok(), redis.status().ToString());
    redis_ = *std::move(redis);
    client_ = engine_->NewClient();
  }

  [[nodiscard]] Engine& engine() { return *engine_; }
  [[nodiscard]] ClientState& client() { return client_; }

  // Runs `command` on both and returns keel's reply and Redis's.
  std::pair<std::string, std::string> Both(const std::vector<std::string>& command) {
    std::vector<std::string_view> args(command.begin(), command.end());
    absl::StatusOr<net::RespReply> want = redis_->Call(args);
    REQUIRE_MESSAGE(want.ok(), want.status().ToString());
    std::string got;
    net::RespWriter writer(got);
    engine_->Execute(client_, writer, args);
    return {std::move(got), std::move(want->raw)};
  }

  // Runs `command` on both and requires the same bytes.
  void Check(const std::vector<std::string>& command) {
    const auto [got, want] = Both(command);
    std::string shown;
    for (const std::string& arg : command) shown += base::Cat("'", Printable(arg), "' ");
    CAPTURE(shown);
    if (dump_) std::fprintf(stderr, "%s\n  -> %s\n", shown.c_str(), Printable(want).c_str());
    REQUIRE(Printable(got) == Printable(want));
  }

  void CheckAll(const std::vector<std::vector<std::string>>& commands) {
    for (const std::vector<std::string>& command : commands) Check(command);
  }

  // Runs `count` commands from `next()` on both, comparing each reply.
  template <typename Next>
  void RunStream(Next&& next, int count) {
    for (int i = 0; i < count; ++i) {
      CAPTURE(i);
      Check(next());
    }
  }

  // Runs `rounds` streams of `commands` commands each, stream k from Generator(seed) with seed
  // keel::testing::TestSeed(first_seed + k) (printed on failure). Each starts from empty
  // keyspaces when `flush` is set, else from what the one before left.
  template <typename Generator>
  void RunRounds(uint64_t first_seed, uint64_t rounds, int commands, bool flush = true) {
    for (uint64_t round = 0; round < rounds; ++round) {
      const uint64_t seed = keel::testing::TestSeed(first_seed + round);
      CAPTURE(seed);
      if (flush) FlushAll();
      Generator generator(seed);
      RunStream([&] { return generator.Next(); }, commands);
    }
  }

  // Empties both keyspaces.
  void FlushAll() { Both({"FLUSHALL"}); }

  // Switches both connections to RESP3.
  void Resp3() {
    Both({"HELLO", "3"});
    REQUIRE(client_.protocol == net::Protocol::kResp3);
  }

 private:
  // What a stream covers, and how often it only meets errors, shows in the dump.
  const bool dump_ = std::getenv("KEEL_REDIS_DIFF_DUMP") != nullptr;
  std::unique_ptr<net::RespClient> redis_;
  std::unique_ptr<Engine> engine_;
  ClientState client_;
};

}  // namespace keel::redis::testing

#endif  // KEEL_TESTS_REDIS_DIFFERENTIAL_H_
