// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/raft/internal/progress.h"

#include <algorithm>
#include <functional>

#include "absl/container/inlined_vector.h"
#include "keel/base/assert.h"

namespace keel::raft::internal {

void Inflights::Add(uint64_t last_index) {
  KEEL_ASSERT(!full(), "an append was sent to a follower whose window is full");
  slots_[(start_ + count_) % slots_.size()] = last_index;
  ++count_;
}

void Inflights::FreeUpTo(uint64_t index) {
  while (count_ > 0 && slots_[start_] <= index) FreeFirst();
}

void Inflights::FreeFirst() {
  if (count_ == 0) return;
  start_ = (start_ + 1) % slots_.size();
  --count_;
}

void Progress::BecomeProbe() {
  // After a snapshot the follower has everything up to it, so probing starts just after it.
  if (state == State::kSnapshot) {
    next = std::max(match + 1, snapshot_index + 1);
  } else {
    next = match + 1;
  }
  state = State::kProbe;
  probe_sent = false;
  snapshot_index = snapshot_sent = snapshot_acked = snapshot_acked_at_heartbeat = 0;
  snapshot_final_sent = false;
  inflights.Reset();
}

void Progress::BecomeReplicate() {
  state = State::kReplicate;
  next = match + 1;
  probe_sent = false;
  snapshot_index = snapshot_sent = snapshot_acked = snapshot_acked_at_heartbeat = 0;
  snapshot_final_sent = false;
  inflights.Reset();
}

void Progress::BecomeSnapshot(uint64_t index) {
  state = State::kSnapshot;
  probe_sent = false;
  snapshot_index = index;
  snapshot_sent = snapshot_acked = snapshot_acked_at_heartbeat = 0;
  snapshot_final_sent = false;
  inflights.Reset();
}

bool Progress::MaybeUpdate(uint64_t index) {
  bool updated = false;
  if (match < index) {
    match = index;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return updated;
}

bool Progress::MaybeDecreaseTo(uint64_t rejected, uint64_t hint) {
  if (state == State::kReplicate) {
    // A rejection of an append at or below the match index is stale: the follower has matched
    // beyond it since.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // In probe only the append most recently sent (at next - 1) is awaited.
  if (next == 0 || next - 1 != rejected) return false;
  next = std::max(std::min(rejected, hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::paused() const {
  switch (state) {
    case State::kProbe:
      return probe_sent;
    case State::kReplicate:
      return inflights.full();
    case State::kSnapshot:
      return true;
  }
  return true;
}

namespace {

bool Contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// An empty half commits everything: the other half alone decides.
uint64_t MajorityCommitted(const std::vector<NodeId>& voters, IndexOf index_of) {
  if (voters.empty()) return UINT64_MAX;
  absl::InlinedVector<uint64_t, kInlineVoters> indexes;
  for (NodeId id : voters) indexes.push_back(index_of(id));
  // The (n/2 + 1)-th largest index is on a majority: n/2 + 1 voters hold it or more.
  const auto nth = indexes.begin() + static_cast<ptrdiff_t>(voters.size() / 2);
  std::nth_element(indexes.begin(), nth, indexes.end(), std::greater<>());
  return *nth;
}

VoteResult MajorityVote(const std::vector<NodeId>& voters, const std::map<NodeId, bool>& votes) {
  if (voters.empty()) return VoteResult::kWon;
  size_t granted = 0;
  size_t missing = 0;
  for (NodeId id : voters) {
    const auto it = votes.find(id);
    if (it == votes.end()) {
      ++missing;
    } else if (it->second) {
      ++granted;
    }
  }
  const size_t quorum = voters.size() / 2 + 1;
  if (granted >= quorum) return VoteResult::kWon;
  if (granted + missing >= quorum) return VoteResult::kPending;
  return VoteResult::kLost;
}

}  // namespace

bool QuorumConfig::IsVoter(NodeId id) const {
  return Contains(incoming, id) || Contains(outgoing, id);
}

std::vector<NodeId> QuorumConfig::AllVoters() const {
  std::vector<NodeId> all = incoming;
  for (NodeId id : outgoing) {
    if (!Contains(all, id)) all.push_back(id);
  }
  std::sort(all.begin(), all.end());
  return all;
}

uint64_t CommittedIndex(const QuorumConfig& config, IndexOf index_of) {
  // No voters at all: nothing can be committed.
  if (config.incoming.empty() && config.outgoing.empty()) return 0;
  return std::min(MajorityCommitted(config.incoming, index_of),
                  MajorityCommitted(config.outgoing, index_of));
}

uint64_t CommittedIndex(const QuorumConfig& config, const std::map<NodeId, uint64_t>& match) {
  return CommittedIndex(config, [&match](NodeId id) -> uint64_t {
    const auto it = match.find(id);
    return it == match.end() ? 0 : it->second;
  });
}

VoteResult TallyVotes(const QuorumConfig& config, const std::map<NodeId, bool>& votes) {
  const VoteResult incoming = MajorityVote(config.incoming, votes);
  const VoteResult outgoing = MajorityVote(config.outgoing, votes);
  if (config.incoming.empty() && config.outgoing.empty()) return VoteResult::kLost;
  if (incoming == outgoing) return incoming;
  if (incoming == VoteResult::kLost || outgoing == VoteResult::kLost) return VoteResult::kLost;
  return VoteResult::kPending;
}

bool IsQuorum(const QuorumConfig& config, std::span<const NodeId> active) {
  std::map<NodeId, bool> votes;
  for (NodeId id : config.AllVoters()) votes[id] = false;
  for (NodeId id : active) {
    if (votes.contains(id)) votes[id] = true;
  }
  return TallyVotes(config, votes) == VoteResult::kWon;
}

}  // namespace keel::raft::internal
