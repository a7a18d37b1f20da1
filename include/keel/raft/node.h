// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Node: one member of a Raft cluster, as a pure state machine. It does no I/O and reads no clock:
// ticks and messages go in; messages to send, entries and state to persist, and committed entries
// to apply come out in a Ready. The application (the deterministic simulator in keel's tests, or
// raft_kv) moves bytes between nodes and to disk. The design is etcd/raft's, so the same code runs
// where time is virtual and faults are scripted and where it is real.
//
// The algorithm is Raft as in Ongaro and Ousterhout (2014) and Ongaro's dissertation (2014):
//
//   - Elections with randomized timeouts in [election_ticks, 2 * election_ticks); pre-vote
//     (section 9.6), so that a node cut off from the cluster cannot raise the term and depose a
//     healthy leader when it returns; check-quorum (section 6.2), so that a leader that cannot
//     reach a majority steps down, and followers that hear from a leader ignore vote requests for
//     an election timeout.
//   - Replication with batching (a message carries up to max_bytes_per_append of entries) and
//     pipelining (up to max_inflight_appends messages in flight per follower before an
//     acknowledgement), after a probing phase that finds where a follower's log matches; a
//     rejection carries a hint (the conflicting term and index, section 5.3's optimization) so
//     that the leader backs up a term per round trip, not an entry.
//   - Commitment only of entries of the leader's own term, counted by a quorum (Figure 8).
//   - Snapshots and log compaction (chapter 5): the application snapshots its state and the node
//     drops the log before it; followers too far behind get the snapshot in chunks of
//     snapshot_chunk_bytes.
//   - Membership changes (chapter 4): one voter at a time, or any change through a joint
//     configuration; learners, which receive the log but do not vote until promoted; only one
//     change pending at a time, and none before the leader has committed an entry of its term
//     (the fix to single-server changes Ongaro published in 2015).
//   - Leadership transfer (section 3.10), and linearizable reads through ReadIndex (section 6.4),
//     or through a lease when the clock drift is bounded (read_lease_drift_ticks).
//
// Using a node. Feed it Tick() at a steady rate and Step() every message addressed to it; call
// Propose() to replicate a command. Whenever HasReady(), take GetReady() and handle it in this
// order:
//
//   1. Persist ready.hard_state, ready.snapshot and ready.entries (the entries replace any
//      entries the storage has from ready.entries.front().index on), durably.
//   2. Send ready.messages. (A leader's kAppend, kHeartbeat and kSnapshot messages may go
//      before step 1 finishes: a leader counts itself towards a quorum only once Advance says
//      its entries are durable, so it may replicate while it writes (the dissertation, section
//      10.2.1). Every other message, a follower's acknowledgement above all, waits for step 1.)
//   3. Restore the application's state from ready.snapshot, if any; then apply
//      ready.committed_entries in order (calling ApplyConfChange for kConfChange entries) and
//      serve ready.read_states once their index is applied.
//   4. Call Advance(ready).
//
// Example:
//
//   keel::raft::NodeOptions options{.id = 0, .election_ticks = 10, .heartbeat_ticks = 1};
//   KEEL_ASSIGN_OR_RETURN(auto node, keel::raft::Node::Create(
//                                        options, keel::raft::InitialState::Bootstrap({0, 1, 2})));
//   node->Tick();                     // every 100 ms, say
//   KEEL_RETURN_IF_ERROR(node->Step(message_from_network));
//   if (node->role() == keel::raft::Role::kLeader) (void)node->Propose("SET k v");
//   while (node->HasReady()) {
//     keel::raft::Ready ready = node->GetReady();
//     storage.Save(ready);  send(ready.messages);  apply(ready.committed_entries);
//     node->Advance(ready);
//   }
//
// Thread safety: none; a node belongs to one thread (raft_kv's runs on one strand).
#ifndef KEEL_RAFT_NODE_H_
#define KEEL_RAFT_NODE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/raft/types.h"

