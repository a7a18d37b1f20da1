// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Linearizable reads without writing to the log (the dissertation, section 6.4). A read may be
// served from the state machine once it has applied the leader's commit index as of when the
// read arrived, provided the leader was still the leader then. ReadIndex proves that with a round
// of heartbeats acknowledged by a quorum; a lease proves it with time instead.
//
// Rounds. Every heartbeat broadcast is numbered, and followers echo the number. A read that
// arrives waits for the next broadcast (reads that arrive together share it) and is answered
// when a quorum has echoed that round or a later one. A leader that has not yet committed an
// entry of its own term does not know the commit index, so reads wait for that first.
#include <algorithm>
#include <utility>

#include "keel/base/coding.h"
#include "keel/base/strings.h"
#include "node_impl.h"

namespace keel::raft::internal {

std::string EncodeRound(uint64_t round) {
  std::string context;
  base::PutVarint64(context, round);
  return context;
}

bool DecodeRound(std::string_view context, uint64_t* round) {
  base::Reader reader(context);
  const absl::StatusOr<uint64_t> value = reader.ReadVarint64();
  if (!value.ok() || !reader.empty()) return false;
  *round = *value;
  return true;
}

absl::Status NodeImpl::ReadIndex(std::string context) {
  if (role_ == Role::kLeader) {
    RequestRead(options_.id, std::move(context));
    return absl::OkStatus();
  }
  if (leader_ == kNoNode) {
    return absl::UnavailableError(
        base::Cat("node ", options_.id, " knows of no leader to ask for a read index"));
  }
  Message request;
  request.type = MessageType::kReadIndex;
  request.to = leader_;
  request.context = std::move(context);
  Send(std::move(request));
  return absl::OkStatus();
}

void NodeImpl::RequestRead(NodeId from, std::string context) {
  PendingRead read{from, log_.committed(), 0, std::move(context)};
  if (log_.Term(log_.committed()) != term_) {
    reads_waiting_for_commit_.push_back(std::move(read));
    return;
  }
  if (options_.read_only == ReadOnlyMode::kLeaseBased && LeaseValid()) {
    AnswerRead(read.from, read.index, std::move(read.context));
    return;
  }
  read.round = next_round_;
  heartbeat_pending_ = true;
  pending_reads_.push_back(std::move(read));
  if (quorum_.AllVoters().size() == 1) BroadcastHeartbeat();
}

void NodeImpl::ReleaseReadsWaitingForCommit() {
  if (reads_waiting_for_commit_.empty() || log_.Term(log_.committed()) != term_) return;
  std::vector<PendingRead> waiting = std::move(reads_waiting_for_commit_);
  reads_waiting_for_commit_.clear();
  for (PendingRead& read : waiting) RequestRead(read.from, std::move(read.context));
}

void NodeImpl::ReleaseReads() {
  if (pending_reads_.empty() && options_.read_only != ReadOnlyMode::kLeaseBased) return;
  // The round a quorum has confirmed: the same count as a commit index, over echoed rounds.
  const uint64_t confirmed = CommittedIndex(quorum_, round_acked_);
  while (!pending_reads_.empty() && pending_reads_.front().round <= confirmed) {
    PendingRead& read = pending_reads_.front();
    AnswerRead(read.from, read.index, std::move(read.context));
    pending_reads_.pop_front();
  }
  // Rounds before the confirmed one can no longer start a lease later than it.
  while (!round_sent_tick_.empty() && round_sent_tick_.begin()->first < confirmed) {
    round_sent_tick_.erase(round_sent_tick_.begin());
  }
  lease_start_tick_ = confirmed > 0 && round_sent_tick_.contains(confirmed)
                          ? std::max(lease_start_tick_, round_sent_tick_.at(confirmed))
                          : lease_start_tick_;
}

bool NodeImpl::LeaseValid() const {
  // A quorum heard from this leader at or after lease_start_tick_ and will not vote for another
  // until an election timeout has passed on their clocks; allow for theirs running fast.
  return lease_start_tick_ >= 0 &&
         ticks_ < lease_start_tick_ + options_.election_ticks - options_.read_lease_drift_ticks;
}

void NodeImpl::AnswerRead(NodeId from, uint64_t index, std::string context) {
  if (from == options_.id) {
    read_states_.push_back(ReadState{index, std::move(context)});
    return;
  }
  Message response;
  response.type = MessageType::kReadIndexResponse;
  response.to = from;
  response.index = index;
  response.context = std::move(context);
  Send(std::move(response));
}

}  // namespace keel::raft::internal
