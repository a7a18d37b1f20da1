// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// SortedSet: a set of unique byte-string members, each with a score, kept in order of score with
// ranks in O(log n): the Redis sorted set (https://redis.io/docs/latest/develop/data-types/
// sorted-sets/), with its semantics exactly.
//
// A leaderboard is one: a player's points are the score, the top 10 are the members of rank 0 to 9
// from the top, and a player's position is a rank query. Each operation matches a Redis command:
//
//   Add(member, score, options)     ZADD with NX / XX / GT / LT / INCR (and ZINCRBY)
//   Remove(member)                  ZREM
//   Score(member)                   ZSCORE, ZMSCORE
//   Rank(member), ReverseRank(...)  ZRANK, ZREVRANK
//   RanksOf(ScoreRange / LexRange)  the rank span of ZCOUNT, ZLEXCOUNT, ZRANGEBYSCORE, ZRANGEBYLEX
//   At(rank) and Cursor             ZRANGE and friends, forward or reverse, with LIMIT
//   PopMin(n), PopMax(n)            ZPOPMIN, ZPOPMAX
//   RemoveRanks(span)               ZREMRANGEBYRANK / BYSCORE / BYLEX
//   Union / Intersection            ZUNIONSTORE, ZINTERSTORE (keel/zset/set_operations.h)
//
// Order: by score, then by member bytes (memcmp; a proper prefix first), which is Redis's order.
// Scores are doubles; NaN is refused, +-inf are allowed, -0.0 equals 0.0 (an update from one to
// the other changes nothing, as in Redis). Lex ranges assume, as Redis does, that every member has
// the same score; on a set with different scores their result is unspecified (but safe).
//
// Structure: a hash index from member to entry for O(1) scores, beside an order-statistic B+ tree
// (keel/zset/internal/order_tree.h) for ranks and ranges. Each member lives in one object holding
// its score and bytes, shared by both, in an arena of the set's own (keel/zset/internal/arena.h)
// beside the tree's nodes. See docs/zset.md for the measured memory per member
// against Redis's skip list.
//
// Example:
//
//   keel::zset::SortedSet board;
//   board.Add("alice", 10);
//   board.Add("bob", 25);
//   board.Add("alice", 1, {.increment = true});          // ZINCRBY board 1 alice: 11
//   std::optional<size_t> place = board.ReverseRank("alice");  // 1: bob is first
//   for (auto c = board.ReverseCursorAt(0); c.valid() && c.rank() < 10; c.Next()) {
//     Print(c.member(), c.score());                   // the top 10, best first
//   }
//
// Thread safety: none; a SortedSet is a value owned by one thread at a time (keel-server shards
// keys over threads). Cursors and views of members are invalidated by any change to the set.
#ifndef KEEL_ZSET_SORTED_SET_H_
#define KEEL_ZSET_SORTED_SET_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/zset/internal/order_tree.h"

namespace keel::zset {

// ZADD's NX and XX.
enum class Existence {
  kAny,          // add a new member or update an existing one
  kOnlyAbsent,   // NX: only add new members, never update
  kOnlyPresent,  // XX: only update existing members, never add
};

// ZADD's GT and LT: update an existing member only if its new score is greater (less) than its
// current one. New members are added regardless.
enum class ScoreCondition { kAny, kOnlyGreater, kOnlyLess };

struct AddOptions {
  Existence existence = Existence::kAny;
  ScoreCondition condition = ScoreCondition::kAny;
  // INCR / ZINCRBY: `score` is added to the current score (to 0 for a new member).
  bool increment = false;
};

struct AddResult {
  enum class Outcome {
    kAdded,      // a new member
    kUpdated,    // an existing member's score changed
    kUnchanged,  // an existing member, already at that score
    kSkipped,    // NX, XX, GT or LT ruled the change out; nothing changed
  };
  Outcome outcome;
  // The member's score after the call; absent only when a skipped member does not exist (XX).
  std::optional<double> score;
};

// A bound of a score range: ZRANGEBYSCORE's "1.5", "(1.5", "-inf", "+inf".
struct ScoreBound {
  double value;
  bool exclusive = false;
};

struct ScoreRange {
  ScoreBound min;
  ScoreBound max;
};

// A bound of a lex range: ZRANGEBYLEX's "-", "+", "[value" and "(value".
struct LexBound {
  enum class Kind { kMinusInfinity, kPlusInfinity, kInclusive, kExclusive };
  Kind kind;
  std::string value;  // for kInclusive and kExclusive

  static LexBound MinusInfinity() { return {Kind::kMinusInfinity, {}}; }
  static LexBound PlusInfinity() { return {Kind::kPlusInfinity, {}}; }
  static LexBound Inclusive(std::string_view v) { return {Kind::kInclusive, std::string(v)}; }
  static LexBound Exclusive(std::string_view v) { return {Kind::kExclusive, std::string(v)}; }
};

struct LexRange {
  LexBound min;
  LexBound max;
};

// Ranks [begin, end) in ascending order; empty when begin >= end.
struct RankSpan {
  size_t begin = 0;
  size_t end = 0;
  [[nodiscard]] size_t size() const { return end > begin ? end - begin : 0; }
  [[nodiscard]] bool empty() const { return end <= begin; }
};

struct Element {
  std::string member;
  double score;
  friend bool operator==(const Element&, const Element&) = default;
};

class SortedSet {
 public:
  // The longest member, in bytes.
  static constexpr size_t kMaxMemberSize = internal::Entry::kMaxMemberSize;

