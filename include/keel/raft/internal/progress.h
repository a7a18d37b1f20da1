// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What a leader knows about each member's log, and how it counts quorums.
//
// A leader replicates to a follower in one of three states (the scheme of etcd/raft, which
// Ongaro's dissertation leaves to implementations):
//
//   probe      the leader does not know where the follower's log matches its own. It sends one
//              append at a time (and another only after a heartbeat response), backing up on each
//              rejection by the hint the follower sends.
//   replicate  the logs match up to `match`; the leader streams appends without waiting, up to
//              max_inflight_appends unacknowledged messages (pipelining).
//   snapshot   the entries the follower needs are compacted away; the leader sends its snapshot
//              in chunks and returns to probing once the follower has it.
#ifndef KEEL_RAFT_INTERNAL_PROGRESS_H_
#define KEEL_RAFT_INTERNAL_PROGRESS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "keel/raft/types.h"

namespace keel::raft::internal {

// The appends in flight to one follower, as the last index each carried, oldest first: a ring
// buffer of a fixed capacity (max_inflight_appends), so that a busy leader does not allocate.
class Inflights {
 public:
  explicit Inflights(uint32_t capacity) : slots_(capacity) {}

  [[nodiscard]] bool full() const { return count_ == slots_.size(); }
  [[nodiscard]] size_t count() const { return count_; }

  void Add(uint64_t last_index);
  // Frees every append whose last index is <= `index` (acknowledged).
  void FreeUpTo(uint64_t index);
  void FreeFirst();
  void Reset() { start_ = count_ = 0; }

 private:
  std::vector<uint64_t> slots_;
  size_t start_ = 0;
  size_t count_ = 0;
};

struct Progress {
  enum class State : uint8_t { kProbe, kReplicate, kSnapshot };

  explicit Progress(uint32_t max_inflight) : inflights(max_inflight) {}

  uint64_t match = 0;
  uint64_t next = 1;
  State state = State::kProbe;
  // probe: an append has been sent and not answered; no more until a response or a heartbeat.
  bool probe_sent = false;
  // Heard from since the last check-quorum round.
  bool recent_active = false;
  bool is_learner = false;
  // snapshot: the index of the snapshot being sent, and the bytes sent and acknowledged.
  uint64_t snapshot_index = 0;
  uint64_t snapshot_sent = 0;
  uint64_t snapshot_acked = 0;
  // snapshot: the chunk that ends the snapshot has been sent (and not found lost since).
  bool snapshot_final_sent = false;
  // snapshot: snapshot_acked when the last heartbeat response came, to tell a stalled transfer.
  uint64_t snapshot_acked_at_heartbeat = 0;
  Inflights inflights;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(uint64_t index);

  // The follower matches up to `index`. Returns whether that is news.
  bool MaybeUpdate(uint64_t index);
  // The follower rejected the append at `rejected`; `hint` is where the leader should try next
  // (computed from the follower's hint). Returns false for a stale rejection.
  bool MaybeDecreaseTo(uint64_t rejected, uint64_t hint);
  // Whether the leader must wait before sending this follower another append.
  [[nodiscard]] bool paused() const;
};

// Who votes, and how a quorum is counted. In a joint configuration a decision needs a majority of
// `incoming` and one of `outgoing`.
struct QuorumConfig {
  std::vector<NodeId> incoming;
  std::vector<NodeId> outgoing;

  [[nodiscard]] bool joint() const { return !outgoing.empty(); }
  [[nodiscard]] bool IsVoter(NodeId id) const;
  // Every voter once (a node in both halves appears once).
  [[nodiscard]] std::vector<NodeId> AllVoters() const;
};

enum class VoteResult : uint8_t { kPending, kLost, kWon };

// A voter's index in a quorum count: its match index for the commit index, the last heartbeat
// round it echoed for ReadIndex; 0 for a voter the caller knows nothing of.
using IndexOf = absl::FunctionRef<uint64_t(NodeId id)>;

// The halves of up to this many voters that CommittedIndex counts without allocating.
inline constexpr size_t kInlineVoters = 8;

// The largest index that a quorum holds, given each voter's index: in a majority configuration
// the (n/2 + 1)-th largest of its n voters' indexes (that many voters hold it or more), in a
// joint one the smaller of the two halves'. An empty majority configuration commits everything
// (so that the incoming half of a joint configuration alone decides when the outgoing half is
// empty); a configuration with no voters at all commits nothing. Calls `index_of` once for each
// voter of each half, and allocates nothing for halves of up to kInlineVoters voters: a leader
// counts on every acknowledgement.
[[nodiscard]] uint64_t CommittedIndex(const QuorumConfig& config, IndexOf index_of);
// The same over a map of indexes (a voter missing from `match` counts as 0).
[[nodiscard]] uint64_t CommittedIndex(const QuorumConfig& config,
                                      const std::map<NodeId, uint64_t>& match);

// The outcome of an election given the votes received so far (true: granted).
[[nodiscard]] VoteResult TallyVotes(const QuorumConfig& config,
                                    const std::map<NodeId, bool>& votes);

// Whether the voters in `active` form a quorum.
[[nodiscard]] bool IsQuorum(const QuorumConfig& config, std::span<const NodeId> active);

}  // namespace keel::raft::internal

#endif  // KEEL_RAFT_INTERNAL_PROGRESS_H_
