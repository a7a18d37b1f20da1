// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The values Raft passes around: log entries, the hard state a node persists, cluster
// configurations, snapshots, and the messages nodes send each other. They are plain structs, so
// that the same values flow through the deterministic simulator in the tests and through the
// network and the write-ahead log in a real server (keel/raft/codec.h encodes them).
//
// The names follow Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm"
// (USENIX ATC 2014), and Ongaro's dissertation, "Consensus: Bridging Theory and Practice"
// (Stanford, 2014); the message set is the one etcd/raft uses, because that is the vocabulary
// people who operate Raft clusters know.
//
// Example:
//
//   keel::raft::Entry entry{.term = 3, .index = 17, .data = "SET k v"};
//   keel::raft::ConfState conf{.voters = {0, 1, 2}};
#ifndef KEEL_RAFT_TYPES_H_
#define KEEL_RAFT_TYPES_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace keel::raft {

// Nodes are numbered by the application (raft_kv numbers them from 0 in --cluster order).
using NodeId = uint64_t;
// No node: no vote cast, no leader known.
inline constexpr NodeId kNoNode = std::numeric_limits<NodeId>::max();

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };

[[nodiscard]] std::string_view RoleName(Role role);

enum class EntryType : uint8_t {
  kNormal = 0,      // an application command (empty data: the no-op a new leader appends)
  kConfChange = 1,  // data is an encoded ConfChange (keel/raft/codec.h)
};

struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  EntryType type = EntryType::kNormal;
  std::string data;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// What a node must persist before it answers anything that relies on it (Figure 2 of the paper:
// currentTerm and votedFor). The commit index is here too, as etcd/raft keeps it, so that a
// restarted node can apply what it knew was committed without waiting for a leader; losing it
// is safe (it is recomputed), which is why a change of it alone needs no sync.
struct HardState {
  uint64_t term = 0;
  NodeId vote = kNoNode;
  uint64_t commit = 0;

  friend bool operator==(const HardState&, const HardState&) = default;
};

// A cluster configuration. `voters` elect leaders and form quorums; `learners` receive the log
// but do not vote. During a joint configuration (the paper's C_old,new) `voters_outgoing` holds
// the old voters, and every decision needs a majority of both sets. `learners_next` are voters of
// the outgoing configuration that become learners when the joint configuration is left (a node
// cannot be a voter and a learner at once). With `auto_leave`, the leader proposes leaving the
// joint configuration as soon as it is applied. Each list is sorted.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> voters_outgoing;
  std::vector<NodeId> learners;
  std::vector<NodeId> learners_next;
  bool auto_leave = false;

  [[nodiscard]] bool joint() const { return !voters_outgoing.empty(); }
  friend bool operator==(const ConfState&, const ConfState&) = default;
};

enum class ConfChangeType : uint8_t {
  kAddVoter = 0,    // add a voter, or promote a learner
  kRemoveNode = 1,  // remove a voter or a learner
  kAddLearner = 2,  // add a learner, or demote a voter
};

struct ConfChangeSingle {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId node = kNoNode;

  friend bool operator==(const ConfChangeSingle&, const ConfChangeSingle&) = default;
};

// How a change of more than one voter is made.
enum class ConfChangeTransition : uint8_t {
  // One step when at most one voter changes (the dissertation's single-server change, which is
  // safe because any two majorities of configurations one voter apart overlap); otherwise
  // through a joint configuration that is left automatically.
  kAuto = 0,
  // Always through a joint configuration, left automatically.
  kJointImplicit = 1,
  // Always through a joint configuration, left only when the application proposes an empty
  // ConfChange (so that it can act between the two steps).
  kJointExplicit = 2,
};

// A membership change. An empty `changes` leaves a joint configuration.
struct ConfChange {
  ConfChangeTransition transition = ConfChangeTransition::kAuto;
  std::vector<ConfChangeSingle> changes;
  // Opaque to Raft; returned with the entry (raft_kv puts the new node's address here).
  std::string context;

