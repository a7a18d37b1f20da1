// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The machinery behind keel::raft::Node. The sources split it by concern:
//
//   node.cc         construction, ticks, roles, Ready and Advance, the public wrappers
//   step.cc         Step: the term rules and votes common to every role, then each role's
//                   handling of the rest (candidate, follower)
//   leader.cc       what only a leader does: proposals, replication, commitment, heartbeats,
//                   snapshots to followers, leadership transfer
//   read_index.cc   linearizable reads: ReadIndex rounds and leases
//   membership.cc   configuration changes and switching to a new configuration
#ifndef KEEL_SRC_RAFT_NODE_IMPL_H_
#define KEEL_SRC_RAFT_NODE_IMPL_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/random.h"
#include "keel/raft/internal/progress.h"
#include "keel/raft/internal/raft_log.h"
#include "keel/raft/node.h"

namespace keel::raft::internal {

// The configuration a change leads to from `current`, or why it cannot be made (membership.cc).
absl::StatusOr<ConfState> NextConfState(const ConfState& current, const ConfChange& change);

// A read-index round number as a heartbeat's context, and back (read_index.cc).
std::string EncodeRound(uint64_t round);
bool DecodeRound(std::string_view context, uint64_t* round);

class NodeImpl {
 public:
  NodeImpl(const NodeOptions& options, InitialState initial);

  // The public API; see keel/raft/node.h.
  void Tick();
  absl::Status Step(const Message& message);
  absl::StatusOr<uint64_t> Propose(std::string data);
  absl::StatusOr<uint64_t> ProposeConfChange(const ConfChange& change);
  absl::StatusOr<ConfState> ApplyConfChange(const ConfChange& change);
  absl::Status ReadIndex(std::string context);
  absl::Status TransferLeadership(NodeId transferee);
  absl::Status Campaign();
  absl::StatusOr<Snapshot> Compact(uint64_t index, std::string data);
  void ReportUnreachable(NodeId node);
  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& ready);
  NodeStatus status() const;

  NodeId id() const { return options_.id; }
  Role role() const { return role_; }
  NodeId leader() const { return leader_; }
  uint64_t term() const { return term_; }
  uint64_t commit_index() const { return log_.committed(); }
  uint64_t applied_index() const { return log_.applied(); }
  uint64_t last_index() const { return log_.last_index(); }
  const ConfState& conf_state() const { return conf_; }

 private:
  // --- node.cc: roles and timers.
  void ResetTerm(uint64_t term);
  void BecomeFollower(uint64_t term, NodeId leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void StartElection(bool transfer);
  bool Promotable() const;
  void TickElection();
  void TickLeader();
  void Send(Message message);
  HardState hard_state() const;

  // --- step.cc.
  absl::Status Validate(const Message& message) const;
  void StepVoteRequest(const Message& message);
  void StepCandidate(const Message& message);
  void StepFollower(const Message& message);
  void HandleAppend(const Message& message);
  void HandleHeartbeat(const Message& message);
  void HandleSnapshotChunk(const Message& message);
  void RestoreSnapshot(Snapshot snapshot);

  // --- leader.cc.
  absl::Status StepLeader(const Message& message);
  void HandleAppendResponse(const Message& message, Progress& progress);
  void HandleHeartbeatResponse(const Message& message, Progress& progress);
  void HandleSnapshotResponse(const Message& message, Progress& progress);
  absl::Status CheckCanPropose() const;
  absl::StatusOr<uint64_t> AppendAsLeader(EntryType type, std::string data);
  // Sends `to` what it lacks, as far as its window allows; an empty append (to carry the commit
  // index) only when `allow_empty`. Returns whether anything was sent.
  bool SendAppends(NodeId to, bool allow_empty);
  void SendSnapshotChunks(NodeId to, Progress& progress);
  void FlushBroadcast();
  void BroadcastHeartbeat();
  bool MaybeCommit();
  void HandleTransferLeader(NodeId transferee);
  void SendTimeoutNow(NodeId to);

  // --- read_index.cc.
  void RequestRead(NodeId from, std::string context);
  void ReleaseReads();
  void ReleaseReadsWaitingForCommit();
  bool LeaseValid() const;
  void AnswerRead(NodeId from, uint64_t index, std::string context);

  // --- membership.cc.
  void SwitchToConfig(const ConfState& conf);
  // On a leader in a joint configuration with auto_leave and no change pending: proposes leaving
  // it (after each ApplyConfChange and Advance, until it is proposed).
  void MaybeAutoLeave();
  Progress NewProgress() const;

  NodeOptions options_;
  base::Random random_;
  RaftLog log_;

  Role role_ = Role::kFollower;
  uint64_t term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId leader_ = kNoNode;

  ConfState conf_;
  QuorumConfig quorum_;
  // Every member's replication state, this node's own included; meaningful on a leader.
  std::map<NodeId, Progress> progress_;
  std::map<NodeId, bool> votes_;

  int64_t ticks_ = 0;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;

  NodeId transferee_ = kNoNode;
  // The index of the latest membership change proposed; none may be proposed until it is applied.
  uint64_t pending_conf_index_ = 0;
  // Membership changes handed out to apply and not yet applied, by index, so that
  // ApplyConfChange knows which entry it applies; and the configuration after each applied
  // change since the snapshot, so that Compact records the configuration as of its index.
  std::deque<uint64_t> conf_change_indexes_;
  std::map<uint64_t, ConfState> conf_history_;
  uint64_t uncommitted_bytes_ = 0;
  // Appends (or commit updates) to send to every follower when the Ready is taken: proposals made
  // between two Readys go out together.
  bool broadcast_pending_ = false;

  // Read-index rounds: every heartbeat a leader sends carries the number of its round; a read
  // registered in round r is answered once a quorum has echoed a round >= r. A read asked for
  // before the leader has committed an entry of its term waits for that first.
  struct PendingRead {
    NodeId from = kNoNode;
    uint64_t index = 0;
    uint64_t round = 0;
    std::string context;
  };
  uint64_t next_round_ = 1;
  bool heartbeat_pending_ = false;
  std::map<NodeId, uint64_t> round_acked_;
  std::map<uint64_t, int64_t> round_sent_tick_;
  // The tick at which the round a quorum last confirmed was sent; -1 for none this term.
  int64_t lease_start_tick_ = -1;
  std::deque<PendingRead> pending_reads_;
  std::vector<PendingRead> reads_waiting_for_commit_;

  // The snapshot a follower is receiving in chunks.
  struct IncomingSnapshot {
    SnapshotMetadata metadata;
    std::string data;
  };
  std::optional<IncomingSnapshot> incoming_snapshot_;

  std::vector<Message> outbox_;
  std::vector<ReadState> read_states_;
  SoftState reported_soft_;
  HardState reported_hard_;
};

}  // namespace keel::raft::internal

#endif  // KEEL_SRC_RAFT_NODE_IMPL_H_
