// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/net/resp_parser.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"
#include "redis_server.h"
#include "testing/testing.h"

namespace keel::net {
namespace {

using Command = std::vector<std::string>;
using namespace std::string_literals;
using namespace std::string_view_literals;

// What the parser makes of a stream: the commands, then the protocol error that stopped it (or
// nothing), and how many bytes it still holds.
struct Verdict {
  std::vector<Command> commands;
  std::string error;
  size_t buffered = 0;
  bool operator==(const Verdict&) const = default;
};

// Feeds `stream` cut at `cuts` (ascending offsets), taking every command after each piece.
Verdict Parse(std::string_view stream, const std::vector<size_t>& cuts,
              const RespParserOptions& options = {}) {
  RespParser parser(options);
  Verdict verdict;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(stream.size());
  for (size_t end : ends) {
    parser.Feed(stream.substr(start, end - start));
    start = end;
    for (;;) {
      const RespParser::Result result = parser.Next();
      if (result == RespParser::Result::kNeedMore) break;
      if (result == RespParser::Result::kError) {
        verdict.error = parser.error();
        return verdict;
      }
      verdict.commands.emplace_back(parser.args().begin(), parser.args().end());
    }
  }
  verdict.buffered = parser.buffered_bytes();
  return verdict;
}

Verdict ParseWhole(std::string_view stream, const RespParserOptions& options = {}) {
  return Parse(stream, {}, options);
}

Verdict ParseByteByByte(std::string_view stream) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  return Parse(stream, cuts);
}

std::string Describe(const Verdict& verdict) {
  std::string out;
  for (const Command& command : verdict.commands) {
    out += "[";
    for (const std::string& arg : command) out += base::Quoted(arg) + " ";
    out += "] ";
  }
  return base::Cat(out, "error=", base::Quoted(verdict.error), " buffered=", verdict.buffered);
}

// What Redis sends back for a stream of PING/ECHO requests, as the parser's verdict predicts:
// each command's reply, then the protocol error's.
std::string ExpectedReplies(const Verdict& verdict) {
  std::string out;
  RespWriter writer(out);
  for (const Command& command : verdict.commands) {
    std::vector<std::string_view> args(command.begin(), command.end());
    bool quit = false;
    testing::ReplyAsRedis(writer, args, quit);
  }
  if (!verdict.error.empty()) writer.Error(verdict.error);
  return out;
}

std::string Multibulk(std::initializer_list<std::string_view> args) {
  std::string out;
  AppendCommand(out, std::vector<std::string_view>(args));
  return out;
}

TEST_CASE("A pipelined stream gives the same commands at every split point") {
  const std::string stream = Multibulk({"SET", "key:1", "value"}) +
                             Multibulk({"ZADD", "board", "1500", "player:7"}) +
                             Multibulk({"ECHO", std::string_view("a\r\nb\0c", 6)}) +
                             Multibulk({"ECHO", ""}) + "*0\r\n*-1\r\n" + "PING\r\n" + "\r\n   \n" +
                             "SET 'k 1' \"v\\x41\\n\"\n" + Multibulk({"GET", "key:1"});
  const std::vector<Command> expected = {{"SET", "key:1", "value"},
                                         {"ZADD", "board", "1500", "player:7"},
                                         {"ECHO", std::string("a\r\nb\0c", 6)},
                                         {"ECHO", ""},
                                         {"PING"},
                                         {"SET", "k 1", "vA\n"},
                                         {"GET", "key:1"}};
  const Verdict whole = ParseWhole(stream);
  CHECK(whole.commands == expected);
  CHECK(whole.error.empty());
  CHECK(whole.buffered == 0);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    CAPTURE(cut);
    CHECK(Parse(stream, {cut}) == whole);
  }
  CHECK(ParseByteByByte(stream) == whole);
}

