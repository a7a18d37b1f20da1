// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Engine's state, private to src/redis: what the command handlers of every family share.
#ifndef KEEL_SRC_REDIS_ENGINE_IMPL_H_
#define KEEL_SRC_REDIS_ENGINE_IMPL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/pubsub/broker.h"
#include "keel/redis/database.h"
#include "keel/redis/engine.h"
#include "cycle_timer.h"

namespace keel::redis {
namespace internal {
struct CommandSpec;
}  // namespace internal

struct Engine::Impl {
  explicit Impl(const EngineOptions& o);

  EngineOptions options;
  const base::Clock* clock;
  base::SystemClock system_clock;
  base::MonotonicClock monotonic_clock;
  internal::CycleTimer cycle_timer;  // commands' durations
  base::Random rng;  // ZRANDMEMBER's picks

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

  void Register(const internal::CommandSpec& spec, std::string full_name);

  [[nodiscard]] int64_t NowMillis() const { return clock->NowNanos() / 1'000'000; }
};

}  // namespace keel::redis

#endif  // KEEL_SRC_REDIS_ENGINE_IMPL_H_
