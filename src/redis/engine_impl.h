// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Engine's state, private to src/redis: what the command handlers of every family share.
#ifndef KEEL_SRC_REDIS_ENGINE_IMPL_H_
#define KEEL_SRC_REDIS_ENGINE_IMPL_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/redis/database.h"
#include "keel/redis/engine.h"

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
  base::Random rng;  // ZRANDMEMBER's picks

  mutable std::mutex mu;
  Database db;
  uint64_t next_client_id = 1;
  int64_t start_time_ms = 0;  // wall clock, for INFO's uptime
  int64_t start_monotonic_ns = 0;
  uint64_t dirty = 0;  // changes since start (rdb_changes_since_last_save's kin)
  uint64_t total_commands = 0;

  // Commands by lower-case name; containers (CLIENT, COMMAND, CONFIG) by "client|setname".
  absl::flat_hash_map<std::string, const internal::CommandSpec*> commands;
  absl::flat_hash_map<std::string, CommandStats> stats;
  std::function<void(std::string&, std::string_view)> info_source;

  [[nodiscard]] int64_t NowMillis() const { return clock->NowNanos() / 1'000'000; }
};

}  // namespace keel::redis

#endif  // KEEL_SRC_REDIS_ENGINE_IMPL_H_
