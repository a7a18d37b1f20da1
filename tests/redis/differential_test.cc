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
#include "testing/testing.h"

namespace keel::redis {
namespace {

using base::Random;

// Picks from fixed vocabularies: a handful of keys and members so that commands meet each
// other's data, and numbers chosen to hit Redis's parsing edge cases.
class CommandGenerator {
 public:
  explicit CommandGenerator(uint64_t seed) : rng_(seed) {}

  std::vector<std::string> Next() {
    switch (rng_.Uniform(41)) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
        return ZAdd();
      case 5:
        return {"ZINCRBY", ScoreKey(), Score(), Member()};
      case 6:
        return Many({"ZREM", AnyKey()}, 1 + rng_.Uniform(3), [&] { return Member(); });
      case 7:
        return {"ZSCORE", AnyKey(), Member()};
      case 8:
        return Many({"ZMSCORE", AnyKey()}, 1 + rng_.Uniform(3), [&] { return Member(); });
      case 9:
        return {"ZCARD", AnyKey()};
      case 10:
        return {rng_.Bernoulli(0.5) ? "ZRANK" : "ZREVRANK", AnyKey(), Member()};
      case 11:
        return {"ZCOUNT", AnyKey(), Bound(), Bound()};
      case 12:
        return {"ZLEXCOUNT", LexKey(), Lex(), Lex()};
      case 13:
      case 14:
        return ZRange();
      case 15:
        return WithOptions({"ZREVRANGE", AnyKey(), Index(), Index()});
      case 16:
        return WithOptions(
            {Pick({"ZRANGEBYSCORE", "ZREVRANGEBYSCORE"}), AnyKey(), Bound(), Bound()});
      case 17:
        return WithOptions({Pick({"ZRANGEBYLEX", "ZREVRANGEBYLEX"}), LexKey(), Lex(), Lex()});
      case 18:
        return {"ZREMRANGEBYRANK", AnyKey(), Index(), Index()};
      case 19:
        return {"ZREMRANGEBYSCORE", ScoreKey(), Bound(), Bound()};
      case 20:
        return {"ZREMRANGEBYLEX", LexKey(), Lex(), Lex()};
      case 21:
        return ZPop();
      case 22:
        return ZStore();
      case 23:
        return ZRandMember();
      case 24:
      case 25:
        return Set();
      case 26:
        return {"GET", AnyKey()};
      case 27:
        return Many({"MGET"}, 1 + rng_.Uniform(3), [&] { return AnyKey(); });
      case 28:
        return {"MSET", StringKey(), Value(), StringKey(), Value()};
      case 29:
        return {Pick({"INCR", "DECR"}), AnyKey()};
      case 30:
        return {Pick({"INCRBY", "DECRBY"}), AnyKey(), Integer()};
      case 31:
        return {"APPEND", StringKey(), Value()};
      case 32:
        return {"STRLEN", AnyKey()};
      case 33:
        return Many({"DEL"}, 1 + rng_.Uniform(2), [&] { return AnyKey(); });
      case 34:
        return Many({"EXISTS"}, 1 + rng_.Uniform(3), [&] { return AnyKey(); });
      case 35:
        return {"TYPE", AnyKey()};
      case 36:
        return Expire();
      case 37:
        return {Pick({"TTL", "PERSIST", "DBSIZE"}), AnyKey()};
      case 38:
        return Mistake();
      default:
        return {"PING"};
    }
  }

 private:
  std::string Pick(std::initializer_list<const char*> choices) {
    return *(choices.begin() + rng_.Uniform(choices.size()));
  }
  template <typename Fn>
  std::vector<std::string> Many(std::vector<std::string> head, uint64_t n, Fn fn) {
    for (uint64_t i = 0; i < n; ++i) head.push_back(fn());
    return head;
  }

