// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
//   digital_wallet replica --id I --cluster HOST:PORT,HOST:PORT,... --port P --dir DIR
//
// One replica of the wallet's event log. --cluster lists every member's peer address in id order
// (ids from 0); the replica listens for its peers at its own entry and for clients at --port
// (loopback by default). It prints "digital_wallet replica I ready port P peer_port Q" once it
// serves, and stops on SIGINT or SIGTERM. Its Raft log and snapshots live in --dir; restarted on
// the same directory it recovers from them.
#include "digital_wallet/replica_main.h"

#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/cli.h"
#include "digital_wallet/replica_service.h"

namespace keel::examples::wallet {

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void RequestStop(int) { stop_requested = 1; }

int Usage(const std::string& message) {
  std::fprintf(stderr, "digital_wallet replica: %s (see --help)\n", message.c_str());
  return 2;
}

bool ParsePositive(const std::string& text, uint64_t* out) {
  return absl::SimpleAtoi(text, out) && *out > 0;
}

}  // namespace

int ReplicaMain(int argc, char** argv) {
  Flags flags("digital_wallet replica",
              "Runs one replica of the wallet's ledger, replicated with Raft (LEDGER.EXECUTE, "
              "LEDGER.ACCOUNT, LEDGER.TRANSFER, LEDGER.HASH, LEDGER.CHECK, INFO over RESP).");
  flags.Add("id", "", "this replica's id: its position in --cluster, from 0");
  flags.Add("cluster", "", "every member's peer address HOST:PORT, comma-separated, in id order");
  flags.Add("port", "7100", "the client (RESP) port; 0: the system chooses");
  flags.Add("bind", "127.0.0.1", "the address clients connect to");
  flags.Add("dir", "", "the directory of this replica's Raft log and snapshots");
  flags.Add("tick-ms", "10", "Raft's tick; heartbeats every 5 ticks, elections after 50 to 100");
  flags.Add("snapshot-every", "100000", "log entries (ledger commands) applied between snapshots");
  flags.Add("io-threads", "1", "threads serving client connections");
  flags.Add("reserve-accounts", "0", "accounts to allocate memory for at start (Ledger::Reserve)");
  flags.Add("reserve-transfers", "0", "transfers to allocate memory for at start");
  flags.Add("wal-preallocate", "1048576",
            "bytes of zeros the Raft log writes ahead of its entries (raft::StorageOptions); 0: "
            "none");
  flags.Add("max-accounts", "16777216", "the ledger's capacity; the same on every replica");
  flags.Add("max-transfers", "268435456", "the ledger's capacity; the same on every replica");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;

  ReplicaOptions options;
  uint64_t id = 0;
  if (!absl::SimpleAtoi(flags.Get("id"), &id)) {
    return Usage("--id " + flags.Get("id") + " is not a replica id");
  }
  const std::vector<std::string> cluster = absl::StrSplit(flags.Get("cluster"), ',');
  if (flags.Get("cluster").empty() || id >= cluster.size()) {
    return Usage("--id " + flags.Get("id") + " has no address in --cluster " +
                 flags.Get("cluster"));
  }
  if (flags.Get("dir").empty()) return Usage("--dir is required");
  std::error_code error;
  std::filesystem::create_directories(flags.Get("dir"), error);
  if (error) {
    std::fprintf(stderr, "digital_wallet replica: cannot create --dir %s: %s\n",
                 flags.Get("dir").c_str(), error.message().c_str());
    return 1;
  }
  options.raft.id = id;
  options.raft.dir = flags.Get("dir");
  options.raft.listen_address = cluster[id];
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (i != id) options.raft.peers[i] = cluster[i];
    options.raft.bootstrap_voters.push_back(i);
  }
  uint64_t tick_ms = 0;
  if (!ParsePositive(flags.Get("tick-ms"), &tick_ms) || tick_ms > 10'000) {
    return Usage("--tick-ms " + flags.Get("tick-ms") + " is not from 1 to 10000");
  }
  options.raft.tick_ns = static_cast<int64_t>(tick_ms) * 1'000'000;
  if (!ParsePositive(flags.Get("snapshot-every"), &options.raft.snapshot_every_entries)) {
    return Usage("--snapshot-every " + flags.Get("snapshot-every") + " is not a positive number");
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(flags.Get("port"), &port) || port > 65535) {
    return Usage("--port " + flags.Get("port") + " is not a port");
  }
  options.port = static_cast<uint16_t>(port);
  options.bind_address = flags.Get("bind");
  uint64_t io_threads = 0;
  if (!ParsePositive(flags.Get("io-threads"), &io_threads) || io_threads > 64) {
    return Usage("--io-threads " + flags.Get("io-threads") + " is not from 1 to 64");
  }
  options.io_threads = io_threads;
  if (!absl::SimpleAtoi(flags.Get("wal-preallocate"), &options.raft.storage.preallocate_bytes)) {
    return Usage("--wal-preallocate " + flags.Get("wal-preallocate") + " is not a number");
  }
  MachineOptions& machine = options.machine;
  if (!ParsePositive(flags.Get("max-accounts"), &machine.ledger.max_accounts) ||
      !ParsePositive(flags.Get("max-transfers"), &machine.ledger.max_transfers)) {
    return Usage("--max-accounts " + flags.Get("max-accounts") + " or --max-transfers " +
                 flags.Get("max-transfers") + " is not a positive number");
  }
  if (!absl::SimpleAtoi(flags.Get("reserve-accounts"), &machine.reserve_accounts) ||
      !absl::SimpleAtoi(flags.Get("reserve-transfers"), &machine.reserve_transfers) ||
      machine.reserve_accounts > machine.ledger.max_accounts ||
      machine.reserve_transfers > machine.ledger.max_transfers) {
    return Usage("--reserve-accounts " + flags.Get("reserve-accounts") +
                 " and --reserve-transfers " + flags.Get("reserve-transfers") +
                 " must be numbers within the capacity");
  }

  // Every batch of transfers is a megabyte, copied into a few fresh strings on its way through
  // the replica (the request, the log entry, the messages to the followers) and freed soon
  // after, a hundred times a second. glibc serves blocks of that size from fresh mmaps and gives
  // the top of the heap back once it is free, so the kernel zeroed every page of every copy
  // again (13% of a replica's CPU in a profile of wallet_raft_bench). Keeping such blocks in the
  // heap lets them be reused.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  absl::StatusOr<std::unique_ptr<ReplicaService>> service = ReplicaService::Start(options);
  if (!service.ok()) {
    std::fprintf(stderr, "digital_wallet replica: %s\n", service.status().ToString().c_str());
    return 1;
  }
  // The line scripts and tests wait for.
  std::printf("digital_wallet replica %llu ready port %u peer_port %u\n",
              static_cast<unsigned long long>(id), (*service)->port(), (*service)->peer_port());
  std::fflush(stdout);
  std::signal(SIGINT, RequestStop);
  std::signal(SIGTERM, RequestStop);
  while (!stop_requested) {
    struct timespec pause = {0, 50'000'000};
    nanosleep(&pause, nullptr);
  }
  (*service)->Stop();
  return 0;
}

}  // namespace keel::examples::wallet
