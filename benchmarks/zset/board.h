// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The leaderboard workload shared by keel's sorted-set benchmarks and the Redis comparison, so that
// both run exactly the same commands on exactly the same board: 1M players named "player:0000000"
// to "player:0999999" (14 bytes) with scores drawn uniformly from 0 to 999,999 (so many players
// tie), and a pre-generated random sequence of picked players with new scores and increments.
#ifndef KEEL_BENCHMARKS_ZSET_BOARD_H_
#define KEEL_BENCHMARKS_ZSET_BOARD_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "keel/base/random.h"

namespace keel::zset {

// The benchmark smoke test (KEEL_BENCH_SMOKE set by CTest) checks that every benchmark runs,
// not how fast: it gets a small board.
inline const bool kSmoke = std::getenv("KEEL_BENCH_SMOKE") != nullptr;
inline const size_t kPlayers = kSmoke ? 20'000 : 1'000'000;
inline const size_t kPicks = kSmoke ? 1 << 14 : 1 << 20;  // a power of two, to wrap with a mask
constexpr double kMemberBytes = 14;

inline std::string Player(size_t i) {
  char name[32];
  std::snprintf(name, sizeof name, "player:%07zu", i);
  return name;
}

struct Board {
  std::vector<std::string> players;
  std::vector<double> scores;
  std::vector<uint32_t> picks;      // random player indices
  std::vector<std::string> picked;  // their names, in pick order: read sequentially, as a
                                    // server reads the member from the request it just parsed
  std::vector<double> new_scores;   // random scores for updates
  std::vector<double> increments;   // 1..100

  static const Board& Get() {
    static const Board* board = [] {
      auto* b = new Board;
      base::Random rng(2026);
      for (size_t i = 0; i < kPlayers; ++i) {
        b->players.push_back(Player(i));
        b->scores.push_back(static_cast<double>(rng.Uniform(1'000'000)));
      }
      for (size_t i = 0; i < kPicks; ++i) {
        b->picks.push_back(static_cast<uint32_t>(rng.Uniform(kPlayers)));
        b->picked.push_back(Player(b->picks.back()));
        b->new_scores.push_back(static_cast<double>(rng.Uniform(1'000'000)));
        b->increments.push_back(static_cast<double>(1 + rng.Uniform(100)));
      }
      return b;
    }();
    return *board;
  }
};

}  // namespace keel::zset

#endif  // KEEL_BENCHMARKS_ZSET_BOARD_H_
