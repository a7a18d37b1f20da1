// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Server: keel's Redis-compatible server, the command engine (keel/redis/engine.h) behind keel's
// network layer (keel/net/server.h). keel-server is this class plus flag parsing; a program can
// embed it the same way (tests and the leaderboard example start one on a free loopback port).
//
// What it adds to the two parts: one engine session per connection (the client's id, name and
// protocol, QUIT's close), INFO's figures about clients and traffic, and a timer that deletes
// expired keys every 100 ms (Redis's active expiry, hz 10).
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<keel::redis::Server> server,
//                         keel::redis::Server::Start({.network = {.port = 0}}));
//   uint16_t port = server->port();   // redis-cli -p <port> works against it
//   ...
//   server->Stop();
#ifndef KEEL_REDIS_SERVER_H_
#define KEEL_REDIS_SERVER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "keel/net/server.h"
#include "keel/redis/engine.h"

namespace keel::redis {

struct ServerOptions {
  net::ServerOptions network;
  EngineOptions engine;
  // How often expired keys are looked for, and how many one pass may delete.
  int64_t expire_cycle_ms = 100;
  size_t expire_cycle_keys = 200;
};

class Server {
 public:
  // Starts listening. Errors: those of keel::net::Server::Start (an address in use, ...).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  [[nodiscard]] uint16_t port() const;
  [[nodiscard]] Engine& engine();
  [[nodiscard]] net::ServerStats network_stats() const;

  // Closes every connection and stops the threads. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::redis

#endif  // KEEL_REDIS_SERVER_H_
