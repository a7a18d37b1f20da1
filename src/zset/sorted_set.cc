// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/zset/sorted_set.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "keel/base/assert.h"

namespace keel::zset {

using internal::Entry;
using internal::OrderTree;

SortedSet::~SortedSet() = default;  // the tree's arena frees the entries

SortedSet::SortedSet(SortedSet&& other) noexcept
    : members_(std::move(other.members_)), tree_(std::move(other.tree_)) {
  other.members_.clear();
}

SortedSet& SortedSet::operator=(SortedSet&& other) noexcept {
  if (this != &other) {
    members_ = std::move(other.members_);
    tree_ = std::move(other.tree_);
    other.members_.clear();
  }
  return *this;
}

Entry* SortedSet::Find(std::string_view member) const {
  auto it = members_.find(member);
  return it == members_.end() ? nullptr : *it;
}

absl::StatusOr<AddResult> SortedSet::Add(std::string_view member, double score,
                                         AddOptions options) {
  using Outcome = AddResult::Outcome;
  if (std::isnan(score)) return absl::InvalidArgumentError("score is not a number (NaN)");
  if (options.existence == Existence::kOnlyAbsent && options.condition != ScoreCondition::kAny) {
    return absl::InvalidArgumentError("NX cannot be combined with GT or LT");
  }
  if (member.size() > kMaxMemberSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("member of ", member.size(), " bytes is longer than ", kMaxMemberSize));
  }
  Entry* entry = Find(member);
  if (entry == nullptr) {
    if (options.existence == Existence::kOnlyPresent) return AddResult{Outcome::kSkipped, {}};
    entry = Entry::Create(tree_.arena(), member, score);
    members_.insert(entry);
    tree_.Insert(entry);
    return AddResult{Outcome::kAdded, score};
  }

  const double current = entry->score();
  if (options.existence == Existence::kOnlyAbsent) return AddResult{Outcome::kSkipped, current};
  double updated = score;
  if (options.increment) {
    updated = current + score;
    if (std::isnan(updated)) {
      return absl::InvalidArgumentError("resulting score is not a number (NaN)");
    }
  }
  // Redis compares the would-be score with the current one, and an equal score is no update
  // either way: GT skips unless strictly greater, LT unless strictly less.
  if ((options.condition == ScoreCondition::kOnlyGreater && !(updated > current)) ||
      (options.condition == ScoreCondition::kOnlyLess && !(updated < current))) {
    return AddResult{Outcome::kSkipped, current};
  }
  if (updated == current) return AddResult{Outcome::kUnchanged, current};
  // An update is an erasure and an insertion. Sliding the entry within its leaf when the new
  // key stays in the leaf's range was tried and measured slower on the ZINCRBY board
  // (docs/zset.md): most increments leave the leaf, and then the extra read-only descent was
  // wasted.
  tree_.Erase(entry);
  entry->set_score(updated);
  tree_.Insert(entry);
  return AddResult{Outcome::kUpdated, updated};
}

void SortedSet::Unlink(Entry* entry) {
  tree_.Erase(entry);
  members_.erase(entry);
  Entry::Destroy(tree_.arena(), entry);
}

bool SortedSet::Remove(std::string_view member) {
  Entry* entry = Find(member);
  if (entry == nullptr) return false;
  Unlink(entry);
  return true;
}

std::optional<double> SortedSet::Score(std::string_view member) const {
  const Entry* entry = Find(member);
  if (entry == nullptr) return std::nullopt;
  return entry->score();
}

std::optional<size_t> SortedSet::Rank(std::string_view member) const {
  const Entry* entry = Find(member);
  if (entry == nullptr) return std::nullopt;
  return tree_.RankOf(entry);
}

std::optional<size_t> SortedSet::ReverseRank(std::string_view member) const {
  std::optional<size_t> rank = Rank(member);
  if (!rank) return std::nullopt;
  return size() - 1 - *rank;
}

RankSpan SortedSet::RanksOf(const ScoreRange& range) const {
  // Members before the range: scores below min (or equal to an exclusive min). Members up to the
  // range's end: scores below max (or equal to an inclusive max).
  const size_t begin = tree_.PartitionPoint([&](double score, const Entry*) {
    return range.min.exclusive ? score <= range.min.value : score < range.min.value;
  });
  const size_t end = tree_.PartitionPoint([&](double score, const Entry*) {
    return range.max.exclusive ? score < range.max.value : score <= range.max.value;
  });
  return {begin, end};
}

