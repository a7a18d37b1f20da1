// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/net/resp_reader.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"
#include "testing/testing.h"

namespace keel::net {
namespace {

using Type = RespValue::Type;
using namespace std::string_literals;
using namespace std::string_view_literals;

// Feeds `bytes` cut at every offset in `cuts`, collecting every reply.
absl::StatusOr<std::vector<RespReply>> ReadAll(std::string_view bytes,
                                               const std::vector<size_t>& cuts,
                                               const RespReaderOptions& options = {}) {
  RespReader reader(options);
  std::vector<RespReply> replies;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(bytes.size());
  for (size_t end : ends) {
    reader.Feed(bytes.substr(start, end - start));
    start = end;
    for (;;) {
      absl::StatusOr<std::optional<RespReply>> reply = reader.Next();
      if (!reply.ok()) return reply.status();
      if (!reply->has_value()) break;
      replies.push_back(**std::move(reply));
    }
  }
  return replies;
}

RespValue ReadOne(std::string_view bytes) {
  CAPTURE(base::Quoted(bytes));
  absl::StatusOr<std::vector<RespReply>> replies = ReadAll(bytes, {});
  REQUIRE_MESSAGE(replies.ok(), replies.status().ToString());
  REQUIRE(replies->size() == 1);
  CHECK((*replies)[0].raw == bytes);
  return (*replies)[0].value;
}

TEST_CASE("Every RESP2 and RESP3 type is read") {
  CHECK(ReadOne("+OK\r\n").type == Type::kSimpleString);
  CHECK(ReadOne("-ERR x\r\n").text == "ERR x");
  CHECK(ReadOne(":-42\r\n").integer == -42);
  CHECK(ReadOne("$3\r\na\r\n\r\n").text == "a\r\n");
  CHECK(ReadOne("$-1\r\n").type == Type::kNullBulkString);
  CHECK(ReadOne("*-1\r\n").type == Type::kNullArray);
  CHECK(ReadOne("_\r\n").type == Type::kNull);
  CHECK(ReadOne(",1.5\r\n").number == 1.5);
  CHECK(ReadOne(",-inf\r\n").number == -INFINITY);
  CHECK(std::isnan(ReadOne(",nan\r\n").number));
  CHECK(ReadOne(",1e-5\r\n").text == "1e-5");
  CHECK(ReadOne("#t\r\n").boolean);
  CHECK(!ReadOne("#f\r\n").boolean);
  const RespValue blob = ReadOne("!5\r\nERR x\r\n");
  CHECK((blob.type == Type::kBlobError && blob.text == "ERR x"));
  const RespValue verbatim = ReadOne("=8\r\nmkd:# hi\r\n");
  CHECK((verbatim.type == Type::kVerbatim && verbatim.format == "mkd" && verbatim.text == "# hi"));
  CHECK(ReadOne("(-12345678901234567890123\r\n").text == "-12345678901234567890123");
  const RespValue map = ReadOne("%2\r\n+a\r\n:1\r\n+b\r\n*2\r\n:2\r\n:3\r\n");
  CHECK(map.type == Type::kMap);
  CHECK(map.DebugString() == "{a: (integer) 1, b: [(integer) 2, (integer) 3]}");
  CHECK(ReadOne("~1\r\n$1\r\nx\r\n").DebugString() == "~[\"x\"]");
  const RespValue push = ReadOne(">2\r\n+message\r\n_\r\n");
  CHECK((push.type == Type::kPush && push.elements.size() == 2));
  const RespValue attributed = ReadOne("|1\r\n+ttl\r\n:3\r\n*1\r\n:7\r\n");
  CHECK(attributed.type == Type::kArray);
  CHECK(attributed.attributes.size() == 2);
  CHECK(attributed.attributes[0].text == "ttl");
  CHECK(attributed.DebugString() == "[(integer) 7]");
  CHECK(ReadOne("*0\r\n").elements.empty());
  CHECK(ReadOne("%0\r\n").type == Type::kMap);
}

TEST_CASE("Malformed replies are errors naming the bad bytes") {
  const std::vector<std::pair<std::string, std::string_view>> cases = {
      {"x\r\n", "unknown type byte"},
      {":abc\r\n", "integer is not a number"},
      {":01\r\n", "integer is not a number"},
      {"$3\r\nabcXY", "string not followed by"},
      {"$-2\r\n", "bad string length"},
      {"!-1\r\n", "bad string length"},
      {"*-2\r\n", "bad aggregate length"},
      {"%-1\r\n", "bad aggregate length"},
      {"~x\r\n", "bad aggregate length"},
      {"#x\r\n", "boolean is not t or f"},
      {",1.2.3\r\n", "double is not a number"},
      {",\r\n", "double is not a number"},
      {"(12a\r\n", "big number is not an integer"},
      {"_x\r\n", "null has a payload"},
      {"=3\r\nabc\r\n", "verbatim string without its format"},
      {"=5\r\ntxt-a\r\n", "verbatim string without its format"},
      {"+a\rb\r\n", "'\\r' not followed by '\\n'"},
      {"*1\r\n*1\r\n*1\r\n:1\r\n", "nested deeper than max_depth"},
      {"+" + std::string(100, 'a') + "\r\n", "longer than max_line_bytes"},
      {"+" + std::string(100, 'a'), "longer than max_line_bytes"},
      {"$11\r\n", "bad string length"},
  };
  const RespReaderOptions options{.max_bulk_bytes = 10, .max_line_bytes = 50, .max_depth = 2};
  for (const auto& [bytes, what] : cases) {
    CAPTURE(base::Quoted(bytes));
    absl::StatusOr<std::vector<RespReply>> replies = ReadAll(bytes, {}, options);
    REQUIRE(!replies.ok());
    CHECK(replies.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_MESSAGE(replies.status().ToString().find(what) != std::string_view::npos,
                  replies.status().ToString());
  }
  CHECK(ReadAll("$?\r\n", {}).status().code() == absl::StatusCode::kUnimplemented);
  CHECK(ReadAll("*?\r\n", {}).status().code() == absl::StatusCode::kUnimplemented);
}

TEST_CASE("A failed reader stays failed until Reset") {
  RespReader reader;
  reader.Feed("?\r\n");
  CHECK(!reader.Next().ok());
  reader.Feed("+OK\r\n");
  CHECK(!reader.Next().ok());
  reader.Reset();
  reader.Feed("+OK\r\n");
  absl::StatusOr<std::optional<RespReply>> reply = reader.Next();
  REQUIRE(reply.ok());
  REQUIRE(reply->has_value());
  CHECK((*reply)->raw == "+OK\r\n");
}

// A random reply, written with the writer; `depth` bounds nesting.
void WriteRandom(base::Random& random, RespWriter& writer, int depth) {
  static constexpr std::string_view kBytes = "ab\r\n\0:$*-+_,#!=(%~>|x"sv;
  std::string text;
  for (size_t i = random.Uniform(12); i > 0; --i)
    text.push_back(kBytes[random.Uniform(kBytes.size())]);
  switch (random.Uniform(depth > 0 ? 18 : 13)) {
    case 0:
      return writer.SimpleString(text);
    case 1:
      return writer.Error(text);
    case 2:
      return writer.Integer(static_cast<int64_t>(random.Next()));
    case 3:
      return writer.BulkString(text);
    case 4:
      return writer.Null();
    case 5:
      return writer.NullArray();
    case 6:
      return writer.Double(random.UniformDouble(-1e9, 1e9));
    case 7:
      return writer.HumanDouble(random.UniformDouble(-180, 180));
    case 8:
      return writer.Boolean(random.Bernoulli(0.5));
    case 9:
      return writer.Verbatim(text, random.Bernoulli(0.5) ? "txt" : "mkd");
    case 10:
      return writer.BigNumber(std::to_string(random.Next()) + "123456789");
    case 11:
      return writer.Double(random.Bernoulli(0.5) ? INFINITY : -INFINITY);
    case 12:
      return writer.Integer(0);
    default: {
      const size_t n = random.Uniform(4);
      const uint64_t kind = random.Uniform(5);
      const bool deferred = kind < 3 && random.Bernoulli(0.5);
      RespWriter::Deferred place;
      if (deferred)
        place = writer.Defer();
      else if (kind == 0)
        writer.ArrayHeader(n);
      else if (kind == 1)
        writer.MapHeader(n);
      else if (kind == 2)
        writer.SetHeader(n);
      else
        writer.PushHeader(n);
      const size_t elements = kind == 1 ? 2 * n : n;
      for (size_t i = 0; i < elements; ++i) WriteRandom(random, writer, depth - 1);
      if (!deferred) return;
      if (kind == 0) return writer.EndArray(place, n);
      if (kind == 1) return writer.EndMap(place, n);
      return writer.EndSet(place, n);
    }
  }
}

TEST_CASE("Everything the writer produces reads back whole however it is split") {
  const uint64_t seed = keel::testing::TestSeed(1221);
  CAPTURE(seed);
  base::Random random(seed);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_NET_READER_ROUNDS", 400);
  for (uint64_t round = 0; round < rounds; ++round) {
    const Protocol protocol = random.Bernoulli(0.5) ? Protocol::kResp2 : Protocol::kResp3;
    std::string bytes;
    std::vector<size_t> boundaries;
    RespWriter writer(bytes, protocol);
    const size_t count = 1 + random.Uniform(5);
    for (size_t i = 0; i < count; ++i) {
      WriteRandom(random, writer, 3);
      boundaries.push_back(bytes.size());
    }
    CAPTURE(base::Quoted(bytes, 512));
    std::vector<size_t> cuts;
    for (size_t i = 1; i < bytes.size(); ++i) {
      if (random.Bernoulli(round % 2 == 0 ? 1.0 : 0.2)) cuts.push_back(i);
    }
    absl::StatusOr<std::vector<RespReply>> replies = ReadAll(bytes, cuts);
    REQUIRE_MESSAGE(replies.ok(), replies.status().ToString());
    REQUIRE(replies->size() == count);
    size_t start = 0;
    for (size_t i = 0; i < count; ++i) {
      CHECK((*replies)[i].raw == bytes.substr(start, boundaries[i] - start));
      start = boundaries[i];
    }
  }
}

TEST_CASE("A large reply fed in small pieces is scanned once") {
  std::string bytes;
  RespWriter writer(bytes);
  writer.ArrayHeader(20'000);
  for (int i = 0; i < 20'000; ++i) writer.BulkString(std::string(40, 'm'));
  RespReader reader;
  size_t replies = 0;
  for (size_t at = 0; at < bytes.size(); at += 7) {
    reader.Feed(std::string_view(bytes).substr(at, 7));
    absl::StatusOr<std::optional<RespReply>> reply = reader.Next();
    REQUIRE(reply.ok());
    if (reply->has_value()) {
      ++replies;
      CHECK((*reply)->value.elements.size() == 20'000);
    }
  }
  CHECK(replies == 1);
}

}  // namespace
}  // namespace keel::net
