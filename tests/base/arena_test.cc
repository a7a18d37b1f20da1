// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/internal/arena.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::base::internal {
namespace {

constexpr size_t kHuge = Arena::kHugeChunkBytes;

// Fills an object with bytes derived from its identity, so that an overlap with another object,
// or a free-list link written into a live one, shows as a changed byte.
void Fill(void* object, size_t bytes, uint64_t tag) {
  auto* p = static_cast<unsigned char*>(object);
  for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>((tag * 131 + i * 7) >> 1);
}

bool Intact(const void* object, size_t bytes, uint64_t tag) {
  const auto* p = static_cast<const unsigned char*>(object);
  for (size_t i = 0; i < bytes; ++i) {
    if (p[i] != static_cast<unsigned char>((tag * 131 + i * 7) >> 1)) return false;
  }
  return true;
}

TEST_CASE("A small arena holds one small chunk and rounds objects to 8 bytes") {
  Arena arena;
  CHECK(arena.held_bytes() == 0);
  void* a = arena.Allocate(23);
  CHECK(reinterpret_cast<uintptr_t>(a) % Arena::kGranule == 0);
  CHECK(arena.live_bytes() == 24);
  CHECK(arena.held_bytes() == Arena::kFirstChunkBytes);
  CHECK(arena.mapped_bytes() == 0);
  void* b = arena.Allocate(1);
  CHECK(static_cast<char*>(b) == static_cast<char*>(a) + 24);  // no header between objects
  CHECK(arena.live_bytes() == 32);
  arena.CheckInvariants();
}

TEST_CASE("A freed slot is reused by the next object of its size class only") {
  Arena arena;
  void* a = arena.Allocate(20);
  void* keep = arena.Allocate(20);
  arena.Free(a, 20);
  CHECK(arena.live_bytes() == 24);
  arena.CheckInvariants();
  void* other_class = arena.Allocate(40);
  CHECK(other_class != a);
  void* same_class = arena.Allocate(17);  // 17 and 20 both take 24 bytes
  CHECK(same_class == a);
  arena.Free(keep, 20);
  arena.Free(same_class, 17);
  arena.Free(other_class, 40);
  CHECK(arena.live_bytes() == 0);
  arena.CheckInvariants();
}

TEST_CASE("Chunks grow geometrically and become 2 MiB aligned huge pages") {
  Arena arena;
  std::vector<void*> objects;
  size_t previous_held = 0;
  while (arena.mapped_bytes() < 3 * kHuge) {
    objects.push_back(arena.Allocate(280));
    if (arena.held_bytes() != previous_held) {
      // A new chunk is at most twice what the arena held before it: it grows geometrically.
      CHECK(arena.held_bytes() - previous_held <=
            std::max(2 * previous_held, Arena::kFirstChunkBytes));
      previous_held = arena.held_bytes();
    }
  }
  CHECK(arena.mapped_bytes() % kHuge == 0);
  // The last object starts a huge chunk only if it was the first of it: find one that did.
  size_t aligned = 0;
  for (void* p : objects) aligned += reinterpret_cast<uintptr_t>(p) % kHuge == 0 ? 1 : 0;
  CHECK(aligned >= 2);
  // Waste is bounded: the held bytes exceed the live ones by under one huge chunk plus the small
  // chunks' tails (each shorter than an object).
  CHECK(arena.held_bytes() - arena.live_bytes() < kHuge + 32 * 280);
  arena.CheckInvariants();
  arena.Clear();
  CHECK(arena.held_bytes() == 0);
  CHECK(arena.live_bytes() == 0);
  CHECK(arena.mapped_bytes() == 0);
  arena.CheckInvariants();
}

TEST_CASE("Objects larger than a slot come from operator new and are freed by Clear") {
  Arena arena;
  const size_t big = Arena::kMaxSlotBytes + 1;
  void* a = arena.Allocate(big);
  void* b = arena.Allocate(5 * big);
  Fill(a, big, 1);
  Fill(b, 5 * big, 2);
  CHECK(arena.live_bytes() == 6 * big);
  arena.CheckInvariants();
  arena.Free(a, big);
  CHECK(Intact(b, 5 * big, 2));
  CHECK(arena.live_bytes() == 5 * big);
  arena.CheckInvariants();
  (void)arena.Allocate(3 * big);
  arena.Clear();  // frees b and the third; LeakSanitizer would report them otherwise
  CHECK(arena.held_bytes() == 0);
}

TEST_CASE("A moved arena keeps its objects and the moved-from one is empty and usable") {
  Arena a;
  void* object = a.Allocate(64);
  Fill(object, 64, 9);
  Arena b = std::move(a);
  CHECK(Intact(object, 64, 9));
  CHECK(b.live_bytes() == 64);
  CHECK(a.held_bytes() == 0);  // NOLINT(bugprone-use-after-move): specified empty
  void* again = a.Allocate(8);
  a.Free(again, 8);
  a.CheckInvariants();
  b.Free(object, 64);
  b.CheckInvariants();
  a = std::move(b);
  CHECK(a.held_bytes() == Arena::kFirstChunkBytes);
  a.CheckInvariants();
}

TEST_CASE("Random allocations and frees never overlap and always add up") {
  const uint64_t rounds = keel::testing::TestRounds("KEEL_ZSET_ROUNDS", 16);
  for (uint64_t round = 0; round < rounds / 4 + 1; ++round) {
    const uint64_t seed = keel::testing::TestSeed(3000 + round);
    CAPTURE(seed);
    base::Random rng(seed);
    Arena arena;
    std::map<uint64_t, std::pair<void*, size_t>> live;  // tag -> (object, bytes)
    uint64_t next_tag = 0;
    size_t live_bytes = 0;
    for (int op = 0; op < 20000; ++op) {
      if (live.empty() || rng.Bernoulli(0.55)) {
        // Mostly entry-sized objects, some node-sized, now and then a large one.
        const size_t bytes = rng.Bernoulli(0.01)   ? Arena::kMaxSlotBytes + rng.Uniform(5000)
                             : rng.Bernoulli(0.05) ? 280 + 8 * rng.Uniform(100)
                                                   : 1 + rng.Uniform(64);
        void* object = arena.Allocate(bytes);
        REQUIRE(reinterpret_cast<uintptr_t>(object) % Arena::kGranule == 0);
        Fill(object, bytes, next_tag);
        live[next_tag++] = {object, bytes};
        live_bytes += Arena::ChargedBytes(bytes);
      } else {
        auto it = live.lower_bound(rng.Uniform(next_tag));
        if (it == live.end()) it = live.begin();
        const auto [object, bytes] = it->second;
        REQUIRE(Intact(object, bytes, it->first));
        arena.Free(object, bytes);
        live_bytes -= Arena::ChargedBytes(bytes);
        live.erase(it);
      }
      REQUIRE(arena.live_bytes() == live_bytes);
      if (op % 2000 == 0) arena.CheckInvariants();
    }
    for (const auto& [tag, object] : live) REQUIRE(Intact(object.first, object.second, tag));
    arena.CheckInvariants();
  }
}

TEST_CASE("The invariant check catches a slot freed twice") {
  const testing::ChildResult child = testing::RunInChild([] {
    Arena arena;
    void* a = arena.Allocate(24);
    (void)arena.Allocate(24);
    arena.Free(a, 24);
    arena.Free(a, 24);  // a bug in the caller: the free list now holds `a` twice (a cycle)
    arena.CheckInvariants();
  });
  CHECK(child.aborted);
  CHECK(child.stderr_text.find("keel assertion failed") != std::string::npos);
}

}  // namespace
}  // namespace keel::base::internal

