// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Membership changes (the dissertation, chapter 4). A change is an entry in the log and takes
// effect when it is applied, as in etcd/raft; only one may be pending at a time, so the
// configurations in force on any two nodes differ by at most one change.
//
// A change of at most one voter takes effect in one step: a majority of the old voters and a
// majority of the new ones always overlap. Anything bigger goes through a joint configuration
// (section 4.3): the new voters are added as `incoming` while the old ones remain as `outgoing`,
// decisions need a majority of each, and a second change leaves the joint configuration.
//
// The single-server scheme had a bug that Ongaro described on the raft-dev list in 2015: a new
// leader could apply a change while a change of an earlier leader was still uncommitted in its
// log, and two disjoint majorities could then be formed. The fix is that a leader proposes no
// change until it has committed an entry of its own term; BecomeLeader sets pending_conf_index_
// to the end of its log, which does that.
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/raft/codec.h"
#include "node_impl.h"

namespace keel::raft::internal {

namespace {

using IdSet = std::set<NodeId>;

IdSet ToSet(const std::vector<NodeId>& ids) { return IdSet(ids.begin(), ids.end()); }
std::vector<NodeId> ToVector(const IdSet& ids) {
  return std::vector<NodeId>(ids.begin(), ids.end());
}

// "[1, 2, 3]", for errors that name a configuration.
std::string IdList(const std::vector<NodeId>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) out += base::Cat(i == 0 ? "" : ", ", ids[i]);
  return out + "]";
}

size_t SymmetricDifference(const IdSet& a, const IdSet& b) {
  size_t count = 0;
  for (NodeId id : a) count += b.contains(id) ? 0 : 1;
  for (NodeId id : b) count += a.contains(id) ? 0 : 1;
  return count;
}

}  // namespace

absl::StatusOr<ConfState> NextConfState(const ConfState& current, const ConfChange& change) {
  if (change.transition > ConfChangeTransition::kJointExplicit) {
    return absl::InvalidArgumentError(
        base::Cat("unknown membership change transition ", static_cast<int>(change.transition)));
  }
  if (change.leaves_joint()) {
    if (!current.joint()) {
      return absl::InvalidArgumentError(
          base::Cat("an empty membership change leaves a joint configuration, but the "
                    "configuration (voters ",
                    IdList(current.voters), ") is not joint"));
    }
    ConfState next = current;
    next.voters_outgoing.clear();
    IdSet learners = ToSet(next.learners);
    for (NodeId id : next.learners_next) learners.insert(id);
    next.learners = ToVector(learners);
    next.learners_next.clear();
    next.auto_leave = false;
    return next;
  }
  if (current.joint()) {
    return absl::InvalidArgumentError(
        base::Cat("a membership change cannot start while the configuration is joint (voters ",
                  IdList(current.voters), ", outgoing ", IdList(current.voters_outgoing),
                  "); leave it first"));
  }
  IdSet voters = ToSet(current.voters);
  IdSet learners = ToSet(current.learners);
  for (const ConfChangeSingle& single : change.changes) {
    if (single.node == kNoNode)
      return absl::InvalidArgumentError("a membership change names no node");
    switch (single.type) {
      case ConfChangeType::kAddVoter:
        learners.erase(single.node);
        voters.insert(single.node);
        break;
      case ConfChangeType::kAddLearner:
        voters.erase(single.node);
        learners.insert(single.node);
        break;
      case ConfChangeType::kRemoveNode:
        if (!voters.contains(single.node) && !learners.contains(single.node)) {
          return absl::InvalidArgumentError(
              base::Cat("cannot remove node ", single.node, ": it is not a member"));
        }
        voters.erase(single.node);
        learners.erase(single.node);
        break;
      default:
        return absl::InvalidArgumentError(
            base::Cat("unknown membership change type ", static_cast<int>(single.type)));
    }
  }
  if (voters.empty()) {
    return absl::InvalidArgumentError(
        base::Cat("a membership change cannot remove every voter: it removes or demotes all of ",
                  IdList(current.voters)));
  }
  const IdSet old_voters = ToSet(current.voters);
  const bool joint = change.transition != ConfChangeTransition::kAuto ||
                     SymmetricDifference(old_voters, voters) > 1;
  ConfState next;
  next.voters = ToVector(voters);
  if (!joint) {
    next.learners = ToVector(learners);
    return next;
  }
  next.voters_outgoing = current.voters;
  // A node cannot be a voter and a learner at once: an outgoing voter being demoted becomes a
  // learner only when the joint configuration is left.
  IdSet learners_now;
  IdSet learners_next;
  for (NodeId id : learners) {
    (old_voters.contains(id) ? learners_next : learners_now).insert(id);
  }
  next.learners = ToVector(learners_now);
  next.learners_next = ToVector(learners_next);
  next.auto_leave = change.transition != ConfChangeTransition::kJointExplicit;
  return next;
}