namespace keel::raft {

enum class ReadOnlyMode : uint8_t {
  // ReadIndex confirms leadership with a heartbeat round to a quorum.
  kSafe,
  // The leader answers at once while its lease holds: a quorum acknowledged it within the last
  // election_ticks - read_lease_drift_ticks ticks, counted from when it sent the heartbeat.
  // Followers refuse to vote for anyone else within election_ticks of hearing from the leader
  // (check_quorum), so no other leader can exist while the lease holds, provided no clock runs
  // faster than another by more than the drift. Requires check_quorum.
  kLeaseBased,
};

struct NodeOptions {
  NodeId id = kNoNode;
  // A follower that hears nothing from a leader for a random number of ticks in
  // [election_ticks, 2 * election_ticks) starts an election. Must be > heartbeat_ticks, and at
  // most 2^30.
  int election_ticks = 10;
  // A leader sends heartbeats every heartbeat_ticks. At least 1.
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  // Entry bytes per append message (at least one entry is always sent). At least 1.
  uint64_t max_bytes_per_append = 1 << 20;
  // Append messages in flight to one follower before an acknowledgement (a window of this many
  // slots is allocated per follower). At least 1, at most 65536.
  uint32_t max_inflight_appends = 256;
  // Bytes of entries the leader holds that are not yet committed; a proposal past it fails with
  // kResourceExhausted (the client should back off). 0 for no limit.
  uint64_t max_uncommitted_bytes = 0;
  // Snapshot bytes per kSnapshot message. At least 1, at most 2^30.
  uint64_t snapshot_chunk_bytes = 1 << 20;
  // Bytes of committed entries handed out in one Ready (at least one entry). At least 1.
  uint64_t max_committed_bytes_per_ready = 64 << 20;
  ReadOnlyMode read_only = ReadOnlyMode::kSafe;
  // kLeaseBased: how many ticks faster a clock may run than another's over an election timeout.
  // Must be < election_ticks.
  int read_lease_drift_ticks = 1;
  // Seeds the randomized election timeouts, so that a simulation replays exactly.
  uint64_t random_seed = 0;
};

// What a node starts from: nothing (a new cluster), or what it persisted before a restart.
struct InitialState {
  HardState hard_state;
  // The latest snapshot; for a new cluster, an empty one at index 1 holding the initial
  // configuration (Bootstrap). A node started from nothing (one that will be added to a running
  // cluster) has no configuration and waits to hear from a leader.
  Snapshot snapshot;
  // The log after the snapshot, in order, without gaps.
  std::vector<Entry> entries;

  // The state of a member of a new cluster whose first configuration has these voters.
  [[nodiscard]] static InitialState Bootstrap(std::vector<NodeId> voters);
};

// A change of role or leader, for the application to act on (raft_kv's INFO; forwarding).
struct SoftState {
  Role role = Role::kFollower;
  NodeId leader = kNoNode;

  friend bool operator==(const SoftState&, const SoftState&) = default;
};

struct Ready {
  std::optional<SoftState> soft_state;   // when it changed
  std::optional<HardState> hard_state;   // when it changed; persist it
  std::optional<Snapshot> snapshot;      // received from the leader: persist it, then restore it
  std::vector<Entry> entries;            // persist them, replacing from their first index on
  std::vector<Message> messages;         // send them once the above is persisted
  std::vector<Entry> committed_entries;  // apply them in order
  std::vector<ReadState> read_states;    // serve once their index is applied
  // Whether the hard state's term or vote or any entry changed: persisting them must then be
  // durable (an fsync) before the messages go. A change of commit index alone need not be.
  bool must_sync = false;
};

// A summary of a node's state, for tests, INFO and monitoring.
struct NodeStatus {
  NodeId id = kNoNode;
  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  uint64_t term = 0;
  NodeId vote = kNoNode;
  uint64_t commit = 0;
  uint64_t applied = 0;
  uint64_t first_index = 0;  // the first entry in the log (snapshot index + 1)
  uint64_t last_index = 0;
  ConfState conf;
  // For a leader: each member's match index (the last entry known to be replicated there).
  std::vector<std::pair<NodeId, uint64_t>> match;
  NodeId transferee = kNoNode;  // a leadership transfer under way
};

namespace internal {
class NodeImpl;
}

class Node {
 public:
  // Errors: kInvalidArgument for bad options (naming the field) or an initial state whose entries
  // do not follow the snapshot without gaps.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Node>> Create(const NodeOptions& options,
                                                                    InitialState initial);

  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();

