// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What only a leader does: accept proposals, replicate them (probing, then pipelining), count
// what a quorum has (committing only entries of its own term, the paper's Figure 8), send
// heartbeats and snapshots, and hand leadership over.
#include <algorithm>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/raft/codec.h"
#include "node_impl.h"

namespace keel::raft::internal {

absl::StatusOr<uint64_t> NodeImpl::AppendAsLeader(EntryType type, std::string data) {
  if (options_.max_uncommitted_bytes > 0 && uncommitted_bytes_ > 0 &&
      uncommitted_bytes_ + data.size() > options_.max_uncommitted_bytes) {
    return absl::ResourceExhaustedError(base::Cat(
        "the leader holds ", uncommitted_bytes_, " bytes of uncommitted entries; ", data.size(),
        " more would pass max_uncommitted_bytes ", options_.max_uncommitted_bytes));
  }
  if (options_.max_uncommitted_bytes > 0) uncommitted_bytes_ += data.size();
  Entry entry;
  entry.term = term_;
  entry.index = log_.last_index() + 1;
  entry.type = type;
  entry.data = std::move(data);
  const uint64_t index = entry.index;
  std::vector<Entry> entries;
  entries.push_back(std::move(entry));
  log_.Append(std::move(entries));
  broadcast_pending_ = true;
  return index;
}

absl::Status NodeImpl::CheckCanPropose() const {
  if (role_ != Role::kLeader) {
    return absl::FailedPreconditionError(
        leader_ == kNoNode
            ? base::Cat("node ", options_.id, " is not the leader and knows of none")
            : base::Cat("node ", options_.id, " is not the leader; node ", leader_, " is"));
  }
  if (transferee_ != kNoNode) {
    return absl::FailedPreconditionError(
        base::Cat("node ", options_.id, " is handing leadership to node ", transferee_));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> NodeImpl::Propose(std::string data) {
  if (absl::Status status = CheckCanPropose(); !status.ok()) return status;
  return AppendAsLeader(EntryType::kNormal, std::move(data));
}

absl::Status NodeImpl::StepLeader(const Message& message) {
  switch (message.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // Election Safety: at most one leader per term. A second one is a bug, or a byzantine
      // peer; either way the message is refused, and the error says so.
      return absl::InternalError(base::Cat("node ", options_.id, " leads term ", term_,
                                           " but received ", MessageTypeName(message.type),
                                           " from node ", message.from, " for the same term"));
    case MessageType::kReadIndex:
      RequestRead(message.from, message.context);
      return absl::OkStatus();
    case MessageType::kTransferLeader:
      HandleTransferLeader(message.index);
      return absl::OkStatus();
    default:
      break;
  }
  const auto it = progress_.find(message.from);
  if (it == progress_.end()) return absl::OkStatus();  // not a member (any more)
  Progress& progress = it->second;
  // A follower acknowledges only what this leader sent it in this term: anything past that is
  // a broken peer, and believing it would count the follower towards entries it lacks (or send
  // snapshot bytes from past the end).
  if (message.type == MessageType::kAppendResponse && !message.reject &&
      message.index > log_.last_index()) {
    return absl::InvalidArgumentError(base::Cat("AppendResponse from ", message.from,
                                                " acknowledges index ", message.index,
                                                " past the last entry ", log_.last_index()));
  }
  if (message.type == MessageType::kSnapshotResponse && !message.reject &&
      message.snapshot.index == log_.snapshot_index() &&
      message.snapshot_offset > log_.snapshot().bytes().size()) {
    return absl::InvalidArgumentError(
        base::Cat("SnapshotResponse from ", message.from, " acknowledges ", message.snapshot_offset,
                  " bytes of a snapshot of ", log_.snapshot().bytes().size()));
  }
  switch (message.type) {
    case MessageType::kAppendResponse:
      progress.recent_active = true;
      HandleAppendResponse(message, progress);
      break;
    case MessageType::kHeartbeatResponse:
      progress.recent_active = true;
      HandleHeartbeatResponse(message, progress);
      break;
    case MessageType::kSnapshotResponse:
      progress.recent_active = true;
      HandleSnapshotResponse(message, progress);
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

void NodeImpl::HandleAppendResponse(const Message& message, Progress& progress) {
  const NodeId from = message.from;
  if (message.reject) {
    // The follower's hint names its last entry that could match; find where this log agrees
    // with it: the largest index at or below the hint whose term is at most the hint's term.
    uint64_t next_probe = message.reject_hint;
    if (message.log_term > 0) next_probe = log_.FindConflictByTerm(next_probe, message.log_term);
    if (progress.MaybeDecreaseTo(message.index, next_probe)) {
      if (progress.state == Progress::State::kReplicate) progress.BecomeProbe();
      SendAppends(from, /*allow_empty=*/false);
    }
    return;
  }
  if (!progress.MaybeUpdate(message.index)) return;
  switch (progress.state) {
    case Progress::State::kProbe:
      progress.BecomeReplicate();
      break;
    case Progress::State::kSnapshot:
      if (progress.match >= progress.snapshot_index) {
        progress.BecomeProbe();
        progress.BecomeReplicate();
      }
      break;
    case Progress::State::kReplicate:
      progress.inflights.FreeUpTo(message.index);
      break;
  }
  // Keep the pipeline full (a follower that was paused may take more now).
  SendAppends(from, /*allow_empty=*/false);
  if (MaybeCommit()) broadcast_pending_ = true;
  if (from == transferee_ && progress.match == log_.last_index()) SendTimeoutNow(from);
}

void NodeImpl::HandleHeartbeatResponse(const Message& message, Progress& progress) {
  const NodeId from = message.from;
  progress.probe_sent = false;
  if (progress.state == Progress::State::kReplicate && progress.inflights.full()) {
    // Free a slot so that a pipeline stalled by lost appends resumes.
    progress.inflights.FreeFirst();
  }
  if (progress.state == Progress::State::kSnapshot) {
    // No snapshot progress over a whole heartbeat interval: chunks were lost; resend from the
    // last acknowledged byte.
    if (progress.snapshot_acked == progress.snapshot_acked_at_heartbeat) {
      progress.snapshot_sent = progress.snapshot_acked;
      progress.snapshot_final_sent = false;
    }
    progress.snapshot_acked_at_heartbeat = progress.snapshot_acked;
    SendSnapshotChunks(from, progress);
  } else if (progress.match < log_.last_index()) {
    // The follower lags. If appends were lost, there may be nothing left to send (next is past
    // the end); an empty append at next - 1 then makes the follower reject, and the leader
    // backs up to where it is.
    SendAppends(from, /*allow_empty=*/true);
  }
  if (!message.context.empty()) {
    uint64_t round = 0;
    if (DecodeRound(message.context, &round)) {
      uint64_t& acked = round_acked_[from];
      acked = std::max(acked, round);
      ReleaseReads();
    }
  }
}

void NodeImpl::HandleSnapshotResponse(const Message& message, Progress& progress) {
  if (progress.state != Progress::State::kSnapshot ||
      message.snapshot.index != progress.snapshot_index) {
    return;
  }
  if (message.reject) {
    progress.snapshot_sent = progress.snapshot_acked = 0;
    progress.snapshot_final_sent = false;
  } else {
    progress.snapshot_acked = std::max(progress.snapshot_acked, message.snapshot_offset);
    if (message.snapshot_offset < progress.snapshot_sent) {
      // The follower saw a gap: go back to where it is.
      progress.snapshot_sent = message.snapshot_offset;
      progress.snapshot_final_sent = false;
    }
  }
  SendSnapshotChunks(message.from, progress);
}

bool NodeImpl::SendAppends(NodeId to, bool allow_empty) {
  const auto it = progress_.find(to);
  if (it == progress_.end() || to == options_.id) return false;
  Progress& progress = it->second;
  bool sent = false;
  while (!progress.paused()) {
    const uint64_t previous = progress.next - 1;
    const std::optional<uint64_t> previous_term = log_.Term(previous);
    if (!previous_term) {
      // The entries this follower needs are compacted away.
      progress.BecomeSnapshot(log_.snapshot_index());
      SendSnapshotChunks(to, progress);
      return true;
    }
    std::vector<Entry> entries;
    if (progress.next <= log_.last_index()) {
      entries = log_.Slice(progress.next, log_.last_index() + 1, options_.max_bytes_per_append);
    }
    if (entries.empty() && !allow_empty) return sent;
    Message append;
    append.type = MessageType::kAppend;
    append.to = to;
    append.index = previous;
    append.log_term = *previous_term;
    append.commit = log_.committed();
    const uint64_t last = entries.empty() ? previous : entries.back().index;
    append.entries = std::move(entries);
    Send(std::move(append));
    sent = true;
    allow_empty = false;
    if (last == previous) return sent;  // an empty append carries only the commit index
    if (progress.state == Progress::State::kReplicate) {
      progress.next = last + 1;  // optimistic: assume it arrives
      progress.inflights.Add(last);
    } else {
      progress.probe_sent = true;
    }
  }
  return sent;
}

void NodeImpl::SendSnapshotChunks(NodeId to, Progress& progress) {
  const Snapshot& snapshot = log_.snapshot();
  if (progress.snapshot_index != snapshot.metadata.index) {
    // A newer snapshot replaced the one being sent: start over with it.
    progress.BecomeSnapshot(snapshot.metadata.index);
  }
  const std::string_view data = snapshot.bytes();
  const uint64_t window = options_.snapshot_chunk_bytes * options_.max_inflight_appends;
  while (!progress.snapshot_final_sent &&
         progress.snapshot_sent - progress.snapshot_acked < window) {
    const uint64_t offset = progress.snapshot_sent;
    const uint64_t size = std::min<uint64_t>(options_.snapshot_chunk_bytes, data.size() - offset);
    Message chunk;
    chunk.type = MessageType::kSnapshot;
    chunk.to = to;
    chunk.snapshot = snapshot.metadata;
    chunk.snapshot_offset = offset;
    chunk.snapshot_chunk = std::string(data.substr(offset, size));
    chunk.snapshot_done = offset + size == data.size();
    progress.snapshot_sent = offset + size;
    progress.snapshot_final_sent = chunk.snapshot_done;
    Send(std::move(chunk));
  }
}

void NodeImpl::FlushBroadcast() {
  if (heartbeat_pending_) BroadcastHeartbeat();
  if (!broadcast_pending_) return;
  broadcast_pending_ = false;
  for (const auto& [id, progress] : progress_) {
    if (id != options_.id) SendAppends(id, /*allow_empty=*/true);
  }
}

void NodeImpl::BroadcastHeartbeat() {
  heartbeat_pending_ = false;
  const uint64_t round = next_round_++;
  round_sent_tick_[round] = ticks_;
  round_acked_[options_.id] = round;
  const std::string context = EncodeRound(round);
  for (const auto& [id, progress] : progress_) {
    if (id == options_.id) continue;
    Message heartbeat;
    heartbeat.type = MessageType::kHeartbeat;
    heartbeat.to = id;
    // Never past what the follower is known to have: it may lack entries up to the commit index
    // and would otherwise commit entries it does not hold, or holds from another leader.
    heartbeat.commit = std::min(progress.match, log_.committed());
    heartbeat.context = context;
    Send(std::move(heartbeat));
  }
  ReleaseReads();  // a cluster of one confirms its rounds by itself
}

bool NodeImpl::MaybeCommit() {
  const uint64_t committed = CommittedIndex(quorum_, [this](NodeId id) -> uint64_t {
    const auto it = progress_.find(id);
    return it == progress_.end() ? 0 : it->second.match;
  });
  if (committed <= log_.committed()) return false;
  // Only entries of the leader's own term are committed by counting replicas; earlier ones are
  // committed with them (section 5.4.2, Figure 8).
  if (log_.Term(committed) != term_) return false;
  if (options_.max_uncommitted_bytes > 0) {
    uncommitted_bytes_ -=
        std::min(uncommitted_bytes_, log_.DataBytes(log_.committed() + 1, committed + 1));
  }
  log_.CommitTo(committed);
  ReleaseReadsWaitingForCommit();
  return true;
}

absl::Status NodeImpl::TransferLeadership(NodeId transferee) {
  if (!quorum_.IsVoter(transferee) || std::find(quorum_.incoming.begin(), quorum_.incoming.end(),
                                                transferee) == quorum_.incoming.end()) {
    return absl::InvalidArgumentError(
        base::Cat("cannot hand leadership to node ", transferee, ": it is not a voter"));
  }
  if (role_ == Role::kLeader) {
    HandleTransferLeader(transferee);
    return absl::OkStatus();
  }
  if (leader_ == kNoNode) {
    return absl::UnavailableError(
        base::Cat("node ", options_.id, " knows of no leader to hand leadership over"));
  }
  Message request;
  request.type = MessageType::kTransferLeader;
  request.to = leader_;
  request.index = transferee;
  Send(std::move(request));
  return absl::OkStatus();
}

void NodeImpl::HandleTransferLeader(NodeId transferee) {
  if (transferee == options_.id || transferee == transferee_) return;
  const auto it = progress_.find(transferee);
  if (it == progress_.end() || it->second.is_learner) return;
  transferee_ = transferee;
  // The transfer must finish within an election timeout (TickLeader abandons it).
  election_elapsed_ = 0;
  if (it->second.match == log_.last_index()) {
    SendTimeoutNow(transferee);
  } else {
    SendAppends(transferee, /*allow_empty=*/false);
  }
}

void NodeImpl::SendTimeoutNow(NodeId to) {
  Message message;
  message.type = MessageType::kTimeoutNow;
  message.to = to;
  Send(std::move(message));
}

void NodeImpl::ReportUnreachable(NodeId node) {
  if (role_ != Role::kLeader) return;
  const auto it = progress_.find(node);
  if (it == progress_.end()) return;
  if (it->second.state == Progress::State::kReplicate) it->second.BecomeProbe();
}

}  // namespace keel::raft::internal
