// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// KvStore against a real redis-server: the same random command stream goes to both, and every
// reply must be the same bytes. Then snapshots, command encoding, and damaged input.
#include "keel/raft/kv_store.h"

#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "keel/base/random.h"
#include "keel/net/resp_client.h"
#include "redis_process.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

std::string Reply(KvStore& store, std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string out;
  net::RespWriter writer(out);
  switch (ClassifyKvCommand(views[0])) {
    case KvCommandKind::kRead:
      store.Read(views, writer);
      break;
    case KvCommandKind::kWrite:
      store.Apply(views, writer);
      break;
    case KvCommandKind::kUnknown:
      KvStore::ReplyUnknown(views, writer);
      break;
  }
  return out;
}

std::vector<std::string> RandomCommand(base::Random& random) {
  static const std::vector<std::string> kKeys = {"a", "b", "counter", "big", "text"};
  static const std::vector<std::string> kValues = {
      "0",   "1",   "-1", "42", "9223372036854775807", "-9223372036854775808", "+1", "01", " 1",
      "1.5", "abc", "",   "-0", "9223372036854775808"};
  const std::string& key = kKeys[random.Uniform(kKeys.size())];
  const std::string& value = kValues[random.Uniform(kValues.size())];
  switch (random.Uniform(9)) {
    case 0:
      return {"GET", key};
    case 1:
      return {"SET", key, value};
    case 2:
      return {"DEL", key, kKeys[random.Uniform(kKeys.size())]};
    case 3:
      return {"INCR", key};
    case 4:
      return {"INCRBY", key, value};
    case 5:
      return {"incrby", key, "9223372036854775807"};
    case 6:
      return {"get"};  // arity
    case 7:
      return {"INCRBY", key};  // arity
    default:
      return {"Set", key, value};
  }
}

TEST_CASE("KvStore replies as redis-server does to the same command stream") {
  auto redis = keel::testing::RedisProcess::Start();
  REQUIRE_MESSAGE(redis.ok(), redis.status().ToString());
  auto client = net::RespClient::Connect("127.0.0.1", (*redis)->port());
  REQUIRE(client.ok());
  const uint64_t seed = keel::testing::TestSeed(501);
  CAPTURE(seed);
  base::Random random(seed);
  KvStore store;
  const uint64_t commands = keel::testing::TestRounds("KEEL_RAFT_KV_ORACLE_COMMANDS", 3000);
  for (uint64_t i = 0; i < commands; ++i) {
    const std::vector<std::string> args = RandomCommand(random);
    std::vector<std::string_view> views(args.begin(), args.end());
    auto expected = (*client)->Call(views);
    REQUIRE(expected.ok());
    CAPTURE(i);
    CAPTURE(args);
    REQUIRE(Reply(store, args) == expected->raw);
  }
  // Unknown commands get Redis's error too.
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"NOSUCH"}, {"nosuch", "a", "b"}}) {
    std::vector<std::string_view> views(args.begin(), args.end());
    auto expected = (*client)->Call(views);
    REQUIRE(expected.ok());
    CHECK(Reply(store, args) == expected->raw);
  }
}

TEST_CASE("KvStore snapshots restore the same map") {
  const uint64_t seed = keel::testing::TestSeed(502);
  CAPTURE(seed);
  base::Random random(seed);
  KvStore store;
  for (int i = 0; i < 500; ++i) (void)Reply(store, RandomCommand(random));
  KvStore copy;
  REQUIRE(copy.Restore(store.Snapshot()).ok());
  CHECK(copy.Snapshot() == store.Snapshot());
  CHECK(copy.size() == store.size());
  // Damage is refused and leaves the store as it was.
  const std::string snapshot = store.Snapshot();
  for (size_t cut = 0; cut < snapshot.size(); ++cut) {
    KvStore damaged;
    REQUIRE(damaged.Restore(snapshot).ok());
    const absl::Status status = damaged.Restore(snapshot.substr(0, cut));
    if (!status.ok()) CHECK(damaged.Snapshot() == snapshot);
  }
  KvStore junk;
  CHECK_FALSE(junk.Restore("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01").ok());
}

TEST_CASE("commands round trip through their log encoding and damage is refused") {
  const std::vector<std::string_view> args = {"SET", "key", std::string_view("a\0b", 3)};
  const std::string bytes = EncodeCommand(args);
  const absl::StatusOr<std::vector<std::string>> decoded = DecodeCommand(bytes);
  REQUIRE(decoded.ok());
  CHECK(*decoded == std::vector<std::string>{"SET", "key", std::string("a\0b", 3)});
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    CHECK_FALSE(DecodeCommand(bytes.substr(0, cut)).ok());
  }
  CHECK_FALSE(DecodeCommand(bytes + "x").ok());
  CHECK_FALSE(DecodeCommand("\xff\xff\xff\xff\x0f").ok());
}

}  // namespace
}  // namespace keel::raft