  // Keys: "z1".."z3" hold scores, "lex" holds only score 0 (for lex ranges), "s" strings.
  std::string ScoreKey() { return Pick({"z1", "z2", "z3", "missing"}); }
  std::string LexKey() { return Pick({"lex", "lex", "lex", "never-written", "s"}); }
  std::string StringKey() { return Pick({"s", "s2", "z1"}); }
  std::string AnyKey() { return Pick({"z1", "z2", "z3", "lex", "s", "s2", "missing"}); }
  // Mostly a few short members, so that commands meet; sometimes one of 300, so that sets grow
  // past Redis's compact encoding (128 members), and sometimes one longer than 64 bytes, which
  // also leaves it.
  std::string Member() {
    if (rng_.Bernoulli(0.3)) return base::Cat("m", rng_.Uniform(300));
    if (rng_.Bernoulli(0.01)) return std::string(65 + rng_.Uniform(3), 'L');
    return Pick({"a", "b", "c", "d", "e", "f", "g", "", "aa", "ab", "\xff", "B", "a b"});
  }
  std::string Score() {
    return Pick({"0",   "1",   "-1", "2.5", "1e3",  "-inf",  "+inf", "inf", "3", "7",  "-0", "1.1",
                 "0.1", "abc", "",   "nan", "0x10", "1e400", " 1",   "1 ",  "5", "10", "-2"});
  }
  std::string Bound() {
    return Pick({"0", "1",  "(1", "2.5", "(2.5", "-inf", "+inf", "(-inf", "inf", "(3",
                 "7", "-1", "x",  "(",   "",     "nan",  "(nan", "10",    "1e3", "0x2"});
  }
  std::string Lex() {
    return Pick(
        {"-", "+", "[a", "(a", "[b", "(c", "[d", "[", "(", "a", "+x", "-x", "[\xff", "(aa", "[e"});
  }
  std::string Index() {
    return Pick({"0", "1", "2", "-1", "-2", "5", "-100", "100", "x", "3", "-3"});
  }
  std::string Integer() {
    return Pick({"0", "1", "-1", "7", "100", "-50", "x", "1.5", "9223372036854775807",
                 "-9223372036854775808", "9223372036854775808", "01", "+1", " 1"});
  }
  std::string Value() { return Pick({"1", "10", "-5", "abc", "", "9223372036854775807", "x y"}); }

  std::vector<std::string> ZAdd() {
    const bool lex = rng_.Bernoulli(0.25);
    std::vector<std::string> args = {"ZADD", lex ? std::string("lex") : ScoreKey()};
    const uint64_t options = rng_.Uniform(3);
    for (uint64_t i = 0; i < options; ++i) {
      args.push_back(Pick({"NX", "XX", "GT", "LT", "CH", "INCR", "nx", "ch"}));
    }
    const uint64_t pairs = rng_.Bernoulli(0.1) ? 0 : 1 + rng_.Uniform(3);
    for (uint64_t i = 0; i < pairs; ++i) {
      // The lex key gets score 0, unless an INCR would move it: then an invalid float, so that
      // the command fails and the key keeps its single score.
      const bool incr = std::find(args.begin(), args.end(), "INCR") != args.end();
      args.push_back(lex ? (incr ? "x" : "0") : Score());
      args.push_back(Member());
    }
    if (rng_.Bernoulli(0.05)) args.pop_back();  // an odd number of arguments
    return args;
  }

  std::vector<std::string> WithOptions(std::vector<std::string> args) {
    const uint64_t options = rng_.Uniform(3);
    for (uint64_t i = 0; i < options; ++i) {
      switch (rng_.Uniform(5)) {
        case 0:
          args.push_back("WITHSCORES");
          break;
        case 1:
          args.insert(args.end(), {"LIMIT", Index(), Index()});
          break;
        case 2:
          args.push_back("REV");
          break;
        case 3:
          args.push_back(Pick({"BYSCORE", "BYLEX", "limit"}));
          break;
        default:
          args.push_back("withscores");
          break;
      }
    }
    return args;
  }

  std::vector<std::string> ZRange() {
    switch (rng_.Uniform(3)) {
      case 0:
        return WithOptions({"ZRANGE", AnyKey(), Index(), Index()});
      case 1:
        return WithOptions({"ZRANGE", ScoreKey(), Bound(), Bound(), "BYSCORE"});
      default:
        return WithOptions({"ZRANGE", LexKey(), Lex(), Lex(), "BYLEX"});
    }
  }

  std::vector<std::string> ZPop() {
    std::vector<std::string> args = {Pick({"ZPOPMIN", "ZPOPMAX"}), AnyKey()};
    if (rng_.Bernoulli(0.6)) args.push_back(Pick({"0", "1", "2", "5", "-1", "x"}));
    if (rng_.Bernoulli(0.05)) args.push_back("1");
    return args;
  }