  // Walks the set in order, forward or reverse, from a rank. Invalidated by any change to the set.
  class Cursor {
   public:
    [[nodiscard]] bool valid() const { return position_.valid(); }
    // REQUIRES: valid() for all three.
    [[nodiscard]] std::string_view member() const { return position_.entry()->member(); }
    [[nodiscard]] double score() const { return position_.entry()->score(); }
    // The rank in the cursor's own direction: 0 is the first element it visits.
    [[nodiscard]] size_t rank() const { return rank_; }
    // Steps in the cursor's direction.
    void Next() {
      if (reverse_) {
        position_.Prev();
      } else {
        position_.Next();
      }
      ++rank_;
    }

   private:
    friend class SortedSet;
    Cursor(internal::OrderTree::Position position, size_t rank, bool reverse)
        : position_(position), rank_(rank), reverse_(reverse) {}
    internal::OrderTree::Position position_;
    size_t rank_;
    bool reverse_;
  };

  SortedSet() = default;
  ~SortedSet();
  SortedSet(SortedSet&& other) noexcept;
  SortedSet& operator=(SortedSet&& other) noexcept;
  SortedSet(const SortedSet&) = delete;
  SortedSet& operator=(const SortedSet&) = delete;

  [[nodiscard]] size_t size() const { return tree_.size(); }
  [[nodiscard]] bool empty() const { return tree_.size() == 0; }

  // ZADD / ZINCRBY for one member. Errors (nothing changes): a NaN score; an increment whose
  // result is NaN (inf + -inf); NX together with GT or LT; a member longer than kMaxMemberSize.
  absl::StatusOr<AddResult> Add(std::string_view member, double score, AddOptions options = {});

  // ZREM: true if the member was there.
  bool Remove(std::string_view member);

  [[nodiscard]] std::optional<double> Score(std::string_view member) const;
  [[nodiscard]] bool Contains(std::string_view member) const { return Score(member).has_value(); }

  // ZRANK and ZREVRANK: 0 for the lowest (highest) score. O(log n).
  [[nodiscard]] std::optional<size_t> Rank(std::string_view member) const;
  [[nodiscard]] std::optional<size_t> ReverseRank(std::string_view member) const;

  // The ranks of the members within a range: ZCOUNT is RanksOf(range).size(). O(log n).
  [[nodiscard]] RankSpan RanksOf(const ScoreRange& range) const;
  [[nodiscard]] RankSpan RanksOf(const LexRange& range) const;

  // A cursor at ascending rank `rank` walking up, or at descending rank `rank` (0 is the highest)
  // walking down; invalid when rank >= size(). O(log n).
  [[nodiscard]] Cursor CursorAt(size_t rank) const;
  [[nodiscard]] Cursor ReverseCursorAt(size_t rank) const;

  // ZPOPMIN / ZPOPMAX: removes and returns up to `count` members, lowest (highest) first.
  std::vector<Element> PopMin(size_t count);
  std::vector<Element> PopMax(size_t count);

  // Removes the members of ascending ranks [span.begin, span.end) (clipped to the set) and
  // returns how many went: ZREMRANGEBYRANK, and with RanksOf, ZREMRANGEBYSCORE and BYLEX.
  size_t RemoveRanks(RankSpan span);

  void Clear();

  // If the member's score is -0.0, makes it 0.0 (its place in the order does not change); true
  // if it did. For emulating Redis's compact encoding, which cannot store -0.
  bool ClearNegativeZero(std::string_view member);

  // The memory of this set, in bytes. requested: what its objects take (entries and tree nodes in
  // the arena's 8-byte steps, and the hash index's array); held: what it holds from malloc or the
  // system (the arena's whole chunks, free space included, and the index); mapped: the part of
  // held mapped with mmap directly, which malloc's statistics (mallinfo2) do not see.
  struct MemoryUsage {
    size_t requested_bytes;
    size_t held_bytes;
    size_t mapped_bytes;
  };
  [[nodiscard]] MemoryUsage Memory() const;

  // Checks the structure's invariants (order, counts, the index agreeing with the tree); O(n),
  // for tests.
  void CheckInvariants() const;

 private:
  // Hashes and compares entries by member, and accepts a member (std::string_view) to look up.
  struct MemberHash {
    using is_transparent = void;
    size_t operator()(std::string_view member) const {
      return absl::Hash<std::string_view>()(member);
    }
    size_t operator()(const internal::Entry* entry) const { return (*this)(entry->member()); }
  };
  struct MemberEq {
    using is_transparent = void;
    static std::string_view View(std::string_view member) { return member; }
    static std::string_view View(const internal::Entry* entry) { return entry->member(); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return View(a) == View(b);
    }
  };

  [[nodiscard]] internal::Entry* Find(std::string_view member) const;
  void Unlink(internal::Entry* entry);
  std::vector<Element> Pop(size_t count, bool from_top);

  absl::flat_hash_set<internal::Entry*, MemberHash, MemberEq> members_;
  internal::OrderTree tree_;
};

}  // namespace keel::zset

#endif  // KEEL_ZSET_SORTED_SET_H_
