// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::redis::Database against a plain oracle (a std::map of keys to values and expiry times)
// over random operations and clock steps: lookups expire keys whose time has come, the active
// expiry deletes them earliest first and reports each, and a SCAN walk interleaved with random
// changes visits every key present for the whole walk exactly once and nothing twice.
#include "keel/redis/database.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "testing/testing.h"

namespace keel::redis {
namespace {

struct OracleEntry {
  std::string value;
  int64_t expiry_ms = Database::kNoExpiry;
};

// Whether the entry's time has come at `now`.
bool Due(const OracleEntry& entry, int64_t now) {
  return entry.expiry_ms != Database::kNoExpiry && entry.expiry_ms <= now;
}

TEST_CASE("Database matches a map oracle over random operations and clock steps") {
  const uint64_t rounds = keel::testing::TestRounds("KEEL_REDIS_DATABASE_ROUNDS", 20);
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t seed = keel::testing::TestSeed(4200 + round);
    CAPTURE(seed);
    base::Random rng(seed);
    Database db;
    // What is stored: a key whose time has come stays until a lookup meets it or the active
    // expiry deletes it. Commands look a key up first; the raw operations below do not expire.
    std::map<std::string, OracleEntry> stored;
    std::vector<std::string> reported;  // what on_expired was told
    db.set_on_expired([&](std::string_view key) { reported.emplace_back(key); });
    int64_t now = 1'000'000;
    db.set_now_ms(now);
    uint64_t hits = 0, misses = 0, expired = 0;
    for (int step = 0; step < 3000; ++step) {
      const std::string key = base::Cat("k", rng.Uniform(60));
      const auto it = stored.find(key);
      const bool is_stored = it != stored.end();
      switch (rng.Uniform(8)) {
        case 0: {  // SET, sometimes KEEPTTL
          const bool keep = rng.Uniform(4) == 0;
          const std::string value = base::Cat("v", step);
          const int64_t expiry = keep && is_stored ? it->second.expiry_ms : Database::kNoExpiry;
          stored[key] = {value, expiry};
          db.Set(key, Value::String(value), keep);
          break;
        }
        case 1:  // DEL
          CHECK(db.Delete(key) == is_stored);
          stored.erase(key);
          break;
        case 2: {  // PEXPIREAT, of a stored key: past, near or far
          if (!is_stored) {
            CHECK(db.Peek(key) == nullptr);
            break;
          }
          const int64_t at = now + static_cast<int64_t>(rng.Uniform(2000)) - 200;
          db.SetExpiry(key, at);
          it->second.expiry_ms = at;
          break;
        }
        case 3:  // PERSIST
          CHECK(db.Persist(key) == (is_stored && it->second.expiry_ms != Database::kNoExpiry));
          if (is_stored) it->second.expiry_ms = Database::kNoExpiry;
          break;
        case 4: {  // a lookup (GET): expires the key if its time has come
          reported.clear();
          const Value* v = db.Find(key);
          if (is_stored && Due(it->second, now)) {
            CHECK(v == nullptr);
            CHECK(reported == std::vector<std::string>{key});
            stored.erase(it);
            ++expired;
            ++misses;
          } else if (is_stored) {
            REQUIRE(v != nullptr);
            CHECK(v->string() == it->second.value);
            ++hits;
          } else {
            CHECK(v == nullptr);
            ++misses;
          }
          break;
        }
        case 5:  // time passes
          now += static_cast<int64_t>(rng.Uniform(300));
          db.set_now_ms(now);
          break;
        case 6: {  // an active expiry step: earliest first, ties by key
          const size_t limit = rng.Uniform(5);
          std::vector<std::pair<int64_t, std::string>> due;
          for (const auto& [k, e] : stored) {
            if (Due(e, now)) due.emplace_back(e.expiry_ms, k);
          }
          std::sort(due.begin(), due.end());
          reported.clear();
          const size_t deleted = db.DeleteExpired(limit);
          REQUIRE(deleted == std::min(limit, due.size()));
          REQUIRE(reported.size() == deleted);
          for (size_t i = 0; i < deleted; ++i) {
            CHECK(reported[i] == due[i].second);
            stored.erase(due[i].second);
            ++expired;
          }
          break;
        }
        case 7:  // PTTL's source
          CHECK(db.Expiry(key) == (is_stored ? it->second.expiry_ms : Database::kNoExpiry));
          break;
      }
      size_t with_expiry = 0;
      for (const auto& [k, e] : stored) with_expiry += e.expiry_ms != Database::kNoExpiry;
      REQUIRE(db.size() == stored.size());
      REQUIRE(db.volatile_size() == with_expiry);
      REQUIRE(db.hits() == hits);
      REQUIRE(db.misses() == misses);
      REQUIRE(db.expired() == expired);
    }
    // Finally every key, looked up, is what the oracle says.
    for (const auto& [key, entry] : stored) {
      const Value* v = db.Find(key);
      REQUIRE((v != nullptr) == !Due(entry, now));
      if (v != nullptr) CHECK(v->string() == entry.value);
    }
  }
}

TEST_CASE("A SCAN walk visits each key present throughout exactly once, whatever changes") {
  const uint64_t rounds = keel::testing::TestRounds("KEEL_REDIS_DATABASE_ROUNDS", 20);
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t seed = keel::testing::TestSeed(4300 + round);
    CAPTURE(seed);
    base::Random rng(seed);
    Database db;
    db.set_now_ms(1000);
    std::set<std::string> keys;
    for (int i = 0; i < 500; ++i) {
      const std::string key = base::Cat("key:", rng.Uniform(2000));
      db.Set(key, Value::String("x"));
      keys.insert(key);
    }
    // Keys that stay for the whole walk: never deleted below.
    std::set<std::string> stable;
    for (const std::string& key : keys) {
      if (rng.Uniform(2) == 0) stable.insert(key);
    }
    std::multiset<std::string> visited;
    uint64_t cursor = 0;
    int calls = 0;
    do {
      cursor = db.Scan(cursor, 1 + rng.Uniform(20),
                       [&](std::string_view key, const Value&) { visited.emplace(key); });
      ++calls;
      // Changes between calls: new keys, and deletions of keys that are not stable.
      for (int c = 0; c < 5; ++c) {
        const std::string key = base::Cat("key:", rng.Uniform(4000));
        if (stable.count(key) > 0) continue;
        if (rng.Uniform(2) == 0) {
          db.Set(key, Value::String("y"));
        } else {
          db.Delete(key);
        }
      }
      REQUIRE(calls < 10'000);
    } while (cursor != 0);
    for (const std::string& key : stable) {
      CAPTURE(key);
      CHECK(visited.count(key) == 1);
    }
    // Nothing is visited twice, stable or not.
    for (auto it = visited.begin(); it != visited.end(); it = visited.upper_bound(*it)) {
      CHECK(visited.count(*it) == 1);
    }
  }
}

TEST_CASE("While loading nothing expires on lookup, and expired keys are skipped by SCAN") {
  Database db;
  db.set_now_ms(10'000);
  db.Set("old", Value::String("a"));
  db.SetExpiry("old", 5'000);  // already past
  db.Set("new", Value::String("b"));
  db.set_loading(true);
  REQUIRE(db.Find("old") != nullptr);  // a replay rebuilds what the log recorded
  db.set_loading(false);
  std::vector<std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor =
        db.Scan(cursor, 10, [&](std::string_view key, const Value&) { seen.emplace_back(key); });
  } while (cursor != 0);
  CHECK(seen == std::vector<std::string>{"new"});
  CHECK(db.Find("old") == nullptr);
  CHECK(db.expired() == 1);
  CHECK(db.size() == 1);
}

}  // namespace
}  // namespace keel::redis
