// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/pubsub/glob.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/net/resp_client.h"
#include "net/redis_server.h"
#include "testing/testing.h"

namespace keel::pubsub {
namespace {

TEST_CASE("Glob patterns match as Redis's KEYS and PSUBSCRIBE do") {
  CHECK_FALSE(GlobMatch("*", ""));  // as Redis: the empty name matches no pattern but ""
  CHECK(GlobMatch("", ""));
  CHECK(GlobMatch("*", "anything"));
  CHECK(GlobMatch("user:*:location", "user:42:location"));
  CHECK_FALSE(GlobMatch("user:*:location", "user:42:locations"));
  CHECK(GlobMatch("h?llo", "hello"));
  CHECK_FALSE(GlobMatch("h?llo", "hllo"));
  CHECK(GlobMatch("h[ae]llo", "hallo"));
  CHECK_FALSE(GlobMatch("h[^e]llo", "hello"));
  CHECK(GlobMatch("h[a-b]llo", "hbllo"));
  CHECK(GlobMatch("h[b-a]llo", "hallo"));  // a reversed range is the same range
  CHECK(GlobMatch("h\\*llo", "h*llo"));
  CHECK_FALSE(GlobMatch("h\\*llo", "hello"));
  CHECK(GlobMatch("a[", "a") == false);
  CHECK(GlobMatch("a[^", "ab"));  // an unclosed negated bracket matches any one byte
  CHECK(GlobMatch("a[bc", "ab"));
  CHECK(GlobMatch(std::string("a\0b", 3), std::string("a\0b", 3)));
  CHECK(GlobMatch("*a*a*a*a*a*a*a*a*b", std::string(30, 'a') + "b"));
  CHECK_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*b", std::string(60, 'a')));  // fast, by the cut
}

std::string RandomText(base::Random& rng, std::string_view alphabet, size_t max_length) {
  std::string text(rng.Uniform(max_length + 1), ' ');
  for (char& c : text) c = alphabet[rng.Uniform(alphabet.size())];
  return text;
}

TEST_CASE("Random patterns select the same names as redis-server's KEYS") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  auto redis = net::RespClient::Connect("127.0.0.1", redis_server->port());
  REQUIRE(redis.ok());
  const uint64_t seed = keel::testing::TestSeed(31);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) {
    std::string name = RandomText(rng, "abc-^]\\\xff", 6);
    if (name.empty()) continue;
    names.push_back(name);
    REQUIRE((*redis)->Call({"SET", name, "1"}).ok());
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const uint64_t rounds = keel::testing::TestRounds("KEEL_GLOB_ROUNDS", 400);
  for (uint64_t round = 0; round < rounds; ++round) {
    const std::string pattern = RandomText(rng, "abc*?[]^-\\\xff", 7);
    CAPTURE(pattern);
    absl::StatusOr<net::RespReply> keys = (*redis)->Call({"KEYS", pattern});
    REQUIRE(keys.ok());
    std::set<std::string> want;
    for (const net::RespValue& v : keys->value.elements) want.insert(v.text);
    std::set<std::string> got;
    for (const std::string& name : names) {
      if (GlobMatch(pattern, name)) got.insert(name);
    }
    REQUIRE(got == want);
  }
}

}  // namespace
}  // namespace keel::pubsub
