// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// OrderTree: the ordered half of a sorted set, an order-statistic B+ tree of pointers to entries.
// Internal to keel/zset; users see keel::zset::SortedSet.
//
// Redis keeps a large sorted set as a skip list with spans (Pugh 1990; a span counts the nodes a
// forward pointer skips, which gives ranks in O(log n)) beside a hash table from member to score.
// Dragonfly showed that a B+ tree whose inner nodes count the entries below each child answers the
// same queries with a fraction of the memory (https://www.dragonflydb.io/blog/dragonfly-new-sorted-
// set-implementation): a skip list node carries its score, a member pointer, a back pointer and on
// average 1.33 levels of (pointer, span), about 45 bytes before malloc rounds it, while a B+ tree
// leaf spends 8 bytes on a pointer per entry and its inner nodes add little. keel does the same,
// with one change for speed: each inner node keeps, beside each child, a copy of the score of the
// child's first entry, so that the descent compares scores without touching the entries. Entries
// are touched only on equal scores, and in the leaf, where an insertion binary-searches its place.
// A caller that knows the entry (rank, erase) finds it in its leaf by comparing pointers.
//
// Layout: leaves hold up to kLeafCapacity entry pointers in order and are linked both ways for
// iteration. Inner nodes hold up to kInnerCapacity children and, for each child i, the number of
// entries under it (sizes[i]) and its first entry and that entry's score (firsts[i], scores[i]).
// Every node but the root holds at least half its capacity less one. The nodes live in the tree's
// arena (keel/base/internal/arena.h), and so do the entries, which SortedSet allocates and frees
// there and keeps in step with the tree and its hash index; Clear frees both at once.
//
// Keys are (score, member), scores compared as doubles (never NaN, -0.0 equal to 0.0), then member
// bytes by memcmp with the shorter first on a common prefix, which is Redis's order.
#ifndef KEEL_ZSET_INTERNAL_ORDER_TREE_H_
#define KEEL_ZSET_INTERNAL_ORDER_TREE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "keel/base/assert.h"
#include "keel/base/internal/arena.h"

namespace keel::zset::internal {

using base::internal::Arena;

// One member of a sorted set with its score, in a single object of the set's arena: the score (8
// bytes), the member's length (1 byte, or a 0xFF marker and 4 bytes when it is 255 or longer), then
// the bytes. No padding and no terminator, so a 14-byte member makes a 23-byte entry, which the
// arena rounds to 24.
class Entry {
 public:
  static constexpr size_t kMaxMemberSize = UINT32_MAX;

  // REQUIRES: member.size() <= kMaxMemberSize, score is not NaN.
  [[nodiscard]] static Entry* Create(Arena& arena, std::string_view member, double score);
  static void Destroy(Arena& arena, Entry* entry);

  [[nodiscard]] double score() const {
    double score;
    std::memcpy(&score, bytes(), sizeof score);
    return score;
  }
  void set_score(double score) { std::memcpy(bytes(), &score, sizeof score); }

  [[nodiscard]] std::string_view member() const {
    const unsigned char* p = bytes() + sizeof(double);
    if (*p != kLongMarker) return {reinterpret_cast<const char*>(p + 1), *p};
    uint32_t size;
    std::memcpy(&size, p + 1, sizeof size);
    return {reinterpret_cast<const char*>(p + 5), size};
  }

  // The bytes allocated for an entry holding a member of `member_size` bytes.
  [[nodiscard]] static size_t AllocationSize(size_t member_size) {
    return sizeof(double) + (member_size < kLongMarker ? 1 : 5) + member_size;
  }

  Entry() = delete;

 private:
  static constexpr unsigned char kLongMarker = 0xFF;

  unsigned char* bytes() { return reinterpret_cast<unsigned char*>(this); }
  const unsigned char* bytes() const { return reinterpret_cast<const unsigned char*>(this); }
};

// Redis's order: score, then member bytes.
[[nodiscard]] inline int CompareMembers(std::string_view a, std::string_view b) {
  const size_t common = a.size() < b.size() ? a.size() : b.size();
  const int c = common == 0 ? 0 : std::memcmp(a.data(), b.data(), common);
  if (c != 0) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// True if (score_a, a) orders before (score_b, b).
[[nodiscard]] inline bool KeyLess(double score_a, const Entry* a, double score_b, const Entry* b) {
  if (score_a != score_b) return score_a < score_b;
  if (a == b) return false;
  return CompareMembers(a->member(), b->member()) < 0;
}

struct Node;
struct Leaf;
struct Inner;

class OrderTree {
 public:
  static constexpr int kLeafCapacity = 32;
  static constexpr int kInnerCapacity = 32;
  static constexpr int kMaxDepth = 16;  // 16^16 entries at the least fill: never reached

  // A place in the order: an entry of a leaf. Invalidated by any insertion or erasure.
  class Position {
   public:
    Position() = default;
    [[nodiscard]] bool valid() const { return leaf_ != nullptr; }
    // REQUIRES: valid().
    [[nodiscard]] Entry* entry() const;
    // The next (previous) entry in order; invalid past the end (before the beginning).
    void Next();
    void Prev();

   private:
    friend class OrderTree;
    Position(Leaf* leaf, int index) : leaf_(leaf), index_(index) {}
    Leaf* leaf_ = nullptr;
    int index_ = 0;
  };

  // A predicate over keys that is true for a prefix of the order and false after it.
  using Predicate = absl::FunctionRef<bool(double score, const Entry* entry)>;

  OrderTree();
  ~OrderTree();
  OrderTree(OrderTree&& other) noexcept;
  OrderTree& operator=(OrderTree&& other) noexcept;
  OrderTree(const OrderTree&) = delete;
  OrderTree& operator=(const OrderTree&) = delete;

  [[nodiscard]] size_t size() const { return size_; }

  // REQUIRES: no entry with the same member is in the tree; entry->score() is not NaN.
  void Insert(Entry* entry);
  // REQUIRES: entry is in the tree, with the score it had when inserted.
  void Erase(const Entry* entry);
  // The number of entries before `entry`. REQUIRES: entry is in the tree.
  [[nodiscard]] size_t RankOf(const Entry* entry) const;
  // REQUIRES: rank < size().
  [[nodiscard]] Position At(size_t rank) const;
  // The number of entries for which `pred` holds: the length of its true prefix.
  [[nodiscard]] size_t PartitionPoint(Predicate pred) const;

  // Removes every entry and frees every object of the arena: the nodes and the entries.
  void Clear();

  // The arena of the nodes, where the caller keeps the entries too.
  [[nodiscard]] Arena& arena() { return arena_; }
  [[nodiscard]] const Arena& arena() const { return arena_; }

  // Bytes of the tree's nodes (not the entries).
  [[nodiscard]] size_t NodeBytes() const { return node_bytes_; }

  // Checks every structural invariant (order, counts, firsts, fill, links); for tests. O(n).
  void CheckInvariants() const;

 private:
  void SplitChild(Inner* parent, int i);
  // Makes parent->children[i] hold more than the minimum, by borrowing from or merging with a
  // sibling; returns the index of the child that now covers what child i covered.
  int Reinforce(Inner* parent, int i);
  Leaf* NewLeaf();
  Inner* NewInner();
  void FreeNode(Node* node);

  Arena arena_;  // first: the root lives in it
  Node* root_ = nullptr;
  size_t size_ = 0;
  size_t node_bytes_ = 0;
};

}  // namespace keel::zset::internal

#endif  // KEEL_ZSET_INTERNAL_ORDER_TREE_H_