namespace {

// True if `member` orders before lex bound `bound` used as a range's minimum: that is, the member
// is below the range.
bool BelowMin(std::string_view member, const LexBound& bound) {
  switch (bound.kind) {
    case LexBound::Kind::kMinusInfinity:
      return false;
    case LexBound::Kind::kPlusInfinity:
      return true;
    case LexBound::Kind::kInclusive:
      return internal::CompareMembers(member, bound.value) < 0;
    case LexBound::Kind::kExclusive:
      return internal::CompareMembers(member, bound.value) <= 0;
  }
  return false;
}

// True if `member` is not past lex bound `bound` used as a range's maximum.
bool UpToMax(std::string_view member, const LexBound& bound) {
  switch (bound.kind) {
    case LexBound::Kind::kMinusInfinity:
      return false;
    case LexBound::Kind::kPlusInfinity:
      return true;
    case LexBound::Kind::kInclusive:
      return internal::CompareMembers(member, bound.value) <= 0;
    case LexBound::Kind::kExclusive:
      return internal::CompareMembers(member, bound.value) < 0;
  }
  return false;
}

}  // namespace

RankSpan SortedSet::RanksOf(const LexRange& range) const {
  const size_t begin = tree_.PartitionPoint(
      [&](double, const Entry* entry) { return BelowMin(entry->member(), range.min); });
  const size_t end = tree_.PartitionPoint(
      [&](double, const Entry* entry) { return UpToMax(entry->member(), range.max); });
  return {begin, end};
}

SortedSet::Cursor SortedSet::CursorAt(size_t rank) const {
  if (rank >= size()) return Cursor({}, rank, false);
  return Cursor(tree_.At(rank), rank, false);
}

SortedSet::Cursor SortedSet::ReverseCursorAt(size_t rank) const {
  if (rank >= size()) return Cursor({}, rank, true);
  return Cursor(tree_.At(size() - 1 - rank), rank, true);
}

std::vector<Element> SortedSet::Pop(size_t count, bool from_top) {
  std::vector<Element> popped;
  popped.reserve(std::min(count, size()));
  while (popped.size() < count && !empty()) {
    Entry* entry = tree_.At(from_top ? size() - 1 : 0).entry();
    popped.push_back({std::string(entry->member()), entry->score()});
    Unlink(entry);
  }
  return popped;
}

std::vector<Element> SortedSet::PopMin(size_t count) { return Pop(count, false); }
std::vector<Element> SortedSet::PopMax(size_t count) { return Pop(count, true); }

size_t SortedSet::RemoveRanks(RankSpan span) {
  const size_t end = std::min(span.end, size());
  if (span.begin >= end) return 0;
  const size_t count = end - span.begin;
  // Each removal shifts the later ranks down by one, so the victim is always at span.begin.
  for (size_t i = 0; i < count; ++i) Unlink(tree_.At(span.begin).entry());
  return count;
}

bool SortedSet::ClearNegativeZero(std::string_view member) {
  Entry* entry = Find(member);
  if (entry == nullptr || entry->score() != 0 || !std::signbit(entry->score())) return false;
  // -0.0 and 0.0 compare equal, so the tree's order and its copies of first scores stay right.
  tree_.Erase(entry);
  entry->set_score(0.0);
  tree_.Insert(entry);
  return true;
}

void SortedSet::Clear() {
  members_.clear();
  tree_.Clear();  // frees the entries with the nodes
}

SortedSet::MemoryUsage SortedSet::Memory() const {
  // A swiss table allocates one slot and one control byte per bucket (plus a group's worth of
  // cloned control bytes).
  const size_t index_bytes =
      members_.capacity() == 0 ? 0 : members_.capacity() * (sizeof(Entry*) + 1) + 16;
  const internal::Arena& arena = tree_.arena();
  return {arena.live_bytes() + index_bytes, arena.held_bytes() + index_bytes, arena.mapped_bytes()};
}

void SortedSet::CheckInvariants() const {
  tree_.CheckInvariants();
  tree_.arena().CheckInvariants();
  KEEL_ASSERT(members_.size() == tree_.size(), "index holds ", members_.size(), ", tree ",
              tree_.size());
  size_t rank = 0;
  size_t entry_bytes = 0;
  for (auto c = CursorAt(0); c.valid(); c.Next(), ++rank) {
    const Entry* entry = Find(c.member());
    KEEL_ASSERT(entry != nullptr, "a member in the tree is missing from the index");
    KEEL_ASSERT(tree_.RankOf(entry) == rank);
    entry_bytes += internal::Arena::ChargedBytes(Entry::AllocationSize(c.member().size()));
  }
  KEEL_ASSERT(rank == size());
  // The arena holds the entries and the nodes, and nothing else: no leak, no double free.
  KEEL_ASSERT(tree_.arena().live_bytes() == entry_bytes + tree_.NodeBytes(), "the arena holds ",
              tree_.arena().live_bytes(), " bytes, the entries ", entry_bytes, " and the nodes ",
              tree_.NodeBytes());
}

}  // namespace keel::zset
