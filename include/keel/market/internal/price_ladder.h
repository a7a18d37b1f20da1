// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// PriceLadder: an ordered map from 48-bit prices to 32-bit values (an order book side's price ->
// level), as a direct-mapped window of prices in front of a bitmap trie. Internal to keel/market.
//
// A book's activity is around its best prices: nearly every order rests, and nearly every level
// comes and goes, within a few hundred ticks of them. So the ladder keeps the kWindowKeys prices
// around where it is used in a plain array (a price's value is one load at price - base) with a
// bitmap over it, 64 prices a word, and a summary word over the bitmap's words: the next present
// price above or below one is a count of trailing or leading zeros in a word, at most three
// words away. This is the "direct-mapped ladder" of price levels that trading systems use around
// the top of the book. Prices outside the window (orders resting far from the best) go to a
// 64-ary bitmap trie (internal/price_trie.h), which answers the same queries for any price.
//
// The window moves where the inserts are: when the window is empty, to the first price inserted;
// otherwise once inserts outside it have outnumbered those inside by kMoveAfter since it last
// moved (the book's prices drifted away). Moving puts the window's prices into the trie and takes
// the trie's prices in the new range out of it: a few thousand steps at most, after at least
// kMoveAfter inserts, so its cost per insert is constant.
//
// Queries combine the two: a price's neighbour inside the window, when there is one, is the
// answer, since no trie price lies between two window prices; otherwise the nearer of the
// window's edge price and the trie's neighbour. The trie and the window allocate nothing in
// steady state.
#ifndef KEEL_MARKET_INTERNAL_PRICE_LADDER_H_
#define KEEL_MARKET_INTERNAL_PRICE_LADDER_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "keel/base/assert.h"
#include "keel/market/internal/price_trie.h"

namespace keel::market::internal {

class PriceLadder {
 public:
  static constexpr int kDigits = PriceTrie::kDigits;
  static constexpr int kDigitBits = PriceTrie::kDigitBits;
  static constexpr uint64_t kKeyLimit = PriceTrie::kKeyLimit;  // keys < this
  static constexpr uint32_t kAbsent = PriceTrie::kAbsent;
  static constexpr size_t kWindowWords = 32;
  static constexpr uint64_t kWindowKeys = kWindowWords * 64;  // 2,048 prices, 8 KB of values
  static constexpr uint32_t kMoveAfter = kWindowKeys / 4;

  PriceLadder() : values_(kWindowKeys, kAbsent) {}

  [[nodiscard]] bool empty() const { return size() == 0; }
  [[nodiscard]] size_t size() const { return window_size_ + trie_.size(); }

  // The value at `key`, or kAbsent.
  [[nodiscard]] uint32_t Find(uint64_t key) const {
    KEEL_DCHECK(key < kKeyLimit);
    const uint64_t offset = key - base_;  // wraps above the window for a key below it
    if (offset < kWindowKeys) return values_[offset];
    return trie_.empty() ? kAbsent : trie_.Find(key);
  }

  // REQUIRES: `key` is absent, `value` != kAbsent.
  void Insert(uint64_t key, uint32_t value) {
    KEEL_DCHECK(key < kKeyLimit && value != kAbsent);
    uint64_t offset = key - base_;
    if (offset >= kWindowKeys) {
      if (window_size_ != 0 && ++outside_ < kMoveAfter) {
        trie_.Insert(key, value);
        return;
      }
      MoveWindow(key);
      offset = key - base_;
    } else if (outside_ > 0) {
      --outside_;
    }
    KEEL_DCHECK(values_[offset] == kAbsent);
    values_[offset] = value;
    bits_[offset / 64] |= Bit(offset % 64);
    summary_ |= Bit(offset / 64);
    ++window_size_;
  }

  // The value at `key`; if there is none, inserts `value` there and returns it.
  // REQUIRES: `value` != kAbsent.
  uint32_t FindOrInsert(uint64_t key, uint32_t value) {
    const uint32_t found = Find(key);
    if (found != kAbsent) return found;
    Insert(key, value);
    return value;
  }

  // REQUIRES: `key` is present.
  void Erase(uint64_t key) {
    const uint64_t offset = key - base_;
    if (offset >= kWindowKeys) {
      trie_.Erase(key);
      return;
    }
    KEEL_DCHECK(values_[offset] != kAbsent);
    values_[offset] = kAbsent;
    uint64_t& word = bits_[offset / 64];
    word &= ~Bit(offset % 64);
    if (word == 0) summary_ &= ~Bit(offset / 64);
    --window_size_;
  }

  // The smallest and largest keys. REQUIRES: !empty().
  [[nodiscard]] uint64_t First() const {
    if (window_size_ == 0) return trie_.First();
    const uint64_t first = base_ + WindowFirst();
    return trie_.empty() ? first : std::min(first, trie_.First());
  }
  [[nodiscard]] uint64_t Last() const {
    if (window_size_ == 0) return trie_.Last();
    const uint64_t last = base_ + WindowLast();
    return trie_.empty() ? last : std::max(last, trie_.Last());
  }

