// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Random command streams for keel's engine, shared by the differential test (against a real
// redis-server) and the persistence tests (against a restarted engine): a few keys and members,
// so that commands meet each other's data, valid commands mixed with every kind of mistake.
#ifndef KEEL_TESTS_REDIS_COMMAND_GENERATOR_H_
#define KEEL_TESTS_REDIS_COMMAND_GENERATOR_H_

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"

namespace keel::redis::testing {

// Every key the generator writes, for tests that read the whole keyspace back.
inline constexpr const char* kGeneratedKeys[] = {"z1", "z2",  "z3",      "lex",          "s",
                                                 "s2", "dst", "missing", "never-written"};

// What every random command generator needs: its seeded source and two ways of building
// arguments from it.
class RandomCommands {
 protected:
  explicit RandomCommands(uint64_t seed) : rng_(seed) {}

  // One of `choices`, uniformly.
  std::string Pick(std::initializer_list<const char*> choices) {
    return *(choices.begin() + rng_.Uniform(choices.size()));
  }
  // `head` followed by n results of fn().
  template <typename Fn>
  std::vector<std::string> Many(std::vector<std::string> head, uint64_t n, Fn fn) {
    for (uint64_t i = 0; i < n; ++i) head.push_back(fn());
    return head;
  }

  base::Random rng_;
};

// Picks from fixed vocabularies: a handful of keys and members so that commands meet each
// other's data, and numbers chosen to hit Redis's parsing edge cases.
class CommandGenerator : public RandomCommands {
 public:
  explicit CommandGenerator(uint64_t seed) : RandomCommands(seed) {}

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
        case 3: {
          const bool ms = rng_.Bernoulli(0.5);
          args.insert(args.end(), {ms ? "PX" : "EX", rng_.Bernoulli(0.5) ? RelativeTime(ms)
                                                                         : Pick({"0", "-1", "x"})});
        } break;
        case 4:
          args.push_back(Pick({"EX", "EXAT", "bogus"}));
          break;
        default:
          args.insert(args.end(), {"EX", RelativeTime(false)});
          break;
      }
    }
    return args;
  }

  // A time to live of a whole number of seconds from 1,000 to about 1,000,000, in seconds or in
  // milliseconds. The two servers read their clocks a few milliseconds apart, so the times
  // must neither expire during a stream nor come close to each other: two of them differ by a
  // second or more (or are equal, rarely), which keeps GT and LT and TTL's rounding the same on
  // both.
  std::string RelativeTime(bool milliseconds) {
    const uint64_t seconds = 1000 + rng_.Uniform(1'000'000);
    return std::to_string(milliseconds ? seconds * 1000 : seconds);
  }

  std::vector<std::string> Expire() {
    const bool ms = rng_.Bernoulli(0.5);
    std::vector<std::string> args = {
        ms ? "PEXPIRE" : "EXPIRE", AnyKey(),
        rng_.Bernoulli(0.4)
            ? RelativeTime(ms)
            : Pick({"-1", "0", "x", "9223372036854775807", RelativeTime(ms).c_str()})};
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
};

}  // namespace keel::redis::testing

#endif  // KEEL_TESTS_REDIS_COMMAND_GENERATOR_H_
