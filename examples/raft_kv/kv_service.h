// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// raft_kv's serving side: a keel::raft::Server whose state machine is a keel::raft::KvStore, and
// the RESP sessions (keel::net::Server) that clients such as redis-cli and redis-benchmark talk
// to. Every replica answers every command:
//
//   GET                 a linearizable read: a read index from the leader (or its lease), then
//                       the replica's own store once it has applied that index
//   SET DEL INCR INCRBY replicated: a follower forwards the command to the leader, and answers
//                       once the committed command is applied on it
//   PING, INFO, CONFIG GET
//                       at once; INFO has a "# Raft" section (role, term, leader_id, commit_index,
//                       ...), and "# Replication" and "# Persistence" figures
//   RAFT.ADDNODE id host:port, RAFT.REMOVENODE id, RAFT.TRANSFER id
//                       membership and leadership (on the leader)
//
// Replies leave in the order the commands came, as Redis guarantees to a pipelining client: a
// connection's replies are held (keel::net::Connection::HoldOutput) until the slowest command of
// its batch is answered.
#ifndef KEEL_EXAMPLES_RAFT_KV_KV_SERVICE_H_
#define KEEL_EXAMPLES_RAFT_KV_KV_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keel/net/server.h"
#include "keel/raft/server.h"

namespace keel::examples::raft_kv {

struct ServiceOptions {
  raft::ServerOptions raft;
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // the client port; 0: the system chooses
  size_t io_threads = 1;
};

class KvService {
 public:
  static absl::StatusOr<std::unique_ptr<KvService>> Start(const ServiceOptions& options);
  ~KvService();

  [[nodiscard]] uint16_t port() const { return network_->port(); }
  [[nodiscard]] uint16_t peer_port() const { return raft_->peer_port(); }
  [[nodiscard]] raft::Server& raft() { return *raft_; }
  // The INFO text.
  [[nodiscard]] std::string Info() const;
  // The reply to CONFIG GET pattern... (args: the whole command), with Redis's names for what
  // raft_kv does, so that redis-benchmark and other tools that ask find answers.
  [[nodiscard]] std::string Config(std::span<const std::string_view> args) const;
  void Stop();

 private:
  KvService() = default;

  ServiceOptions options_;
  std::unique_ptr<raft::Server> raft_;
  std::unique_ptr<net::Server> network_;
  std::atomic<uint16_t> client_port_{0};
};

}  // namespace keel::examples::raft_kv

#endif  // KEEL_EXAMPLES_RAFT_KV_KV_SERVICE_H_
