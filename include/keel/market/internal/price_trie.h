// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// PriceTrie: an ordered map from 48-bit prices to 32-bit values, as a 64-ary trie of bitmaps: the
// part of an order book side's price ladder (internal/price_ladder.h) that holds the prices
// outside its direct-mapped window. Internal to keel/market.
//
// A price is eight 6-bit digits, most significant first. Each node covers 64 consecutive values
// of one digit: a 64-bit mask says which are present and an array holds their children (the
// values, at the last digit). Finding a price is eight indexed loads; finding the next present
// price above or below one is the same walk down plus, where the path ends, a count of trailing
// or leading zeros in a mask (then straight down the first or last bits). That is a van Emde
// Boas-style layout with a fixed fan-out (as in Linux's IDR radix tree and the "hierarchical
// bitmap" priority queues of timer wheels) rather than a balanced tree: no rotations, no
// comparisons of keys, and the nodes of a book whose prices sit close together are a handful of
// cache lines. The trie is only as tall as its largest key needs (prices near a million take four
// digits, not eight): a key too large for it adds a root above the old one. Nodes come from a pool
// and go back to it when empty, so a trie in steady state allocates nothing.
#ifndef KEEL_MARKET_INTERNAL_PRICE_TRIE_H_
#define KEEL_MARKET_INTERNAL_PRICE_TRIE_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "keel/base/assert.h"

namespace keel::market::internal {

class PriceTrie {
 public:
  static constexpr int kDigits = 8;
  static constexpr int kDigitBits = 6;
  static constexpr uint64_t kKeyLimit = uint64_t{1} << (kDigits * kDigitBits);  // keys < this
  static constexpr uint32_t kAbsent = UINT32_MAX;

  PriceTrie() { nodes_.emplace_back(); }  // the root, always node 0

  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] size_t size() const { return size_; }

  // The value at `key`, or kAbsent.
  [[nodiscard]] uint32_t Find(uint64_t key) const {
    KEEL_DCHECK(key < kKeyLimit);
    if (!Fits(key)) return kAbsent;
    const uint32_t twig = FindTwig(key);
    if (twig == kAbsent) return kAbsent;
    const Node& t = nodes_[twig];
    const int digit = Digit(key, kTwig);
    if ((t.mask & Bit(digit)) == 0) return kAbsent;
    const Node& leaf = nodes_[t.child[digit]];
    const int last = Digit(key, kDigits - 1);
    return (leaf.mask & Bit(last)) == 0 ? kAbsent : leaf.child[last];
  }

  // REQUIRES: `key` is absent, `value` != kAbsent.
  void Insert(uint64_t key, uint32_t value) {
    [[maybe_unused]] const uint32_t stored = FindOrInsert(key, value);
    KEEL_DCHECK(stored == value);
  }

  // The value at `key`; if there is none, inserts `value` there and returns it. One walk down.
  // REQUIRES: `value` != kAbsent.
  uint32_t FindOrInsert(uint64_t key, uint32_t value) {
    KEEL_DCHECK(key < kKeyLimit && value != kAbsent);
    while (!Fits(key)) Grow();
    const uint32_t twig = MakeTwig(key);
    const int digit = Digit(key, kTwig);
    if ((nodes_[twig].mask & Bit(digit)) == 0) {
      const uint32_t fresh = NewNode();  // may move nodes_: index again below
      nodes_[twig].mask |= Bit(digit);
      nodes_[twig].child[digit] = fresh;
    }
    Node& leaf = nodes_[nodes_[twig].child[digit]];
    const int last = Digit(key, kDigits - 1);
    if ((leaf.mask & Bit(last)) != 0) return leaf.child[last];
    leaf.mask |= Bit(last);
    leaf.child[last] = value;
    ++size_;
    return value;
  }

