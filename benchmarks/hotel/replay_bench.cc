// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The hotel replay tool's engine (examples/hotel_reservation/replay.h): command lines per second
// with durable state on disk, committed every `batch` lines (the tool commits each read of up to
// 1 MiB, thousands of lines, with one fsync; batch 1 is an fsync per line), on an in-memory file
// system (the engine's own cost, no fsync), and the baseline: the same rules in memory with no
// log at all (the parser, the bookings, and a std::unordered_map of keys).
//
// The command file is drawn before timing: a hotel with 28 nights of inventory, reservations of
// 1 to 3 nights under 100,000 ids, cancellations, and one line in eight a retry of an earlier one.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/scratch_dir.h"
#include "hotel_reservation/bookings.h"
#include "hotel_reservation/replay.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/wal/memory_file_system.h"

namespace {

using keel::examples::hotel::Replayer;
using keel::examples::hotel::ServiceOptions;

const bool kSmoke = std::getenv("KEEL_BENCH_SMOKE") != nullptr;

const std::vector<std::string>& Lines() {
  static const std::vector<std::string> lines = [] {
    keel::base::Random rng(1406);
    std::vector<std::string> out;
    for (int d = 1; d <= 28; ++d) {
      out.push_back(keel::base::Cat("I,1,1,2027-02-", d < 10 ? "0" : "", d, ",5000"));
    }
    const int n = kSmoke ? 2'000 : 200'000;
    while (out.size() < static_cast<size_t>(n)) {
      if (rng.Uniform(8) == 0) {
        out.push_back(out[rng.Uniform(out.size())]);
      } else if (rng.Uniform(6) == 0) {
        out.push_back(keel::base::Cat("X,c", rng.Uniform(100'000), ",r", rng.Uniform(100'000)));
      } else {
        const uint64_t start = 1 + rng.Uniform(25);
        const uint64_t end = start + 1 + rng.Uniform(3);
        out.push_back(keel::base::Cat("R,r", rng.Uniform(100'000), ",1,1,2027-02-",
                                      start < 10 ? "0" : "", start, ",2027-02-",
                                      end < 10 ? "0" : "", end, ",", 1 + rng.Uniform(3)));
      }
    }
    return out;
  }();
  return lines;
}

void Replay(benchmark::State& state, Replayer& replayer, size_t lines, size_t batch) {
  std::string out;
  for (size_t i = 0; i < lines; ++i) {
    if (!replayer.Process(i + 1, Lines()[i], out).ok()) state.SkipWithError("process failed");
    if ((i + 1) % batch == 0 || i + 1 == lines) {
      if (!replayer.Commit().ok()) state.SkipWithError("commit failed");
      benchmark::DoNotOptimize(out.data());
      out.clear();
    }
  }
}

void BM_ReplayDurable(benchmark::State& state) {
  const auto batch = static_cast<size_t>(state.range(0));
  // An fsync per line costs milliseconds: that case replays fewer lines.
  const size_t lines = std::min(Lines().size(), batch == 1 ? size_t{2'000} : Lines().size());
  static keel::bench::ScratchDir scratch("hotel_replay");
  int run = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = keel::base::Cat(scratch.root(), "/", run++);
    auto replayer = Replayer::Open(dir);
    if (!replayer.ok()) state.SkipWithError(replayer.status().ToString().c_str());
    state.ResumeTiming();
    Replay(state, **replayer, lines, batch);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines));
}
BENCHMARK(BM_ReplayDurable)
    ->Arg(1)
    ->Arg(64)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_ReplayMemoryFileSystem(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    keel::wal::MemoryFileSystem fs;
    ServiceOptions options;
    options.file_system = &fs;
    auto replayer = Replayer::Open("/hotel", options);
    if (!replayer.ok()) state.SkipWithError(replayer.status().ToString().c_str());
    state.ResumeTiming();
    Replay(state, **replayer, Lines().size(), 4096);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(Lines().size()));
}
BENCHMARK(BM_ReplayMemoryFileSystem)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same rules with nothing durable: the parser, the bookings, and a map of keys to their
// fields and results.
void BM_ReplayInMemoryBaseline(benchmark::State& state) {
  using namespace keel::examples::hotel;
  for (auto _ : state) {
    Bookings bookings;
    std::unordered_map<std::string, std::pair<std::string, std::string>> keys;
    std::string out;
    for (size_t i = 0; i < Lines().size(); ++i) {
      const ParsedLine parsed = ParseLine(Lines()[i]);
      const Command& c = parsed.command;
      std::string result;
      if (parsed.verdict != Verdict::kCommand) {
        result = parsed.verdict == Verdict::kMalformed ? "MALFORMED" : "INVALID";
      } else if (c.kind == 'I') {
        bookings.SetInventory({c.hotel_id, c.room_type_id, c.start}, c.count);
        result = "OK";
      } else {
        const std::string fields = c.kind == 'R'
                                       ? keel::base::Cat(c.hotel_id, ",", c.room_type_id, ",",
                                                         c.start, ",", c.end, ",", c.count)
                                       : std::string(c.reservation_key);
        auto [it, inserted] =
            keys.try_emplace(std::string(c.key), std::string(1, c.kind) + fields, std::string());
        if (!inserted) {
          result = it->second.first == std::string(1, c.kind) + fields ? it->second.second
                                                                       : "KEY_REUSED";
        } else {
          const Outcome o =
              c.kind == 'R'
                  ? bookings.Reserve(c.key, {c.hotel_id, c.room_type_id, c.start, c.end, c.count})
                  : bookings.Cancel(c.reservation_key);
          result = it->second.second = std::string(OutcomeName(o));
        }
      }
      out += keel::base::Cat(i + 1, ",", c.key, ",", result, "\n");
      if (out.size() > (1 << 16)) {
        benchmark::DoNotOptimize(out.data());
        out.clear();
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(Lines().size()));
}
BENCHMARK(BM_ReplayInMemoryBaseline)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