  [[nodiscard]] bool leaves_joint() const { return changes.empty(); }
  friend bool operator==(const ConfChange&, const ConfChange&) = default;
};

struct SnapshotMetadata {
  uint64_t index = 0;  // the last entry the snapshot includes
  uint64_t term = 0;   // that entry's term
  ConfState conf;      // the configuration as of that entry

  friend bool operator==(const SnapshotMetadata&, const SnapshotMetadata&) = default;
};

// The application's state as of metadata.index. The data is shared, not copied, between the
// node that keeps it to send to followers and the application.
struct Snapshot {
  SnapshotMetadata metadata;
  std::shared_ptr<const std::string> data;

  [[nodiscard]] std::string_view bytes() const {
    return data ? std::string_view(*data) : std::string_view();
  }
};

enum class MessageType : uint8_t {
  kAppend = 0,              // AppendEntries (entries may be empty: it then carries the commit)
  kAppendResponse = 1,      //
  kVote = 2,                // RequestVote
  kVoteResponse = 3,        //
  kPreVote = 4,             // the dissertation's pre-vote (section 9.6): would you vote for me?
  kPreVoteResponse = 5,     //
  kSnapshot = 6,            // one chunk of InstallSnapshot
  kSnapshotResponse = 7,    // the bytes of the snapshot received so far
  kHeartbeat = 8,           //
  kHeartbeatResponse = 9,   //
  kTimeoutNow = 10,         // leadership transfer: start an election now (section 3.10)
  kReadIndex = 11,          // a follower asks the leader for a read index (section 6.4)
  kReadIndexResponse = 12,  //
  kTransferLeader = 13,     // a follower asks the leader to hand leadership to `index`
};
inline constexpr int kMessageTypeCount = 14;

[[nodiscard]] std::string_view MessageTypeName(MessageType type);
// Whether a message answers another (a request and its answer make one RPC in the paper's terms).
[[nodiscard]] bool IsResponse(MessageType type);
// Whether a message may be sent before the Ready that holds it is persisted: a leader's appends,
// heartbeats and snapshot chunks (keel/raft/node.h, step 2). Everything else waits for the write.
[[nodiscard]] bool MaySendBeforePersist(MessageType type);

// One message between two nodes. Which fields mean what depends on the type:
//
//   kAppend            index, log_term: the entry before `entries` (prevLogIndex, prevLogTerm);
//                      entries; commit: the leader's commit index
//   kAppendResponse    index: the last index now known to match the leader (accepted), or the
//                      index that was rejected; reject; reject_hint, log_term: where the
//                      follower's log could match (its largest index <= the rejected one whose
//                      term is <= the leader's term there), so that the leader skips a whole term
//                      per round trip
//   kVote, kPreVote    term: the term asked for; index, log_term: the candidate's last entry;
//                      context: "transfer" when leadership is being transferred
//   k*VoteResponse     reject
//   kSnapshot          snapshot: the metadata; snapshot_offset; snapshot_chunk; snapshot_done
//   kSnapshotResponse  snapshot.index; snapshot_offset: the bytes received in order; reject when
//                      the follower lost the snapshot's start (the leader starts over)
//   kHeartbeat         commit; context: the leader's read-index round, echoed back
//   kReadIndex         context: the request's, echoed in the response; index: the read index
//   kTransferLeader    index: the node that should lead
struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  uint64_t term = 0;
  uint64_t log_term = 0;
  uint64_t index = 0;
  std::vector<Entry> entries;
  uint64_t commit = 0;
  bool reject = false;
  uint64_t reject_hint = 0;
  SnapshotMetadata snapshot;
  uint64_t snapshot_offset = 0;
  bool snapshot_done = false;
  std::string snapshot_chunk;
  std::string context;
};

// The answer to a ReadIndex request: once the application has applied `index`, a read of its
// state is linearizable. `context` identifies the request.
struct ReadState {
  uint64_t index = 0;
  std::string context;

  friend bool operator==(const ReadState&, const ReadState&) = default;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_TYPES_H_
