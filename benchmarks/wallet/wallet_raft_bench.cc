// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// wallet_raft_bench: transfers per second through the digital wallet's Raft-replicated ledger,
// three `digital_wallet replica` processes on loopback (docs/wallet_replication.md), each
// appending every log entry to its write-ahead log and fdatasyncing it before acknowledging it
// (keel::raft::Storage; a leader's own sync overlaps its followers'). One client process streams
// batches of 8,189 transfers (TigerBeetle's batch size) to the leader with several batches in
// flight, and a batch is counted once its answer arrives: committed by a majority, applied by the
// leader. Not a Google Benchmark binary: it drives processes, and each run is a fresh cluster.
//
// The peer is TigerBeetle, whose published figure is about 0.6M transfers/s, durable and
// replicated; it is not installed here and the figure is quoted, not measured. The baseline in
// this binary is the same transfers applied to a keel::ledger::Ledger in this process (one core,
// no log, no disk, no network): what replication and durability cost.
//
// Each run: start the replicas (memory for the accounts and transfers reserved at start, as
// TigerBeetle allocates at startup), wait for a leader, create the accounts (timed apart), build
// every transfer request, then time the transfers. The table has each run and the median.
//
//   wallet_raft_bench [--accounts 1000000] [--batches 200] [--pipeline 4] [--runs 5]
//                     [--replicas 3] [--root DIR] [--binary PATH] [--short]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "common/cli.h"
#include "digital_wallet/replica_client.h"
#include "digital_wallet/replica_processes.h"
#include "digital_wallet/replica_workload.h"
#include "keel/base/strings.h"
#include "keel/ledger/ledger.h"

