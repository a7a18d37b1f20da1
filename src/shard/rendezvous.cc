// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/rendezvous.h"

#include <algorithm>

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::shard {

absl::Status Rendezvous::AddNode(NodeId id, double weight) {
  // Written so that NaN fails too.
  if (!(weight >= kRendezvousMinWeight && weight <= kRendezvousMaxWeight)) {
    return absl::InvalidArgumentError(base::Cat("node ", id, " has weight ", weight, ": want ",
                                                kRendezvousMinWeight, " to ",
                                                kRendezvousMaxWeight));
  }
  if (Contains(id)) return absl::AlreadyExistsError(base::Cat("node ", id, " is already added"));
  if (nodes_.size() == kRendezvousMaxNodes) {
    return absl::InvalidArgumentError(
        base::Cat("cannot add node ", id, ": already ", kRendezvousMaxNodes, " nodes"));
  }
  nodes_.push_back({base::HashInt(id, seed_), weight, id});
  equal_weights_ = equal_weights_ && weight == nodes_.front().weight;
  return absl::OkStatus();
}

absl::Status Rendezvous::RemoveNode(NodeId id) {
  const auto it =
      std::find_if(nodes_.begin(), nodes_.end(), [id](const Node& n) { return n.id == id; });
  if (it == nodes_.end()) return absl::NotFoundError(base::Cat("node ", id, " is not there"));
  nodes_.erase(it);
  equal_weights_ = std::all_of(nodes_.begin(), nodes_.end(),
                               [&](const Node& n) { return n.weight == nodes_.front().weight; });
  return absl::OkStatus();
}

bool Rendezvous::Contains(NodeId id) const {
  return std::any_of(nodes_.begin(), nodes_.end(), [id](const Node& n) { return n.id == id; });
}

absl::Status Rendezvous::CheckNotEmpty() const {
  if (nodes_.empty()) [[unlikely]] {
    return absl::FailedPreconditionError("rendezvous lookup with no nodes");
  }
  return absl::OkStatus();
}

Rendezvous::Candidate Rendezvous::Rank(const Node& node, uint64_t key_hash) const {
  const uint64_t pair = base::HashInt(key_hash, node.hash);
  // With equal weights every score is the same increasing function of the pair hash, so the
  // hashes alone order the nodes; the logarithm is skipped.
  return {equal_weights_ ? 0.0 : Score(pair, node.weight), pair, node.id};
}

bool Rendezvous::Better(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.pair_hash != b.pair_hash) return a.pair_hash > b.pair_hash;
  return a.id < b.id;
}

absl::StatusOr<NodeId> Rendezvous::LookupHash(uint64_t key_hash) const {
  if (absl::Status status = CheckNotEmpty(); !status.ok()) return status;
  Candidate best = Rank(nodes_[0], key_hash);
  for (size_t i = 1; i < nodes_.size(); ++i) {
    const Candidate c = Rank(nodes_[i], key_hash);
    if (Better(c, best)) best = c;
  }
  return best.id;
}

absl::Status Rendezvous::TopOfHash(uint64_t key_hash, size_t count,
                                   std::vector<NodeId>& out) const {
  out.clear();
  if (absl::Status status = CheckNotEmpty(); !status.ok()) return status;
  if (count == 0 || count > nodes_.size()) {
    return absl::InvalidArgumentError(base::Cat("asked for the top ", count, " of ", nodes_.size(),
                                                " nodes: want 1 to ", nodes_.size()));
  }
  // The best `count` so far, best first, kept by insertion: replica counts are small, so this
  // beats a heap, and it needs no memory beyond `out` and a few candidates on the stack.
  constexpr size_t kOnStack = 16;
  Candidate stack_best[kOnStack];
  std::vector<Candidate> heap_best;
  Candidate* best = stack_best;
  if (count > kOnStack) {
    heap_best.resize(count);
    best = heap_best.data();
  }
  size_t kept = 0;
  for (const Node& node : nodes_) {
    const Candidate c = Rank(node, key_hash);
    if (kept == count && !Better(c, best[count - 1])) continue;
    size_t at = kept < count ? kept++ : count - 1;
    while (at > 0 && Better(c, best[at - 1])) {
      best[at] = best[at - 1];
      --at;
    }
    best[at] = c;
  }
  KEEL_ASSERT(kept == count);
  for (size_t i = 0; i < count; ++i) out.push_back(best[i].id);
  return absl::OkStatus();
}

}  // namespace keel::shard
