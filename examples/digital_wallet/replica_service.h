// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ReplicaService: one replica of the digital wallet's replicated event log. A keel::raft::Server
// whose state machine is the ledger (LedgerStateMachine), and the RESP sessions
// (keel::net::Server) that clients talk to, with the commands of replica_protocol.h. It follows
// raft_kv's KvService (examples/raft_kv/kv_service.h): writes are proposed (a follower forwards
// them to the leader) and answered once applied on this replica; reads wait for a read index.
//
// Pipelining. A client keeps several batches in flight on one connection, and replies leave in
// the order the requests came. raft_kv holds a connection's output, and its reading, until every
// reply of the requests of one read is in; a batch of 8,189 transfers is a megabyte, which takes
// many reads, so that would leave one batch in flight per connection. Here the session keeps
// reading while replies are outstanding, queues them in request order and sends each as soon as
// those before it are in; only past max_requests_per_connection outstanding does it stop reading
// (Connection::HoldOutput) until replies come back.
//
// Example:
//
//   ReplicaOptions options;
//   options.raft.id = 0;
//   options.raft.dir = "/var/lib/wallet/0";
//   options.raft.listen_address = "127.0.0.1:7000";
//   options.raft.peers = {{1, "127.0.0.1:7001"}, {2, "127.0.0.1:7002"}};
//   options.raft.bootstrap_voters = {0, 1, 2};
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<ReplicaService> replica, ReplicaService::Start(options));
//   uint16_t port = replica->port();  // LEDGER.EXECUTE, LEDGER.TRANSFER, ... here
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_SERVICE_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "digital_wallet/replica_state_machine.h"
#include "keel/base/clock.h"
#include "keel/net/server.h"
#include "keel/raft/server.h"

namespace keel::examples::wallet {

struct ReplicaOptions {
  raft::ServerOptions raft = {};
  MachineOptions machine = {};
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // the client port; 0: the system chooses
  size_t io_threads = 1;
  // Requests of one connection waiting for their replies before it stops reading.
  size_t max_requests_per_connection = 64;
  // The wall clock that stamps commands (LedgerStateMachine's timestamps); tests give their own.
  const base::Clock* clock = &base::SystemClock::Default();
};

class ReplicaService {
 public:
  // Errors: those of LedgerStateMachine::Create, raft::Server::Start and net::Server::Start.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ReplicaService>> Start(
      const ReplicaOptions& options);
  ~ReplicaService();
  ReplicaService(const ReplicaService&) = delete;
  ReplicaService& operator=(const ReplicaService&) = delete;

  [[nodiscard]] uint16_t port() const { return client_port_; }
  [[nodiscard]] uint16_t peer_port() const { return raft_->peer_port(); }
  [[nodiscard]] raft::Server& raft() { return *raft_; }
  [[nodiscard]] const ReplicaOptions& options() const { return options_; }
  // The state machine's figures (any thread).
  [[nodiscard]] const LedgerStateMachine::Counters& counters() const { return *counters_; }
  // The INFO text.
  [[nodiscard]] std::string Info() const;
  // Closes the clients' connections, then stops Raft. Idempotent.
  void Stop();

 private:
  ReplicaService() = default;

  ReplicaOptions options_;
  const LedgerStateMachine::Counters* counters_ = nullptr;  // the state machine's
  std::unique_ptr<raft::Server> raft_;
  std::unique_ptr<net::Server> network_;
  std::atomic<uint16_t> client_port_{0};
};

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_SERVICE_H_