TEST_CASE("An incomplete request is held until its last byte arrives") {
  const std::string request = Multibulk({"SET", "k", "v"});
  RespParser parser;
  for (size_t i = 0; i + 1 < request.size(); ++i) {
    parser.Feed(request.substr(i, 1));
    REQUIRE(parser.Next() == RespParser::Result::kNeedMore);
    CHECK(parser.buffered_bytes() == i + 1);
  }
  parser.Feed(request.substr(request.size() - 1));
  REQUIRE(parser.Next() == RespParser::Result::kCommand);
  CHECK(parser.args().size() == 3);
  CHECK(parser.Next() == RespParser::Result::kNeedMore);
  CHECK(parser.buffered_bytes() == 0);
}

TEST_CASE("Multibulk arguments are views into the input without a copy") {
  RespParser parser;
  std::span<char> space = parser.PrepareAppend(64);
  const std::string request = Multibulk({"GET", "key"});
  std::copy(request.begin(), request.end(), space.begin());
  parser.CommitAppend(request.size());
  REQUIRE(parser.Next() == RespParser::Result::kCommand);
  CHECK(parser.args()[1].data() == space.data() + request.find("key"));
}

struct InlineCase {
  std::string_view line;
  std::vector<std::string> args;  // empty with `error` set: a protocol error
  bool error = false;
};

const std::vector<InlineCase>& InlineCases() {
  static const auto* cases = new std::vector<InlineCase>{
      {"ECHO hello\r\n", {"ECHO", "hello"}},
      {"ECHO   spaced\t\r\n", {"ECHO", "spaced"}},
      {"ECHO \"a b\"\r\n", {"ECHO", "a b"}},
      {"ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\"\r\n", {"ECHO", "\n\r\t\b\a\\\""}},
      {"ECHO \"\\x41\\x7a\\xff\\x00\"\r\n", {"ECHO", std::string("Az\xff\0", 4)}},
      {"ECHO \"\\xZZ\\q\"\r\n", {"ECHO", "xZZq"}},
      {"ECHO 'it\\'s'\r\n", {"ECHO", "it's"}},
      {"ECHO 'a\\nb\\\"'\r\n", {"ECHO", "a\\nb\\\""}},
      {"ECHO foo\"bar baz\"\r\n", {"ECHO", "foobar baz"}},
      {"ECHO \"\" \r\n", {"ECHO", ""}},
      {"ECHO a\rb\r\n", {"ECHO", "a", "b"}},
      {"ECHO a\vb\r\n", {"ECHO", "a\vb"}},
      {"\v\fECHO x\n", {"ECHO", "x"}},
      {"ECHO \"a\"b\r\n", {}, true},
      {"ECHO 'a'b\r\n", {}, true},
      {"ECHO \"open\r\n", {}, true},
      {"ECHO 'open\r\n", {}, true},
      {"ECHO \"ends in backslash\\\r\n", {}, true},
  };
  return *cases;
}

TEST_CASE("Inline lines are split as sdssplitargs splits them") {
  for (const InlineCase& test : InlineCases()) {
    CAPTURE(base::Quoted(test.line));
    const Verdict verdict = ParseWhole(test.line);
    if (test.error) {
      CHECK(verdict.error == "Protocol error: unbalanced quotes in request");
    } else {
      REQUIRE(verdict.commands.size() == 1);
      CHECK(verdict.commands[0] == test.args);
    }
  }
}

TEST_CASE("Inline lines get the replies redis-server gives") {
  KEEL_NET_REQUIRE_REDIS(redis);
  for (const InlineCase& test : InlineCases()) {
    CAPTURE(base::Quoted(test.line));
    absl::StatusOr<std::string> replies = testing::Exchange(redis->port(), test.line);
    REQUIRE(replies.ok());
    CHECK(base::Quoted(*replies, 512) == base::Quoted(ExpectedReplies(ParseWhole(test.line)), 512));
  }
}

