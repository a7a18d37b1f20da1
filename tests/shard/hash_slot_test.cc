// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/hash_slot.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/net/resp_client.h"
#include "redis_process.h"
#include "shard_testing.h"
#include "testing/testing.h"

namespace keel::shard {
namespace {

// The CRC a bit at a time, straight from its definition: the message, high bit first, divided by
// x^16 + x^12 + x^5 + 1 with a zero register. Independent of the table-driven code under test.
uint16_t BitwiseCrc16(std::string_view bytes) {
  uint32_t crc = 0;
  for (const char c : bytes) {
    for (int bit = 7; bit >= 0; --bit) {
      const uint32_t in = (static_cast<uint8_t>(c) >> bit) & 1;
      const uint32_t top = (crc >> 15) & 1;
      crc = (crc << 1) & 0xffff;
      if ((top ^ in) != 0) crc ^= 0x1021;
    }
  }
  return static_cast<uint16_t>(crc);
}

std::string RandomKey(base::Random& rng) {
  // Mostly braces and a few letters, so that every hash-tag case comes up often; now and then any
  // byte at all (Redis keys are binary).
  static constexpr std::string_view kAlphabet = "{}{}ab";
  std::string key;
  const uint64_t length = rng.Uniform(12);
  for (uint64_t i = 0; i < length; ++i) {
    key.push_back(rng.Uniform(8) == 0 ? static_cast<char>(rng.Uniform(256))
                                      : kAlphabet[rng.Uniform(kAlphabet.size())]);
  }
  return key;
}

TEST_CASE("CRC16 XMODEM has its check value") {
  CHECK(Crc16Xmodem("123456789") == 0x31C3);
  CHECK(Crc16Xmodem("") == 0);
  CHECK(BitwiseCrc16("123456789") == 0x31C3);
}

TEST_CASE("CRC16 matches the bitwise definition on random bytes") {
  const uint64_t seed = keel::testing::TestSeed(1201);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 5000; ++i) {
    std::string bytes(rng.Uniform(40), '\0');
    for (char& c : bytes) c = static_cast<char>(rng.Uniform(256));
    CAPTURE(base::Quoted(bytes));
    REQUIRE(Crc16Xmodem(bytes) == BitwiseCrc16(bytes));
  }
}

TEST_CASE("Hash tags follow the Redis Cluster specification examples") {
  // The examples of the specification's "Hash tags" section.
  CHECK(HashTagOf("{user1000}.following") == "user1000");
  CHECK(HashTagOf("{user1000}.followers") == "user1000");
  CHECK(KeySlot("{user1000}.following") == KeySlot("{user1000}.followers"));
  CHECK(HashTagOf("foo{}{bar}") == "foo{}{bar}");  // the first '{' closes at once: whole key
  CHECK(HashTagOf("foo{{bar}}zap") == "{bar");     // the first '{', then the first '}' after it
  CHECK(HashTagOf("foo{bar}{zap}") == "bar");      // only the first tag counts
  // And the edges around them.
  CHECK(HashTagOf("") == "");
  CHECK(HashTagOf("{}") == "{}");
  CHECK(HashTagOf("{") == "{");
  CHECK(HashTagOf("}{") == "}{");
  CHECK(HashTagOf("}{x}") == "x");
  CHECK(HashTagOf("a{b") == "a{b");
  CHECK(HashTagOf("{a}") == "a");
  CHECK(HashTagOf("x{}}y{z}") == "x{}}y{z}");
  CHECK(KeySlot("foo") == (BitwiseCrc16("foo") & 16383));
  CHECK(KeySlot("{user1000}.following") == (BitwiseCrc16("user1000") & 16383));
}

TEST_CASE("Key slots match redis-server CLUSTER KEYSLOT on random keys") {
  absl::StatusOr<std::unique_ptr<keel::testing::RedisProcess>> server =
      keel::testing::RedisProcess::Start({.cluster = true, .extra_args = {}});
  if (absl::IsNotFound(server.status())) {
    MESSAGE("skipped: redis-server is not on PATH (scripts/install-deps.sh installs it)");
    return;
  }
  REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  absl::StatusOr<std::unique_ptr<net::RespClient>> client =
      net::RespClient::Connect("127.0.0.1", (*server)->port());
  REQUIRE_MESSAGE(client.ok(), client.status().ToString());
  const uint64_t seed = keel::testing::TestSeed(1202);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<std::string> keys = {
      "", "{", "}", "{}", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{user1000}.following"};
  while (keys.size() < 4000) keys.push_back(RandomKey(rng));
  // Pipelined: every command first, then every reply (Redis buffers the replies meanwhile).
  for (const std::string& key : keys) REQUIRE((*client)->Send({"CLUSTER", "KEYSLOT", key}).ok());
  for (const std::string& key : keys) {
    CAPTURE(base::Quoted(key));
    const absl::StatusOr<net::RespReply> reply = (*client)->Read();
    REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
    REQUIRE(reply->raw == base::Cat(":", KeySlot(key), "\r\n"));
  }
}

TEST_CASE("A slot table routes every slot of its assigned ranges") {
  SlotTable table;
  CHECK(table.RouteKey("foo").status().code() == absl::StatusCode::kUnavailable);
  REQUIRE(table.Assign({.first = 0, .last = 5460}, 1).ok());
  REQUIRE(table.Assign({.first = 5461, .last = 10922}, 2).ok());
  CHECK(!table.covers_all_slots());
  REQUIRE(table.Assign({.first = 10923, .last = 16383}, 3).ok());
  CHECK(table.covers_all_slots());
  CHECK(table.SlotsOwnedBy(1) == 5461);
  CHECK(table.SlotsOwnedBy(3) == 5461);
  CHECK(table.Route(0)->owner == 1);
  CHECK(table.Route(5461)->owner == 2);
  CHECK(table.Route(16383)->owner == 3);
  const absl::StatusOr<SlotRoute> route = table.RouteKey("{user1000}.following");
  REQUIRE(route.ok());
  CHECK(route->slot == KeySlot("user1000"));
  using Ranges = std::vector<std::pair<SlotRange, NodeId>>;
  CHECK(table.Ranges() == Ranges{{{0, 5460}, 1}, {{5461, 10922}, 2}, {{10923, 16383}, 3}});

  // Moving one slot as Redis does: the old owner serves it, pointing at the new one, until the
  // migration completes.
  REQUIRE(table.BeginMigration(100, 4).ok());
  CHECK(*table.Route(100) == SlotRoute{.slot = 100, .owner = 1, .importing = 4});
  CHECK(table.migrating_slots() == 1);
  REQUIRE(table.CompleteMigration(100).ok());
  CHECK(*table.Route(100) == SlotRoute{.slot = 100, .owner = 4, .importing = std::nullopt});
  CHECK(table.Ranges() == Ranges{{{0, 99}, 1},
                                 {{100, 100}, 4},
                                 {{101, 5460}, 1},
                                 {{5461, 10922}, 2},
                                 {{10923, 16383}, 3}});
  REQUIRE(table.BeginMigration(100, 1).ok());
  REQUIRE(table.AbortMigration(100).ok());
  CHECK(*table.Route(100) == SlotRoute{.slot = 100, .owner = 4, .importing = std::nullopt});
}

TEST_CASE("Bad slot table requests are refused with the bad value named") {
  SlotTable table;
  const auto refused = testing::CheckRefused;
  refused(table.Assign({.first = 5, .last = 4}, 1), absl::StatusCode::kInvalidArgument, "5-4");
  refused(table.Assign({.first = 0, .last = 16384}, 1), absl::StatusCode::kInvalidArgument,
          "16384");
  REQUIRE(table.Assign({.first = 10, .last = 20}, 1).ok());
  refused(table.Assign({.first = 0, .last = 10}, 2), absl::StatusCode::kFailedPrecondition,
          "slot 10 already belongs to node 1");
  CHECK(table.SlotsOwnedBy(2) == 0);  // nothing of the refused range was taken
  refused(table.Route(16384).status(), absl::StatusCode::kInvalidArgument, "16384");
  refused(table.Route(9).status(), absl::StatusCode::kUnavailable, "slot 9");
  refused(table.Unassign({.first = 9, .last = 10}), absl::StatusCode::kFailedPrecondition,
          "slot 9 has no owner");
  refused(table.BeginMigration(9, 2), absl::StatusCode::kFailedPrecondition, "slot 9");
  refused(table.BeginMigration(16384, 2), absl::StatusCode::kInvalidArgument, "16384");
  refused(table.BeginMigration(10, 1), absl::StatusCode::kFailedPrecondition, "node 1");
  refused(table.CompleteMigration(10), absl::StatusCode::kFailedPrecondition, "not migrating");
  refused(table.AbortMigration(10), absl::StatusCode::kFailedPrecondition, "not migrating");
  REQUIRE(table.BeginMigration(10, 2).ok());
  refused(table.BeginMigration(10, 3), absl::StatusCode::kFailedPrecondition,
          "already migrating to node 2");
  refused(table.Unassign({.first = 10, .last = 20}), absl::StatusCode::kFailedPrecondition,
          "slot 10 is migrating to node 2");
  CHECK(table.assigned_slots() == 11);
}

// The oracle: a std::map from slot to owner and one from slot to migration target, and the rules
// written out plainly.
struct OracleSlots {
  std::map<uint32_t, NodeId> owner;
  std::map<uint32_t, NodeId> importing;

  bool Assign(SlotRange r, NodeId node) {
    if (r.first > r.last || r.last >= kSlotCount) return false;
    for (uint32_t s = r.first; s <= r.last; ++s) {
      if (owner.contains(s)) return false;
    }
    for (uint32_t s = r.first; s <= r.last; ++s) owner[s] = node;
    return true;
  }
  bool Unassign(SlotRange r) {
    if (r.first > r.last || r.last >= kSlotCount) return false;
    for (uint32_t s = r.first; s <= r.last; ++s) {
      if (!owner.contains(s) || importing.contains(s)) return false;
    }
    for (uint32_t s = r.first; s <= r.last; ++s) owner.erase(s);
    return true;
  }
  bool Begin(uint32_t s, NodeId target) {
    if (!owner.contains(s) || owner[s] == target || importing.contains(s)) return false;
    importing[s] = target;
    return true;
  }
  bool End(uint32_t s, bool complete) {
    if (!owner.contains(s) || !importing.contains(s)) return false;
    if (complete) owner[s] = importing[s];
    importing.erase(s);
    return true;
  }
};

TEST_CASE("A slot table agrees with a map oracle on random assignments and migrations") {
  const uint64_t seed = keel::testing::TestSeed(1203);
  CAPTURE(seed);
  base::Random rng(seed);
  SlotTable table;
  OracleSlots oracle;
  for (int step = 0; step < 3000; ++step) {
    CAPTURE(step);
    const uint32_t first = static_cast<uint32_t>(rng.Uniform(kSlotCount + 2));
    const SlotRange range{first, first + static_cast<uint32_t>(rng.Uniform(40)) - 3};
    const auto slot = static_cast<uint32_t>(rng.Uniform(kSlotCount + 1));
    const auto node = static_cast<NodeId>(rng.Uniform(5));
    switch (rng.Uniform(5)) {
      case 0:
        REQUIRE(table.Assign(range, node).ok() == oracle.Assign(range, node));
        break;
      case 1:
        REQUIRE(table.Unassign(range).ok() == oracle.Unassign(range));
        break;
      case 2: {
        // Mostly slots that have an owner, so that migrations happen.
        const uint32_t owned = oracle.owner.empty() || rng.Uniform(4) == 0
                                   ? slot
                                   : std::next(oracle.owner.begin(),
                                               static_cast<long>(rng.Uniform(oracle.owner.size())))
                                         ->first;
        REQUIRE(table.BeginMigration(owned, node).ok() == oracle.Begin(owned, node));
        break;
      }
      case 3:
      case 4: {
        const bool complete = rng.Uniform(2) == 0;
        const uint32_t moving = oracle.importing.empty() || rng.Uniform(4) == 0
                                    ? slot
                                    : oracle.importing.begin()->first;
        REQUIRE((complete ? table.CompleteMigration(moving) : table.AbortMigration(moving)).ok() ==
                oracle.End(moving, complete));
        break;
      }
    }
    if (step % 100 != 99) continue;
    for (uint32_t s = 0; s < kSlotCount; ++s) {
      const absl::StatusOr<SlotRoute> route = table.Route(s);
      REQUIRE(route.ok() == oracle.owner.contains(s));
      if (!route.ok()) continue;
      REQUIRE(route->owner == oracle.owner[s]);
      REQUIRE(route->importing.has_value() == oracle.importing.contains(s));
      if (route->importing) REQUIRE(*route->importing == oracle.importing[s]);
    }
    size_t covered = 0;
    for (const auto& [r, owner] : table.Ranges()) {
      for (uint32_t s = r.first; s <= r.last; ++s) REQUIRE(oracle.owner.at(s) == owner);
      covered += r.last - r.first + 1;
    }
    REQUIRE(covered == oracle.owner.size());
    REQUIRE(table.assigned_slots() == oracle.owner.size());
    REQUIRE(table.migrating_slots() == oracle.importing.size());
  }
}

}  // namespace
}  // namespace keel::shard