absl::StatusOr<uint64_t> NodeImpl::ProposeConfChange(const ConfChange& change) {
  KEEL_RETURN_IF_ERROR(CheckCanPropose());
  if (pending_conf_index_ > log_.applying()) {
    return absl::FailedPreconditionError(
        base::Cat("a membership change is pending at index ", pending_conf_index_,
                  " (applied up to ", log_.applying(), "); propose the next one after it"));
  }
  if (absl::StatusOr<ConfState> next = NextConfState(conf_, change); !next.ok()) {
    return next.status();
  }
  KEEL_ASSIGN_OR_RETURN(const uint64_t index,
                        AppendAsLeader(EntryType::kConfChange, EncodeConfChange(change)));
  pending_conf_index_ = index;
  return index;
}

absl::StatusOr<ConfState> NodeImpl::ApplyConfChange(const ConfChange& change) {
  KEEL_ASSIGN_OR_RETURN(ConfState next, NextConfState(conf_, change));
  uint64_t index = log_.applying();
  if (!conf_change_indexes_.empty()) {
    index = conf_change_indexes_.front();
    conf_change_indexes_.pop_front();
  }
  conf_history_[index] = next;
  SwitchToConfig(next);
  if (role_ == Role::kLeader) {
    if (!quorum_.IsVoter(options_.id)) {
      // This leader was removed (or demoted); the change is committed, so the cluster can go on
      // without it (section 4.2.2). It steps down; the others elect a leader when their election
      // timeout passes (or at once, if the application transferred leadership first).
      BecomeFollower(term_, kNoNode);
    } else {
      if (MaybeCommit()) broadcast_pending_ = true;
      MaybeAutoLeave();
    }
  }
  return next;
}

void NodeImpl::MaybeAutoLeave() {
  if (role_ != Role::kLeader || !conf_.auto_leave || !conf_.joint() ||
      pending_conf_index_ > log_.applying()) {
    return;
  }
  // Leave the joint configuration at once (section 4.3). A leader that cannot propose now (it is
  // handing leadership over, or holds max_uncommitted_bytes) tries again at its next Advance, and
  // so does a leader elected after the joint entry was applied, as in etcd/raft.
  const absl::StatusOr<uint64_t> leave = ProposeConfChange(ConfChange{});
  KEEL_ASSERT(leave.ok() || absl::IsFailedPrecondition(leave.status()) ||
                  absl::IsResourceExhausted(leave.status()),
              "leaving the joint configuration failed: ", leave.status().message());
}

Progress NodeImpl::NewProgress() const {
  Progress progress(options_.max_inflight_appends);
  progress.next = log_.last_index() + 1;
  return progress;
}

void NodeImpl::SwitchToConfig(const ConfState& conf) {
  conf_ = conf;
  quorum_.incoming = conf.voters;
  quorum_.outgoing = conf.voters_outgoing;
  IdSet members = ToSet(conf.voters);
  for (NodeId id : conf.voters_outgoing) members.insert(id);
  IdSet learners = ToSet(conf.learners);
  for (NodeId id : conf.learners_next) learners.insert(id);
  for (NodeId id : learners) members.insert(id);
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = members.contains(it->first) ? std::next(it) : progress_.erase(it);
  }
  for (NodeId id : members) {
    auto [it, added] = progress_.try_emplace(id, NewProgress());
    if (added && id == options_.id) it->second.match = log_.stable();
    it->second.is_learner = learners.contains(id) && !quorum_.IsVoter(id);
  }
  for (auto it = round_acked_.begin(); it != round_acked_.end();) {
    it = members.contains(it->first) ? std::next(it) : round_acked_.erase(it);
  }
  if (transferee_ != kNoNode && !quorum_.IsVoter(transferee_)) transferee_ = kNoNode;
}

}  // namespace keel::raft::internal
