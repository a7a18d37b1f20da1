// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// leaderboard: the "real-time gaming leaderboard" case study.
//
// A month of matches: each win adds a point to the winner on the month's board. Players read the
// top 10 and their own place with the four players just above and below; on equal points, who
// got there first ranks higher. Then the chapter's scaling question, measured: the same month
// on N shards partitioned by score range, and on N shards by hash slot with scatter-gather
// reads, beside the one-set baseline, all three checked to give the same answers.
//
// In process (keel::zset::SortedSet per shard) by default; with --server HOST:PORT every shard
// is a key on a running keel-server or redis-server, and every read that spans shards is one
// pipelined round trip.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "boards.h"
#include "common/cli.h"
#include "keel/base/random.h"

namespace keel::examples::leaderboard {
namespace {

using Clock = std::chrono::steady_clock;

double MicrosSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

struct Settings {
  int64_t players;
  int64_t matches;
  int64_t shards;
  int64_t queries;
  std::string server;
  uint64_t seed;
};

// The month's matches, generated before any board is timed: the winner of each, skewed so that
// a few players win far more often (the cube of a uniform number).
std::vector<uint32_t> Winners(const Settings& s) {
  base::Random rng(s.seed);
  std::vector<uint32_t> winners(static_cast<size_t>(s.matches));
  for (uint32_t& w : winners) {
    const double u = rng.UniformDouble();
    w = static_cast<uint32_t>(static_cast<double>(s.players) * u * u * u);
  }
  return winners;
}

std::string PlayerName(uint32_t i) { return absl::StrFormat("player:%07u", i); }

struct Timed {
  double updates_per_second = 0;
  std::vector<double> top_us, rank_us, around_us;
  uint64_t requests = 0;
};

[[noreturn]] void Fail(const absl::Status& status, const char* what) {
  std::fprintf(stderr, "leaderboard: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

// Plays the month on `board`; returns the final score of each player.
// Plays the month on `board`; returns the final score of each player, and in *heap_growth the
// bytes the board took (for an in-process board).
std::vector<double> PlayMonth(Board& board, const Settings& s, const std::vector<uint32_t>& winners,
                              Timed& timed, size_t* heap_growth) {
  std::vector<int64_t> points(static_cast<size_t>(s.players), 0);
  std::vector<double> scores(static_cast<size_t>(s.players), 0);
  std::vector<bool> seen(static_cast<size_t>(s.players), false);
  // Matches are spread evenly over 30 days; each at its own millisecond, so scores are unique.
  const int64_t month_ms = int64_t{30} * 24 * 3600 * 1000;
  const int64_t step_ms = std::max<int64_t>(1, month_ms / std::max<int64_t>(1, s.matches));
  std::vector<std::string> names(static_cast<size_t>(s.players));
  for (size_t i = 0; i < names.size(); ++i) names[i] = PlayerName(static_cast<uint32_t>(i));
  const size_t heap_before = mallinfo2().uordblks;
  const auto start = Clock::now();
  for (size_t m = 0; m < winners.size(); ++m) {
    const uint32_t w = winners[m];
    const double score = PackScore(++points[w], static_cast<int64_t>(m) * step_ms);
    const absl::Status st =
        board.Update(names[w], seen[w] ? std::optional(scores[w]) : std::nullopt, score);
    if (!st.ok()) Fail(st, "update");
    scores[w] = score;
    seen[w] = true;
  }
  timed.updates_per_second = static_cast<double>(winners.size()) / (MicrosSince(start) / 1e6);
  *heap_growth = mallinfo2().uordblks - heap_before;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!seen[i]) scores[i] = -1;  // never won: not on the board
  }
  return scores;
}

int Run(const Settings& s) {
  const std::vector<uint32_t> winners = Winners(s);
  const size_t shards = static_cast<size_t>(s.shards);

  // Fixed range bands, chosen before the month from last month's points (another seed): each
  // band starts at a quantile of last month's players, so the bands hold similar numbers of
  // players if this month looks like the last. Ties at low points merge some bands.
  std::vector<int64_t> bounds;
  {
    Settings last = s;
    last.seed = s.seed + 100;
    std::vector<int64_t> points(static_cast<size_t>(s.players), 0);
    for (uint32_t w : Winners(last)) ++points[w];
    std::erase(points, 0);
    std::sort(points.begin(), points.end());
    for (size_t i = 1; i < shards && !points.empty(); ++i) {
      const int64_t bound = points[points.size() * i / shards];
      // A band must start above the lowest score on the board (1 point), or it stays empty.
      if (bound > points.front() && (bounds.empty() || bound > bounds.back())) {
        bounds.push_back(bound);
      }
    }
  }

  auto make_store = [&](const std::string& design, size_t n) -> std::unique_ptr<ShardStore> {
    if (s.server.empty()) return NewLocalStore(n);
    auto remote = NewRemoteStore(s.server, "leaderboard:2026-12:" + design, n);
    if (!remote.ok()) Fail(remote.status(), "connecting to the server");
    return *std::move(remote);
  };
  std::vector<std::unique_ptr<Board>> boards;
  boards.push_back(NewSingleBoard(make_store("single", 1)));
  boards.push_back(NewRangeBoard(make_store("range", bounds.size() + 1), bounds));
  boards.push_back(NewHashBoard(make_store("hash", shards)));

  std::printf("A month of %s matches among %s players, %zu shards, %s.\n",
              Human(static_cast<double>(s.matches)).c_str(),
              Human(static_cast<double>(s.players)).c_str(), shards,
              s.server.empty() ? "in this process" : ("on " + s.server).c_str());
  std::string bands;
  for (int64_t b : bounds) bands += absl::StrFormat(" %d", b);
  std::printf("Range partitions start at these points, from last month's quantiles: 0%s.\n\n",
              bands.c_str());

  std::vector<Timed> timed(boards.size());
  std::vector<double> scores;
  for (size_t b = 0; b < boards.size(); ++b) {
    size_t heap_growth = 0;
    scores = PlayMonth(*boards[b], s, winners, timed[b], &heap_growth);
    if (b == 0 && s.server.empty()) {
      const double bytes = static_cast<double>(heap_growth);
      auto sizes = boards[0]->Sizes();
      const double members = sizes.ok() ? static_cast<double>((*sizes)[0]) : 1;
      std::printf("The month's board holds %s players in %sB of memory: %.0f bytes each.\n",
                  Human(members).c_str(), Human(bytes).c_str(), bytes / members);
      std::printf("At the chapter's 25M monthly players, one board needs %.1f GB: one machine.\n\n",
                  bytes / members * 25e6 / 1e9);
    }
  }

  // The same questions to every design, which must agree.
  base::Random rng(s.seed + 1);
  std::vector<uint32_t> asked;
  while (asked.size() < static_cast<size_t>(s.queries)) {
    const auto p = static_cast<uint32_t>(rng.Uniform(static_cast<uint64_t>(s.players)));
    if (scores[p] >= 0) asked.push_back(p);
  }
  // The baseline's answers, asked before any design is timed.
  struct Answer {
    int64_t rank;
    std::vector<Entry> above, below;
  };
  auto reference_top = boards[0]->Top(10);
  if (!reference_top.ok()) Fail(reference_top.status(), "top 10");
  std::vector<Answer> reference;
  for (uint32_t p : asked) {
    Answer a;
    auto rank = boards[0]->Rank(PlayerName(p), scores[p]);
    if (!rank.ok()) Fail(rank.status(), "rank");
    a.rank = *rank;
    const absl::Status st = boards[0]->Around(PlayerName(p), scores[p], 4, a.above, a.below);
    if (!st.ok()) Fail(st, "around");
    reference.push_back(std::move(a));
  }
  int failures = 0;
  for (size_t b = 0; b < boards.size(); ++b) {
    Board& board = *boards[b];
    const uint64_t requests_before = board.requests();
    for (size_t q = 0; q < asked.size(); ++q) {
      const uint32_t p = asked[q];
      auto t0 = Clock::now();
      auto top = board.Top(10);
      timed[b].top_us.push_back(MicrosSince(t0));
      if (!top.ok()) Fail(top.status(), "top 10");
      if (*top != *reference_top) ++failures;

      t0 = Clock::now();
      auto rank = board.Rank(PlayerName(p), scores[p]);
      timed[b].rank_us.push_back(MicrosSince(t0));
      if (!rank.ok()) Fail(rank.status(), "rank");
      if (*rank != reference[q].rank) ++failures;

      t0 = Clock::now();
      std::vector<Entry> above, below;
      const absl::Status st = board.Around(PlayerName(p), scores[p], 4, above, below);
      timed[b].around_us.push_back(MicrosSince(t0));
      if (!st.ok()) Fail(st, "around");
      if (above != reference[q].above || below != reference[q].below) ++failures;
    }
    timed[b].requests = (board.requests() - requests_before) / asked.size();
  }

  std::printf("Top 10 of the month (points; equal points: who got there first ranks higher):\n");
  for (size_t i = 0; i < reference_top->size(); ++i) {
    std::printf("  %2zu. %s  %lld points\n", i + 1, (*reference_top)[i].player.c_str(),
                static_cast<long long>(PointsOf((*reference_top)[i].score)));
  }
  const uint32_t me = asked[0];
  const int64_t* my_rank = &reference[0].rank;
  const std::vector<Entry>& above = reference[0].above;
  const std::vector<Entry>& below = reference[0].below;
  std::printf("\n%s is #%lld with %lld points. Just above and below:\n", PlayerName(me).c_str(),
              static_cast<long long>(*my_rank + 1), static_cast<long long>(PointsOf(scores[me])));
  for (size_t i = above.size(); i-- > 0;) {
    std::printf("  #%lld %s  %lld\n", static_cast<long long>(*my_rank + 1 - (i + 1)),
                above[i].player.c_str(), static_cast<long long>(PointsOf(above[i].score)));
  }
  std::printf("  #%lld %s  %lld   <- you\n", static_cast<long long>(*my_rank + 1),
              PlayerName(me).c_str(), static_cast<long long>(PointsOf(scores[me])));
  for (size_t i = 0; i < below.size(); ++i) {
    std::printf("  #%lld %s  %lld\n",
                static_cast<long long>(*my_rank + 2 + static_cast<long long>(i)),
                below[i].player.c_str(), static_cast<long long>(PointsOf(below[i].score)));
  }

  std::printf("\nThe designs side by side (%zu queries each; latencies p50 / p99 in us):\n\n",
              asked.size());
  std::printf("  %-28s %12s %16s %16s %16s %9s %14s %10s\n", "design", "wins/s", "top 10", "rank",
              "4 above+below", "requests", "players/shard", "moves");
  for (size_t b = 0; b < boards.size(); ++b) {
    Timed& t = timed[b];
    auto sizes = boards[b]->Sizes();
    int64_t lo = INT64_MAX, hi = 0;
    for (int64_t n : sizes.ok() ? *sizes : std::vector<int64_t>{}) {
      lo = std::min(lo, n);
      hi = std::max(hi, n);
    }
    auto pair = [](std::vector<double>& v) {
      return absl::StrFormat("%.1f / %.1f", Percentile(v, 50), Percentile(v, 99));
    };
    std::printf(
        "  %-28s %12s %16s %16s %16s %9llu %14s %10s\n", std::string(boards[b]->name()).c_str(),
        Human(t.updates_per_second).c_str(), pair(t.top_us).c_str(), pair(t.rank_us).c_str(),
        pair(t.around_us).c_str(), static_cast<unsigned long long>(t.requests),
        absl::StrFormat("%s-%s", Human(static_cast<double>(lo)), Human(static_cast<double>(hi)))
            .c_str(),
        b == 1 ? Human(static_cast<double>(boards[b]->moves())).c_str() : "-");
  }
  std::printf(
      "\n  requests: shard calls per question (top 10 + rank + neighbours). Range partitions "
      "answer\n  from one or two shards but balance badly (most players sit in the lowest band) "
      "and move\n  players between shards as they climb; hash slots balance evenly, update one "
      "shard, and\n  ask every shard for each read.\n");

  // The chapter's load, scaled: 25M monthly players, 5M a day playing 10 matches each.
  const double peak_updates = 5e6 * 10 / 86400 * 5;
  std::printf(
      "\nThe chapter's load: 5M daily players x 10 matches = %.0f wins/s on average, about %.0f at "
      "a 5x peak.\nOne board here takes %s wins/s: %.0fx the peak.\n",
      5e6 * 10 / 86400, peak_updates, Human(timed[0].updates_per_second).c_str(),
      timed[0].updates_per_second / peak_updates);

  if (failures > 0) {
    std::fprintf(stderr, "leaderboard: the designs disagreed %d times\n", failures);
    return 1;
  }
  std::printf("\nAll three designs gave the same top 10, ranks and neighbours.\n");
  return 0;
}

}  // namespace
}  // namespace keel::examples::leaderboard

