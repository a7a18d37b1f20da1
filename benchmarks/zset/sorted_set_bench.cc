// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel's sorted set at a leaderboard's scale, against the textbook structure on the same data.
//
// The board: 1M players named "player:0000000" to "player:0999999" (14 bytes), each with a score
// drawn uniformly from 0 to 999,999 points, so that many players tie. The operations are the
// chapter's: a score change (ZADD of an existing player), a win (ZINCRBY by 1 to 100), a player's
// place (ZREVRANK), the top 10 (ZREVRANGE 0 9 WITHSCORES), a page of players by score
// (ZRANGEBYSCORE min +inf LIMIT 0 10), a score lookup (ZSCORE), and building the board from
// nothing (ZADD of new players). Players are picked by a pre-generated random sequence, whose
// names are read in order (as a server reads a member from the request it has just parsed).
//
// The baseline ("reference") is the structure a first version would use: a std::map from member
// to score beside a std::set of (score, member). It has no ranks, so its ZREVRANK walks the set
// (std::distance), which is why it is timed on far fewer iterations.
//
// Memory: bytes per member from glibc's count of bytes in use (mallinfo2(): uordblks + hblkhd,
// which include malloc's 8-byte chunk headers and its rounding to 16 bytes) before and after
// building the board, plus the huge-page chunks keel's arena maps itself (which malloc does not
// see); and keel's own counts (SortedSet::Memory): the bytes its objects take (requested) and the
// bytes it holds (held: whole arena chunks). The overhead is the bytes per member beyond the member
// itself (14 bytes) and its score (8 bytes).
// Redis's figures on the same board come from benchmarks/zset/redis_zset_bench.cc.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/random.h"
#include "keel/zset/sorted_set.h"
#include "zset/board.h"

namespace keel::zset {
namespace {

// The textbook sorted set.
class Reference {
 public:
  void Add(const std::string& member, double score) {
    auto [it, inserted] = scores_.try_emplace(member, score);
    if (!inserted) {
      if (it->second == score) return;
      order_.erase({it->second, member});
      it->second = score;
    }
    order_.insert({score, member});
  }
  void IncrementBy(const std::string& member, double delta) {
    Add(member, scores_.at(member) + delta);
  }
  size_t ReverseRank(const std::string& member) const {
    const auto it = order_.find({scores_.at(member), member});
    return static_cast<size_t>(std::distance(it, order_.end())) - 1;
  }
  double Score(const std::string& member) const { return scores_.at(member); }
  const std::set<std::pair<double, std::string>>& order() const { return order_; }

