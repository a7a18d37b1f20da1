// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Raft's own cost: commits per second of CPU in the deterministic simulator, where the network and
// the disk cost nothing (no fsync, no syscalls), so that what is measured is keel::raft::Node
// (and the simulator's event loop around it). Closed-loop clients each propose a SET at the
// leader and propose the next once theirs is applied there.
//
//   BM_SimulatedCommits/nodes/clients             three (or five) nodes, 1 or 64 clients
//   BM_ApplyWithoutRaftBaseline                   the same SETs applied straight to a KvStore: the
//                                                 state machine's own cost, with no consensus
//
// Floors from issue 13: 50k commits/s with 1 client and 300k/s with 64.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "keel/raft/kv_store.h"
#include "raft/simulator.h"

namespace keel::raft::testing {
namespace {

// Applies SETs to a KvStore and tells the clients when the leader applied theirs.
class BenchApp : public Application {
 public:
  void Apply(uint64_t /*command_index*/, uint64_t /*raft_index*/,
             std::string_view command) override {
    const absl::StatusOr<std::vector<std::string>> args = DecodeCommand(command);
    if (!args.ok()) return;
    std::vector<std::string_view> views(args->begin(), args->end());
    std::string out;
    net::RespWriter reply(out);
    store_.Apply(views, reply);
    if (on_apply) on_apply(views[1]);
  }
  std::string Snapshot() const override { return store_.Snapshot(); }
  absl::Status Restore(std::string_view snapshot) override { return store_.Restore(snapshot); }

  std::function<void(std::string_view key)> on_apply;

 private:
  KvStore store_;
};

struct ClosedLoop {
  Simulator* sim = nullptr;
  int leader = 0;
  uint64_t commits = 0;
  std::vector<uint64_t> sequence;

  void Propose(int client) {
    const std::string key = "client" + std::to_string(client);
    const std::string value = std::to_string(++sequence[client]);
    const std::vector<std::string_view> args = {"SET", key, value};
    sim->Start(leader, EncodeCommand(args));
  }
};

void BM_SimulatedCommits(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const int clients = static_cast<int>(state.range(1));
  SimOptions options;
  options.nodes = nodes;
  options.seed = 7;
  options.application = [](int) { return std::make_unique<BenchApp>(); };
  Simulator sim(options);
  const std::optional<int> leader = sim.WaitForLeader();
  if (!leader) {
    state.SkipWithError("no leader");
    return;
  }
  ClosedLoop loop;
  loop.sim = &sim;
  loop.leader = *leader;
  loop.sequence.assign(clients, 0);
  auto& app = dynamic_cast<BenchApp&>(sim.application(*leader));
  app.on_apply = [&](std::string_view key) {
    ++loop.commits;
    const int client = std::stoi(std::string(key.substr(6)));
    sim.At(0, [&loop, client] { loop.Propose(client); });
  };
  for (int client = 0; client < clients; ++client) loop.Propose(client);
  constexpr uint64_t kBatch = 1000;
  while (state.KeepRunningBatch(kBatch)) {
    const uint64_t target = loop.commits + kBatch;
    if (!sim.RunUntil([&] { return loop.commits >= target; }, 3600 * kSeconds)) {
      state.SkipWithError("commits stalled");
      return;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["messages_per_commit"] =
      benchmark::Counter(static_cast<double>(sim.delivered()) / static_cast<double>(loop.commits));
}
BENCHMARK(BM_SimulatedCommits)
    ->ArgNames({"nodes", "clients"})
    ->Args({3, 1})
    ->Args({3, 64})
    ->Args({5, 64})
    ->Unit(benchmark::kMicrosecond);

void BM_ApplyWithoutRaftBaseline(benchmark::State& state) {
  KvStore store;
  uint64_t sequence = 0;
  std::string out;
  for (auto _ : state) {
    const std::string key = "client" + std::to_string(sequence % 64);
    const std::string value = std::to_string(++sequence);
    const std::vector<std::string_view> args = {"SET", key, value};
    // Through the log encoding, as the simulated replicas apply it.
    const absl::StatusOr<std::vector<std::string>> decoded = DecodeCommand(EncodeCommand(args));
    std::vector<std::string_view> views(decoded->begin(), decoded->end());
    out.clear();
    net::RespWriter reply(out);
    store.Apply(views, reply);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ApplyWithoutRaftBaseline);

}  // namespace
}  // namespace keel::raft::testing
