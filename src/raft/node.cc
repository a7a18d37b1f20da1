// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Construction, ticks, role changes, and the Ready/Advance handshake with the application.
#include "keel/raft/node.h"

#include <algorithm>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "node_impl.h"

namespace keel::raft {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

std::string_view MessageTypeName(MessageType type) {
  static constexpr std::string_view kNames[kMessageTypeCount] = {"Append",
                                                                 "AppendResponse",
                                                                 "Vote",
                                                                 "VoteResponse",
                                                                 "PreVote",
                                                                 "PreVoteResponse",
                                                                 "Snapshot",
                                                                 "SnapshotResponse",
                                                                 "Heartbeat",
                                                                 "HeartbeatResponse",
                                                                 "TimeoutNow",
                                                                 "ReadIndex",
                                                                 "ReadIndexResponse",
                                                                 "TransferLeader"};
  const auto index = static_cast<size_t>(type);
  return index < kMessageTypeCount ? kNames[index] : "Unknown";
}

bool IsResponse(MessageType type) {
  switch (type) {
    case MessageType::kAppendResponse:
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse:
    case MessageType::kSnapshotResponse:
    case MessageType::kHeartbeatResponse:
    case MessageType::kReadIndexResponse:
      return true;
    default:
      return false;
  }
}

bool MaySendBeforePersist(MessageType type) {
  // Only a leader sends these, and a leader counts itself towards a quorum only once Advance
  // says its entries are durable (the dissertation, section 10.2.1).
  return type == MessageType::kAppend || type == MessageType::kHeartbeat ||
         type == MessageType::kSnapshot;
}

InitialState InitialState::Bootstrap(std::vector<NodeId> voters) {
  std::sort(voters.begin(), voters.end());
  // The first configuration is a snapshot at index 1 of term 1, identical on every founding
  // member. A node that joins later starts from nothing (index 0) and so cannot match the
  // leader at index 1: the leader sends it a snapshot, which carries the configuration it must
  // build on. (Were the configuration at index 0, a joining node would accept entries after it
  // and replay membership changes against an empty configuration.)
  InitialState initial;
  initial.snapshot.metadata.index = 1;
  initial.snapshot.metadata.term = 1;
  initial.snapshot.metadata.conf.voters = std::move(voters);
  initial.hard_state.term = 1;
  initial.hard_state.commit = 1;
  return initial;
}

namespace {

// Upper limits on options whose arithmetic or preallocation would otherwise overflow or exhaust
// memory: randomized election timeouts reach 2 * election_ticks in an int; each follower's inflight
// window is preallocated (8 bytes a slot); a snapshot's send window is snapshot_chunk_bytes *
// max_inflight_appends bytes.
constexpr int kMaxElectionTicks = 1 << 30;
constexpr uint32_t kMaxInflightAppends = 1 << 16;
constexpr uint64_t kMaxSnapshotChunkBytes = uint64_t{1} << 30;

absl::Status AtLeastOne(std::string_view field, uint64_t value) {
  if (value >= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(base::Cat("NodeOptions.", field, " ", value, " is below 1"));
}

absl::Status ValidateOptions(const NodeOptions& options, const InitialState& initial) {
  if (options.id == kNoNode) return absl::InvalidArgumentError("NodeOptions.id is not set");
  if (options.heartbeat_ticks < 1) {
    return absl::InvalidArgumentError(
        base::Cat("NodeOptions.heartbeat_ticks ", options.heartbeat_ticks, " is below 1"));
  }
  if (options.election_ticks <= options.heartbeat_ticks) {
    return absl::InvalidArgumentError(
        base::Cat("NodeOptions.election_ticks ", options.election_ticks,
                  " must exceed heartbeat_ticks ", options.heartbeat_ticks));
  }
  if (options.election_ticks > kMaxElectionTicks) {
    return absl::InvalidArgumentError(base::Cat("NodeOptions.election_ticks ",
                                                options.election_ticks, " is above the limit ",
                                                kMaxElectionTicks));
  }
  KEEL_RETURN_IF_ERROR(AtLeastOne("max_bytes_per_append", options.max_bytes_per_append));
  KEEL_RETURN_IF_ERROR(AtLeastOne("snapshot_chunk_bytes", options.snapshot_chunk_bytes));
  KEEL_RETURN_IF_ERROR(
      AtLeastOne("max_committed_bytes_per_ready", options.max_committed_bytes_per_ready));
  KEEL_RETURN_IF_ERROR(AtLeastOne("max_inflight_appends", options.max_inflight_appends));
  if (options.snapshot_chunk_bytes > kMaxSnapshotChunkBytes) {
    return absl::InvalidArgumentError(base::Cat("NodeOptions.snapshot_chunk_bytes ",
                                                options.snapshot_chunk_bytes,
                                                " is above the limit ", kMaxSnapshotChunkBytes));
  }
  if (options.max_inflight_appends > kMaxInflightAppends) {
    return absl::InvalidArgumentError(base::Cat("NodeOptions.max_inflight_appends ",
                                                options.max_inflight_appends,
                                                " is above the limit ", kMaxInflightAppends));
  }
  if (options.read_only == ReadOnlyMode::kLeaseBased) {
    if (!options.check_quorum) {
      return absl::InvalidArgumentError("lease-based reads require NodeOptions.check_quorum");
    }
    if (options.read_lease_drift_ticks < 0 ||
        options.read_lease_drift_ticks >= options.election_ticks) {
      return absl::InvalidArgumentError(base::Cat("NodeOptions.read_lease_drift_ticks ",
                                                  options.read_lease_drift_ticks,
                                                  " must be in [0, election_ticks)"));
    }
  }
  uint64_t expected = initial.snapshot.metadata.index + 1;
  for (const Entry& entry : initial.entries) {
    if (entry.index != expected) {
      return absl::InvalidArgumentError(
          base::Cat("initial entry has index ", entry.index, " where ", expected, " was expected"));
    }
    ++expected;
  }
  const uint64_t last_term =
      initial.entries.empty() ? initial.snapshot.metadata.term : initial.entries.back().term;
  if (last_term > initial.hard_state.term) {
    return absl::InvalidArgumentError(base::Cat("initial log has term ", last_term,
                                                " past the hard state's term ",
                                                initial.hard_state.term));
  }
  return absl::OkStatus();
}

}  // namespace

namespace internal {

NodeImpl::NodeImpl(const NodeOptions& options, InitialState initial)
    : options_(options),
      random_(options.random_seed, options.id + 1),
      log_(std::move(initial.snapshot), std::move(initial.entries), initial.hard_state.commit) {
  term_ = initial.hard_state.term;
  vote_ = initial.hard_state.vote;
  SwitchToConfig(log_.snapshot().metadata.conf);
  BecomeFollower(term_, kNoNode);
  vote_ = initial.hard_state.vote;  // BecomeFollower keeps it (same term); be explicit
  reported_hard_ = hard_state();
  reported_soft_ = SoftState{role_, leader_};
}

HardState NodeImpl::hard_state() const { return HardState{term_, vote_, log_.committed()}; }

void NodeImpl::Send(Message message) {
  message.from = options_.id;
  // Requests carry the sender's term; so do responses, except a granted pre-vote, which carries
  // the term it was asked about (set by the caller).
  if (message.term == 0) message.term = term_;
  outbox_.push_back(std::move(message));
}

bool NodeImpl::Promotable() const {
  return quorum_.IsVoter(options_.id) && !log_.HasPendingSnapshot();
}

void NodeImpl::ResetTerm(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_election_timeout_ =
      options_.election_ticks + static_cast<int>(random_.Uniform(options_.election_ticks));
  transferee_ = kNoNode;
  votes_.clear();
  for (auto& [id, progress] : progress_) {
    const bool learner = progress.is_learner;
    progress = NewProgress();
    progress.is_learner = learner;
    if (id == options_.id) progress.match = log_.stable();
  }
  pending_conf_index_ = 0;
  uncommitted_bytes_ = 0;
  broadcast_pending_ = false;
  heartbeat_pending_ = false;
  round_acked_.clear();
  round_sent_tick_.clear();
  lease_start_tick_ = -1;
  pending_reads_.clear();
  reads_waiting_for_commit_.clear();
}

void NodeImpl::BecomeFollower(uint64_t term, NodeId leader) {
  ResetTerm(term);
  role_ = Role::kFollower;
  leader_ = leader;
}

void NodeImpl::BecomePreCandidate() {
  KEEL_ASSERT(role_ != Role::kLeader, "a leader cannot become a pre-candidate");
  // A pre-candidate keeps its term and vote: nothing changes until a real election starts.
  votes_.clear();
  leader_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void NodeImpl::BecomeCandidate() {
  KEEL_ASSERT(role_ != Role::kLeader, "a leader cannot become a candidate");
  ResetTerm(term_ + 1);
  vote_ = options_.id;
  role_ = Role::kCandidate;
}

void NodeImpl::BecomeLeader() {
  KEEL_ASSERT(role_ == Role::kCandidate, "only a candidate becomes leader");
  const std::map<NodeId, bool> votes = votes_;
  ResetTerm(term_);
  role_ = Role::kLeader;
  leader_ = options_.id;
  for (auto& [id, progress] : progress_) {
    progress.next = log_.last_index() + 1;
    // A vote just granted is contact with that node in this term: check-quorum's first round
    // counts it, so that a leader on a slow network is not deposed before the first responses
    // to its heartbeats can arrive.
    const auto vote = votes.find(id);
    progress.recent_active = vote != votes.end() && vote->second;
  }
  // No membership change until this leader's first entry is applied: a change proposed by an
  // earlier leader may still be in the log, uncommitted.
  pending_conf_index_ = log_.last_index();
  // The no-op of section 8: committing it commits everything before it, and until then the
  // leader does not know its commit index (reads wait for it).
  const absl::StatusOr<uint64_t> noop = AppendAsLeader(EntryType::kNormal, std::string());
  KEEL_ASSERT(noop.ok(), "a new leader could not append its no-op: ", noop.status().message());
}

void NodeImpl::StartElection(bool transfer) {
  const bool pre_vote = options_.pre_vote && !transfer;
  uint64_t term;
  MessageType type;
  if (pre_vote) {
    BecomePreCandidate();
    term = term_ + 1;  // the term a real election would ask for
    type = MessageType::kPreVote;
  } else {
    BecomeCandidate();
    term = term_;
    type = MessageType::kVote;
  }
  votes_[options_.id] = true;
  if (TallyVotes(quorum_, votes_) == VoteResult::kWon) {
    // A cluster of one wins at once.
    if (pre_vote) {
      StartElection(/*transfer=*/true);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (NodeId voter : quorum_.AllVoters()) {
    if (voter == options_.id) continue;
    Message request;
    request.type = type;
    request.to = voter;
    request.term = term;
    request.index = log_.last_index();
    request.log_term = log_.last_term();
    if (transfer) request.context = "transfer";
    Send(std::move(request));
  }
}

void NodeImpl::Tick() {
  ++ticks_;
  if (role_ == Role::kLeader) {
    TickLeader();
  } else {
    TickElection();
  }
}

void NodeImpl::TickElection() {
  ++election_elapsed_;
  if (Promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    StartElection(/*transfer=*/false);
  }
}

void NodeImpl::TickLeader() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= options_.election_ticks) {
    election_elapsed_ = 0;
    if (options_.check_quorum) {
      std::vector<NodeId> active;
      for (auto& [id, progress] : progress_) {
        if (id == options_.id || progress.recent_active) active.push_back(id);
        progress.recent_active = false;
      }
      if (!IsQuorum(quorum_, active)) {
        BecomeFollower(term_, kNoNode);
        return;
      }
    }
    // A transfer that has not finished within an election timeout is abandoned (section 3.10).
    transferee_ = kNoNode;
  }
  if (heartbeat_elapsed_ >= options_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    heartbeat_pending_ = true;
  }
}

absl::Status NodeImpl::Campaign() {
  if (role_ == Role::kLeader) {
    return absl::FailedPreconditionError(base::Cat("node ", options_.id, " is already the leader"));
  }
  if (!Promotable()) {
    return absl::FailedPreconditionError(
        base::Cat("node ", options_.id, " is not a voter and cannot be elected"));
  }
  StartElection(/*transfer=*/false);
  return absl::OkStatus();
}

bool NodeImpl::HasReady() const {
  return SoftState{role_, leader_} != reported_soft_ || hard_state() != reported_hard_ ||
         log_.HasPendingSnapshot() || log_.HasUnstable() || !outbox_.empty() ||
         log_.HasCommittedToApply() || !read_states_.empty() ||
         (role_ == Role::kLeader && (broadcast_pending_ || heartbeat_pending_));
}

Ready NodeImpl::GetReady() {
  if (role_ == Role::kLeader) FlushBroadcast();
  Ready ready;
  const SoftState soft{role_, leader_};
  if (soft != reported_soft_) {
    ready.soft_state = soft;
    reported_soft_ = soft;
  }
  const HardState hard = hard_state();
  if (hard != reported_hard_) {
    ready.hard_state = hard;
    ready.must_sync = hard.term != reported_hard_.term || hard.vote != reported_hard_.vote;
    reported_hard_ = hard;
  }
  if (log_.HasPendingSnapshot()) {
    ready.snapshot = log_.TakePendingSnapshot();
    ready.must_sync = true;
  }
  ready.entries = log_.TakeUnstable();
  if (!ready.entries.empty()) ready.must_sync = true;
  ready.messages = std::move(outbox_);
  outbox_.clear();
  ready.committed_entries = log_.TakeCommitted(options_.max_committed_bytes_per_ready);
  for (const Entry& entry : ready.committed_entries) {
    if (entry.type == EntryType::kConfChange) conf_change_indexes_.push_back(entry.index);
  }
  ready.read_states = std::move(read_states_);
  read_states_.clear();
  return ready;
}

void NodeImpl::Advance(const Ready& ready) {
  if (ready.snapshot) log_.StableSnapshotTo(ready.snapshot->metadata.index);
  if (!ready.entries.empty()) {
    const Entry& last = ready.entries.back();
    log_.StableTo(last.index, last.term);
    if (role_ == Role::kLeader) {
      // The leader counts itself towards a quorum only for entries on its own disk (the
      // dissertation, section 10.2.1: it may replicate before its write finishes).
      const auto self = progress_.find(options_.id);
      if (self != progress_.end() && self->second.MaybeUpdate(log_.stable())) {
        if (MaybeCommit()) broadcast_pending_ = true;
      }
    }
  }
  if (!ready.committed_entries.empty()) {
    log_.AppliedTo(ready.committed_entries.back().index);
  }
  MaybeAutoLeave();
}

absl::StatusOr<Snapshot> NodeImpl::Compact(uint64_t index, std::string data) {
  if (index > log_.applied()) {
    return absl::InvalidArgumentError(
        base::Cat("cannot snapshot at index ", index, ": only ", log_.applied(), " is applied"));
  }
  if (index <= log_.snapshot_index()) {
    return absl::InvalidArgumentError(base::Cat(
        "cannot snapshot at index ", index, ": the latest snapshot is at ", log_.snapshot_index()));
  }
  Snapshot snapshot;
  snapshot.metadata.index = index;
  snapshot.metadata.term = *log_.Term(index);
  // The configuration as of `index`: that of the last change applied at or before it.
  snapshot.metadata.conf = log_.snapshot().metadata.conf;
  if (auto it = conf_history_.upper_bound(index); it != conf_history_.begin()) {
    snapshot.metadata.conf = std::prev(it)->second;
  }
  conf_history_.erase(conf_history_.begin(), conf_history_.upper_bound(index));
  snapshot.data = std::make_shared<const std::string>(std::move(data));
  log_.Compact(snapshot);
  return snapshot;
}

NodeStatus NodeImpl::status() const {
  NodeStatus status;
  status.id = options_.id;
  status.role = role_;
  status.leader = leader_;
  status.term = term_;
  status.vote = vote_;
  status.commit = log_.committed();
  status.applied = log_.applied();
  status.first_index = log_.first_index();
  status.last_index = log_.last_index();
  status.conf = conf_;
  status.transferee = transferee_;
  if (role_ == Role::kLeader) {
    for (const auto& [id, progress] : progress_) status.match.emplace_back(id, progress.match);
  }
  return status;
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<Node>> Node::Create(const NodeOptions& options,
                                                   InitialState initial) {
  if (absl::Status status = ValidateOptions(options, initial); !status.ok()) return status;
  return std::unique_ptr<Node>(
      new Node(std::make_unique<internal::NodeImpl>(options, std::move(initial))));
}

Node::Node(std::unique_ptr<internal::NodeImpl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;

void Node::Tick() { impl_->Tick(); }
absl::Status Node::Step(const Message& message) { return impl_->Step(message); }
absl::StatusOr<uint64_t> Node::Propose(std::string data) { return impl_->Propose(std::move(data)); }
absl::StatusOr<uint64_t> Node::ProposeConfChange(const ConfChange& change) {
  return impl_->ProposeConfChange(change);
}
absl::StatusOr<ConfState> Node::ApplyConfChange(const ConfChange& change) {
  return impl_->ApplyConfChange(change);
}
absl::Status Node::ReadIndex(std::string context) { return impl_->ReadIndex(std::move(context)); }
absl::Status Node::TransferLeadership(NodeId transferee) {
  return impl_->TransferLeadership(transferee);
}
absl::Status Node::Campaign() { return impl_->Campaign(); }
absl::StatusOr<Snapshot> Node::Compact(uint64_t index, std::string data) {
  return impl_->Compact(index, std::move(data));
}
void Node::ReportUnreachable(NodeId node) { impl_->ReportUnreachable(node); }
bool Node::HasReady() const { return impl_->HasReady(); }
Ready Node::GetReady() { return impl_->GetReady(); }
void Node::Advance(const Ready& ready) { impl_->Advance(ready); }
NodeId Node::id() const { return impl_->id(); }
Role Node::role() const { return impl_->role(); }
NodeId Node::leader() const { return impl_->leader(); }
uint64_t Node::term() const { return impl_->term(); }
uint64_t Node::commit_index() const { return impl_->commit_index(); }
uint64_t Node::applied_index() const { return impl_->applied_index(); }
uint64_t Node::last_index() const { return impl_->last_index(); }
const ConfState& Node::conf_state() const { return impl_->conf_state(); }
NodeStatus Node::status() const { return impl_->status(); }

}  // namespace keel::raft
