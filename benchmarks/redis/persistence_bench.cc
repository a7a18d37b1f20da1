// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The engine's persistence against the same engine in memory, in the same run.
//
//   BM_Write_MemoryBaseline/threads:N    Execute + WaitDurable of "SET key:<thread>:<i> <100
//   bytes>"
//                                        on a memory-only engine: the floor.
//   BM_Write_Always/threads:N            the same with FsyncPolicy::kAlways: every reply waits for
//                                        its record's fsync, shared by the clients waiting then.
//   BM_Write_EverySec/threads:N          kEverySec: every reply waits for its record's write(),
//                                        a background thread fsyncs once a second.
//   BM_Write_No/threads:N                kNo: write() only.
//                                        Counter: records_per_fsync, the log's records over its
//                                        fsyncs (Open's and the segment rolls' included).
//   BM_Rewrite/<members>                 Engine::Rewrite of one sorted set of that many members
//                                        (and nothing else). Counters: pause_ms, how long the
//                                        keyspace was locked to serialise it (what clients wait
//                                        for), and the rewrite's whole time per iteration.
//   BM_Rewrite_CopyBaseline/<members>    copying the same members and scores into a vector: the
//                                        least any consistent snapshot taken under the lock costs.
//
// The files live in a fresh directory under $KEEL_BENCH_DIR, else the system's temporary
// directory, removed at exit. It must be on the disk being measured. Wall-clock time.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/scratch_dir.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"
#include "keel/redis/engine.h"
#include "keel/zset/sorted_set.h"

namespace keel::redis {
namespace {

void Die(std::string_view what, std::string_view error) {
  std::fprintf(stderr, "redis_bench: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(error.size()), error.data());
  std::abort();
}

bench::ScratchDir& Scratch() {
  static bench::ScratchDir dir("redis_bench");
  return dir;
}

std::unique_ptr<Engine> MustOpen(const EngineOptions& options) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(options);
  if (!engine.ok()) Die("Engine::Open", engine.status().ToString());
  return std::move(*engine);
}

// Each thread sets its own keys, 100-byte values, as a session would: execute, then wait.
void Writes(benchmark::State& state, bool durable, FsyncPolicy policy) {
  static std::unique_ptr<Engine> engine;
  static std::string dir;
  if (state.thread_index() == 0) {
    EngineOptions options;
    if (durable) {
      dir = Scratch().NewPath("engine");
      options.dir = dir;
      options.fsync = policy;
    }
    engine = MustOpen(options);
  }
  ClientState client;
  const std::string prefix = base::Cat("key:", state.thread_index(), ":");
  const std::string value(100, 'v');
  std::string reply;
  uint64_t i = 0;
  for (auto _ : state) {
    const std::string key = base::Cat(prefix, i++ % 1000);
    const std::string_view args[] = {"SET", key, value};
    reply.clear();
    net::RespWriter writer(reply);
    const absl::Status status = engine->WaitDurable(engine->Execute(client, writer, args));
    if (!status.ok()) Die("WaitDurable", status.ToString());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    if (durable) {
      const PersistenceStats stats = engine->persistence_stats();
      state.counters["records_per_fsync"] =
          static_cast<double>(stats.logged_records) /
          static_cast<double>(std::max<uint64_t>(stats.log_fsyncs, 1));
    }
    engine.reset();
    std::error_code ignored;
    if (durable) std::filesystem::remove_all(dir, ignored);
  }
}

void BM_Write_MemoryBaseline(benchmark::State& state) { Writes(state, false, FsyncPolicy::kNo); }
void BM_Write_Always(benchmark::State& state) { Writes(state, true, FsyncPolicy::kAlways); }
void BM_Write_EverySec(benchmark::State& state) { Writes(state, true, FsyncPolicy::kEverySec); }
void BM_Write_No(benchmark::State& state) { Writes(state, true, FsyncPolicy::kNo); }

BENCHMARK(BM_Write_MemoryBaseline)->Threads(1)->Threads(16)->UseRealTime();
BENCHMARK(BM_Write_Always)->Threads(1)->Threads(16)->UseRealTime();
BENCHMARK(BM_Write_EverySec)->Threads(1)->Threads(16)->UseRealTime();
BENCHMARK(BM_Write_No)->Threads(1)->Threads(16)->UseRealTime();

// A sorted set of `members` members "member:<i>" with random scores, added 1,000 at a time.
void Fill(Engine& engine, int64_t members) {
  ClientState client;
  base::Random rng(1);
  std::string reply;
  for (int64_t first = 0; first < members; first += 1000) {
    std::vector<std::string> command = {"ZADD", "board"};
    for (int64_t i = first; i < std::min(members, first + 1000); ++i) {
      command.push_back(base::Cat(rng.Uniform(1'000'000'000)));
      command.push_back(base::Cat("member:", i));
    }
    std::vector<std::string_view> args(command.begin(), command.end());
    reply.clear();
    net::RespWriter writer(reply);
    if (!engine.WaitDurable(engine.Execute(client, writer, args)).ok()) Die("fill", "");
  }
}

void BM_Rewrite(benchmark::State& state) {
  const std::string dir = Scratch().NewPath("rewrite");
  EngineOptions options;
  options.dir = dir;
  options.fsync = FsyncPolicy::kNo;
  options.rewrite_percentage = 0;
  auto engine = MustOpen(options);
  Fill(*engine, state.range(0));
  double pause_ms = 0;
  for (auto _ : state) {
    const absl::Status status = engine->Rewrite();
    if (!status.ok()) Die("Rewrite", status.ToString());
    pause_ms += static_cast<double>(engine->persistence_stats().last_rewrite_pause_us) / 1000;
  }
  state.counters["pause_ms"] = pause_ms / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * state.range(0));
  engine.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

void BM_Rewrite_CopyBaseline(benchmark::State& state) {
  zset::SortedSet set;
  base::Random rng(1);
  for (int64_t i = 0; i < state.range(0); ++i) {
    if (!set.Add(base::Cat("member:", i), static_cast<double>(rng.Uniform(1'000'000'000))).ok()) {
      Die("fill", "");
    }
  }
  for (auto _ : state) {
    std::vector<std::pair<std::string, double>> copy;
    copy.reserve(set.size());
    for (auto c = set.CursorAt(0); c.valid(); c.Next()) copy.emplace_back(c.member(), c.score());
    benchmark::DoNotOptimize(copy.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_Rewrite)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Rewrite_CopyBaseline)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keel::redis
