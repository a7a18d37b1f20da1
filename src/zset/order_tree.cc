// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The order-statistic B+ tree of keel/zset/internal/order_tree.h.
//
// Both updates work top-down in one pass, as in Cormen et al.'s B-tree (Introduction to
// Algorithms, chapter 18): an insertion splits every full node it is about to enter, so a split
// never has to climb back up; an erasure reinforces every minimal node it is about to enter (a
// borrow from a sibling, or a merge with one), so a removal never leaves a node under its minimum.
// The entry counts on the way down are adjusted as the descent passes, and the first-entry copies
// are refreshed when the first entry of a subtree changes.
#include "keel/zset/internal/order_tree.h"

#include <algorithm>
#include <new>
#include <type_traits>
#include <utility>

namespace keel::zset::internal {

// ---------------------------------------------------------------------------------------------
// Entries.
// ---------------------------------------------------------------------------------------------
Entry* Entry::Create(Arena& arena, std::string_view member, double score) {
  KEEL_ASSERT(member.size() <= kMaxMemberSize);
  auto* bytes = static_cast<unsigned char*>(arena.Allocate(AllocationSize(member.size())));
  std::memcpy(bytes, &score, sizeof score);
  unsigned char* p = bytes + sizeof score;
  if (member.size() < kLongMarker) {
    *p++ = static_cast<unsigned char>(member.size());
  } else {
    *p++ = kLongMarker;
    const auto size = static_cast<uint32_t>(member.size());
    std::memcpy(p, &size, sizeof size);
    p += sizeof size;
  }
  if (!member.empty()) std::memcpy(p, member.data(), member.size());
  return reinterpret_cast<Entry*>(bytes);
}

void Entry::Destroy(Arena& arena, Entry* entry) {
  arena.Free(entry, AllocationSize(entry->member().size()));
}

// ---------------------------------------------------------------------------------------------
// Nodes.
// ---------------------------------------------------------------------------------------------
struct Node {
  bool is_leaf;
  int count = 0;
};

struct Leaf : Node {
  Leaf() : Node{true} {}
  Leaf* prev = nullptr;
  Leaf* next = nullptr;
  Entry* entries[OrderTree::kLeafCapacity];
};

struct Inner : Node {
  Inner() : Node{false} {}
  double scores[OrderTree::kInnerCapacity];  // scores[i] == firsts[i]->score()
  Entry* firsts[OrderTree::kInnerCapacity];  // the first entry under children[i]
  uint64_t sizes[OrderTree::kInnerCapacity];
  Node* children[OrderTree::kInnerCapacity];
};

static_assert(std::is_trivially_destructible_v<Leaf> && std::is_trivially_destructible_v<Inner>);

namespace {

constexpr int kLeafMin = OrderTree::kLeafCapacity / 2 - 1;
constexpr int kInnerMin = OrderTree::kInnerCapacity / 2 - 1;

Leaf* AsLeaf(Node* node) {
  KEEL_DCHECK(node->is_leaf);
  return static_cast<Leaf*>(node);
}
const Leaf* AsLeaf(const Node* node) {
  KEEL_DCHECK(node->is_leaf);
  return static_cast<const Leaf*>(node);
}
Inner* AsInner(Node* node) {
  KEEL_DCHECK(!node->is_leaf);
  return static_cast<Inner*>(node);
}
const Inner* AsInner(const Node* node) {
  KEEL_DCHECK(!node->is_leaf);
  return static_cast<const Inner*>(node);
}

int Capacity(const Node* node) {
  return node->is_leaf ? OrderTree::kLeafCapacity : OrderTree::kInnerCapacity;
}
int Minimum(const Node* node) { return node->is_leaf ? kLeafMin : kInnerMin; }

Entry* FirstEntry(const Node* node) {
  return node->is_leaf ? AsLeaf(node)->entries[0] : AsInner(node)->firsts[0];
}

uint64_t SubtreeSize(const Node* node) {
  if (node->is_leaf) return static_cast<uint64_t>(node->count);
  const Inner* inner = AsInner(node);
  uint64_t total = 0;
  for (int i = 0; i < inner->count; ++i) total += inner->sizes[i];
  return total;
}

void SetFirst(Inner* inner, int i, Entry* first) {
  inner->firsts[i] = first;
  inner->scores[i] = first->score();
}

// The last i in [0, count) whose first entry satisfies `pred` (a true-prefix predicate), or -1.
int LastChildWhere(const Inner* inner, OrderTree::Predicate pred) {
  int lo = 0;
  int hi = inner->count;  // answer + 1 lies in [lo, hi]
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (pred(inner->scores[mid], inner->firsts[mid])) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo - 1;
}

// The child of `inner` whose range holds the key (score, entry): the last child whose first key
// is not after it, or the first child when the key precedes them all. The search reads only the
// scores, and the members only of children whose first score equals the key's (one more cache
// miss each), so a descent costs about one miss per level.
int ChildFor(const Inner* inner, double score, const Entry* entry) {
  const double* scores = inner->scores;
  const double* end = scores + inner->count;
  // Children [0, tie_end) have a first score <= score; [tie_begin, tie_end) have it equal.
  const int tie_end = static_cast<int>(std::upper_bound(scores, end, score) - scores);
  int i = tie_end;
  if (i > 0 && scores[i - 1] == score) {
    const int tie_begin = static_cast<int>(std::lower_bound(scores, scores + i, score) - scores);
    i = static_cast<int>(std::partition_point(inner->firsts + tie_begin, inner->firsts + tie_end,
                                              [&](const Entry* first) {
                                                return !KeyLess(score, entry, score, first);
                                              }) -
                         inner->firsts);
  }
  return i == 0 ? 0 : i - 1;
}

// Moves `n` slots of an inner node's parallel arrays from index `from` to `to` (overlap allowed).
void MoveInnerSlots(Inner* dst, int to, const Inner* src, int from, int n) {
  std::memmove(&dst->scores[to], &src->scores[from], n * sizeof(double));
  std::memmove(&dst->firsts[to], &src->firsts[from], n * sizeof(Entry*));
  std::memmove(&dst->sizes[to], &src->sizes[from], n * sizeof(uint64_t));
  std::memmove(&dst->children[to], &src->children[from], n * sizeof(Node*));
}

// Starts loading every entry of a leaf at once, before a search that will read a few of them: the
// loads overlap, where a binary search would wait for each in turn (entries are scattered over
// the heap, so at a million members each is a cache miss).
void PrefetchEntries(const Leaf* leaf) {
  for (int i = 0; i < leaf->count; ++i) __builtin_prefetch(leaf->entries[i]);
}

// Starts loading the parts of a node a descent reads, all at once: an inner node's scores, counts
// and children (12 of its 17 cache lines; the binary search would otherwise wait for each of its
// lines in turn, then for the counts and the child), or a leaf's entry pointers. Below the top
// levels the nodes are not in cache: at a million members the inner nodes take 2 MB and the leaves
// 12 MB.
void PrefetchLines(const void* begin, size_t bytes) {
  const char* p = static_cast<const char*>(begin);
  for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(p + offset);
}

void PrefetchNode(const Node* node) {
  if (node->is_leaf) {
    const Leaf* leaf = AsLeaf(node);
    PrefetchLines(leaf->entries, sizeof(Entry*) * static_cast<size_t>(leaf->count));
    return;
  }
  const Inner* inner = AsInner(node);
  const size_t count = static_cast<size_t>(inner->count);
  PrefetchLines(inner->scores, count * sizeof(double));
  PrefetchLines(inner->sizes, count * sizeof(uint64_t));
  PrefetchLines(inner->children, count * sizeof(Node*));
}

void MoveLeafSlots(Leaf* dst, int to, const Leaf* src, int from, int n) {
  std::memmove(&dst->entries[to], &src->entries[from], n * sizeof(Entry*));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Positions.
// ---------------------------------------------------------------------------------------------
Entry* OrderTree::Position::entry() const {
  KEEL_DCHECK(valid());
  return leaf_->entries[index_];
}

void OrderTree::Position::Next() {
  KEEL_DCHECK(valid());
  if (++index_ < leaf_->count) return;
  leaf_ = leaf_->next;
  index_ = 0;
}

void OrderTree::Position::Prev() {
  KEEL_DCHECK(valid());
  if (--index_ >= 0) return;
  leaf_ = leaf_->prev;
  index_ = leaf_ == nullptr ? 0 : leaf_->count - 1;
}

// ---------------------------------------------------------------------------------------------
// The tree.
// ---------------------------------------------------------------------------------------------
// In the body: NewLeaf counts into node_bytes_, which is initialized after root_.
OrderTree::OrderTree() { root_ = NewLeaf(); }

OrderTree::~OrderTree() = default;  // the arena frees the nodes

OrderTree::OrderTree(OrderTree&& other) noexcept
    : arena_(std::move(other.arena_)),
      root_(std::exchange(other.root_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      node_bytes_(std::exchange(other.node_bytes_, 0)) {
  other.root_ = other.NewLeaf();
}

OrderTree& OrderTree::operator=(OrderTree&& other) noexcept {
  if (this != &other) {
    arena_ = std::move(other.arena_);
    root_ = std::exchange(other.root_, nullptr);
    size_ = std::exchange(other.size_, 0);
    node_bytes_ = std::exchange(other.node_bytes_, 0);
    other.root_ = other.NewLeaf();
  }
  return *this;
}

Leaf* OrderTree::NewLeaf() {
  node_bytes_ += sizeof(Leaf);
  return new (arena_.Allocate(sizeof(Leaf))) Leaf;
}

Inner* OrderTree::NewInner() {
  node_bytes_ += sizeof(Inner);
  return new (arena_.Allocate(sizeof(Inner))) Inner;
}

// Nodes are trivially destructible: freeing one gives its slot back to the arena.
void OrderTree::FreeNode(Node* node) {
  const size_t bytes = node->is_leaf ? sizeof(Leaf) : sizeof(Inner);
  node_bytes_ -= bytes;
  arena_.Free(node, bytes);
}

void OrderTree::Clear() {
  arena_.Clear();
  node_bytes_ = 0;
  size_ = 0;
  root_ = NewLeaf();
}

// Splits the full child i of `parent` (which has room) into two halves.
void OrderTree::SplitChild(Inner* parent, int i) {
  KEEL_DCHECK(parent->count < kInnerCapacity);
  Node* child = parent->children[i];
  KEEL_DCHECK(child->count == Capacity(child));
  const int keep = child->count / 2;
  const int move = child->count - keep;
  Node* sibling;
  if (child->is_leaf) {
    Leaf* left = AsLeaf(child);
    Leaf* right = NewLeaf();
    MoveLeafSlots(right, 0, left, keep, move);
    right->next = left->next;
    right->prev = left;
    if (left->next != nullptr) left->next->prev = right;
    left->next = right;
    sibling = right;
  } else {
    Inner* left = AsInner(child);
    Inner* right = NewInner();
    MoveInnerSlots(right, 0, left, keep, move);
    sibling = right;
  }
  child->count = keep;
  sibling->count = move;
  const uint64_t sibling_size = SubtreeSize(sibling);
  MoveInnerSlots(parent, i + 2, parent, i + 1, parent->count - i - 1);
  parent->children[i + 1] = sibling;
  parent->sizes[i + 1] = sibling_size;
  parent->sizes[i] -= sibling_size;
  SetFirst(parent, i + 1, FirstEntry(sibling));
  ++parent->count;
}

void OrderTree::Insert(Entry* entry) {
  const double score = entry->score();
  if (root_->count == Capacity(root_)) {
    Inner* root = NewInner();
    root->count = 1;
    root->children[0] = root_;
    root->sizes[0] = size_;
    SetFirst(root, 0, FirstEntry(root_));
    root_ = root;
    SplitChild(root, 0);
  }
  Node* node = root_;
  while (!node->is_leaf) {
    PrefetchNode(node);
    Inner* inner = AsInner(node);
    int i = ChildFor(inner, score, entry);
    if (inner->children[i]->count == Capacity(inner->children[i])) {
      SplitChild(inner, i);
      if (!KeyLess(score, entry, inner->scores[i + 1], inner->firsts[i + 1])) ++i;
    }
    ++inner->sizes[i];
    // Only the leftmost path can receive a key before a subtree's first: the descent enters a
    // later child only when its first key is not after the new one.
    if (KeyLess(score, entry, inner->scores[i], inner->firsts[i])) SetFirst(inner, i, entry);
    node = inner->children[i];
  }
  Leaf* leaf = AsLeaf(node);
  PrefetchEntries(leaf);
  Entry** begin = leaf->entries;
  Entry** end = leaf->entries + leaf->count;
  Entry** at = std::upper_bound(begin, end, entry, [&](const Entry* key, const Entry* e) {
    return KeyLess(score, key, e->score(), e);
  });
  const int pos = static_cast<int>(at - begin);
  MoveLeafSlots(leaf, pos + 1, leaf, pos, leaf->count - pos);
  leaf->entries[pos] = entry;
  ++leaf->count;
  ++size_;
}

// Makes child i of `parent` hold more than its minimum so that an erasure below it cannot leave
// it under the minimum: borrow one slot from a sibling that can spare it, or else merge with a
// sibling. Returns the index of the child that now covers child i's range.
int OrderTree::Reinforce(Inner* parent, int i) {
  Node* child = parent->children[i];
  Node* left = i > 0 ? parent->children[i - 1] : nullptr;
  Node* right = i + 1 < parent->count ? parent->children[i + 1] : nullptr;
  if (left != nullptr && left->count > Minimum(left)) {
    // The left sibling's last slot becomes the child's first.
    uint64_t moved;
    if (child->is_leaf) {
      Leaf* c = AsLeaf(child);
      Leaf* l = AsLeaf(left);
      MoveLeafSlots(c, 1, c, 0, c->count);
      c->entries[0] = l->entries[l->count - 1];
      moved = 1;
    } else {
      Inner* c = AsInner(child);
      Inner* l = AsInner(left);
      MoveInnerSlots(c, 1, c, 0, c->count);
      MoveInnerSlots(c, 0, l, l->count - 1, 1);
      moved = c->sizes[0];
    }
    --left->count;
    ++child->count;
    parent->sizes[i - 1] -= moved;
    parent->sizes[i] += moved;
    SetFirst(parent, i, FirstEntry(child));
    return i;
  }
  if (right != nullptr && right->count > Minimum(right)) {
    // The right sibling's first slot becomes the child's last.
    uint64_t moved;
    if (child->is_leaf) {
      Leaf* c = AsLeaf(child);
      Leaf* r = AsLeaf(right);
      c->entries[c->count] = r->entries[0];
      MoveLeafSlots(r, 0, r, 1, r->count - 1);
      moved = 1;
    } else {
      Inner* c = AsInner(child);
      Inner* r = AsInner(right);
      MoveInnerSlots(c, c->count, r, 0, 1);
      MoveInnerSlots(r, 0, r, 1, r->count - 1);
      moved = c->sizes[c->count];
    }
    ++child->count;
    --right->count;
    parent->sizes[i] += moved;
    parent->sizes[i + 1] -= moved;
    SetFirst(parent, i + 1, FirstEntry(right));
    return i;
  }
  // Neither sibling can spare a slot: merge the child with one of them. Both hold at most their
  // minimum, so together they fit in one node.
  const int into = left != nullptr ? i - 1 : i;  // the survivor
  Node* a = parent->children[into];
  Node* b = parent->children[into + 1];
  KEEL_ASSERT(a->count + b->count <= Capacity(a));
  if (a->is_leaf) {
    Leaf* la = AsLeaf(a);
    Leaf* lb = AsLeaf(b);
    MoveLeafSlots(la, la->count, lb, 0, lb->count);
    la->next = lb->next;
    if (lb->next != nullptr) lb->next->prev = la;
  } else {
    MoveInnerSlots(AsInner(a), a->count, AsInner(b), 0, b->count);
  }
  a->count += b->count;
  parent->sizes[into] += parent->sizes[into + 1];
  MoveInnerSlots(parent, into + 1, parent, into + 2, parent->count - into - 2);
  --parent->count;
  FreeNode(b);
  return into;
}

void OrderTree::Erase(const Entry* entry) {
  KEEL_DCHECK(size_ > 0);
  const double score = entry->score();
  // The path down, to refresh first-entry copies once the leaf has lost its entry.
  Inner* path[kMaxDepth];
  int index[kMaxDepth];
  int depth = 0;
  Node* node = root_;
  while (!node->is_leaf) {
    PrefetchNode(node);
    Inner* inner = AsInner(node);
    int i = ChildFor(inner, score, entry);
    if (inner->children[i]->count <= Minimum(inner->children[i])) {
      i = Reinforce(inner, i);
      if (inner == root_ && inner->count == 1) {
        // The root's last two children merged: the tree loses a level.
        root_ = inner->children[0];
        FreeNode(inner);
        node = root_;
        continue;
      }
    }
    --inner->sizes[i];
    KEEL_DCHECK(depth < kMaxDepth);
    path[depth] = inner;
    index[depth] = i;
    ++depth;
    node = inner->children[i];
  }
  Leaf* leaf = AsLeaf(node);
  const int pos = static_cast<int>(std::find(leaf->entries, leaf->entries + leaf->count, entry) -
                                   leaf->entries);
  KEEL_ASSERT(pos < leaf->count, "erasing an entry that is not in the tree");
  MoveLeafSlots(leaf, pos, leaf, pos + 1, leaf->count - pos - 1);
  --leaf->count;
  --size_;
  if (pos == 0 && leaf->count > 0) {
    // The leaf's first entry changed: so did the first entry of every subtree it begins.
    for (int d = depth - 1; d >= 0; --d) {
      SetFirst(path[d], index[d], leaf->entries[0]);
      if (index[d] != 0) break;
    }
  }
}

size_t OrderTree::RankOf(const Entry* entry) const {
  const double score = entry->score();
  size_t rank = 0;
  const Node* node = root_;
  PrefetchNode(node);
  while (!node->is_leaf) {
    const Inner* inner = AsInner(node);
    const int i = ChildFor(inner, score, entry);
    node = inner->children[i];
    PrefetchNode(node);
    for (int j = 0; j < i; ++j) rank += inner->sizes[j];
  }
  const Leaf* leaf = AsLeaf(node);
  const int pos = static_cast<int>(std::find(leaf->entries, leaf->entries + leaf->count, entry) -
                                   leaf->entries);
  KEEL_ASSERT(pos < leaf->count, "ranking an entry that is not in the tree");
  return rank + static_cast<size_t>(pos);
}

OrderTree::Position OrderTree::At(size_t rank) const {
  KEEL_ASSERT(rank < size_, "rank ", rank, " of ", size_);
  Node* node = root_;
  while (!node->is_leaf) {
    Inner* inner = AsInner(node);
    int i = 0;
    while (rank >= inner->sizes[i]) rank -= inner->sizes[i++];
    node = inner->children[i];
  }
  return Position(AsLeaf(node), static_cast<int>(rank));
}

size_t OrderTree::PartitionPoint(Predicate pred) const {
  size_t rank = 0;
  const Node* node = root_;
  while (!node->is_leaf) {
    const Inner* inner = AsInner(node);
    const int i = LastChildWhere(inner, pred);
    if (i < 0) return rank;  // even the subtree's first entry fails
    for (int j = 0; j < i; ++j) rank += inner->sizes[j];
    node = inner->children[i];
  }
  const Leaf* leaf = AsLeaf(node);
  PrefetchEntries(leaf);
  Entry* const* begin = leaf->entries;
  Entry* const* at = std::partition_point(begin, begin + leaf->count,
                                          [&](const Entry* e) { return pred(e->score(), e); });
  return rank + static_cast<size_t>(at - begin);
}

void OrderTree::CheckInvariants() const {
  // Walks the tree depth-first, checking each node against what its parent says about it, and
  // collects the leaves in order to check the links and the global order.
  struct Checker {
    const OrderTree& tree;
    const Leaf* previous_leaf = nullptr;
    const Entry* previous_entry = nullptr;
    int leaf_depth = -1;

    uint64_t Check(const Node* node, int depth, bool is_root) {
      KEEL_ASSERT(node->count <= Capacity(node));
      if (!is_root) KEEL_ASSERT(node->count >= Minimum(node), "underfull node");
      if (node->is_leaf) {
        if (leaf_depth < 0) leaf_depth = depth;
        KEEL_ASSERT(leaf_depth == depth, "leaves at different depths");
        const Leaf* leaf = AsLeaf(node);
        KEEL_ASSERT(leaf->prev == previous_leaf, "broken leaf links");
        if (previous_leaf != nullptr) KEEL_ASSERT(previous_leaf->next == leaf);
        previous_leaf = leaf;
        for (int i = 0; i < leaf->count; ++i) {
          const Entry* e = leaf->entries[i];
          if (previous_entry != nullptr) {
            KEEL_ASSERT(KeyLess(previous_entry->score(), previous_entry, e->score(), e),
                        "entries out of order");
          }
          previous_entry = e;
        }
        return static_cast<uint64_t>(leaf->count);
      }
      const Inner* inner = AsInner(node);
      KEEL_ASSERT(is_root ? inner->count >= 2 : true, "an inner root with one child");
      uint64_t total = 0;
      for (int i = 0; i < inner->count; ++i) {
        const Node* child = inner->children[i];
        KEEL_ASSERT(inner->firsts[i] == FirstEntry(child), "stale first entry");
        KEEL_ASSERT(inner->scores[i] == inner->firsts[i]->score(), "stale first score");
        const uint64_t size = Check(child, depth + 1, false);
        KEEL_ASSERT(inner->sizes[i] == size, "wrong subtree size");
        total += size;
      }
      return total;
    }
  };
  Checker checker{*this};
  const uint64_t total = checker.Check(root_, 0, true);
  KEEL_ASSERT(total == size_, "tree size ", size_, " but ", total, " entries");
  KEEL_ASSERT(checker.previous_leaf == nullptr || checker.previous_leaf->next == nullptr);
}

}  // namespace keel::zset::internal