int main(int argc, char** argv) {
  keel::examples::Flags flags("leaderboard",
                              "a month of a real-time gaming leaderboard, one set against two "
                              "ways of sharding it");
  flags.Add("players", "200000", "players in the month");
  flags.Add("matches", "1000000", "matches played (each win is one point)");
  flags.Add("shards", "8", "shards for the two sharded designs");
  flags.Add("queries", "200", "top-10, rank and neighbour questions asked of each design");
  flags.Add("server", "", "HOST:PORT of a keel-server or redis-server (empty: in this process)");
  flags.Add("seed", "2026", "seed of the simulated month");
  flags.AddBool("short", "a small month, for a quick check");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  keel::examples::leaderboard::Settings s{.players = flags.GetInt("players"),
                                          .matches = flags.GetInt("matches"),
                                          .shards = flags.GetInt("shards"),
                                          .queries = flags.GetInt("queries"),
                                          .server = flags.Get("server"),
                                          .seed = static_cast<uint64_t>(flags.GetInt("seed"))};
  if (flags.GetBool("short")) {
    s.players = 2000;
    s.matches = 20000;
    s.queries = 50;
  }
  if (s.players < 1 || s.matches < 1 || s.shards < 1 || s.shards > 1024 || s.queries < 1 ||
      s.players > (int64_t{1} << 31)) {
    std::fprintf(stderr,
                 "leaderboard: --players, --matches and --queries must be positive, --shards from "
                 "1 to 1024\n");
    return 2;
  }
  return keel::examples::leaderboard::Run(s);
}