namespace keel::examples::wallet {
namespace {

struct Settings {
  uint64_t accounts = 1'000'000;
  uint64_t batches = 200;
  uint32_t batch_size = ledger::kBatchMax;
  size_t pipeline = 4;
  int runs = 5;
  int replicas = 3;
  std::string root;
  std::string binary;
  std::string wal_preallocate;
};

struct RunResult {
  double transfers_per_second = 0;
  double accounts_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double server_cpu_us_per_transfer = 0;
  double client_cpu_us_per_transfer = 0;
  uint64_t failed = 0;
  uint64_t leader_fsyncs = 0;
  uint64_t log_entries = 0;
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double ClientCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

uint64_t InfoNumber(const std::map<std::string, std::string>& info, const std::string& name) {
  uint64_t value = 0;
  const auto it = info.find(name);
  if (it != info.end() && !absl::SimpleAtoi(it->second, &value)) value = 0;
  return value;
}

std::vector<std::string> Requests(const std::vector<ledger::Command>& commands) {
  std::vector<std::string> requests;
  requests.reserve(commands.size());
  for (const ledger::Command& command : commands) {
    requests.push_back(ExecuteRequest(ledger::EncodeCommand(command)));
  }
  return requests;
}

// Runs the requests; returns false (after printing why) when they did not all get answers.
bool Execute(WalletClient& client, const std::vector<std::string>& requests,
             std::vector<double>* latencies_ms, uint64_t* failed) {
  const absl::Status status = client.Execute(requests, [&](size_t /*index*/,
                                                           const BatchOutcome& outcome) {
    if (!outcome.reply.ok()) {
      std::fprintf(stderr, "a batch was refused: %s\n", outcome.reply.status().ToString().c_str());
      ++*failed;
      return;
    }
    *failed += outcome.reply->result.transfers.size() + outcome.reply->result.accounts.size();
    if (latencies_ms) latencies_ms->push_back(static_cast<double>(outcome.latency_ns) / 1e6);
  });
  if (!status.ok()) std::fprintf(stderr, "wallet_raft_bench: %s\n", status.ToString().c_str());
  return status.ok();
}

bool Run(const Settings& settings, int run, RunResult* result) {
  const std::string root = base::Cat(settings.root, "/run", run);
  std::filesystem::remove_all(root);
  const uint64_t transfers = settings.batches * settings.batch_size;
  absl::StatusOr<std::unique_ptr<LocalCluster>> created = LocalCluster::Create(
      {.binary = settings.binary,
       .root = root,
       .size = settings.replicas,
       .extra_args = {"--reserve-accounts", base::Cat(settings.accounts + 1), "--reserve-transfers",
                      base::Cat(transfers), "--wal-preallocate", settings.wal_preallocate}});
  if (!created.ok()) {
    std::fprintf(stderr, "wallet_raft_bench: %s\n", created.status().ToString().c_str());
    return false;
  }
  LocalCluster& cluster = **created;
  cluster.StartAll();
  const std::optional<int> leader = cluster.WaitForLeader(60);
  if (!leader) {
    std::fprintf(stderr, "wallet_raft_bench: no leader within 60 s (logs in %s)\n", root.c_str());
    return false;
  }

  WalletWorkload workload({.seed = 1000 + static_cast<uint64_t>(run),
                           .wallets = settings.accounts,
                           .batch_size = settings.batch_size,
                           .limits = false});
  WalletClient client({.replicas = cluster.addresses(), .pipeline = settings.pipeline});
  uint64_t failed = 0;
  const auto accounts_start = std::chrono::steady_clock::now();
  if (!Execute(client, Requests(workload.AccountBatches()), nullptr, &failed)) return false;
  result->accounts_per_second =
      static_cast<double>(settings.accounts + 1) / Seconds(accounts_start);

  std::vector<ledger::Command> batches;
  batches.reserve(settings.batches);
  for (uint64_t i = 0; i < settings.batches; ++i) batches.push_back(workload.NextTransferBatch());
  const std::vector<std::string> requests = Requests(batches);
  batches.clear();

  const auto leader_info_before = cluster.replica(*leader).Info();
  double server_cpu_before = 0;
  for (int i = 0; i < cluster.size(); ++i) server_cpu_before += cluster.replica(i).CpuSeconds();
  const double client_cpu_before = ClientCpuSeconds();
  std::vector<double> latencies_ms;
  const auto start = std::chrono::steady_clock::now();
  if (!Execute(client, requests, &latencies_ms, &failed)) return false;
  const double seconds = Seconds(start);
  double server_cpu = -server_cpu_before;
  for (int i = 0; i < cluster.size(); ++i) server_cpu += cluster.replica(i).CpuSeconds();
  const double client_cpu = ClientCpuSeconds() - client_cpu_before;
  const auto leader_info_after = cluster.replica(*leader).Info();

  result->transfers_per_second = static_cast<double>(transfers) / seconds;
  result->p50_ms = Percentile(latencies_ms, 50);
  result->p99_ms = Percentile(latencies_ms, 99);
  result->server_cpu_us_per_transfer = server_cpu * 1e6 / static_cast<double>(transfers);
  result->client_cpu_us_per_transfer = client_cpu * 1e6 / static_cast<double>(transfers);
  result->failed = failed;
  result->leader_fsyncs =
      InfoNumber(leader_info_after, "fsyncs") - InfoNumber(leader_info_before, "fsyncs");
  result->log_entries = InfoNumber(leader_info_after, "commit_index") -
                        InfoNumber(leader_info_before, "commit_index");
  if (client.stats().resends > 0 || cluster.CheckProcesses() != absl::OkStatus()) {
    std::fprintf(stderr, "wallet_raft_bench: run %d had %llu resends or a replica that ended\n",
                 run, static_cast<unsigned long long>(client.stats().resends));
    return false;
  }
  for (int i = 0; i < cluster.size(); ++i) cluster.replica(i).Kill();
  std::filesystem::remove_all(root);
  return true;
}

struct Baseline {
  double transfers_per_second = 0;
  // A snapshot of the ledger after the run (what a replica's Raft thread makes every
  // --snapshot-every entries, and what a replica far behind installs).
  double snapshot_mb = 0;
  double snapshot_ms = 0;
  double restore_ms = 0;
};

// The same transfers applied in this process to one Ledger: no log, no disk, no network.
Baseline InProcessBaseline(const Settings& settings) {
  Baseline out;
  WalletWorkload workload({.seed = 1000,
                           .wallets = settings.accounts,
                           .batch_size = settings.batch_size,
                           .limits = false});
  ledger::Ledger ledger;
  if (!ledger.Reserve(settings.accounts + 1, settings.batches * settings.batch_size).ok()) {
    return out;
  }
  uint64_t timestamp = 1'700'000'000'000'000'000;
  for (ledger::Command& batch : workload.AccountBatches()) {
    batch.timestamp = timestamp += ledger::kBatchMax;
    if (!ledger.Execute(batch).ok()) return out;
  }
  std::vector<ledger::Command> batches;
  for (uint64_t i = 0; i < settings.batches; ++i) batches.push_back(workload.NextTransferBatch());
  auto start = std::chrono::steady_clock::now();
  size_t failed = 0;
  for (ledger::Command& batch : batches) {
    batch.timestamp = timestamp += ledger::kBatchMax;
    const absl::StatusOr<ledger::CommandResult> result = ledger.Execute(batch);
    if (!result.ok()) return out;
    failed += result->transfers.size();
  }
  if (failed != 0 || ledger.stats().transfers != settings.batches * settings.batch_size) {
    std::fprintf(stderr, "wallet_raft_bench: %zu transfers failed in the baseline\n", failed);
    return out;
  }
  out.transfers_per_second =
      static_cast<double>(settings.batches * settings.batch_size) / Seconds(start);
  start = std::chrono::steady_clock::now();
  std::string snapshot;
  if (!ledger
           .Save([&](std::string_view piece) {
             snapshot.append(piece);
             return absl::OkStatus();
           })
           .ok()) {
    return out;
  }
  out.snapshot_ms = Seconds(start) * 1e3;
  out.snapshot_mb = static_cast<double>(snapshot.size()) / 1e6;
  start = std::chrono::steady_clock::now();
  if (!ledger::Ledger::Restore(snapshot).ok()) return out;
  out.restore_ms = Seconds(start) * 1e3;
  return out;
}

std::string MachineLine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::string model = "?";
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("model name")) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  double load[3] = {0, 0, 0};
  if (::getloadavg(load, 3) != 3) load[0] = -1;
  return base::Cat(::sysconf(_SC_NPROCESSORS_ONLN), " cores (", model, "), load average ",
                   absl::StrFormat("%.2f", load[0]));
}

int Main(int argc, char** argv) {
  Flags flags("wallet_raft_bench",
              "Transfers per second through the wallet's Raft-replicated ledger on local "
              "processes, every log entry fsynced.");
  flags.Add("accounts", "1000000", "wallet accounts (plus one bank account)");
  flags.Add("batches", "200", "batches of transfers per run");
  flags.Add("batch", "8189", "transfers per batch (at most 8189)");
  flags.Add("pipeline", "4", "batches in flight from the client");
  flags.Add("runs", "5", "runs, each on a fresh cluster; the median is reported");
  flags.Add("replicas", "3", "replica processes");
  flags.Add("root", "", "where the replicas' directories go (default: a new one under /tmp)");
  flags.Add("binary", DIGITAL_WALLET_BINARY, "the digital_wallet program");
  flags.Add("wal-preallocate", "1048576", "the replicas' --wal-preallocate");
  flags.AddBool("short", "a tiny run (10k accounts, 8 batches, 1 run): proves it works");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  Settings settings;
  const bool short_run = flags.GetBool("short");
  settings.accounts = short_run ? 10'000 : static_cast<uint64_t>(flags.GetInt("accounts"));
  settings.batches = short_run ? 8 : static_cast<uint64_t>(flags.GetInt("batches"));
  settings.batch_size = static_cast<uint32_t>(flags.GetInt("batch"));
  settings.pipeline = static_cast<size_t>(flags.GetInt("pipeline"));
  settings.runs = short_run ? 1 : static_cast<int>(flags.GetInt("runs"));
  settings.replicas = static_cast<int>(flags.GetInt("replicas"));
  settings.binary = flags.Get("binary");
  settings.wal_preallocate = flags.Get("wal-preallocate");
  if (settings.accounts < 2 || settings.batches < 1 || settings.batch_size < 1 ||
      settings.batch_size > ledger::kBatchMax || settings.pipeline < 1 || settings.runs < 1 ||
      settings.replicas < 1 || settings.replicas > 9) {
    std::fprintf(stderr, "wallet_raft_bench: a flag is out of range (see --help)\n");
    return 2;
  }
  settings.root = flags.Get("root");
  if (settings.root.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "wallet_raft_bench.XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::fprintf(stderr, "wallet_raft_bench: cannot create a directory under /tmp\n");
      return 1;
    }
    settings.root = pattern;
  }

