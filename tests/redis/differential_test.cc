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
#include "redis/differential.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/redis/engine.h"
#include "net/redis_server.h"
#include "redis/command_generator.h"
#include "testing/testing.h"

namespace keel::redis {
namespace {

using testing::CommandGenerator;

TEST_CASE("Random command streams get the same replies from keel and redis-server") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  testing::Differential diff(redis_server->port());
  diff.RunRounds<CommandGenerator>(500, keel::testing::TestRounds("KEEL_REDIS_DIFF_ROUNDS", 6),
                                   3000);
}

TEST_CASE("The same streams in RESP3 get the same replies") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  testing::Differential diff(redis_server->port());
  diff.Resp3();
  diff.RunRounds<CommandGenerator>(
      900, keel::testing::TestRounds("KEEL_REDIS_DIFF_ROUNDS", 6) / 2 + 1, 3000, /*flush=*/false);
}

TEST_CASE("Negative zero is 0 in a small set and -0 in a large one, as in Redis's encodings") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  testing::Differential diff(redis_server->port());
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
  diff.CheckAll(commands);
}

}  // namespace
}  // namespace keel::redis
