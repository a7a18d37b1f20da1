// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Redis Cluster's hash slots: every key belongs to one of 16,384 slots, and a table says which
// node serves each slot.
//
// Redis Cluster does not hash keys onto nodes directly. It hashes them onto a fixed set of slots,
// slot = CRC16(key) mod 16384, and assigns slots to nodes in ranges; adding a node means migrating
// some slots to it, one at a time, while clients keep working. The leaderboard case study shards
// its players this way (and keel-server answers CLUSTER KEYSLOT with it). A client that needs
// several keys on one node (a multi-key command, a transaction) gives them a common hash tag: if a
// key holds a '{', a '}' somewhere after it, and at least one byte between the two, only the bytes
// between the first '{' and the first '}' after it are hashed, so "{user1000}.following" and
// "{user1000}.followers" share a slot.
//
// This follows the Redis Cluster specification
// (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/, "Key distribution
// model" and "Hash tags"), and the test checks it against redis-server's CLUSTER KEYSLOT. The CRC
// is CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection, no final xor (its check
// value, the CRC of "123456789", is 0x31C3).
//
//   KeySlot(key)        the slot of a key, hash tags applied
//   HashTagOf(key)      the bytes of the key that are hashed
//   Crc16Xmodem(bytes)  the CRC itself
//   SlotTable           slot -> node, with ranges assigned and slots migrated as Redis does
//
// Example:
//
//   keel::shard::SlotTable table;
//   KEEL_RETURN_IF_ERROR(table.Assign({.first = 0, .last = 8191}, /*node=*/1));
//   KEEL_RETURN_IF_ERROR(table.Assign({.first = 8192, .last = 16383}, /*node=*/2));
//   KEEL_ASSIGN_OR_RETURN(keel::shard::SlotRoute route, table.RouteKey("{user1000}.following"));
//   // route.slot == 3443 (the slot of "user1000"), route.owner == 1
//
//   // Adding a node: move slot 100 to node 3. While it moves, the old owner still answers for
//   // the keys it has, and sends clients to route.importing for the rest (Redis's ASK redirect).
//   KEEL_RETURN_IF_ERROR(table.BeginMigration(100, /*target=*/3));
//   KEEL_RETURN_IF_ERROR(table.CompleteMigration(100));
//
// Allocation: a SlotTable holds 64 KiB of owners plus one entry per slot being migrated.
#ifndef KEEL_SHARD_HASH_SLOT_H_
#define KEEL_SHARD_HASH_SLOT_H_

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/shard/node.h"

namespace keel::shard {

// The number of hash slots in a Redis cluster.
inline constexpr uint32_t kSlotCount = 16384;

// Returns the CRC-16/XMODEM of `bytes` (polynomial 0x1021, initial value 0, unreflected).
[[nodiscard]] uint16_t Crc16Xmodem(std::string_view bytes);

// Returns the part of `key` that decides its slot: the bytes between the first '{' and the first
// '}' after it when there is at least one byte between them, and the whole key otherwise.
[[nodiscard]] std::string_view HashTagOf(std::string_view key);

// Returns the slot of `key`, 0 to kSlotCount - 1: CRC16 of HashTagOf(key), mod 16384.
[[nodiscard]] inline uint32_t KeySlot(std::string_view key) {
  return Crc16Xmodem(HashTagOf(key)) & (kSlotCount - 1);
}

// A range of slots, both ends included (as CLUSTER ADDSLOTSRANGE and CLUSTER SLOTS state them).
struct SlotRange {
  uint32_t first = 0;
  uint32_t last = 0;

  friend bool operator==(const SlotRange&, const SlotRange&) = default;
};

// Where a slot's keys live.
struct SlotRoute {
  uint32_t slot = 0;
  NodeId owner = 0;
  // While the slot migrates: the node taking it over. The owner serves the keys it still holds;
  // a key it no longer has is asked of this node (Redis's -ASK redirect).
  std::optional<NodeId> importing;

  friend bool operator==(const SlotRoute&, const SlotRoute&) = default;
};

// An owner for each slot, as a Redis cluster's configuration holds it. Slots start unassigned; a
// cluster serves every key only once all 16,384 are assigned (covers_all_slots()).
//
// Thread safety: const methods may run concurrently; a mutation needs exclusive access.
class SlotTable {
 public:
  // Gives every slot in `range` to `node`. Fails with kInvalidArgument when the range is out of
  // order or past the last slot, and with kFailedPrecondition when a slot in it already has an
  // owner (as CLUSTER ADDSLOTS refuses a busy slot); then nothing changes.
  absl::Status Assign(SlotRange range, NodeId node);

  // Takes every slot in `range` from its owner. Fails (changing nothing) when the range is bad, a
  // slot in it has no owner or is being migrated.
  absl::Status Unassign(SlotRange range);

  // Starts moving `slot` to `target`. Fails when the slot is out of range, has no owner, already
  // belongs to `target` or is already being migrated.
  absl::Status BeginMigration(uint32_t slot, NodeId target);
  // Ends the migration of `slot`: the target becomes its owner.
  absl::Status CompleteMigration(uint32_t slot);
  // Ends the migration of `slot` with the owner unchanged.
  absl::Status AbortMigration(uint32_t slot);

  // Where `slot`'s keys live. kInvalidArgument for a slot past the last, kUnavailable for a slot
  // that has no owner (Redis answers -CLUSTERDOWN).
  [[nodiscard]] absl::StatusOr<SlotRoute> Route(uint32_t slot) const;
  // Route(KeySlot(key)).
  [[nodiscard]] absl::StatusOr<SlotRoute> RouteKey(std::string_view key) const {
    return Route(KeySlot(key));
  }

  // The maximal runs of consecutive slots with one owner, in slot order, as CLUSTER SLOTS lists
  // them.
  [[nodiscard]] std::vector<std::pair<SlotRange, NodeId>> Ranges() const;

  // How many slots `node` owns.
  [[nodiscard]] size_t SlotsOwnedBy(NodeId node) const;
  [[nodiscard]] size_t assigned_slots() const { return assigned_.count(); }
  [[nodiscard]] bool covers_all_slots() const { return assigned_.all(); }
  [[nodiscard]] size_t migrating_slots() const { return importing_.size(); }

 private:
  absl::Status CheckRange(SlotRange range) const;
  absl::Status CheckOwnedSlot(uint32_t slot) const;

  std::array<NodeId, kSlotCount> owner_{};
  std::bitset<kSlotCount> assigned_;
  absl::flat_hash_map<uint32_t, NodeId> importing_;  // slot -> target, while it migrates
};

}  // namespace keel::shard

#endif  // KEEL_SHARD_HASH_SLOT_H_