  std::printf(
      "wallet_raft_bench: %d replica process%s on loopback, every entry fdatasynced; "
      "%llu accounts, %llu batches of %u transfers, %zu in flight, %d run%s\n",
      settings.replicas, settings.replicas == 1 ? "" : "es",
      static_cast<unsigned long long>(settings.accounts),
      static_cast<unsigned long long>(settings.batches), settings.batch_size, settings.pipeline,
      settings.runs, settings.runs == 1 ? "" : "s");
  std::printf("machine: %s; the replicas and this client share them\n", MachineLine().c_str());
  std::printf("data: %s\n\n", settings.root.c_str());
  std::printf(
      "| run | transfers/s | batch p50 ms | batch p99 ms | servers' CPU us/transfer | "
      "client CPU us/transfer | leader fsyncs / entries | accounts/s (setup) |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::vector<double> rates;
  for (int run = 1; run <= settings.runs; ++run) {
    RunResult r;
    if (!Run(settings, run, &r)) return 1;
    if (r.failed != 0) {
      std::fprintf(stderr, "wallet_raft_bench: %llu events failed\n",
                   static_cast<unsigned long long>(r.failed));
      return 1;
    }
    rates.push_back(r.transfers_per_second);
    std::printf(
        "| %d | %s | %.1f | %.1f | %.2f | %.2f | %llu / %llu | %s |\n", run,
        Human(r.transfers_per_second).c_str(), r.p50_ms, r.p99_ms, r.server_cpu_us_per_transfer,
        r.client_cpu_us_per_transfer, static_cast<unsigned long long>(r.leader_fsyncs),
        static_cast<unsigned long long>(r.log_entries), Human(r.accounts_per_second).c_str());
    std::fflush(stdout);
  }
  const double median = Percentile(rates, 50);
  const Baseline baseline = InProcessBaseline(settings);
  std::printf(
      "\nmedian: %s transfers/s replicated on %d process%s; "
      "in-process ledger (one core, no log): %s transfers/s (%.2fx); "
      "TigerBeetle's published figure ~0.6 M/s (quoted, not run here): %.2fx\n",
      Human(median).c_str(), settings.replicas, settings.replicas == 1 ? "" : "es",
      Human(baseline.transfers_per_second).c_str(),
      baseline.transfers_per_second > 0 ? median / baseline.transfers_per_second : 0.0,
      median / 600'000.0);
  std::printf(
      "a snapshot of the ledger at the end of a run: %.1f MB, saved in %.0f ms, "
      "restored in %.0f ms (in this process)\n",
      baseline.snapshot_mb, baseline.snapshot_ms, baseline.restore_ms);
  if (flags.Get("root").empty()) std::filesystem::remove_all(settings.root);
  return 0;
}

}  // namespace
}  // namespace keel::examples::wallet

int main(int argc, char** argv) { return keel::examples::wallet::Main(argc, argv); }
