// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// raft_kv: a key-value store replicated with Raft, which redis-cli and redis-benchmark talk to.
//
//   raft_kv serve --id I --cluster HOST:PORT,HOST:PORT,... --port P --dir DIR
//       one replica. --cluster lists every member's peer address in id order (ids from 0); the
//       replica listens for peers at its own entry and for clients at --port. --join starts a
//       replica that is not a founding member: it waits to be added (RAFT.ADDNODE on the leader).
//   raft_kv demo
//       a narrated run of 3- and 5-node clusters on loopback (demo.cc).
//
// The case study: the digital wallet keeps its event log on Raft, so that an acknowledged
// transfer survives the loss of any minority of machines. raft_kv is that log with the smallest
// useful state machine on top.
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/cli.h"
#include "keel/base/strings.h"
#include "raft_kv/demo.h"
#include "raft_kv/kv_service.h"

namespace keel::examples::raft_kv {
namespace {

volatile std::sig_atomic_t stop_requested = 0;
void RequestStop(int) { stop_requested = 1; }

int Serve(int argc, char** argv) {
  Flags flags("raft_kv serve", "Runs one replica of a raft_kv cluster.");
  flags.Add("id", "", "this replica's id: its position in --cluster, from 0");
  flags.Add("cluster", "", "every member's peer address HOST:PORT, comma-separated, in id order");
  flags.Add("port", "6379", "the client (RESP) port");
  flags.Add("bind", "127.0.0.1", "the address clients connect to");
  flags.Add("dir", "", "the directory of this replica's write-ahead log and snapshots");
  flags.AddBool("join", "not a founding member: wait to be added with RAFT.ADDNODE");
  flags.Add("tick-ms", "10", "Raft's tick; heartbeats every 5 ticks, elections after 50 to 100");
  flags.Add("snapshot-every", "100000", "entries applied between snapshots");
  flags.Add("io-threads", "1", "threads serving client connections");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;

  ServiceOptions options;
  uint64_t id = 0;
  if (!absl::SimpleAtoi(flags.Get("id"), &id)) {
    std::fprintf(stderr, "raft_kv: --id %s is not a replica id\n", flags.Get("id").c_str());
    return 2;
  }
  const std::vector<std::string> cluster = absl::StrSplit(flags.Get("cluster"), ',');
  if (flags.Get("cluster").empty() || id >= cluster.size()) {
    std::fprintf(stderr, "raft_kv: --id %llu has no address in --cluster %s\n",
                 static_cast<unsigned long long>(id), flags.Get("cluster").c_str());
    return 2;
  }
  if (flags.Get("dir").empty()) {
    std::fprintf(stderr, "raft_kv: --dir is required\n");
    return 2;
  }
  options.raft.id = id;
  options.raft.dir = flags.Get("dir");
  options.raft.listen_address = cluster[id];
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (i != id) options.raft.peers[i] = cluster[i];
    if (!flags.GetBool("join")) options.raft.bootstrap_voters.push_back(i);
  }
  int64_t tick_ms = 0;
  if (!absl::SimpleAtoi(flags.Get("tick-ms"), &tick_ms) || tick_ms <= 0) {
    std::fprintf(stderr, "raft_kv: --tick-ms %s is not a positive number\n",
                 flags.Get("tick-ms").c_str());
    return 2;
  }
  options.raft.tick_ns = tick_ms * 1'000'000;
  if (!absl::SimpleAtoi(flags.Get("snapshot-every"), &options.raft.snapshot_every_entries) ||
      options.raft.snapshot_every_entries == 0) {
    std::fprintf(stderr, "raft_kv: --snapshot-every %s is not a positive number\n",
                 flags.Get("snapshot-every").c_str());
    return 2;
  }
  options.bind_address = flags.Get("bind");
  uint32_t port = 0;
  if (!absl::SimpleAtoi(flags.Get("port"), &port) || port > 65535 ||
      !absl::SimpleAtoi(flags.Get("io-threads"), &options.io_threads) || options.io_threads == 0) {
    std::fprintf(stderr, "raft_kv: bad --port %s or --io-threads %s\n", flags.Get("port").c_str(),
                 flags.Get("io-threads").c_str());
    return 2;
  }
  options.port = static_cast<uint16_t>(port);

  absl::StatusOr<std::unique_ptr<KvService>> service = KvService::Start(options);
  if (!service.ok()) {
    std::fprintf(stderr, "raft_kv: %s\n", service.status().ToString().c_str());
    return 1;
  }
  // The line scripts and the demo wait for.
  std::printf("raft_kv %llu ready port %u peer_port %u\n", static_cast<unsigned long long>(id),
              (*service)->port(), (*service)->peer_port());
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

}  // namespace
}  // namespace keel::examples::raft_kv

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode == "serve") return keel::examples::raft_kv::Serve(argc - 1, argv + 1);
  if (mode == "demo") return keel::examples::raft_kv::Demo(argc - 1, argv + 1, argv[0]);
  std::fprintf(stderr,
               "usage: raft_kv serve --id I --cluster HOST:PORT,... --port P --dir DIR [--join]\n"
               "       raft_kv demo [--help]\n"
               "Each mode explains its flags with --help.\n");
  return mode == "--help" || mode == "-h" ? 0 : 2;
}