namespace keel::base::internal {
namespace {

TEST_CASE("MapHugePages gives aligned zeroed memory and counts it until unmapped") {
  const size_t before = Arena::ProcessMappedBytes();
  char* pages = MapHugePages(2 * kHuge);
  REQUIRE(pages != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(pages) % kHuge == 0);
  CHECK(Arena::ProcessMappedBytes() == before + 2 * kHuge);
  for (size_t i = 0; i < 2 * kHuge; i += 4096) REQUIRE(pages[i] == 0);
  pages[2 * kHuge - 1] = 7;
  UnmapHugePages(pages, 2 * kHuge);
  CHECK(Arena::ProcessMappedBytes() == before);
}

TEST_CASE("HugePageAllocator maps large allocations and leaves small ones to operator new") {
  const size_t before = Arena::ProcessMappedBytes();
  {
    std::vector<uint64_t, HugePageAllocator<uint64_t>> small(100, 3);
    CHECK(Arena::ProcessMappedBytes() == before);
    // 3 MiB rounds up to two huge pages.
    std::vector<uint64_t, HugePageAllocator<uint64_t>> large((size_t{3} << 20) / 8, 5);
    CHECK(Arena::ProcessMappedBytes() == before + 2 * kHuge);
    CHECK(reinterpret_cast<uintptr_t>(large.data()) % kHuge == 0);
    CHECK(large.back() == 5);
    CHECK(small.front() == 3);
  }
  CHECK(Arena::ProcessMappedBytes() == before);
}

}  // namespace
}  // namespace keel::base::internal
