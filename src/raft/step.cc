// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Step: what a node does with a message. First the rules every role shares (section 5.1: a
// higher term makes a node a follower, a lower one is stale; section 5.2 and 9.6: votes and
// pre-votes), then each role's own handling.
#include <algorithm>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "node_impl.h"

namespace keel::raft::internal {

namespace {

constexpr std::string_view kTransferContext = "transfer";

bool IsVoteRequest(MessageType type) {
  return type == MessageType::kVote || type == MessageType::kPreVote;
}

// Messages only a leader of the message's term sends.
bool IsFromLeader(MessageType type) {
  return type == MessageType::kAppend || type == MessageType::kHeartbeat ||
         type == MessageType::kSnapshot || type == MessageType::kTimeoutNow;
}

}  // namespace

absl::Status NodeImpl::Validate(const Message& message) const {
  if (static_cast<int>(message.type) >= kMessageTypeCount) {
    return absl::InvalidArgumentError(
        base::Cat("unknown message type ", static_cast<int>(message.type)));
  }
  if (message.to != options_.id) {
    return absl::InvalidArgumentError(base::Cat(MessageTypeName(message.type), " for node ",
                                                message.to, " was given to node ", options_.id));
  }
  if (message.from == kNoNode || message.from == options_.id) {
    return absl::InvalidArgumentError(
        base::Cat(MessageTypeName(message.type), " has a bad sender ", message.from));
  }
  if (message.type == MessageType::kAppend) {
    uint64_t expected = message.index + 1;
    if (expected == 0) return absl::InvalidArgumentError("Append's previous index overflows");
    uint64_t previous_term = message.log_term;
    for (const Entry& entry : message.entries) {
      if (entry.index != expected || entry.term < previous_term || entry.term > message.term) {
        return absl::InvalidArgumentError(
            base::Cat("Append from ", message.from, " has entry ", entry.index, " (term ",
                      entry.term, ") where index ", expected, " with a term in [", previous_term,
                      ", ", message.term, "] belongs"));
      }
      ++expected;
      previous_term = entry.term;
    }
  }
  if (message.type == MessageType::kSnapshot &&
      message.snapshot_offset + message.snapshot_chunk.size() < message.snapshot_offset) {
    return absl::InvalidArgumentError(
        base::Cat("Snapshot chunk at offset ", message.snapshot_offset, " overflows"));
  }
  if (message.type == MessageType::kSnapshot && message.snapshot.term > message.term) {
    // No leader holds an entry of a later term than its own (and a node that took the snapshot
    // would persist a log whose term is past its hard state's, which Node::Create refuses).
    return absl::InvalidArgumentError(base::Cat("Snapshot from ", message.from,
                                                " holds a snapshot of term ", message.snapshot.term,
                                                " in a message of term ", message.term));
  }
  return absl::OkStatus();
}

absl::Status NodeImpl::Step(const Message& message) {
  if (absl::Status status = Validate(message); !status.ok()) return status;

  if (message.term > term_) {
    if (IsVoteRequest(message.type)) {
      // Check-quorum's other half: a follower that heard from a leader within the minimum
      // election timeout ignores candidates, so that a node that rejoins with a higher term
      // cannot depose a working leader (section 6.2). A transfer is the leader's own wish.
      const bool in_lease = options_.check_quorum && leader_ != kNoNode &&
                            election_elapsed_ < options_.election_ticks;
      if (in_lease && message.context != kTransferContext) return absl::OkStatus();
    }
    if (message.type == MessageType::kPreVote ||
        (message.type == MessageType::kPreVoteResponse && !message.reject)) {
      // A pre-vote asks about a future term and changes none; a granted pre-vote carries the
      // term it was granted for.
    } else {
      BecomeFollower(message.term, IsFromLeader(message.type) ? message.from : kNoNode);
    }
  } else if (message.term < term_) {
    if ((options_.check_quorum || options_.pre_vote) &&
        (message.type == MessageType::kAppend || message.type == MessageType::kHeartbeat)) {
      // A leader from an older term that was cut off: tell it the current term so that it steps
      // down. Without this, with pre-vote on, a node partitioned with a higher term could never
      // rejoin: its pre-votes fail and it ignores the leader's lower term.
      Message response;
      response.type = MessageType::kAppendResponse;
      response.to = message.from;
      Send(std::move(response));
    } else if (message.type == MessageType::kPreVote) {
      Message response;
      response.type = MessageType::kPreVoteResponse;
      response.to = message.from;
      response.reject = true;
      Send(std::move(response));
    }
    return absl::OkStatus();
  }

  if (IsVoteRequest(message.type)) {
    StepVoteRequest(message);
    return absl::OkStatus();
  }
  switch (role_) {
    case Role::kLeader:
      return StepLeader(message);
    case Role::kCandidate:
    case Role::kPreCandidate:
      StepCandidate(message);
      return absl::OkStatus();
    case Role::kFollower:
      StepFollower(message);
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

void NodeImpl::StepVoteRequest(const Message& message) {
  const bool pre_vote = message.type == MessageType::kPreVote;
  // A node votes once per term (the vote is persisted in the hard state before the response
  // goes out); a pre-vote for a later term promises nothing.
  const bool can_vote = vote_ == message.from || (vote_ == kNoNode && leader_ == kNoNode) ||
                        (pre_vote && message.term > term_);
  Message response;
  response.type = pre_vote ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  response.to = message.from;
  if (can_vote && log_.IsUpToDate(message.index, message.log_term)) {
    response.term = message.term;
    if (!pre_vote) {
      election_elapsed_ = 0;
      vote_ = message.from;
    }
  } else {
    response.reject = true;
  }
  Send(std::move(response));
}

void NodeImpl::StepCandidate(const Message& message) {
  const MessageType expected =
      role_ == Role::kPreCandidate ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  switch (message.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // Another node won this term's election.
      BecomeFollower(message.term, message.from);
      StepFollower(message);
      return;
    default:
      break;
  }
  if (message.type != expected) return;
  votes_.emplace(message.from, !message.reject);
  switch (TallyVotes(quorum_, votes_)) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        StartElection(/*transfer=*/true);  // the real election, without another pre-vote
      } else {
        BecomeLeader();
      }
      return;
    case VoteResult::kLost:
      // A pre-candidate that lost keeps its term; a candidate's term was already raised.
      BecomeFollower(term_, kNoNode);
      return;
    case VoteResult::kPending:
      return;
  }
}

void NodeImpl::StepFollower(const Message& message) {
  switch (message.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      leader_ = message.from;
      HandleAppend(message);
      return;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      leader_ = message.from;
      HandleHeartbeat(message);
      return;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      leader_ = message.from;
      HandleSnapshotChunk(message);
      return;
    case MessageType::kTimeoutNow:
      // The leader hands over: campaign now, past any lease (section 3.10).
      if (Promotable()) StartElection(/*transfer=*/true);
      return;
    case MessageType::kReadIndexResponse:
      read_states_.push_back(ReadState{message.index, message.context});
      return;
    case MessageType::kTransferLeader:
      if (leader_ != kNoNode) {
        Message forward = message;
        forward.to = leader_;
        forward.term = 0;
        Send(std::move(forward));
      }
      return;
    default:
      return;
  }
}

void NodeImpl::HandleAppend(const Message& message) {
  Message response;
  response.type = MessageType::kAppendResponse;
  response.to = message.from;
  if (message.index < log_.committed()) {
    // Everything up to the commit index matches the leader already (Log Matching).
    response.index = log_.committed();
    Send(std::move(response));
    return;
  }
  if (const std::optional<uint64_t> last_new =
          log_.MaybeAppend(message.index, message.log_term, message.entries)) {
    log_.CommitTo(std::min(message.commit, *last_new));
    response.index = *last_new;
    Send(std::move(response));
    return;
  }
  // No match at message.index. Point the leader at the last entry that could match: the largest
  // index at or below it whose term is at most the leader's term there. The leader skips every
  // entry of a conflicting term in one round trip (section 5.3, "the follower can include the
  // term of the conflicting entry and the first index it stores for that term").
  const uint64_t hint =
      log_.FindConflictByTerm(std::min(message.index, log_.last_index()), message.log_term);
  response.index = message.index;
  response.reject = true;
  response.reject_hint = hint;
  response.log_term = log_.Term(hint).value_or(0);
  Send(std::move(response));
}

void NodeImpl::HandleHeartbeat(const Message& message) {
  // The leader sends min(match, commit), so this never commits past what matches.
  log_.CommitTo(std::min(message.commit, log_.last_index()));
  Message response;
  response.type = MessageType::kHeartbeatResponse;
  response.to = message.from;
  response.context = message.context;
  Send(std::move(response));
}

void NodeImpl::HandleSnapshotChunk(const Message& message) {
  const SnapshotMetadata& metadata = message.snapshot;
  if (metadata.index <= log_.committed()) {
    // Nothing new: say how far this node is, so the leader goes back to appending.
    incoming_snapshot_.reset();
    Message response;
    response.type = MessageType::kAppendResponse;
    response.to = message.from;
    response.index = log_.committed();
    Send(std::move(response));
    return;
  }
  const bool same = incoming_snapshot_ && incoming_snapshot_->metadata == metadata;
  if (message.snapshot_offset == 0 && !same) {
    incoming_snapshot_ = IncomingSnapshot{metadata, std::string()};
  }
  Message ack;
  ack.type = MessageType::kSnapshotResponse;
  ack.to = message.from;
  ack.snapshot.index = metadata.index;
  if (!incoming_snapshot_ || !(incoming_snapshot_->metadata == metadata)) {
    // A chunk of a snapshot whose start this node never got (or lost to a newer one).
    ack.reject = true;
    Send(std::move(ack));
    return;
  }
  std::string& data = incoming_snapshot_->data;
  if (message.snapshot_offset == data.size()) {
    data.append(message.snapshot_chunk);
    if (message.snapshot_done) {
      Snapshot snapshot;
      snapshot.metadata = metadata;
      snapshot.data = std::make_shared<const std::string>(std::move(data));
      incoming_snapshot_.reset();
      RestoreSnapshot(std::move(snapshot));
      // The log matches the leader up to the snapshot's index and no further known: entries
      // this node kept after it (RestoreSnapshot keeps a log that has the snapshot's last entry)
      // may be an older leader's.
      Message response;
      response.type = MessageType::kAppendResponse;
      response.to = message.from;
      response.index = metadata.index;
      Send(std::move(response));
      return;
    }
  }
  // In order, a duplicate, or after a gap: in every case the leader learns how much arrived.
  ack.snapshot_offset = data.size();
  Send(std::move(ack));
}

void NodeImpl::RestoreSnapshot(Snapshot snapshot) {
  const SnapshotMetadata& metadata = snapshot.metadata;
  if (log_.MatchTerm(metadata.index, metadata.term)) {
    // The log already has the snapshot's last entry, so it has everything before it too: no
    // need to throw the log away, only to commit what the snapshot says is committed.
    log_.CommitTo(metadata.index);
    return;
  }
  log_.Restore(snapshot);
  conf_history_.clear();
  SwitchToConfig(metadata.conf);
}

}  // namespace keel::raft::internal