  // REQUIRES: `key` is present.
  void Erase(uint64_t key) {
    KEEL_DCHECK(Fits(key));
    --size_;
    // The common case touches only the twig and the leaf.
    const uint32_t twig = FindTwig(key);
    KEEL_DCHECK(twig != kAbsent);
    const int digit = Digit(key, kTwig);
    const uint32_t leaf = nodes_[twig].child[digit];
    const int last = Digit(key, kDigits - 1);
    KEEL_DCHECK((nodes_[leaf].mask & Bit(last)) != 0);
    nodes_[leaf].mask &= ~Bit(last);
    if (nodes_[leaf].mask != 0) return;
    free_.push_back(leaf);
    nodes_[twig].mask &= ~Bit(digit);
    if (nodes_[twig].mask != 0 || twig == 0) return;
    // The twig emptied too: clear it, and each node above it that empties, walking from the root.
    twig_ = kAbsent;
    uint32_t path[kDigits];
    uint32_t node = 0;
    for (int d = top_; d < kTwig; ++d) {
      path[d] = node;
      node = nodes_[node].child[Digit(key, d)];
    }
    free_.push_back(twig);
    for (int d = kTwig - 1; d >= top_; --d) {
      Node& n = nodes_[path[d]];
      n.mask &= ~Bit(Digit(key, d));
      if (n.mask != 0 || d == top_) return;
      free_.push_back(path[d]);
    }
  }

  // The smallest and largest keys. REQUIRES: !empty().
  [[nodiscard]] uint64_t First() const { return Lowest(0, top_, 0); }
  [[nodiscard]] uint64_t Last() const { return Highest(0, top_, 0); }

  // The smallest key above `key` and the largest below it, if any.
  [[nodiscard]] std::optional<uint64_t> Above(uint64_t key) const { return Neighbour(key, true); }
  [[nodiscard]] std::optional<uint64_t> Below(uint64_t key) const { return Neighbour(key, false); }

  [[nodiscard]] size_t memory_bytes() const {
    return nodes_.capacity() * sizeof(Node) + free_.capacity() * sizeof(uint32_t);
  }

 private:
  struct Node {
    uint64_t mask = 0;
    uint32_t child[64];  // children (values at the last digit) where mask has a bit
  };

  static int Digit(uint64_t key, int d) {
    return static_cast<int>((key >> ((kDigits - 1 - d) * kDigitBits)) & 63);
  }
  static uint64_t Bit(int digit) { return uint64_t{1} << digit; }

  // The node at depth kTwig on `key`'s path (whose children are leaves), or kAbsent if the path
  // stops above it. The last one found is remembered: a book's prices sit close together, under
  // one or two twigs, so most calls skip the walk from the root. REQUIRES: Fits(key).
  uint32_t FindTwig(uint64_t key) const {
    const uint64_t prefix = key >> kTwigShift;
    if (twig_ != kAbsent && prefix == twig_prefix_) return twig_;
    uint32_t node = 0;
    for (int d = top_; d < kTwig; ++d) {
      const int digit = Digit(key, d);
      if ((nodes_[node].mask & Bit(digit)) == 0) return kAbsent;
      node = nodes_[node].child[digit];
    }
    twig_prefix_ = prefix;
    twig_ = node;
    return node;
  }

  // FindTwig, creating the nodes on the way that are missing.
  uint32_t MakeTwig(uint64_t key) {
    const uint32_t found = FindTwig(key);
    if (found != kAbsent) return found;
    uint32_t node = 0;
    for (int d = top_; d < kTwig; ++d) {
      const int digit = Digit(key, d);
      if ((nodes_[node].mask & Bit(digit)) == 0) {
        const uint32_t fresh = NewNode();  // may move nodes_: index again below
        nodes_[node].mask |= Bit(digit);
        nodes_[node].child[digit] = fresh;
      }
      node = nodes_[node].child[digit];
    }
    twig_prefix_ = key >> kTwigShift;
    twig_ = node;
    return node;
  }

  // Whether the trie is tall enough for `key`: its digits above top_ are all zero.
  bool Fits(uint64_t key) const {
    return top_ == 0 || (key >> ((kDigits - top_) * kDigitBits)) == 0;
  }

  // One digit taller: the root's contents move to a new node, its only child (digit 0).
  void Grow() {
    KEEL_DCHECK(top_ > 0);
    twig_ = kAbsent;  // it may have been the root
    if (nodes_[0].mask != 0) {
      const uint32_t old_root = NewNode();
      nodes_[old_root] = nodes_[0];
      nodes_[0].mask = Bit(0);
      nodes_[0].child[0] = old_root;
    }
    --top_;
  }

  uint32_t NewNode() {
    if (!free_.empty()) {
      const uint32_t node = free_.back();
      free_.pop_back();
      nodes_[node].mask = 0;
      return node;
    }
    nodes_.emplace_back();
    return static_cast<uint32_t>(nodes_.size() - 1);
  }

