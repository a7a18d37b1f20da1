// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// KvStore: the state machine of raft_kv, a key-value map driven by Redis commands. Every replica
// applies the same committed commands in the same order, so it must be deterministic: no clock,
// no randomness, no iteration order that differs between replicas. Replies are Redis 7.0's,
// byte for byte, for the commands it knows:
//
//   GET key              bulk string, or nil               (a read: not replicated)
//   SET key value        +OK                               (no options: EX/PX would need a clock)
//   DEL key [key ...]    :number of keys removed
//   INCR key             :new value
//   INCRBY key delta     :new value
//
// INCR and INCRBY read a missing key as 0 and fail, as Redis does, with "-ERR value is not an
// integer or out of range" for a value that is not a 64-bit integer and "-ERR increment or
// decrement would overflow". A wrong number of arguments gets Redis's arity error.
//
// Commands travel in log entries encoded by EncodeCommand (a count and length-prefixed
// arguments); snapshots are the sorted map encoded the same way (docs/raft.md).
//
// Example:
//
//   keel::raft::KvStore store;
//   std::string out;
//   keel::net::RespWriter reply(out);
//   std::vector<std::string_view> set = {"SET", "k", "7"};
//   store.Apply(set, reply);   // out == "+OK\r\n"
#ifndef KEEL_RAFT_KV_STORE_H_
#define KEEL_RAFT_KV_STORE_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/net/resp_writer.h"

namespace keel::raft {

enum class KvCommandKind : uint8_t {
  kUnknown,  // not a command KvStore knows: reply with an error, replicate nothing
  kRead,     // answered from a replica's state once a read index is applied
  kWrite,    // replicated through the log
};

// Which kind of command args[0] names (case-insensitive, as Redis).
[[nodiscard]] KvCommandKind ClassifyKvCommand(std::string_view name);

// Commands in log entries, and back.
[[nodiscard]] std::string EncodeCommand(std::span<const std::string_view> args);
[[nodiscard]] absl::StatusOr<std::vector<std::string>> DecodeCommand(std::string_view bytes);

class KvStore {
 public:
  // Runs a write command (REQUIRES: kWrite) and writes its reply.
  void Apply(std::span<const std::string_view> args, net::RespWriter& reply);
  // Runs a read command (REQUIRES: kRead) and writes its reply.
  void Read(std::span<const std::string_view> args, net::RespWriter& reply) const;
  // The reply for a command KvStore does not know, as Redis gives it.
  static void ReplyUnknown(std::span<const std::string_view> args, net::RespWriter& reply);

  [[nodiscard]] size_t size() const { return map_.size(); }
  [[nodiscard]] const std::string* Find(std::string_view key) const;

  [[nodiscard]] std::string Snapshot() const;
  // Replaces the state (empty bytes: the initial, empty state). Errors: kDataLoss for bytes
  // Snapshot did not write (the store is unchanged).
  [[nodiscard]] absl::Status Restore(std::string_view snapshot);

 private:
  void IncrBy(std::string_view key, int64_t delta, net::RespWriter& reply);

  std::map<std::string, std::string, std::less<>> map_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_KV_STORE_H_