  // The smallest key above `key` and the largest below it, if any.
  [[nodiscard]] std::optional<uint64_t> Above(uint64_t key) const {
    std::optional<uint64_t> in_window;
    if (window_size_ != 0) {
      const uint64_t offset = key - base_;
      if (key < base_) {
        in_window = base_ + WindowFirst();
      } else if (offset < kWindowKeys) {
        // A window neighbour is the answer: the trie holds no key inside the window.
        if (const int next = WindowAbove(offset); next >= 0)
          return base_ + static_cast<uint64_t>(next);
      }
    }
    const std::optional<uint64_t> in_trie = trie_.empty() ? std::nullopt : trie_.Above(key);
    if (!in_window) return in_trie;
    if (!in_trie) return in_window;
    return std::min(*in_window, *in_trie);
  }
  [[nodiscard]] std::optional<uint64_t> Below(uint64_t key) const {
    std::optional<uint64_t> in_window;
    if (window_size_ != 0) {
      const uint64_t offset = key - base_;
      if (key >= base_ + kWindowKeys) {
        in_window = base_ + WindowLast();
      } else if (key >= base_) {
        if (const int next = WindowBelow(offset); next >= 0)
          return base_ + static_cast<uint64_t>(next);
      }
    }
    const std::optional<uint64_t> in_trie = trie_.empty() ? std::nullopt : trie_.Below(key);
    if (!in_window) return in_trie;
    if (!in_trie) return in_window;
    return std::max(*in_window, *in_trie);
  }

  [[nodiscard]] size_t memory_bytes() const {
    return trie_.memory_bytes() + values_.capacity() * sizeof(uint32_t) + sizeof(bits_);
  }

 private:
  static uint64_t Bit(uint64_t i) { return uint64_t{1} << i; }

  // Offsets in the window of its first and last keys. REQUIRES: window_size_ > 0.
  [[nodiscard]] int WindowFirst() const {
    const int word = std::countr_zero(summary_);
    return word * 64 + std::countr_zero(bits_[static_cast<size_t>(word)]);
  }
  [[nodiscard]] int WindowLast() const {
    const int word = 63 - std::countl_zero(summary_);
    return word * 64 + 63 - std::countl_zero(bits_[static_cast<size_t>(word)]);
  }
  // The offset of the window's nearest key above (below) `offset`, or -1.
  [[nodiscard]] int WindowAbove(uint64_t offset) const {
    const uint64_t word = offset / 64;
    const uint64_t bit = offset % 64;
    const uint64_t rest = bit == 63 ? 0 : bits_[word] & (~uint64_t{0} << (bit + 1));
    if (rest != 0) return static_cast<int>(word * 64) + std::countr_zero(rest);
    const uint64_t words = word == 63 ? 0 : summary_ & (~uint64_t{0} << (word + 1));
    if (words == 0) return -1;
    const int next = std::countr_zero(words);
    return next * 64 + std::countr_zero(bits_[static_cast<size_t>(next)]);
  }
  [[nodiscard]] int WindowBelow(uint64_t offset) const {
    const uint64_t word = offset / 64;
    const uint64_t rest = bits_[word] & (Bit(offset % 64) - 1);
    if (rest != 0) return static_cast<int>(word * 64) + 63 - std::countl_zero(rest);
    const uint64_t words = summary_ & (Bit(word) - 1);
    if (words == 0) return -1;
    const int next = 63 - std::countl_zero(words);
    return next * 64 + 63 - std::countl_zero(bits_[static_cast<size_t>(next)]);
  }

  // Centres the window on `key` (as far as the key space allows): the window's keys go to the
  // trie, and the trie's keys in the new range come out of it.
  void MoveWindow(uint64_t key) {
    while (summary_ != 0) {
      const int offset = WindowFirst();
      const auto o = static_cast<uint64_t>(offset);
      trie_.Insert(base_ + o, values_[o]);
      values_[o] = kAbsent;
      bits_[o / 64] &= ~Bit(o % 64);
      if (bits_[o / 64] == 0) summary_ &= ~Bit(o / 64);
    }
    window_size_ = 0;
    outside_ = 0;
    const uint64_t centred = key < kWindowKeys / 2 ? 0 : key - kWindowKeys / 2;
    base_ = std::min(centred, kKeyLimit - kWindowKeys) & ~uint64_t{63};
    if (trie_.empty()) return;
    std::optional<uint64_t> next =
        trie_.Find(base_) != kAbsent ? std::optional<uint64_t>(base_) : trie_.Above(base_);
    while (next && *next - base_ < kWindowKeys) {
      const uint64_t k = *next;
      const uint64_t o = k - base_;
      values_[o] = trie_.Find(k);
      trie_.Erase(k);
      bits_[o / 64] |= Bit(o % 64);
      summary_ |= Bit(o / 64);
      ++window_size_;
      next = trie_.empty() ? std::nullopt : trie_.Above(k);
    }
  }

  PriceTrie trie_;                             // the keys outside the window
  std::vector<uint32_t> values_;               // by key - base_; kAbsent where no key
  std::array<uint64_t, kWindowWords> bits_{};  // which offsets hold a key
  uint64_t summary_ = 0;                       // which words of bits_ are not zero
  uint64_t base_ = 0;                          // the window's first key, a multiple of 64
  size_t window_size_ = 0;                     // keys in the window
  uint32_t outside_ = 0;  // inserts outside the window, less those inside, since it last moved
};

}  // namespace keel::market::internal

#endif  // KEEL_MARKET_INTERNAL_PRICE_LADDER_H_
