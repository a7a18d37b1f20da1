// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Engine: the Redis-compatible command engine behind keel-server. It owns the keyspace
// (keel/redis/database.h), executes commands as Redis 7.0 does, with byte-identical replies
// (errors included), keeps the statistics INFO reports, and hands every change to persistence.
//
// Clients: each connection has a ClientState (its id, name, protocol, and the flags a command can
// set for the connection, such as QUIT's close). The engine does not know about sockets; keel's
// network layer (keel/redis/session.h) feeds it parsed commands and sends what it writes. Tests
// call Execute directly and compare the bytes with a real redis-server's.
//
// Concurrency: Execute may be called from any thread; commands run one at a time under the
// engine's lock, so that every command is atomic, as in Redis. Parsing, encoding and socket work
// stay on the connections' threads, outside the lock (the design of Redis 6's I/O threads).
//
// Example:
//
//   auto engine = keel::redis::Engine::Create({});
//   keel::redis::ClientState client = engine->NewClient();
//   std::string out;
//   keel::net::RespWriter writer(out);
//   std::vector<std::string_view> args = {"ZADD", "board", "10", "alice"};
//   engine->Execute(client, writer, args);   // out == ":1\r\n"
#ifndef KEEL_REDIS_ENGINE_H_
#define KEEL_REDIS_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/base/clock.h"
#include "keel/net/resp_writer.h"
#include "keel/redis/database.h"

namespace keel::redis {

class Engine;

// What the engine knows of one client connection.
struct ClientState {
  uint64_t id = 0;
  std::string name;  // CLIENT SETNAME
  net::Protocol protocol = net::Protocol::kResp2;
  std::string peer_address;        // for CLIENT INFO/LIST
  bool close_after_reply = false;  // set by QUIT

  // Pub/sub. The channels and patterns subscribed to, in the order they were, each with its
  // subscription in the engine's broker (keel/pubsub/broker.h).
  std::vector<std::pair<std::string, uint64_t>> channels;
  std::vector<std::pair<std::string, uint64_t>> patterns;
  // How the engine wakes the client's connection when messages wait for it: the session posts
  // a task to its connection that calls Engine::DeliverMessages. Called from any thread, under
  // the broker's lock, so it must only schedule work. Unset: messages wait until the next
  // DeliverMessages call.
  std::function<void()> wake;

  [[nodiscard]] size_t subscription_count() const { return channels.size() + patterns.size(); }
};

// Statistics of one command, for INFO commandstats.
struct CommandStats {
  uint64_t calls = 0;
  uint64_t usec = 0;
  uint64_t rejected_calls = 0;  // refused before running (arity)
  uint64_t failed_calls = 0;    // ran and replied with an error
  uint64_t cycles = 0;          // the time-stamp counter's ticks, from which usec is derived
};

struct EngineOptions {
  // Wall-clock time for expiry (TTL) and INFO; a test may pass a ManualClock. nullptr: the
  // system clock. Must outlive the engine.
  const base::Clock* clock = nullptr;
  // What INFO server reports.
  uint16_t tcp_port = 0;
  size_t io_threads = 1;
  // Largest string value (proto-max-bulk-len): SET/APPEND beyond it fail.
  size_t max_string_bytes = size_t{512} * 1024 * 1024;
  // Pub/sub messages waiting for one subscription before its client is disconnected (Redis's
  // client-output-buffer-limit for pub/sub clients, which Redis counts in bytes: 32 MiB).
  size_t max_pending_messages = 256 * 1024;
};

class Engine {
 public:
  static std::unique_ptr<Engine> Create(const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // A new client's state, with a fresh id (CLIENT ID counts from 1).
  [[nodiscard]] ClientState NewClient();

  // Runs one command (args[0] is its name) for `client` and writes its reply to `reply`, in
  // the client's protocol. Thread-safe.
  void Execute(ClientState& client, net::RespWriter& reply, std::span<const std::string_view> args);

  // Writes the pub/sub messages waiting for `client`, as Redis's "message" and "pmessage"
  // pushes. Returns false if one of its subscriptions was dropped for falling behind (more than
  // EngineOptions::max_pending_messages waiting): the connection should be closed, as Redis
  // closes a pub/sub client past its output buffer limit. Call it on the client's own thread.
  bool DeliverMessages(ClientState& client, net::RespWriter& writer);

  // Releases everything the client holds (its subscriptions); call when its connection closes.
  void Disconnect(ClientState& client);

  // Deletes keys whose time has come, a bounded number per call (Redis's active expiry cycle).
  // A server calls it every 100 ms or so. Returns how many went. Thread-safe.
  size_t ExpireCycle(size_t limit = 200);

  // A command's statistics, by lower-case name (INFO commandstats); zero for unknown names.
  [[nodiscard]] CommandStats stats(std::string_view command) const;

  // The port INFO reports (once the server knows it).
  void set_tcp_port(uint16_t port);

  // Supplies figures for INFO that belong to the server around the engine (connected clients,
  // network bytes). Called under the engine's lock; must not call back into the engine.
  void set_info_source(std::function<void(std::string& section, std::string_view name)> source);

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::redis

#endif  // KEEL_REDIS_ENGINE_H_