  // Advances the node's logical clock by one tick.
  void Tick();

  // Handles a message from another node. Errors: kInvalidArgument for a message not addressed to
  // this node, from an unknown message type, or malformed (entries out of order or of a later
  // term than the message, a snapshot chunk whose end overflows, a snapshot of a later term than
  // the message, an acknowledgement of entries or snapshot bytes this leader does not have); the
  // node is unchanged. Messages from an older term, or ones that no longer apply, are dropped
  // silently: that is normal on a real network.
  [[nodiscard]] absl::Status Step(const Message& message);

  // Appends a command to the leader's log and returns its index; it is committed when it shows
  // up in Ready::committed_entries. Errors: kFailedPrecondition when this node is not the leader
  // (the message names the leader, if known) or is transferring leadership; kResourceExhausted
  // past max_uncommitted_bytes.
  [[nodiscard]] absl::StatusOr<uint64_t> Propose(std::string data);

  // Proposes a membership change. Errors as Propose, and kFailedPrecondition while another change
  // is pending or before the leader has committed an entry of its term; kInvalidArgument for a
  // change that makes no sense (removing the last voter, a joint change while joint, an empty
  // change outside a joint configuration, an unknown node id).
  [[nodiscard]] absl::StatusOr<uint64_t> ProposeConfChange(const ConfChange& change);

  // Applies a committed membership change to the node's configuration and returns the new one.
  // Call it for each kConfChange entry when applying it, in log order. Errors: kInvalidArgument
  // when the change cannot be applied to the current configuration (the node is unchanged).
  [[nodiscard]] absl::StatusOr<ConfState> ApplyConfChange(const ConfChange& change);

  // Requests a read index; the answer comes as a ReadState with this context in a later Ready.
  // A follower asks its leader. Errors: kUnavailable when no leader is known (retry later).
  [[nodiscard]] absl::Status ReadIndex(std::string context);

  // Asks the leader to hand leadership to `transferee`, which must be a voter. On a follower the
  // request is forwarded to the leader. Errors: kInvalidArgument for a node that is not a voter;
  // kUnavailable when no leader is known.
  [[nodiscard]] absl::Status TransferLeadership(NodeId transferee);

  // Starts an election now, as if the election timeout had passed (tests, and operators who want
  // a particular node to lead). Errors: kFailedPrecondition when this node cannot be elected (not
  // a voter, or already the leader).
  [[nodiscard]] absl::Status Campaign();

  // Records that the application has snapshotted its state as of `index` (which it must have
  // applied) and drops the log up to it. The snapshot is kept to send to followers that need it;
  // the application persists it before calling (the node cannot: it does no I/O). Errors:
  // kInvalidArgument for an index not yet applied or older than the current snapshot.
  [[nodiscard]] absl::StatusOr<Snapshot> Compact(uint64_t index, std::string data);

  // The application could not deliver a message to `node` (the connection failed): the leader
  // stops pipelining to it and probes again.
  void ReportUnreachable(NodeId node);

  [[nodiscard]] bool HasReady() const;
  // Everything the application must do now (see the top of this file). Call Advance before the
  // next GetReady.
  [[nodiscard]] Ready GetReady();
  // The application has handled `ready`: its entries are durable and its committed entries
  // applied.
  void Advance(const Ready& ready);

  [[nodiscard]] NodeId id() const;
  [[nodiscard]] Role role() const;
  [[nodiscard]] NodeId leader() const;
  [[nodiscard]] uint64_t term() const;
  [[nodiscard]] uint64_t commit_index() const;
  [[nodiscard]] uint64_t applied_index() const;
  [[nodiscard]] uint64_t last_index() const;
  [[nodiscard]] const ConfState& conf_state() const;
  [[nodiscard]] NodeStatus status() const;

 private:
  explicit Node(std::unique_ptr<internal::NodeImpl> impl);

  std::unique_ptr<internal::NodeImpl> impl_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_NODE_H_
