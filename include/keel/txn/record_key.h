// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What keel::txn asks of a record's key.
//
// The versioned store, its optimistic transactions, its conditional updates and the lock manager
// all find records by a key the caller chooses: an account id in a wallet, or a hotel's inventory
// row, keyed by (hotel_id, room_type_id, date). They need three things of it:
//
//   - hashing (absl::Hash) and equality, to find the record;
//   - a total order, so that a commit latches the records it touches in one global order (two
//     commits that latch in the same order cannot deadlock on each other);
//   - a readable form for error messages ("record (7, 2, 2026-07-04) was read at version 3 but is
//     now at version 4"), which KeyString() gives: integers print as numbers, strings quoted, and
//     any other type through a `DebugString(const Key&)` function that ADL finds.
//
// Example:
//
//   struct InventoryKey {
//     int64_t hotel_id, room_type_id, day;
//     friend auto operator<=>(const InventoryKey&, const InventoryKey&) = default;
//     template <typename H> friend H AbslHashValue(H h, const InventoryKey& k) {
//       return H::combine(std::move(h), k.hotel_id, k.room_type_id, k.day);
//     }
//     friend std::string DebugString(const InventoryKey& k) {
//       return keel::base::Cat("(", k.hotel_id, ", ", k.room_type_id, ", ", k.day, ")");
//     }
//   };
//   static_assert(keel::txn::RecordKey<InventoryKey>);
#ifndef KEEL_TXN_RECORD_KEY_H_
#define KEEL_TXN_RECORD_KEY_H_

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/hash/hash.h"
#include "keel/base/strings.h"

namespace keel::txn {

// A key has a readable form: an integer, something that converts to std::string_view, or a type
// with a DebugString(const Key&) that ADL finds.
template <typename Key>
concept PrintableKey = std::integral<Key> || std::convertible_to<const Key&, std::string_view> ||
    requires(const Key& key) {
  { DebugString(key) } -> std::convertible_to<std::string>;
};

// Everything the txn area needs of a key: copyable, hashable, totally ordered, printable.
template <typename Key>
concept RecordKey = std::copyable<Key> && std::totally_ordered<Key> && PrintableKey<Key> &&
    requires(const Key& key) {
  { absl::Hash<Key>{}(key) } -> std::convertible_to<size_t>;
};

// The key as error messages show it: integers in decimal, strings quoted (and cut short when
// long, see keel::base::Quoted), other types as their DebugString.
template <PrintableKey Key>
[[nodiscard]] std::string KeyString(const Key& key) {
  if constexpr (std::integral<Key>) {
    return base::Cat(key);
  } else if constexpr (std::convertible_to<const Key&, std::string_view>) {
    return base::Quoted(std::string_view(key));
  } else {
    return std::string(DebugString(key));
  }
}

}  // namespace keel::txn

#endif  // KEEL_TXN_RECORD_KEY_H_