// `prefix`, 100,000 times `fill`, `suffix`: longer than any line Redis accepts (64 KiB, checked
// after each read of at most 16 KiB).
std::string Long(std::string_view prefix, char fill, std::string_view suffix) {
  std::string out(prefix);
  out.append(100'000, fill);
  out.append(suffix);
  return out;
}

// Two lines longer than Redis's limit but complete. Redis checks the limit only when a read
// leaves a line without its end, and reads 16 KiB, then 48 KiB, then more: sent at once, these
// reach it whole and pass the check (then fail otherwise or run), while the same bytes sent in
// smaller pieces fail it. The parser fails them however they arrive; Redis's reply is not
// compared for these two.
constexpr std::string_view kTooBigInline = "Protocol error: too big inline request";
constexpr std::string_view kTooBigBulkCount = "Protocol error: too big bulk count string";
bool RedisVerdictDependsOnReads(std::string_view bad) {
  return bad.size() > 65536 && (bad.ends_with("\r\n") && bad.find('\0') == std::string_view::npos);
}

// Each bad request follows a good one, whose reply must come first.
const std::vector<std::pair<std::string, std::string_view>>& ProtocolErrorCases() {
  static const auto* cases = new std::vector<std::pair<std::string, std::string_view>>{
      {"*x\r\n", "Protocol error: invalid multibulk length"},
      {"*\r\n", "Protocol error: invalid multibulk length"},
      {"*01\r\n", "Protocol error: invalid multibulk length"},
      {"*+1\r\n", "Protocol error: invalid multibulk length"},
      {"*1 \r\n", "Protocol error: invalid multibulk length"},
      {"*99999999999999999999\r\n", "Protocol error: invalid multibulk length"},
      {"*3000000000\r\n", "Protocol error: invalid multibulk length"},
      {"*1\r\n$x\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$01\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$536870913\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n*1\r\n", "Protocol error: expected '$', got '*'"},
      {"*1\r\nPING\r\n", "Protocol error: expected '$', got 'P'"},
      {"*1\r\n\r\n", "Protocol error: expected '$', got ' '"},
      {"*1\r\n\nx\r\n", "Protocol error: expected '$', got ' '"},
      {"*1\r\n\xff\r\n", "Protocol error: expected '$', got '\xff'"},
      {"*2\r\n$4\r\nECHO\r\n:1\r\n", "Protocol error: expected '$', got ':'"},
      {"ECHO \"x\r\n", "Protocol error: unbalanced quotes in request"},
      {Long("", 'a', ""), "Protocol error: too big inline request"},
      {Long("", 'a', "\r\n"), kTooBigInline},
      {Long("ECHO \0"s, 'a', "\r\n"), "Protocol error: too big inline request"},
      {Long("*", '1', ""), "Protocol error: too big mbulk count string"},
      {Long("*1\r\n$", '1', ""), "Protocol error: too big bulk count string"},
      {Long("*1\r\n$", '1', "\r\n"), kTooBigBulkCount},
  };
  return *cases;
}

TEST_CASE("Protocol errors get the texts redis-server 7.0.15 gives") {
  for (const auto& [bad, error] : ProtocolErrorCases()) {
    CAPTURE(base::Quoted(bad));
    const std::string stream = "PING\r\n" + bad;
    const Verdict verdict = ParseWhole(stream);
    CHECK(verdict.commands == std::vector<Command>{{"PING"}});
    CHECK(base::Quoted(verdict.error) == base::Quoted(error));
    CHECK(ParseByteByByte(stream) == verdict);
  }
}

TEST_CASE("Protocol errors get the reply bytes redis-server gives") {
  KEEL_NET_REQUIRE_REDIS(redis);
  for (const auto& [bad, error] : ProtocolErrorCases()) {
    CAPTURE(base::Quoted(bad));
    if (RedisVerdictDependsOnReads(bad)) continue;
    const std::string stream = "PING\r\n" + bad;
    absl::StatusOr<std::string> replies = testing::Exchange(redis->port(), stream);
    REQUIRE(replies.ok());
    CHECK(base::Quoted(*replies) == base::Quoted(ExpectedReplies(ParseWhole(stream))));
  }
}

TEST_CASE("Redis's unchecked bytes and empty requests are reproduced") {
  // The byte after a count's '\r' and the two after an argument are skipped unread; a NUL
  // before a line's end leaves the request incomplete; counts <= 0 and blank lines are skipped.
  const std::vector<std::string> streams = {
      "*1\rX$4\r\nPING\r\n",   "*1\r\n$4\r\nPINGXY", "*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n",
      "*-5\r\n*0\r\nPING\r\n", "\r\n\n  \r\nPING\n", "*1\0\r\n"s,
      "PING\0\r\n"s,           "*1\r\n$4\0\r\n"s,    "*2\r\n$4\r\nECHO\r\n$3\r\na\0c\r\n"s};
  const std::vector<Verdict> expected = {
      {{{"PING"}}, "", 0}, {{{"PING"}}, "", 0}, {{{"PING"}, {"PING"}}, "", 0},
      {{{"PING"}}, "", 0}, {{{"PING"}}, "", 0}, {{}, "", 5},
      {{}, "", 7},         {{}, "", 9},         {{{"ECHO", std::string("a\0c", 3)}}, "", 0}};
  for (size_t i = 0; i < streams.size(); ++i) {
    CAPTURE(base::Quoted(streams[i]));
    CHECK(Describe(ParseWhole(streams[i])) == Describe(expected[i]));
    CHECK(ParseByteByByte(streams[i]) == expected[i]);
  }
  KEEL_NET_REQUIRE_REDIS(redis);
  for (const std::string& stream : streams) {
    CAPTURE(base::Quoted(stream));
    absl::StatusOr<std::string> replies = testing::Exchange(redis->port(), stream);
    REQUIRE(replies.ok());
    CHECK(base::Quoted(*replies) == base::Quoted(ExpectedReplies(ParseWhole(stream))));
  }
}

TEST_CASE("The limits are the named options") {
  const RespParserOptions small{
      .max_bulk_bytes = 10, .max_multibulk_length = 3, .max_inline_bytes = 8};
  CHECK(ParseWhole("*1\r\n$10\r\n0123456789\r\n", small).commands.size() == 1);
  CHECK(ParseWhole("*1\r\n$11\r\n", small).error == "Protocol error: invalid bulk length");
  CHECK(ParseWhole("*3\r\n", small).error.empty());
  CHECK(ParseWhole("*4\r\n", small).error == "Protocol error: invalid multibulk length");
  // max_inline_bytes counts every byte before the '\n', a '\r' included.
  CHECK(ParseWhole("PING 123\n", small).commands.size() == 1);
  CHECK(ParseWhole("PING 12\r\n", small).commands.size() == 1);
  CHECK(ParseWhole("PING 1234\n", small).error == "Protocol error: too big inline request");
  CHECK(ParseWhole("PING 123\r\n", small).error == "Protocol error: too big inline request");
  CHECK(ParseWhole("PING 1234", small).error == "Protocol error: too big inline request");
  CHECK(ParseWhole("PING 123", small).error.empty());
  CHECK(ParseWhole("*1234567\r\n", small).error == "Protocol error: invalid multibulk length");
  CHECK(ParseWhole("*12345678\r\n", small).error == "Protocol error: too big mbulk count string");
  CHECK(ParseWhole("*1\r\n$12345678", small).error == "Protocol error: too big bulk count string");
  // The defaults are Redis's.
  const RespParserOptions defaults;
  CHECK(defaults.max_bulk_bytes == 512 * 1024 * 1024);
  CHECK(defaults.max_inline_bytes == 64 * 1024);
  CHECK(defaults.max_multibulk_length == 1024 * 1024);
  CHECK(ParseWhole("*1048576\r\n").error.empty());
  CHECK(ParseWhole("*1048577\r\n").error == "Protocol error: invalid multibulk length");
  CHECK(ParseWhole("*1\r\n$536870912\r\n").error.empty());
}

TEST_CASE("Reset forgets the input and the error") {
  RespParser parser;
  parser.Feed("*x\r\n");
  REQUIRE(parser.Next() == RespParser::Result::kError);
  CHECK(parser.Next() == RespParser::Result::kError);
  parser.Reset();
  parser.Feed("PING\r\n");
  REQUIRE(parser.Next() == RespParser::Result::kCommand);
  CHECK(parser.args()[0] == "PING");
}

// ---------------------------------------------------------------------------------------------
// Fuzzing: valid streams, mutated.
// ---------------------------------------------------------------------------------------------

std::string RandomArg(base::Random& random) {
  static constexpr std::string_view kBytes = "ab z\"'\\\r\n\t*$:x0129";
  std::string arg;
  const size_t length = random.Uniform(8);
  for (size_t i = 0; i < length; ++i) arg.push_back(kBytes[random.Uniform(kBytes.size())]);
  return arg;
}

std::string ValidStream(base::Random& random) {
  std::string stream;
  const size_t commands = 1 + random.Uniform(6);
  for (size_t i = 0; i < commands; ++i) {
    const bool echo = random.Bernoulli(0.5);
    if (random.Bernoulli(0.7)) {
      const std::string arg = RandomArg(random);
      stream += echo ? Multibulk({"ECHO", arg}) : Multibulk({"PING"});
    } else if (random.Bernoulli(0.2)) {
      stream += random.Bernoulli(0.5) ? "\r\n" : "*0\r\n";
    } else {
      std::string word;
      for (char c : RandomArg(random)) {
        if (c != '\r' && c != '\n' && c != '"' && c != '\'' && c != '\\' && c != ' ') word += c;
      }
      stream += echo ? "ECHO \"" + word + "x\"\r\n" : "PING\r\n";
    }
  }
  return stream;
}

void Mutate(base::Random& random, std::string& stream) {
  static constexpr std::string_view kSpecial = "*$\r\n\"'\\ 0-9x\0"sv;
  const size_t mutations = 1 + random.Uniform(3);
  for (size_t m = 0; m < mutations && !stream.empty(); ++m) {
    const size_t at = random.Uniform(stream.size());
    switch (random.Uniform(4)) {
      case 0:
        stream.resize(at);
        break;
      case 1:
        stream[at] = static_cast<char>(stream[at] ^ (1 << random.Uniform(8)));
        break;
      case 2:
        stream.insert(at, 1,
                      random.Bernoulli(0.5) ? kSpecial[random.Uniform(kSpecial.size())]
                                            : static_cast<char>(random.Uniform(256)));
        break;
      default:
        stream.erase(at, 1 + random.Uniform(3));
        break;
    }
  }
}

std::vector<size_t> RandomCuts(base::Random& random, size_t size) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < size; ++i) {
    if (random.Bernoulli(0.3)) cuts.push_back(i);
  }
  return cuts;
}