  // The smallest (largest) key under `node`, which is at depth `d` and has key prefix `prefix`
  // (the digits above d, already shifted into place).
  uint64_t Lowest(uint32_t node, int d, uint64_t prefix) const {
    for (; d < kDigits; ++d) {
      const Node& n = nodes_[node];
      const int digit = std::countr_zero(n.mask);
      prefix |= static_cast<uint64_t>(digit) << ((kDigits - 1 - d) * kDigitBits);
      node = n.child[digit];
    }
    return prefix;
  }
  uint64_t Highest(uint32_t node, int d, uint64_t prefix) const {
    for (; d < kDigits; ++d) {
      const Node& n = nodes_[node];
      const int digit = 63 - std::countl_zero(n.mask);
      prefix |= static_cast<uint64_t>(digit) << ((kDigits - 1 - d) * kDigitBits);
      node = n.child[digit];
    }
    return prefix;
  }

  // The present digit of `mask` nearest beyond `digit` (above or below it), or -1.
  static int NearestBeyond(uint64_t mask, int digit, bool above) {
    const uint64_t beyond =
        above ? (digit == 63 ? 0 : mask & (~uint64_t{0} << (digit + 1))) : mask & (Bit(digit) - 1);
    if (beyond == 0) return -1;
    return above ? std::countr_zero(beyond) : 63 - std::countl_zero(beyond);
  }

  std::optional<uint64_t> Neighbour(uint64_t key, bool above) const {
    KEEL_DCHECK(key < kKeyLimit);
    if (size_ == 0) return std::nullopt;
    if (!Fits(key)) {
      // Every key is below it.
      if (above) return std::nullopt;
      return Last();
    }
    // The neighbour is most often in the key's own leaf (an order book's next price is usually
    // a tick or two away), found from the remembered twig without walking from the root.
    if (const uint32_t twig = FindTwig(key); twig != kAbsent) {
      const Node& t = nodes_[twig];
      const int digit = Digit(key, kTwig);
      if ((t.mask & Bit(digit)) != 0) {
        const int next = NearestBeyond(nodes_[t.child[digit]].mask, Digit(key, kDigits - 1), above);
        if (next >= 0) return (key & ~uint64_t{63}) | static_cast<uint64_t>(next);
      }
    }
    // Down the key's path as far as it exists.
    uint32_t path[kDigits];
    int depth = top_;
    uint32_t node = 0;
    for (;; ++depth) {
      path[depth] = node;
      const Node& n = nodes_[node];
      const int digit = Digit(key, depth);
      if (depth == kDigits - 1 || (n.mask & Bit(digit)) == 0) break;
      node = n.child[digit];
    }
    // Back up until a node has a present digit beyond the key's, then down its extreme edge.
    for (int d = depth; d >= top_; --d) {
      const Node& n = nodes_[path[d]];
      const int next = NearestBeyond(n.mask, Digit(key, d), above);
      if (next < 0) continue;
      const int shift = (kDigits - 1 - d) * kDigitBits;
      // The digits above d are the key's; d's is `next`; the rest come from the subtree.
      const int above_d = shift + kDigitBits;  // at most 48: keys have 48 bits
      const uint64_t high = (key >> above_d) << above_d;
      const uint64_t prefix = high | (static_cast<uint64_t>(next) << shift);
      if (d == kDigits - 1) return prefix;
      return above ? Lowest(n.child[next], d + 1, prefix) : Highest(n.child[next], d + 1, prefix);
    }
    return std::nullopt;
  }

  static constexpr int kTwig = kDigits - 2;
  static constexpr int kTwigShift = 2 * kDigitBits;

  std::vector<Node> nodes_;
  std::vector<uint32_t> free_;
  size_t size_ = 0;
  int top_ = kTwig;  // the root's digit: the trie holds keys of kDigits - top_ digits (at least 2)
  // FindTwig's memory of the last twig (a cache: not state a caller can see, hence mutable). It
  // makes even the const lookups write, so a ladder may not be read from two threads at once.
  mutable uint64_t twig_prefix_ = 0;
  mutable uint32_t twig_ = kAbsent;
};

}  // namespace keel::market::internal

#endif  // KEEL_MARKET_INTERNAL_PRICE_TRIE_H_