  std::vector<std::string> ZStore() {
    std::vector<std::string> args = {Pick({"ZUNIONSTORE", "ZINTERSTORE"}),
                                     Pick({"z1", "z2", "z3", "dst", "s2"})};
    const uint64_t n = 1 + rng_.Uniform(3);
    args.push_back(rng_.Bernoulli(0.05) ? Pick({"0", "-1", "x", "9"}) : std::to_string(n));
    for (uint64_t i = 0; i < n; ++i) args.push_back(AnyKey());
    if (rng_.Bernoulli(0.4)) {
      args.push_back("WEIGHTS");
      for (uint64_t i = 0; i < n; ++i)
        args.push_back(Pick({"1", "2", "0", "-1", "0.5", "x", "inf"}));
    }
    if (rng_.Bernoulli(0.4)) {
      args.push_back("AGGREGATE");
      args.push_back(Pick({"SUM", "MIN", "MAX", "avg", "max"}));
    }
    if (rng_.Bernoulli(0.05)) args.push_back("WITHSCORES");
    return args;
  }

  std::vector<std::string> ZRandMember() {
    // Only what Redis determines: errors, a missing key, a zero count, and a count covering a
    // whole set of one member.
    switch (rng_.Uniform(4)) {
      case 0:
        return {"ZRANDMEMBER", "never-written"};
      case 1:
        return {"ZRANDMEMBER", AnyKey(), Pick({"0", "x", "-9223372036854775808"})};
      case 2:
        return {"ZRANDMEMBER", AnyKey(), "1", Pick({"foo", "WITHSCORES x"})};
      default:
        return {"ZRANDMEMBER", "never-written", Pick({"1", "-3", "2"}), "WITHSCORES"};
    }
  }

  std::vector<std::string> Set() {
    std::vector<std::string> args = {"SET", rng_.Bernoulli(0.8) ? StringKey() : AnyKey(), Value()};
    const uint64_t options = rng_.Uniform(3);
    for (uint64_t i = 0; i < options; ++i) {
      switch (rng_.Uniform(6)) {
        case 0:
          args.push_back(Pick({"NX", "XX"}));
          break;
        case 1:
          args.push_back("GET");
          break;
        case 2:
          args.push_back("KEEPTTL");
          break;
        case 3:
          args.insert(args.end(), {Pick({"EX", "PX"}), Pick({"1000", "0", "-1", "x"})});
          break;
        case 4:
          args.push_back(Pick({"EX", "EXAT", "bogus"}));
          break;
        default:
          args.insert(args.end(), {"EX", "100000"});
          break;
      }
    }
    return args;
  }

  std::vector<std::string> Expire() {
    std::vector<std::string> args = {
        Pick({"EXPIRE", "PEXPIRE"}), AnyKey(),
        Pick({"100000", "200000", "-1", "0", "x", "9223372036854775807"})};
    if (rng_.Bernoulli(0.4)) args.push_back(Pick({"NX", "XX", "GT", "LT", "bogus"}));
    if (rng_.Bernoulli(0.1)) args.push_back(Pick({"XX", "LT"}));
    return args;
  }

  // SCAN's order is each server's own; its argument errors are not.
  std::vector<std::string> ScanMistake() {
    switch (rng_.Uniform(3)) {
      case 0:
        return {"SCAN", Pick({"x", " 1", "1x", "99999999999999999999", "1.5"})};
      case 1:
        return {"SCAN", "0", "COUNT", Pick({"0", "-1", "x", ""})};
      default:
        return {"SCAN", "0", Pick({"bogus", "MATCH", "COUNT", "TYPE"})};
    }
  }

  std::vector<std::string> Mistake() {
    switch (rng_.Uniform(6)) {
      case 0:
        return {Pick({"ZADD", "ZSCORE", "GET", "ZRANGE", "ZCOUNT", "ZINCRBY"})};
      case 1:
        return {"NOSUCHCOMMAND", "a", std::string(200, 'x')};
      case 2:
        return {"ZSCORE", "z1", "a", "b"};
      case 3:
        return {Pick({"SELECT"}), Pick({"0", "1", "x", "-1"})};
      case 4:
        return {"ECHO", Value()};
      default:
        return {"PING", "hello", "extra"};
    }
  }

  Random rng_;
};

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
  auto engine = Engine::Create({});
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
  auto engine = Engine::Create({});
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
  auto engine = Engine::Create({});
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