TEST_CASE("Mutated streams get the same verdict however they are split") {
  const uint64_t seed = keel::testing::TestSeed(1201);
  CAPTURE(seed);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_NET_FUZZ_ROUNDS", 3000);
  base::Random random(seed);
  for (uint64_t round = 0; round < rounds; ++round) {
    std::string stream = ValidStream(random);
    Mutate(random, stream);
    CAPTURE(base::Quoted(stream, 256));
    const Verdict whole = ParseWhole(stream);
    REQUIRE(ParseByteByByte(stream) == whole);
    REQUIRE(Parse(stream, RandomCuts(random, stream.size())) == whole);
  }
}

TEST_CASE("Mutated streams get the replies redis-server gives") {
  KEEL_NET_REQUIRE_REDIS(redis);
  const uint64_t seed = keel::testing::TestSeed(1202);
  CAPTURE(seed);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_NET_FUZZ_REDIS_ROUNDS", 200);
  base::Random random(seed);
  for (uint64_t round = 0; round < rounds; ++round) {
    std::string stream = ValidStream(random);
    Mutate(random, stream);
    CAPTURE(base::Quoted(stream, 256));
    absl::StatusOr<std::string> replies = testing::Exchange(redis->port(), stream);
    REQUIRE(replies.ok());
    REQUIRE(base::Quoted(*replies, 1024) ==
            base::Quoted(ExpectedReplies(ParseWhole(stream)), 1024));
  }
}

}  // namespace
}  // namespace keel::net
