// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Engine's state, private to src/redis: what the command handlers of every family share.
#ifndef KEEL_SRC_REDIS_ENGINE_IMPL_H_
#define KEEL_SRC_REDIS_ENGINE_IMPL_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "cycle_timer.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/net/resp_writer.h"
#include "keel/pubsub/broker.h"
#include "keel/redis/database.h"
#include "keel/redis/engine.h"

namespace keel::redis {
namespace internal {
struct CommandSpec;
class AppendOnlyFile;
}  // namespace internal

struct Engine::Impl {
  explicit Impl(const EngineOptions& o);
  ~Impl();

  // Runs one command, as Execute describes. Sets *known (if given) to whether the command was
  // found and its arity accepted. REQUIRES: mu held.
  uint64_t Run(ClientState& client, net::RespWriter& reply, std::span<const std::string_view> args,
               bool* known = nullptr);

  // Persistence (engine_persistence.cc).
  [[nodiscard]] absl::Status OpenPersistence();  // loads, then starts the background thread
  void StopBackground();
  void BackgroundLoop();
  [[nodiscard]] absl::Status RewriteNow();
  void LogExpired(std::string_view key);  // Database's on_expired: logged as DEL
  // Why a write command must not run ("" if it may): the log failed, or the command is too large
  // for a record. REQUIRES: aof.
  [[nodiscard]] std::string RefuseWrite(std::span<const std::string_view> args) const;

  EngineOptions options;
  const base::Clock* clock;
  base::SystemClock system_clock;
  base::MonotonicClock monotonic_clock;
  internal::CycleTimer cycle_timer;  // commands' durations
  base::Random rng;                  // ZRANDMEMBER's picks

  // What PUBLISH sends: the channel it went to, for pattern subscribers, and the payload.
  struct Message {
    std::string channel;
    std::string payload;
  };
  std::unique_ptr<pubsub::Broker<Message>> broker;

  mutable std::mutex mu;
  Database db;
  uint64_t next_client_id = 1;
  int64_t start_time_ms = 0;  // wall clock, for INFO's uptime
  int64_t start_monotonic_ns = 0;
  uint64_t dirty = 0;  // changes since start (rdb_changes_since_last_save's kin)
  uint64_t total_commands = 0;

  // A command as registered: its spec, its full name ("zadd", "client|setname") and its
  // statistics for INFO commandstats.
  struct Registered {
    const internal::CommandSpec* spec;
    std::string full_name;
    CommandStats stats;
  };
  // Redis looks command names up ignoring ASCII case; so do these, without lowering a copy.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view name) const;
  };
  struct NameEq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const;
  };
  // By full name; containers' subcommands (CLIENT SETNAME) as "client|setname".
  absl::flat_hash_map<std::string, std::unique_ptr<Registered>, NameHash, NameEq> commands;
  std::function<void(std::string&, std::string_view)> info_source;

  // Persistence: null for a memory-only engine.
  std::unique_ptr<internal::AppendOnlyFile> aof;
  bool loading = false;        // replaying the log: nothing expires, nothing is logged (mu)
  uint64_t command_token = 0;  // the last token the running command queued (mu)
  // The background thread: writes queued records, syncs under everysec, rewrites when due or
  // asked to (BGREWRITEAOF).
  std::mutex background_mu;
  std::condition_variable background_cv;
  bool stopping = false;           // background_mu
  bool rewrite_requested = false;  // background_mu
  std::thread background;
  void Register(const internal::CommandSpec& spec, std::string full_name);

  [[nodiscard]] int64_t NowMillis() const { return clock->NowNanos() / 1'000'000; }
};

}  // namespace keel::redis

#endif  // KEEL_SRC_REDIS_ENGINE_IMPL_H_
