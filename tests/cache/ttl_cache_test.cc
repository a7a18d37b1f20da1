// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/cache/ttl_cache.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::cache {
namespace {

using base::ManualClock;

template <typename K, typename V>
TtlCache<K, V> MakeCache(const base::Clock& clock, int64_t default_ttl_ns, size_t max_entries) {
  absl::StatusOr<TtlCache<K, V>> cache =
      TtlCache<K, V>::Create(clock, {.default_ttl_ns = default_ttl_ns, .max_entries = max_entries});
  REQUIRE(cache.ok());
  return *std::move(cache);
}

TEST_CASE("An entry is returned until its ttl runs out") {
  ManualClock clock(1'000);
  auto cache = MakeCache<std::string, int>(clock, /*default_ttl_ns=*/100, /*max_entries=*/10);
  REQUIRE(cache.Put("alice", 1).ok());
  CHECK(cache.Get("alice") == 1);
  clock.Advance(99);
  CHECK(cache.Get("alice") == 1);
  clock.Advance(1);
  CHECK(cache.Get("alice") == std::nullopt);
  CHECK(cache.size() == 0);
}

TEST_CASE("An entry whose expiry time equals now is expired") {
  // Written at 0 with a ttl of 10, the entry lives in [0, 10): at 9 it has 1 ns left, at 10 none.
  ManualClock clock(0);
  auto cache = MakeCache<int64_t, int>(clock, 10, 10);
  REQUIRE(cache.Put(7, 70).ok());
  clock.Set(9);
  CHECK(cache.TtlRemaining(7) == 1);
  CHECK(cache.Contains(7));
  clock.Set(10);
  CHECK(cache.TtlRemaining(7) == std::nullopt);
  CHECK_FALSE(cache.Contains(7));
  CHECK(cache.Find(7) == nullptr);

  // PurgeExpired and eviction use the same boundary.
  REQUIRE(cache.Put(8, 80).ok());  // expires at 20
  clock.Set(19);
  CHECK(cache.PurgeExpired(10) == 0);
  clock.Set(20);
  CHECK(cache.PurgeExpired(10) == 1);
}

TEST_CASE("Overwriting an entry replaces its value and restarts its ttl") {
  ManualClock clock(0);
  auto cache = MakeCache<std::string, std::string>(clock, 100, 10);
  REQUIRE(cache.Put("bob", "home").ok());
  clock.Advance(90);
  REQUIRE(cache.Put("bob", "work").ok());
  CHECK(cache.TtlRemaining("bob") == 100);
  clock.Advance(50);  // 140: past the first write's expiry at 100, before the second's at 190
  CHECK(cache.Get("bob") == "work");
  CHECK(cache.size() == 1);
  clock.Advance(50);
  CHECK(cache.Get("bob") == std::nullopt);
}

TEST_CASE("Overwriting can shorten an entry's ttl") {
  ManualClock clock(0);
  auto cache = MakeCache<int, int>(clock, 1'000, 10);
  REQUIRE(cache.Put(1, 1).ok());
  REQUIRE(cache.Put(2, 2, /*ttl_ns=*/500).ok());
  REQUIRE(cache.Put(1, 11, /*ttl_ns=*/10).ok());
  clock.Advance(10);
  // Entry 1 is now the earliest to expire, and PurgeExpired finds it through the heap.
  CHECK(cache.PurgeExpired(10) == 1);
  CHECK(cache.Get(2) == 2);
  CHECK(cache.size() == 1);
}

TEST_CASE("Put with an explicit ttl overrides the default") {
  ManualClock clock(0);
  auto cache = MakeCache<int, int>(clock, 100, 10);
  REQUIRE(cache.Put(1, 1, /*ttl_ns=*/5).ok());
  REQUIRE(cache.Put(2, 2, /*ttl_ns=*/500).ok());
  CHECK(cache.TtlRemaining(1) == 5);
  CHECK(cache.TtlRemaining(2) == 500);
  clock.Advance(200);
  CHECK_FALSE(cache.Contains(1));
  CHECK(cache.Contains(2));
}

TEST_CASE("A read of an expired entry removes it and counts an expiration") {
  ManualClock clock(0);
  auto cache = MakeCache<int, int>(clock, 10, 10);
  REQUIRE(cache.Put(1, 1).ok());
  REQUIRE(cache.Put(2, 2).ok());
  clock.Advance(10);
  CHECK(cache.size() == 2);  // expired, but nobody has looked yet
  CHECK(cache.Get(1) == std::nullopt);
  CHECK(cache.size() == 1);
  CHECK(cache.stats().expirations == 1);
  CHECK(cache.stats().misses == 1);
  CHECK(cache.stats().hits == 0);
}

TEST_CASE("Erase reports whether it removed a live entry") {
  ManualClock clock(0);
  auto cache = MakeCache<int, int>(clock, 10, 10);
  CHECK_FALSE(cache.Erase(1));
  REQUIRE(cache.Put(1, 1).ok());
  REQUIRE(cache.Put(2, 2).ok());
  CHECK(cache.Erase(1));
  CHECK_FALSE(cache.Erase(1));
  clock.Advance(10);
  CHECK_FALSE(cache.Erase(2));  // expired: removed, but not a live entry
  CHECK(cache.size() == 0);
  CHECK(cache.stats().expirations == 1);
}

TEST_CASE("PurgeExpired removes at most the requested number of entries earliest first") {
  ManualClock clock(0);
  auto cache = MakeCache<int, int>(clock, 1'000, 100);
  for (int i = 0; i < 50; ++i) REQUIRE(cache.Put(i, i, /*ttl_ns=*/100 - i).ok());
  // Entries 0..49 expire at 100, 99, ..., 51. At 80, entries 20..49 have expired.
  clock.Set(80);
  CHECK(cache.PurgeExpired(0) == 0);
  CHECK(cache.PurgeExpired(10) == 10);  // 49 down to 40: the earliest expiry times
  CHECK(cache.size() == 40);
  for (int i = 40; i < 50; ++i) CHECK_FALSE(cache.Contains(i));
  CHECK(cache.stats().expirations == 10);
  CHECK(cache.PurgeExpired(1'000) == 20);  // only the expired ones, never a live entry
  CHECK(cache.size() == 20);
  for (int i = 0; i < 20; ++i) CHECK(cache.Contains(i));
  CHECK(cache.PurgeExpired(1'000) == 0);
}

TEST_CASE("A full cache makes room by removing an expired entry before any live one") {
  ManualClock clock(0);
  auto cache = MakeCache<int, int>(clock, 100, 3);
  REQUIRE(cache.Put(1, 1, /*ttl_ns=*/50).ok());
  REQUIRE(cache.Put(2, 2, /*ttl_ns=*/10).ok());
  REQUIRE(cache.Put(3, 3, /*ttl_ns=*/80).ok());
  clock.Set(20);  // entry 2 has expired
  REQUIRE(cache.Put(4, 4).ok());
  CHECK(cache.size() == 3);
  CHECK(cache.stats().expirations == 1);
  CHECK(cache.stats().evictions == 0);
  CHECK(cache.Contains(1));
  CHECK(cache.Contains(3));
  CHECK(cache.Contains(4));
}

TEST_CASE("A full cache evicts the live entry closest to expiry") {
  ManualClock clock(0);
  auto cache = MakeCache<int, int>(clock, 100, 3);
  REQUIRE(cache.Put(1, 1, /*ttl_ns=*/50).ok());
  REQUIRE(cache.Put(2, 2, /*ttl_ns=*/30).ok());
  REQUIRE(cache.Put(3, 3, /*ttl_ns=*/80).ok());
  REQUIRE(cache.Put(4, 4, /*ttl_ns=*/1).ok());  // stored although it expires first of all
  CHECK(cache.stats().evictions == 1);
  CHECK_FALSE(cache.Contains(2));
  REQUIRE(cache.Put(5, 5).ok());
  CHECK_FALSE(cache.Contains(4));
  REQUIRE(cache.Put(6, 6).ok());
  CHECK_FALSE(cache.Contains(1));
  CHECK(cache.stats().evictions == 3);
  CHECK(cache.Contains(3));
  CHECK(cache.Contains(5));
  CHECK(cache.Contains(6));
}

TEST_CASE("Entries with equal expiry times are evicted in write order") {
  ManualClock clock(0);
  auto cache = MakeCache<int, int>(clock, 100, 4);
  for (int key : {30, 10, 40, 20}) REQUIRE(cache.Put(key, key).ok());
  REQUIRE(cache.Put(50, 50).ok());
  CHECK_FALSE(cache.Contains(30));
  REQUIRE(cache.Put(60, 60).ok());
  CHECK_FALSE(cache.Contains(10));
  REQUIRE(cache.Put(70, 70).ok());
  CHECK_FALSE(cache.Contains(40));
  CHECK(cache.Contains(20));
}

TEST_CASE("Overwriting a key of a full cache evicts nothing") {
  ManualClock clock(0);
  auto cache = MakeCache<int, int>(clock, 100, 2);
  REQUIRE(cache.Put(1, 1).ok());
  REQUIRE(cache.Put(2, 2).ok());
  REQUIRE(cache.Put(1, 10).ok());
  REQUIRE(cache.Put(2, 20).ok());
  CHECK(cache.stats().evictions == 0);
  CHECK(cache.Get(1) == 10);
  CHECK(cache.Get(2) == 20);
  // An expired key written again takes its own slot back: counted as an expiration, no eviction.
  clock.Advance(100);
  REQUIRE(cache.Put(1, 100).ok());
  CHECK(cache.stats().expirations == 1);
  CHECK(cache.stats().evictions == 0);
  CHECK(cache.Get(1) == 100);
}

TEST_CASE("Bad options are rejected with a message naming the value") {
  ManualClock clock(0);
  auto zero_ttl = TtlCache<int, int>::Create(clock, {.default_ttl_ns = 0, .max_entries = 10});
  CHECK(zero_ttl.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(zero_ttl.status().message(), "default_ttl_ns 0"));

  auto negative_ttl = TtlCache<int, int>::Create(clock, {.default_ttl_ns = -5, .max_entries = 10});
  CHECK(negative_ttl.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(negative_ttl.status().message(), "default_ttl_ns -5"));

  auto no_room = TtlCache<int, int>::Create(clock, {.default_ttl_ns = 10, .max_entries = 0});
  CHECK(no_room.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(no_room.status().message(), "max_entries 0"));

  auto too_big = TtlCache<int, int>::Create(
      clock, {.default_ttl_ns = 10, .max_entries = kTtlCacheMaxEntriesLimit + 1});
  CHECK(too_big.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(too_big.status().message(), "max_entries 4294967295"));

  CHECK(TtlCache<int, int>::Create(clock, {.default_ttl_ns = 1, .max_entries = 1}).ok());
}

TEST_CASE("A bad ttl is rejected and leaves the cache unchanged") {
  ManualClock clock(std::numeric_limits<int64_t>::max() - 100);
  auto cache = MakeCache<int, int>(clock, 10, 10);
  REQUIRE(cache.Put(1, 1).ok());

  const absl::Status zero = cache.Put(1, 2, /*ttl_ns=*/0);
  CHECK(zero.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(zero.message(), "ttl_ns 0"));
  const absl::Status negative = cache.Put(2, 2, /*ttl_ns=*/-1);
  CHECK(negative.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(negative.message(), "ttl_ns -1"));
  const absl::Status overflow = cache.Put(1, 3, /*ttl_ns=*/101);
  CHECK(overflow.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(overflow.message(), "ttl_ns 101"));
  CHECK(absl::StrContains(overflow.message(), "overflows"));

  CHECK(cache.size() == 1);
  CHECK(cache.Get(1) == 1);
  CHECK(cache.TtlRemaining(1) == 10);
  CHECK(cache.Put(1, 4, /*ttl_ns=*/100).ok());  // expires at exactly INT64_MAX: still fits
  CHECK(cache.TtlRemaining(1) == 100);
}

// A clock a test can move anywhere, backwards included, as SystemClock can go when the host's
// time is set.
class SteppingClock final : public base::Clock {
 public:
  [[nodiscard]] int64_t NowNanos() const override { return now_ns; }
  int64_t now_ns = 0;
};

TEST_CASE("A clock that steps back does not bring expired entries back") {
  SteppingClock clock;
  clock.now_ns = 100;
  auto cache = MakeCache<int, int>(clock, 10, 10);
  REQUIRE(cache.Put(1, 1).ok());  // expires at 110
  clock.now_ns = 120;
  REQUIRE(cache.Put(2, 2).ok());  // expires at 130
  clock.now_ns = 50;              // back in time: the cache keeps 120
  CHECK(cache.TtlRemaining(2) == 10);
  CHECK(cache.PurgeExpired(10) == 1);  // entry 1, expired at 110
  REQUIRE(cache.Put(3, 3).ok());       // written at 120, expires at 130, after entry 2
  clock.now_ns = 130;
  CHECK(cache.PurgeExpired(10) == 2);
  CHECK(cache.empty());
}

TEST_CASE("String keys are looked up by string view and by literal") {
  ManualClock clock(0);
  auto cache = MakeCache<std::string, int>(clock, 100, 10);
  const std::string owned = "carol";
  const std::string_view view = owned;
  REQUIRE(cache.Put(view, 1).ok());
  CHECK(cache.Get("carol") == 1);
  CHECK(cache.Get(owned) == 1);
  CHECK(cache.Get(view.substr(0, 4)) == std::nullopt);
  CHECK(*cache.Find(std::string_view("carol")) == 1);
  CHECK(cache.Erase(view));
  CHECK(cache.empty());
}

TEST_CASE("Values that can only be moved are stored and found") {
  ManualClock clock(0);
  auto cache = MakeCache<int, std::unique_ptr<int>>(clock, 100, 2);
  REQUIRE(cache.Put(1, std::make_unique<int>(10)).ok());
  REQUIRE(cache.Put(2, std::make_unique<int>(20)).ok());
  REQUIRE(cache.Put(3, std::make_unique<int>(30)).ok());  // evicts 1
  const std::unique_ptr<int>* three = cache.Find(3);
  REQUIRE(three != nullptr);
  CHECK(**three == 30);
  CHECK(cache.Find(1) == nullptr);
}

TEST_CASE("A moved cache keeps its entries and keeps working") {
  ManualClock clock(0);
  auto original = MakeCache<std::string, int>(clock, 100, 1'000);
  for (int i = 0; i < 500; ++i) REQUIRE(original.Put(std::to_string(i), i).ok());
  TtlCache<std::string, int> moved = std::move(original);
  for (int i = 0; i < 500; ++i) CHECK(moved.Get(std::to_string(i)) == i);
  // Growing the index rehashes every key, through the moved arena.
  for (int i = 500; i < 1'000; ++i) REQUIRE(moved.Put(std::to_string(i), i).ok());
  CHECK(moved.size() == 1'000);
  CHECK(moved.Get("999") == 999);

  auto other = MakeCache<std::string, int>(clock, 100, 10);
  REQUIRE(other.Put("x", 1).ok());
  other = std::move(moved);
  CHECK(other.Get("x") == std::nullopt);
  CHECK(other.Get("0") == 0);
  REQUIRE(other.Put("1000", 1'000).ok());  // full: evicts the earliest write, "0"
  CHECK_FALSE(other.Contains("0"));
}

TEST_CASE("Stats count hits misses expirations and evictions") {
  ManualClock clock(0);
  auto cache = MakeCache<int, int>(clock, 10, 2);
  REQUIRE(cache.Put(1, 1).ok());
  CHECK(cache.Get(1) == 1);                  // hit
  CHECK(cache.Find(2) == nullptr);           // miss
  CHECK(cache.Contains(1));                  // neither
  CHECK(cache.TtlRemaining(1).has_value());  // neither
  REQUIRE(cache.Put(2, 2).ok());
  REQUIRE(cache.Put(3, 3).ok());  // evicts 1
  clock.Advance(10);
  CHECK(cache.Get(2) == std::nullopt);  // miss and expiration
  CHECK(cache.PurgeExpired(5) == 1);    // expiration of 3
  const TtlCacheStats& stats = cache.stats();
  CHECK(stats.hits == 1);
  CHECK(stats.misses == 2);
  CHECK(stats.expirations == 2);
  CHECK(stats.evictions == 1);
}

// ---------------------------------------------------------------------------------------------
// The oracle: a std::map of (value, expiry, write order), scanned linearly for every decision
// that needs the earliest expiry.
// ---------------------------------------------------------------------------------------------
template <typename K>
class OracleCache {
 public:
  OracleCache(const base::Clock& clock, int64_t default_ttl_ns, size_t max_entries)
      : clock_(clock), default_ttl_ns_(default_ttl_ns), max_entries_(max_entries) {}

  bool Put(const K& key, int value, int64_t ttl_ns) {
    const int64_t now = clock_.NowNanos();
    if (ttl_ns <= 0 || now > std::numeric_limits<int64_t>::max() - ttl_ns) return false;
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (it->second.expire_at_ns <= now) ++stats_.expirations;
      it->second = {value, now + ttl_ns, next_seq_++};
      return true;
    }
    if (entries_.size() == max_entries_) {
      auto earliest = Earliest();
      if (earliest->second.expire_at_ns <= now) {
        ++stats_.expirations;
      } else {
        ++stats_.evictions;
      }
      entries_.erase(earliest);
    }
    entries_.emplace(key, Entry{value, now + ttl_ns, next_seq_++});
    return true;
  }
  bool Put(const K& key, int value) { return Put(key, value, default_ttl_ns_); }

  std::optional<int> Get(const K& key) {
    auto it = LiveOrErase(key);
    if (it == entries_.end()) {
      ++stats_.misses;
      return std::nullopt;
    }
    ++stats_.hits;
    return it->second.value;
  }

  bool Erase(const K& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    const bool live = it->second.expire_at_ns > clock_.NowNanos();
    if (!live) ++stats_.expirations;
    entries_.erase(it);
    return live;
  }

  std::optional<int64_t> TtlRemaining(const K& key) {
    auto it = LiveOrErase(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second.expire_at_ns - clock_.NowNanos();
  }

  size_t PurgeExpired(size_t max_entries) {
    size_t removed = 0;
    while (removed < max_entries && !entries_.empty()) {
      auto earliest = Earliest();
      if (earliest->second.expire_at_ns > clock_.NowNanos()) break;
      entries_.erase(earliest);
      ++stats_.expirations;
      ++removed;
    }
    return removed;
  }

  size_t size() const { return entries_.size(); }
  const TtlCacheStats& stats() const { return stats_; }

 private:
  struct Entry {
    int value;
    int64_t expire_at_ns;
    uint64_t seq;
  };

  typename std::map<K, Entry>::iterator Earliest() {
    auto best = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      const Entry& e = it->second;
      const Entry& b = best->second;
      if (e.expire_at_ns < b.expire_at_ns || (e.expire_at_ns == b.expire_at_ns && e.seq < b.seq)) {
        best = it;
      }
    }
    return best;
  }

  typename std::map<K, Entry>::iterator LiveOrErase(const K& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return it;
    if (it->second.expire_at_ns <= clock_.NowNanos()) {
      ++stats_.expirations;
      entries_.erase(it);
      return entries_.end();
    }
    return it;
  }

  const base::Clock& clock_;
  int64_t default_ttl_ns_;
  size_t max_entries_;
  std::map<K, Entry> entries_;
  uint64_t next_seq_ = 0;
  TtlCacheStats stats_;
};

bool SameStats(const TtlCacheStats& a, const TtlCacheStats& b) {
  return a.hits == b.hits && a.misses == b.misses && a.expirations == b.expirations &&
         a.evictions == b.evictions;
}

// Drives a TtlCache and the oracle with the same random operations and compares every result.
// `make_key` turns a number in [0, key_space) into a key.
template <typename K, typename MakeKey>
void RunDifferential(uint64_t seed, MakeKey make_key) {
  base::Random rng(seed);
  for (int round = 0; round < 40; ++round) {
    const uint64_t key_space = 1 + rng.Uniform(64);
    const size_t max_entries = 1 + rng.Uniform(48);
    const int64_t default_ttl_ns = 1 + static_cast<int64_t>(rng.Uniform(100));
    const int64_t max_advance_ns = 1 + static_cast<int64_t>(rng.Uniform(40));
    CAPTURE(round);
    CAPTURE(key_space);
    CAPTURE(max_entries);
    CAPTURE(default_ttl_ns);
    ManualClock clock(static_cast<int64_t>(rng.Uniform(1'000)));
    auto cache = MakeCache<K, int>(clock, default_ttl_ns, max_entries);
    OracleCache<K> oracle(clock, default_ttl_ns, max_entries);
    for (int step = 0; step < 5'000; ++step) {
      CAPTURE(step);
      const K key = make_key(rng.Uniform(key_space));
      const uint64_t op = rng.Uniform(100);
      if (op < 30) {
        const int value = static_cast<int>(rng.Uniform(1'000'000));
        REQUIRE(cache.Put(key, value).ok() == oracle.Put(key, value));
      } else if (op < 45) {
        // Explicit ttls, sometimes bad ones.
        const int64_t ttl_ns = static_cast<int64_t>(rng.Uniform(150)) - 5;
        const int value = static_cast<int>(rng.Uniform(1'000'000));
        REQUIRE(cache.Put(key, value, ttl_ns).ok() == oracle.Put(key, value, ttl_ns));
      } else if (op < 65) {
        REQUIRE(cache.Get(key) == oracle.Get(key));
      } else if (op < 72) {
        REQUIRE(cache.Erase(key) == oracle.Erase(key));
      } else if (op < 80) {
        REQUIRE(cache.TtlRemaining(key) == oracle.TtlRemaining(key));
      } else if (op < 85) {
        REQUIRE(cache.Contains(key) == oracle.TtlRemaining(key).has_value());
      } else if (op < 90) {
        const size_t n = rng.Uniform(8);
        REQUIRE(cache.PurgeExpired(n) == oracle.PurgeExpired(n));
      } else {
        clock.Advance(static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(max_advance_ns))));
      }
      REQUIRE(cache.size() == oracle.size());
      REQUIRE(cache.size() <= max_entries);
      REQUIRE(SameStats(cache.stats(), oracle.stats()));
    }
    // Every key, read at the end, agrees too.
    for (uint64_t k = 0; k < key_space; ++k)
      REQUIRE(cache.Get(make_key(k)) == oracle.Get(make_key(k)));
  }
}

TEST_CASE("Random operations on integer keys match a linear-scan oracle") {
  const uint64_t seed = testing::TestSeed(20260301);
  CAPTURE(seed);
  RunDifferential<int64_t>(seed, [](uint64_t k) { return static_cast<int64_t>(k) - 20; });
}

TEST_CASE("Random operations on string keys match a linear-scan oracle") {
  const uint64_t seed = testing::TestSeed(20260302);
  CAPTURE(seed);
  // Long keys, so that the strings live on the heap and a dangling key would be caught.
  RunDifferential<std::string>(
      seed, [](uint64_t k) { return "user:" + std::to_string(k) + std::string(24, 'x'); });
}

}  // namespace
}  // namespace keel::cache
