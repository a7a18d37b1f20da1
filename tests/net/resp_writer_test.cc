// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/net/resp_writer.h"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"
#include "keel/net/resp_reader.h"
#include "redis_server.h"
#include "testing/testing.h"

namespace keel::net {
namespace {

std::string Write(Protocol protocol, const std::function<void(RespWriter&)>& write) {
  std::string out;
  RespWriter writer(out, protocol);
  write(writer);
  return out;
}

void Both(const std::function<void(RespWriter&)>& write, std::string_view resp2,
          std::string_view resp3) {
  CHECK(base::Quoted(Write(Protocol::kResp2, write)) == base::Quoted(resp2));
  CHECK(base::Quoted(Write(Protocol::kResp3, write)) == base::Quoted(resp3));
}

TEST_CASE("Every reply type has the encoding of Redis's addReply functions") {
  Both([](RespWriter& w) { w.SimpleString("OK"); }, "+OK\r\n", "+OK\r\n");
  Both([](RespWriter& w) { w.Error("bad thing"); }, "-ERR bad thing\r\n", "-ERR bad thing\r\n");
  Both([](RespWriter& w) { w.Error("-WRONGTYPE Operation"); }, "-WRONGTYPE Operation\r\n",
       "-WRONGTYPE Operation\r\n");
  Both([](RespWriter& w) { w.Error(""); }, "-ERR \r\n", "-ERR \r\n");
  Both([](RespWriter& w) { w.Error("two\r\nlines\r\n"); }, "-ERR two  lines\r\n",
       "-ERR two  lines\r\n");
  Both([](RespWriter& w) { w.SimpleString("a\nb"); }, "+a b\r\n", "+a b\r\n");
  Both([](RespWriter& w) { w.Integer(0); }, ":0\r\n", ":0\r\n");
  Both([](RespWriter& w) { w.Integer(std::numeric_limits<int64_t>::min()); },
       ":-9223372036854775808\r\n", ":-9223372036854775808\r\n");
  Both([](RespWriter& w) { w.BulkString(std::string_view("a\0\r\n", 4)); },
       std::string_view("$4\r\na\0\r\n\r\n", 10), std::string_view("$4\r\na\0\r\n\r\n", 10));
  Both([](RespWriter& w) { w.BulkString(""); }, "$0\r\n\r\n", "$0\r\n\r\n");
  Both([](RespWriter& w) { w.Null(); }, "$-1\r\n", "_\r\n");
  Both([](RespWriter& w) { w.NullArray(); }, "*-1\r\n", "_\r\n");
  Both([](RespWriter& w) { w.ArrayHeader(3); }, "*3\r\n", "*3\r\n");
  Both([](RespWriter& w) { w.MapHeader(2); }, "*4\r\n", "%2\r\n");
  Both([](RespWriter& w) { w.SetHeader(2); }, "*2\r\n", "~2\r\n");
  Both([](RespWriter& w) { w.PushHeader(3); }, "*3\r\n", ">3\r\n");
  Both([](RespWriter& w) { w.Double(1.5); }, "$3\r\n1.5\r\n", ",1.5\r\n");
  Both([](RespWriter& w) { w.Double(1.1); }, "$18\r\n1.1000000000000001\r\n",
       ",1.1000000000000001\r\n");
  Both([](RespWriter& w) { w.Double(INFINITY); }, "$3\r\ninf\r\n", ",inf\r\n");
  Both([](RespWriter& w) { w.Double(-INFINITY); }, "$4\r\n-inf\r\n", ",-inf\r\n");
  Both([](RespWriter& w) { w.Double(1e300); }, "$23\r\n1.0000000000000001e+300\r\n",
       ",1.0000000000000001e+300\r\n");
  Both([](RespWriter& w) { w.HumanDouble(13.361389338970184L); }, "$18\r\n13.361389338970184\r\n",
       ",13.361389338970184\r\n");
  Both([](RespWriter& w) { w.HumanDouble(-0.0L); }, "$1\r\n0\r\n", ",0\r\n");
  Both([](RespWriter& w) { w.HumanDouble(2.0L); }, "$1\r\n2\r\n", ",2\r\n");
  Both([](RespWriter& w) { w.Boolean(true); }, ":1\r\n", "#t\r\n");
  Both([](RespWriter& w) { w.Boolean(false); }, ":0\r\n", "#f\r\n");
  Both([](RespWriter& w) { w.Verbatim("hi"); }, "$2\r\nhi\r\n", "=6\r\ntxt:hi\r\n");
  Both([](RespWriter& w) { w.Verbatim("hi", "md"); }, "$2\r\nhi\r\n", "=6\r\nmd :hi\r\n");
  Both([](RespWriter& w) { w.Verbatim("hi", "markdown"); }, "$2\r\nhi\r\n", "=6\r\nmar:hi\r\n");
  Both([](RespWriter& w) { w.BigNumber("-123"); }, "$4\r\n-123\r\n", "(-123\r\n");
}

TEST_CASE("Deferred lengths nest and end innermost first") {
  Both(
      [](RespWriter& w) {
        RespWriter::Deferred outer = w.Defer();
        w.BulkString("a");
        RespWriter::Deferred inner = w.Defer();
        w.Integer(1);
        w.Double(2);
        w.EndMap(inner, 1);
        RespWriter::Deferred empty = w.Defer();
        w.EndSet(empty, 0);
        CHECK(w.open_deferred() == 1);
        w.EndArray(outer, 3);
        CHECK(w.open_deferred() == 0);
      },
      "*3\r\n$1\r\na\r\n*2\r\n:1\r\n$1\r\n2\r\n*0\r\n",
      "*3\r\n$1\r\na\r\n%1\r\n:1\r\n,2\r\n~0\r\n");
}

TEST_CASE("Ending deferred lengths out of order stops the program") {
  const keel::testing::ChildResult child = keel::testing::RunInChild([] {
    std::string out;
    RespWriter writer(out);
    RespWriter::Deferred outer = writer.Defer();
    RespWriter::Deferred inner = writer.Defer();
    writer.EndArray(outer, 0);
    writer.EndArray(inner, 0);
  });
  CHECK(child.aborted);
  CHECK(child.stderr_text.find("innermost first") != std::string::npos);
}

TEST_CASE("FormatDouble is printf's %.17g on any double") {
  const uint64_t seed = keel::testing::TestSeed(1211);
  CAPTURE(seed);
  base::Random random(seed);
  std::vector<double> values = {
      0.0,  -0.0, 1.0, -1.0, 0.1, 1e-320, 5e-324, 1.7976931348623157e308, 123456789012345678.0,
      1e16, 1e17, 0.5, 100.0};
  for (int i = 0; i < 20'000; ++i) {
    double value = std::bit_cast<double>(random.Next());
    if (std::isnan(value)) continue;
    if (i % 2 == 0) value = random.UniformDouble(-1e6, 1e6);
    values.push_back(value);
  }
  for (double value : values) {
    char expected[64];
    std::snprintf(expected, sizeof(expected), "%.17g", value);
    REQUIRE(FormatDouble(value) == expected);
  }
}

// Writes a decoded reply back, as the server that sent it would have: RESP2 doubles arrived as
// bulk strings and are written back so; aggregates use a deferred length half the time.
void Reencode(const RespValue& value, RespWriter& writer, base::Random& random) {
  using Type = RespValue::Type;
  const size_t n = value.elements.size();
  switch (value.type) {
    case Type::kSimpleString:
      return writer.SimpleString(value.text);
    case Type::kError:
      return writer.Error("-" + value.text);
    case Type::kInteger:
      return writer.Integer(value.integer);
    case Type::kBulkString:
      return writer.BulkString(value.text);
    case Type::kNullBulkString:
    case Type::kNull:
      return writer.Null();
    case Type::kNullArray:
      return writer.NullArray();
    case Type::kDouble:
      // A RESP3 double is either addReplyDouble's or addReplyHumanLongDouble's (GEOPOS).
      if (FormatDouble(value.number) == value.text) return writer.Double(value.number);
      return writer.HumanDouble(static_cast<long double>(value.number));
    case Type::kBoolean:
      return writer.Boolean(value.boolean);
    case Type::kVerbatim:
      return writer.Verbatim(value.text, value.format);
    case Type::kBigNumber:
      return writer.BigNumber(value.text);
    case Type::kBlobError:
      FAIL("Redis 7.0 sends no blob errors");
      return;
    case Type::kArray:
    case Type::kMap:
    case Type::kSet:
    case Type::kPush: {
      const bool deferred = value.type != Type::kPush && random.Bernoulli(0.5);
      RespWriter::Deferred place;
      if (deferred) {
        place = writer.Defer();
      } else if (value.type == Type::kArray) {
        writer.ArrayHeader(n);
      } else if (value.type == Type::kMap) {
        writer.MapHeader(n / 2);
      } else if (value.type == Type::kSet) {
        writer.SetHeader(n);
      } else {
        writer.PushHeader(n);
      }
      for (const RespValue& element : value.elements) Reencode(element, writer, random);
      if (!deferred) return;
      if (value.type == Type::kArray) return writer.EndArray(place, n);
      if (value.type == Type::kMap) return writer.EndMap(place, n / 2);
      return writer.EndSet(place, n);
    }
  }
}

std::unique_ptr<RespClient> MustConnect(uint16_t port) {
  absl::StatusOr<std::unique_ptr<RespClient>> client = RespClient::Connect("127.0.0.1", port);
  REQUIRE_MESSAGE(client.ok(), client.status().ToString());
  return *std::move(client);
}

RespReply MustCall(RespClient& client, std::vector<std::string_view> args) {
  absl::StatusOr<RespReply> reply = client.Call(args);
  REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  return *std::move(reply);
}

TEST_CASE("Replies from redis-server re-encode byte for byte") {
  KEEL_NET_REQUIRE_REDIS(redis);
  const uint64_t seed = keel::testing::TestSeed(1212);
  CAPTURE(seed);
  base::Random random(seed);
  const std::vector<std::vector<std::string_view>> commands = {
      {"SET", "k", "v"},
      {"GET", "k"},
      {"GET", "missing"},
      {"INCR", "n"},
      {"INCRBY", "n", "-9223372036854775807"},
      {"ZADD", "z", "1.1", "a", "2.5", "b", "-3e-5", "c", "1e300", "d", "0", "e"},
      {"ZSCORE", "z", "a"},
      {"ZINCRBY", "z", "inf", "f"},
      {"ZINCRBY", "z", "-inf", "g"},
      {"ZSCORE", "z", "missing"},
      {"ZRANGE", "z", "0", "-1", "WITHSCORES"},
      {"ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES", "LIMIT", "1", "3"},
      {"ZRANDMEMBER", "nosuchkey", "-5"},
      {"GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
      {"GEOPOS", "g", "Palermo", "nonexisting", "Catania"},
      {"GEODIST", "g", "Palermo", "Catania", "km"},
      {"GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHCOORD",
       "WITHDIST", "WITHHASH"},
      {"HSET", "h", "f1", "v1", "f2", "v2"},
      {"HGETALL", "h"},
      {"SADD", "s", "x", "y"},
      {"SMEMBERS", "s"},
      {"LPUSH", "l", "a"},
      {"GET", "l"},
      {"NOSUCHCOMMAND", "x"},
      {"ZADD", "z"},
      {"CONFIG", "GET", "maxclients"},
      {"EVAL", "return true", "0"},
      {"EVAL", "redis.setresp(3); return true", "0"},
      {"EVAL", "redis.setresp(3); return false", "0"},
      {"EVAL", "redis.setresp(3); return {double=3.5}", "0"},
      {"EVAL", "redis.setresp(3); return {big_number='123456789012345678901234567890'}", "0"},
      {"EVAL", "redis.setresp(3); return {verbatim_string={format='txt', string='hello'}}", "0"},
      {"EVAL", "redis.setresp(3); return {map={a=1}}", "0"},
      {"EVAL", "redis.setresp(3); return {set={a=true}}", "0"},
      {"EVAL", "redis.setresp(3); return nil", "0"},
      {"CLIENT", "INFO"},
  };
  for (const Protocol protocol : {Protocol::kResp2, Protocol::kResp3}) {
    std::unique_ptr<RespClient> client = MustConnect(redis->port());
    const RespReply hello = MustCall(*client, {"HELLO", protocol == Protocol::kResp2 ? "2" : "3"});
    std::vector<RespReply> replies = {hello};
    MustCall(*client, {"FLUSHALL"});
    for (const std::vector<std::string_view>& command : commands) {
      replies.push_back(MustCall(*client, command));
    }
    for (const RespReply& reply : replies) {
      CAPTURE(static_cast<int>(protocol));
      CAPTURE(base::Quoted(reply.raw, 512));
      std::string out;
      RespWriter writer(out, protocol);
      Reencode(reply.value, writer, random);
      CHECK(base::Quoted(out, 512) == base::Quoted(reply.raw, 512));
    }
  }
}

TEST_CASE("Scores from redis-server are the writer's doubles") {
  KEEL_NET_REQUIRE_REDIS(redis);
  const uint64_t seed = keel::testing::TestSeed(1213);
  CAPTURE(seed);
  base::Random random(seed);
  // Not -0: Redis stores a small sorted set's scores as text (listpack), where d2string writes
  // -0 as "0", so ZSCORE answers "0"; that is the sorted set's business, not the encoder's.
  std::vector<double> scores = {
      0.0,  1.1,           -2.5,  1e-300,   5e-324,   1.7976931348623157e308, 3.0, 0.1 + 0.2,
      1e15, 123456789.125, -1e-7, INFINITY, -INFINITY};
  for (int i = 0; i < 300; ++i) {
    double value = std::bit_cast<double>(random.Next());
    if (std::isnan(value) || value == 0) continue;
    if (i % 3 == 0) value = random.UniformDouble(-1000, 1000);
    if (i % 3 == 1) value = std::round(random.UniformDouble(-1e9, 1e9)) / 100;
    scores.push_back(value);
  }
  for (const Protocol protocol : {Protocol::kResp2, Protocol::kResp3}) {
    std::unique_ptr<RespClient> client = MustConnect(redis->port());
    MustCall(*client, {"HELLO", protocol == Protocol::kResp2 ? "2" : "3"});
    MustCall(*client, {"DEL", "scores"});
    for (size_t i = 0; i < scores.size(); ++i) {
      const std::string member = std::to_string(i);
      const std::string score = FormatDouble(scores[i]);
      REQUIRE(client->Send({"ZADD", "scores", score, member}).ok());
      REQUIRE(client->Send({"ZSCORE", "scores", member}).ok());
    }
    for (size_t i = 0; i < scores.size(); ++i) {
      CAPTURE(scores[i]);
      REQUIRE(client->Read().ok());
      absl::StatusOr<RespReply> reply = client->Read();
      REQUIRE(reply.ok());
      std::string out;
      RespWriter(out, protocol).Double(scores[i]);
      CHECK(base::Quoted(out) == base::Quoted(reply->raw));
    }
  }
}

TEST_CASE("GEOPOS coordinates from redis-server are the writer's human doubles") {
  KEEL_NET_REQUIRE_REDIS(redis);
  const uint64_t seed = keel::testing::TestSeed(1214);
  CAPTURE(seed);
  base::Random random(seed);
  for (const Protocol protocol : {Protocol::kResp2, Protocol::kResp3}) {
    std::unique_ptr<RespClient> client = MustConnect(redis->port());
    MustCall(*client, {"HELLO", protocol == Protocol::kResp2 ? "2" : "3"});
    for (int i = 0; i < 200; ++i) {
      const std::string lng = FormatDouble(random.UniformDouble(-180, 180));
      const std::string lat = FormatDouble(random.UniformDouble(-85.05112878, 85.05112878));
      MustCall(*client, {"GEOADD", "places", lng, lat, "p"});
      const RespReply reply = MustCall(*client, {"GEOPOS", "places", "p"});
      CAPTURE(base::Quoted(reply.raw));
      REQUIRE(reply.value.elements.size() == 1);
      REQUIRE(reply.value.elements[0].elements.size() == 2);
      std::string out;
      RespWriter writer(out, protocol);
      writer.ArrayHeader(1);
      writer.ArrayHeader(2);
      for (const RespValue& coordinate : reply.value.elements[0].elements) {
        // Redis decodes the cell to doubles and prints them as long doubles; 19 significant
        // digits identify the double.
        writer.HumanDouble(static_cast<long double>(std::strtod(coordinate.text.c_str(), nullptr)));
      }
      CHECK(base::Quoted(out) == base::Quoted(reply.raw));
    }
  }
}

TEST_CASE("Pub/sub messages are pushes in RESP3 and arrays in RESP2 as Redis sends them") {
  KEEL_NET_REQUIRE_REDIS(redis);
  for (const Protocol protocol : {Protocol::kResp2, Protocol::kResp3}) {
    std::unique_ptr<RespClient> subscriber = MustConnect(redis->port());
    MustCall(*subscriber, {"HELLO", protocol == Protocol::kResp2 ? "2" : "3"});
    const RespReply subscribed = MustCall(*subscriber, {"SUBSCRIBE", "news"});
    std::unique_ptr<RespClient> publisher = MustConnect(redis->port());
    MustCall(*publisher, {"PUBLISH", "news", "hello"});
    absl::StatusOr<RespReply> message = subscriber->Read();
    REQUIRE(message.ok());
    std::string out;
    RespWriter writer(out, protocol);
    writer.PushHeader(3);
    writer.BulkString("subscribe");
    writer.BulkString("news");
    writer.Integer(1);
    writer.PushHeader(3);
    writer.BulkString("message");
    writer.BulkString("news");
    writer.BulkString("hello");
    CHECK(base::Quoted(out) == base::Quoted(subscribed.raw + message->raw));
  }
}

}  // namespace
}  // namespace keel::net
