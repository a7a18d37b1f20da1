// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The command layer's machinery, private to src/redis: what a command handler sees
// (CommandContext), how a command is described (CommandSpec: Redis's name, arity, flags and key
// positions, which COMMAND and INFO report), and the registries each family of commands fills.
//
// A handler validates its arguments, acts on the database and writes exactly one reply, the one
// Redis 7.0 writes for the same arguments and data: the reply texts below are Redis's, and
// tests/redis compares keel's replies with a real redis-server's, byte for byte.
#ifndef KEEL_SRC_REDIS_COMMAND_H_
#define KEEL_SRC_REDIS_COMMAND_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine_impl.h"
#include "keel/net/resp_writer.h"
#include "keel/redis/database.h"
#include "keel/redis/engine.h"

namespace keel::redis::internal {

using Args = std::span<const std::string_view>;

// Redis's shared replies, as the handlers write them.
inline constexpr std::string_view kSyntaxError = "syntax error";
inline constexpr std::string_view kWrongType =
    "-WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kNotInteger = "value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "value is not a valid float";

enum CommandFlag : uint32_t {
  kWrite = 1 << 0,     // may change the keyspace (logged for persistence when it does)
  kReadOnly = 1 << 1,  // never changes the keyspace
  kFast = 1 << 2,      // O(1) or O(log n)
  kPubSub = 1 << 3,    // allowed to a RESP2 client in subscribed mode
  kNoPropagate = 1 << 4,
  kLoading = 1 << 5,  // allowed while the dataset loads
  kStale = 1 << 6,
  kConnection = 1 << 7,      // acts on the connection, not the keyspace
  kSubscribedMode = 1 << 8,  // allowed to a RESP2 client in subscribed mode (PING, QUIT, the
                             // (un)subscribe commands)
};

class CommandContext {
 public:
  CommandContext(Engine::Impl& engine, ClientState& client, net::RespWriter& reply)
      : engine_(engine), db_(engine.db), client_(client), reply_(reply) {}

  [[nodiscard]] Engine::Impl& engine() { return engine_; }
  [[nodiscard]] Database& db() { return db_; }
  [[nodiscard]] ClientState& client() { return client_; }
  [[nodiscard]] net::RespWriter& reply() { return reply_; }
  [[nodiscard]] int64_t now_ms() const { return db_.now_ms(); }

  // Marks `n` changes to the keyspace (Redis's server.dirty): a command that made any is logged.
  void Dirty(uint64_t n = 1) { dirty_ += n; }
  [[nodiscard]] uint64_t dirty() const { return dirty_; }

  // Logs `args` instead of the command as it was sent: a relative time made absolute (EXPIRE as
  // PEXPIREAT), a random choice made definite. Called more than once, logs each in turn.
  void Propagate(std::vector<std::string> args) { propagated_.push_back(std::move(args)); }
  [[nodiscard]] const std::vector<std::vector<std::string>>& propagated() const {
    return propagated_;
  }

  // The reply failed (counted as failed_calls in INFO commandstats).
  void Error(std::string_view message) {
    failed_ = true;
    reply_.Error(message);
  }
  [[nodiscard]] bool failed() const { return failed_; }

 private:
  Engine::Impl& engine_;
  Database& db_;
  ClientState& client_;
  net::RespWriter& reply_;
  uint64_t dirty_ = 0;
  bool failed_ = false;
  std::vector<std::vector<std::string>> propagated_;
};

using Handler = void (*)(CommandContext& ctx, Args args);

struct CommandSpec {
  std::string_view name;  // lower case, as COMMAND and INFO print it
  // Redis's arity: N means exactly N arguments (the name included), -N at least N.
  int arity;
  uint32_t flags;
  int first_key;  // position of the first key, 0 if none
  int last_key;   // position of the last key; -1 the last argument, -2 the one before, ...
  int key_step;
  Handler handler;
  // For COMMAND DOCS (redis-cli's help and hints).
  std::string_view group;
  std::string_view summary;
  std::string_view since;
  std::string_view complexity;
  // A container's subcommands (CLIENT SETNAME is "client|setname"); its own handler is unused.
  std::span<const CommandSpec> subcommands = {};
};

// Each family of commands lists its commands (and zset_commands.h the sorted sets').
std::span<const CommandSpec> KeyCommands();
std::span<const CommandSpec> StringCommands();
std::span<const CommandSpec> ServerCommands();
std::span<const CommandSpec> GeoCommands();
std::span<const CommandSpec> PubSubCommands();

// Writes the messages waiting for `client`; false if a subscription was dropped for falling
// behind (see Engine::DeliverMessages).
bool WritePendingMessages(Engine::Impl& engine, ClientState& client, net::RespWriter& writer);

// ---------------------------------------------------------------------------------------------
// Helpers shared by the handlers.
// ---------------------------------------------------------------------------------------------

// The value at `key` if it is of `type`; nullptr if there is none. On a value of another type,
// writes WRONGTYPE, sets *wrong_type and returns nullptr.
Value* LookupTyped(CommandContext& ctx, std::string_view key, ValueType type, bool* wrong_type);

// "ERR wrong number of arguments for '<name>' command".
void ReplyArity(CommandContext& ctx, std::string_view name);

}  // namespace keel::redis::internal

#endif  // KEEL_SRC_REDIS_COMMAND_H_
