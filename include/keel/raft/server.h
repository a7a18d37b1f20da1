// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Server: one Raft replica running for real. It wires a keel::raft::Node to its Storage (the
// write-ahead log and snapshots in a directory), its Transport (TCP to the other replicas) and
// the application's StateMachine, and drives them all on the transport's thread, so that none of
// them needs a lock. raft_kv is a Server with a key-value StateMachine and a RESP front end.
//
// Writes. Propose(command) replicates a command and calls back with the state machine's reply
// once the command is committed and applied on this replica. A replica that is not the leader
// forwards the command to the leader over the peer network; the leader appends it to the log,
// tagged with the replica and request it came from, and when the forwarding replica applies that
// entry it answers its caller. If the leader changes or the network fails before that, the
// caller gets kDeadlineExceeded after request_timeout_ns: the command may or may not have been
// applied (as with any database whose connection times out). Proposals that arrive while the
// replica is busy (an fsync) go into the log together: one Ready, one fsync, one append message
// per follower (group commit).
//
// Reads. Read(ready) calls back on the server's thread once a read of the state machine there is
// linearizable: after a ReadIndex round (or under a lease, NodeOptions::read_only) and once the
// replica has applied the read index. Followers serve reads too, without forwarding them.
//
// Durability. A Ready is persisted (synced when it must be) before its messages go out and
// before its entries are applied, as keel/raft/node.h requires; a replica that acknowledged an
// entry has it on disk. A storage error stops the replica (every pending request fails, and it
// answers no more): what reached the disk is unknown, and restarting recovers as from a crash.
//
// Snapshots. Every snapshot_every_entries applied entries the state machine is snapshotted, the
// snapshot persisted and the log compacted; followers too far behind receive it in chunks.
//
// Membership. AddMember adds a node as a learner, waits for it to catch up, then promotes it to
// voter; RemoveMember removes one (the leader itself included). The new member's peer address
// travels in the membership change, so every replica learns it.
//
// Example:
//
//   keel::raft::ServerOptions options;
//   options.id = 0;
//   options.dir = "/var/lib/kv/0";
//   options.listen_address = "127.0.0.1:7000";
//   options.peers = {{1, "127.0.0.1:7001"}, {2, "127.0.0.1:7002"}};
//   options.bootstrap_voters = {0, 1, 2};
//   KEEL_ASSIGN_OR_RETURN(auto server,
//                         keel::raft::Server::Start(options, std::make_unique<MyMachine>()));
//   server->Propose("SET k v", [](absl::StatusOr<std::string> reply) { ... });
#ifndef KEEL_RAFT_SERVER_H_
#define KEEL_RAFT_SERVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/raft/node.h"
#include "keel/raft/storage.h"
#include "keel/raft/transport.h"
#include "keel/raft/types.h"

namespace keel::raft {

// The application's deterministic state, replicated by applying the same commands in the same
// order on every replica. All calls come from the server's thread.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // (Restore receives empty bytes for the initial state: a new cluster's first snapshot, which a
  // member added later also receives.)
  // Applies a committed command and returns the reply for whoever proposed it.
  virtual std::string Apply(std::string_view command) = 0;
  [[nodiscard]] virtual std::string Snapshot() const = 0;
  [[nodiscard]] virtual absl::Status Restore(std::string_view snapshot) = 0;
};

struct ServerOptions {
  NodeId id = kNoNode;
  // The replica's storage directory (created if missing).
  std::string dir;
  // The peer network: where this replica listens, and the other members' addresses.
  std::string listen_address = "127.0.0.1:0";
  std::map<NodeId, std::string> peers;
  // The founding members of a new cluster; empty for a replica that will be added to a running
  // one (AddMember on the leader). Ignored when `dir` holds a replica already.
  std::vector<NodeId> bootstrap_voters;
  // Raft's options (id and random_seed are filled in). With the default 10 ms tick: heartbeats
  // every 50 ms, elections after 500 ms to 1 s of silence.
  NodeOptions node{.election_ticks = 50, .heartbeat_ticks = 5};
  int64_t tick_ns = 10'000'000;
  // Snapshot and compact the log after this many entries applied since the last snapshot.
  uint64_t snapshot_every_entries = 100'000;
  // A request not answered by then fails with kDeadlineExceeded.
  int64_t request_timeout_ns = 5'000'000'000;
  // The most requests waiting for their answer; more fail with kResourceExhausted.
  size_t max_pending_requests = 1 << 20;
  StorageOptions storage;
  // Transport options other than id, listen_address and peers (limits, timeouts).
  TransportOptions transport;
};

struct ServerStatus {
  NodeStatus node;
  StorageStats storage;
  TransportStats transport;
  uint64_t proposals = 0;           // commands proposed here (as leader) or forwarded
  uint64_t forwarded = 0;           // of which forwarded to the leader
  uint64_t applied_entries = 0;     // since Start
  uint64_t snapshots_made = 0;      // since Start
  uint64_t snapshots_received = 0;  // installed from the leader since Start
  uint64_t reads = 0;               // linearizable reads served
  uint64_t timeouts = 0;            // requests that expired
  bool failed = false;              // a storage error stopped the replica
  std::string failure;
};

namespace internal {
class ServerImpl;
}

class Server {
 public:
  using Done = std::function<void(absl::StatusOr<std::string> reply)>;
  using ReadReady = std::function<void(absl::Status status)>;

  // Opens the storage, recovers the state machine from the latest snapshot (the log after it is
  // applied again as the replica learns what is committed), listens for peers and starts the
  // thread. Errors: those of Storage::Open, Node::Create and Transport::Start.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, std::unique_ptr<StateMachine> state_machine);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();  // Stop()

  // Replicates `command`; `done` runs on the server's thread with the state machine's reply, or:
  // kUnavailable when no leader is known, kDeadlineExceeded when the command was not applied
  // here in time (it may be later), kResourceExhausted past max_pending_requests or the leader's
  // max_uncommitted_bytes, kFailedPrecondition after a storage failure. Any thread.
  void Propose(std::string command, Done done);

  // Calls `ready` on the server's thread when a read of the state machine is linearizable there
  // (ready(OkStatus)), or with an error as Propose's. The read itself is done in `ready`. Any
  // thread.
  void Read(ReadReady ready);

  // Adds node `id` (listening for peers at `address`) as a learner, waits until it has caught up
  // with the leader's log, then makes it a voter. `done` gets "OK" or an error. On the leader;
  // others answer kFailedPrecondition naming it. Any thread.
  void AddMember(NodeId id, std::string address, Done done);
  // Removes node `id` (a voter or a learner; the leader may remove itself). Any thread.
  void RemoveMember(NodeId id, Done done);
  // Asks the leader to hand leadership to `id`. Any thread.
  void TransferLeadership(NodeId id, Done done);

  // Runs `task` on the server's thread (where state_machine() may be used). False after Stop.
  bool Post(std::function<void()> task);
  // The state machine; only on the server's thread (in a callback or a posted task).
  [[nodiscard]] StateMachine& state_machine();

  // A copy of the replica's state as of its last tick; any thread.
  [[nodiscard]] ServerStatus status() const;
  [[nodiscard]] uint16_t peer_port() const;

  // Stops the thread; pending requests fail with kCancelled (their callbacks run on the thread
  // calling Stop). Idempotent; not from the server's thread.
  void Stop();

 private:
  explicit Server(std::unique_ptr<internal::ServerImpl> impl);
  std::unique_ptr<internal::ServerImpl> impl_;
  bool stopped_ = false;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_SERVER_H_
