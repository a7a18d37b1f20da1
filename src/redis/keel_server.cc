// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel-server: keel's Redis-compatible server. It speaks RESP2 and RESP3 on TCP, so redis-cli,
// redis-benchmark and Redis client libraries work with it unchanged, and serves strings, sorted
// sets (the leaderboard's data type) and the commands around them with Redis 7.0's replies.
//
//   keel-server --port 6380 --dir /var/lib/keel --appendfsync always
//   redis-cli -p 6380 ZADD board 10 alice
//
// With --dir, every write is logged before its reply leaves (Redis's append-only file, on keel's
// write-ahead log) and a restart on the same directory restores the keyspace; without, the data
// lives in memory only. docs/redis_persistence.md has the format and the policies.
//
// It runs until SIGINT or SIGTERM, then closes every connection and exits 0.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "keel/base/strings.h"
#include "keel/redis/server.h"

int main(int argc, char** argv) {
  keel::examples::Flags flags("keel-server",
                              "a Redis-compatible server for keel's sorted sets and strings");
  flags.Add("port", "6380", "TCP port to listen on (0: the system picks one, printed at start)");
  flags.Add("bind", "127.0.0.1", "address to listen on");
  flags.Add("threads", "1", "I/O threads; commands still run one at a time");
  flags.Add("dir", "", "directory of the append-only log (persistence); empty: memory only");
  flags.Add("appendfsync", "everysec",
            "when the log is synced: always (before each reply), everysec, or no");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  const int64_t port = flags.GetInt("port");
  const int64_t threads = flags.GetInt("threads");
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "keel-server: --port=%lld is not a TCP port\n",
                 static_cast<long long>(port));
    return 2;
  }
  if (threads < 1 || threads > 1024) {
    std::fprintf(stderr, "keel-server: --threads=%lld must be from 1 to 1024\n",
                 static_cast<long long>(threads));
    return 2;
  }

  const std::string appendfsync = flags.Get("appendfsync");
  keel::redis::FsyncPolicy fsync;
  if (appendfsync == "always") {
    fsync = keel::redis::FsyncPolicy::kAlways;
  } else if (appendfsync == "everysec") {
    fsync = keel::redis::FsyncPolicy::kEverySec;
  } else if (appendfsync == "no") {
    fsync = keel::redis::FsyncPolicy::kNo;
  } else {
    std::fprintf(stderr, "keel-server: --appendfsync=%s is not always, everysec or no\n",
                 appendfsync.c_str());
    return 2;
  }

  // Signals are taken by sigwait below, not by a handler: block them before any thread starts,
  // so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  keel::redis::ServerOptions options;
  options.network.bind_address = flags.Get("bind");
  options.network.port = static_cast<uint16_t>(port);
  options.network.threads = static_cast<size_t>(threads);
  options.engine.dir = flags.Get("dir");
  options.engine.fsync = fsync;
  auto server = keel::redis::Server::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "keel-server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string persistence =
      options.engine.dir.empty()
          ? std::string("memory only")
          : keel::base::Cat("log in ", options.engine.dir, ", appendfsync ", appendfsync, ", ",
                            (*server)->engine().persistence_stats().loaded_commands,
                            " commands loaded");
  std::printf("keel-server: ready on %s:%u (%lld I/O thread%s, %s)\n",
              options.network.bind_address.c_str(), (*server)->port(),
              static_cast<long long>(threads), threads == 1 ? "" : "s", persistence.c_str());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::printf("keel-server: signal %d, stopping\n", signal_number);
  (*server)->Stop();
  return 0;
}