 private:
  std::map<std::string, double> scores_;
  std::set<std::pair<double, std::string>> order_;
};

SortedSet& KeelBoard() {
  static SortedSet* set = [] {
    auto* s = new SortedSet;
    const Board& b = Board::Get();
    for (size_t i = 0; i < kPlayers; ++i) KEEL_ASSERT(s->Add(b.players[i], b.scores[i]).ok());
    return s;
  }();
  return *set;
}

Reference& ReferenceBoard() {
  static Reference* ref = [] {
    auto* r = new Reference;
    const Board& b = Board::Get();
    for (size_t i = 0; i < kPlayers; ++i) r->Add(b.players[i], b.scores[i]);
    return r;
  }();
  return *ref;
}

// ---------------------------------------------------------------------------------------------
// Updates.
// ---------------------------------------------------------------------------------------------
void BM_ZAddUpdate_Keel(benchmark::State& state) {
  const Board& b = Board::Get();
  SortedSet& set = KeelBoard();
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ & (kPicks - 1);
    benchmark::DoNotOptimize(set.Add(b.picked[k], b.new_scores[k]));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ZAddUpdate_Reference(benchmark::State& state) {
  const Board& b = Board::Get();
  Reference& ref = ReferenceBoard();
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ & (kPicks - 1);
    ref.Add(b.picked[k], b.new_scores[k]);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ZIncrBy_Keel(benchmark::State& state) {
  const Board& b = Board::Get();
  SortedSet& set = KeelBoard();
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ & (kPicks - 1);
    benchmark::DoNotOptimize(set.Add(b.picked[k], b.increments[k], {.increment = true}));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ZIncrBy_Reference(benchmark::State& state) {
  const Board& b = Board::Get();
  Reference& ref = ReferenceBoard();
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ & (kPicks - 1);
    ref.IncrementBy(b.picked[k], b.increments[k]);
  }
  state.SetItemsProcessed(state.iterations());
}

// Builds the whole board from nothing: ZADD of 1M new players, one at a time.
void BM_ZAddNew_Keel(benchmark::State& state) {
  const Board& b = Board::Get();
  for (auto _ : state) {
    SortedSet set;
    for (size_t i = 0; i < kPlayers; ++i)
      benchmark::DoNotOptimize(set.Add(b.players[i], b.scores[i]));
    state.PauseTiming();
    set.Clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kPlayers));
}

void BM_ZAddNew_Reference(benchmark::State& state) {
  const Board& b = Board::Get();
  for (auto _ : state) {
    auto ref = std::make_unique<Reference>();
    for (size_t i = 0; i < kPlayers; ++i) ref->Add(b.players[i], b.scores[i]);
    state.PauseTiming();
    ref.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kPlayers));
}

// ---------------------------------------------------------------------------------------------
// Queries.
// ---------------------------------------------------------------------------------------------
void BM_ZRevRank_Keel(benchmark::State& state) {
  const Board& b = Board::Get();
  const SortedSet& set = KeelBoard();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(set.ReverseRank(b.picked[i++ & (kPicks - 1)]));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ZRevRank_Reference(benchmark::State& state) {
  const Board& b = Board::Get();
  const Reference& ref = ReferenceBoard();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ref.ReverseRank(b.picked[i++ & (kPicks - 1)]));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ZScore_Keel(benchmark::State& state) {
  const Board& b = Board::Get();
  const SortedSet& set = KeelBoard();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(set.Score(b.picked[i++ & (kPicks - 1)]));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ZScore_Reference(benchmark::State& state) {
  const Board& b = Board::Get();
  const Reference& ref = ReferenceBoard();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ref.Score(b.picked[i++ & (kPicks - 1)]));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Top10_Keel(benchmark::State& state) {
  const SortedSet& set = KeelBoard();
  for (auto _ : state) {
    double sum = 0;
    size_t bytes = 0;
    for (auto c = set.ReverseCursorAt(0); c.valid() && c.rank() < 10; c.Next()) {
      sum += c.score();
      bytes += c.member().size();
    }
    benchmark::DoNotOptimize(sum);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Top10_Reference(benchmark::State& state) {
  const Reference& ref = ReferenceBoard();
  for (auto _ : state) {
    double sum = 0;
    size_t bytes = 0;
    int n = 0;
    for (auto it = ref.order().rbegin(); it != ref.order().rend() && n < 10; ++it, ++n) {
      sum += it->first;
      bytes += it->second.size();
    }
    benchmark::DoNotOptimize(sum);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
}

// ZRANGEBYSCORE board <score> +inf LIMIT 0 10.
void BM_RangeByScore_Keel(benchmark::State& state) {
  const Board& b = Board::Get();
  const SortedSet& set = KeelBoard();
  size_t i = 0;
  for (auto _ : state) {
    const double min = b.new_scores[i++ & (kPicks - 1)];
    const RankSpan span = set.RanksOf(ScoreRange{{min}, {1e300}});
    double sum = 0;
    for (auto c = set.CursorAt(span.begin); c.valid() && c.rank() < span.begin + 10; c.Next()) {
      sum += c.score();
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RangeByScore_Reference(benchmark::State& state) {
  const Board& b = Board::Get();
  const Reference& ref = ReferenceBoard();
  size_t i = 0;
  for (auto _ : state) {
    const double min = b.new_scores[i++ & (kPicks - 1)];
    double sum = 0;
    int n = 0;
    for (auto it = ref.order().lower_bound({min, std::string()}); it != ref.order().end() && n < 10;
         ++it, ++n) {
      sum += it->first;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
}

// ---------------------------------------------------------------------------------------------
// Memory.
// ---------------------------------------------------------------------------------------------
// Bytes malloc has handed out, including its chunk headers and rounding: from its heaps
// (uordblks) and from the large blocks it maps on its own (hblkhd).
size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

size_t MappedOutsideMalloc(const SortedSet& set) { return set.Memory().mapped_bytes; }
size_t MappedOutsideMalloc(const Reference&) { return 0; }

template <typename Build>
void MeasureMemory(benchmark::State& state, Build build) {
  for (auto _ : state) {
    const size_t before = HeapInUse();
    auto built = build();
    const size_t after = HeapInUse() + MappedOutsideMalloc(*built);
    const double per_member = static_cast<double>(after - before) / static_cast<double>(kPlayers);
    state.counters["bytes_per_member"] = per_member;
    state.counters["overhead_per_member"] = per_member - kMemberBytes - sizeof(double);
    if constexpr (std::is_same_v<decltype(built), std::unique_ptr<SortedSet>>) {
      const SortedSet::MemoryUsage usage = built->Memory();
      state.counters["requested_bytes_per_member"] =
          static_cast<double>(usage.requested_bytes) / static_cast<double>(kPlayers);
      state.counters["held_bytes_per_member"] =
          static_cast<double>(usage.held_bytes) / static_cast<double>(kPlayers);
    }
  }
}

void BM_Memory_Keel(benchmark::State& state) {
  const Board& b = Board::Get();
  MeasureMemory(state, [&] {
    auto set = std::make_unique<SortedSet>();
    for (size_t i = 0; i < kPlayers; ++i) KEEL_ASSERT(set->Add(b.players[i], b.scores[i]).ok());
    return set;
  });
}

void BM_Memory_Reference(benchmark::State& state) {
  const Board& b = Board::Get();
  MeasureMemory(state, [&] {
    auto ref = std::make_unique<Reference>();
    for (size_t i = 0; i < kPlayers; ++i) ref->Add(b.players[i], b.scores[i]);
    return ref;
  });
}

BENCHMARK(BM_ZAddUpdate_Keel);
BENCHMARK(BM_ZAddUpdate_Reference);
BENCHMARK(BM_ZIncrBy_Keel);
BENCHMARK(BM_ZIncrBy_Reference);
BENCHMARK(BM_ZAddNew_Keel)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_ZAddNew_Reference)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_ZRevRank_Keel);
BENCHMARK(BM_ZRevRank_Reference)->Iterations(200);
BENCHMARK(BM_ZScore_Keel);
BENCHMARK(BM_ZScore_Reference);
BENCHMARK(BM_Top10_Keel);
BENCHMARK(BM_Top10_Reference);
BENCHMARK(BM_RangeByScore_Keel);
BENCHMARK(BM_RangeByScore_Reference);
BENCHMARK(BM_Memory_Keel)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_Memory_Reference)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace keel::zset
