// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel's command engine against a real redis-server (Debian's 7.0.15), started by the test on a
// free loopback port: random command streams, the same on both, every reply compared byte for
// byte. The streams mix valid commands with every kind of mistake a client makes (bad numbers,
// bad ranges, wrong types, wrong arity, unknown options), over a few keys, so that the keys
// collide and every branch of the commands is taken.
//
// What is left out, because Redis does not define it: ZRANDMEMBER's picks (only its errors and
// its deterministic cases are compared), lex ranges on sets whose scores differ (the lex key
// "lex" only ever holds score 0), and anything that depends on the clock finer than a second.
//
// KEEL_REDIS_DIFF_ROUNDS sets how many streams run (each with its own printed seed).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"
#include "keel/net/resp_writer.h"
#include "keel/redis/engine.h"
#include "net/redis_server.h"
#include "redis/command_generator.h"
#include "testing/testing.h"

namespace keel::redis {
namespace {

using testing::CommandGenerator;

std::string Printable(std::string_view bytes) {
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

void RunStream(net::RespClient& redis, Engine& engine, ClientState& client, uint64_t seed,
               int commands) {
  CommandGenerator generator(seed);
  for (int i = 0; i < commands; ++i) {
    const std::vector<std::string> command = generator.Next();
    std::vector<std::string_view> args(command.begin(), command.end());
    absl::StatusOr<net::RespReply> want = redis.Call(args);
    REQUIRE_MESSAGE(want.ok(), want.status().ToString());
    std::string got;
    net::RespWriter writer(got);
    engine.Execute(client, writer, args);
    std::string shown;
    for (const std::string& arg : command) shown += base::Cat("'", Printable(arg), "' ");
    CAPTURE(i);
    CAPTURE(shown);
    REQUIRE(Printable(got) == Printable(want->raw));
  }
}

TEST_CASE("Random command streams get the same replies from keel and redis-server") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  auto redis = net::RespClient::Connect("127.0.0.1", redis_server->port());
  REQUIRE(redis.ok());
  auto opened = Engine::Open({});
  REQUIRE(opened.ok());
  auto engine = std::move(*opened);
  ClientState client = engine->NewClient();
  const uint64_t rounds = keel::testing::TestRounds("KEEL_REDIS_DIFF_ROUNDS", 6);
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t seed = keel::testing::TestSeed(500 + round);
    CAPTURE(seed);
    std::vector<std::string_view> flush = {"FLUSHALL"};
    REQUIRE((*redis)->Call(flush).ok());
    std::string ignored;
    net::RespWriter writer(ignored);
    engine->Execute(client, writer, flush);
    RunStream(**redis, *engine, client, seed, 3000);
  }
}

TEST_CASE("The same streams in RESP3 get the same replies") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  auto redis = net::RespClient::Connect("127.0.0.1", redis_server->port());
  REQUIRE(redis.ok());
  auto opened = Engine::Open({});
  REQUIRE(opened.ok());
  auto engine = std::move(*opened);
  ClientState client = engine->NewClient();
  std::vector<std::string_view> hello = {"HELLO", "3"};
  REQUIRE((*redis)->Call(hello).ok());
  std::string ignored;
  net::RespWriter writer(ignored);
  engine->Execute(client, writer, hello);
  REQUIRE(client.protocol == net::Protocol::kResp3);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_REDIS_DIFF_ROUNDS", 6);
  for (uint64_t round = 0; round < rounds / 2 + 1; ++round) {
    const uint64_t seed = keel::testing::TestSeed(900 + round);
    CAPTURE(seed);
    RunStream(**redis, *engine, client, seed, 3000);
  }
}

// Runs `commands` on both and requires the same bytes for each.
void Compare(net::RespClient& redis, Engine& engine, ClientState& client,
             const std::vector<std::vector<std::string>>& commands) {
  for (const std::vector<std::string>& command : commands) {
    std::vector<std::string_view> args(command.begin(), command.end());
    absl::StatusOr<net::RespReply> want = redis.Call(args);
    REQUIRE(want.ok());
    std::string got;
    net::RespWriter writer(got);
    engine.Execute(client, writer, args);
    CAPTURE(command[0]);
    REQUIRE(Printable(got) == Printable(want->raw));
  }
}

TEST_CASE("Negative zero is 0 in a small set and -0 in a large one, as in Redis's encodings") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  auto redis = net::RespClient::Connect("127.0.0.1", redis_server->port());
  REQUIRE(redis.ok());
  auto opened = Engine::Open({});
  REQUIRE(opened.ok());
  auto engine = std::move(*opened);
  ClientState client = engine->NewClient();
  std::vector<std::vector<std::string>> commands = {{"ZADD", "small", "-0", "a"},
                                                    {"ZSCORE", "small", "a"},
                                                    {"ZINCRBY", "small", "-0", "b"},
                                                    {"ZSCORE", "small", "b"},
                                                    {"ZADD", "long", "-0", std::string(65, 'x')},
                                                    {"ZSCORE", "long", std::string(65, 'x')}};
  for (int i = 0; i < 130; ++i) commands.push_back({"ZADD", "big", "1", base::Cat("m", i)});
  commands.push_back({"ZADD", "big", "-0", "z"});
  commands.push_back({"ZSCORE", "big", "z"});
  commands.push_back({"ZUNIONSTORE", "u", "1", "big"});
  commands.push_back({"ZSCORE", "u", "z"});
  commands.push_back({"ZUNIONSTORE", "u2", "1", "small", "WEIGHTS", "-1"});
  commands.push_back({"ZSCORE", "u2", "a"});
  Compare(**redis, *engine, client, commands);
}

}  // namespace
}  // namespace keel::redis
