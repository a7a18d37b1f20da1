// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/hash_slot.h"

#include <array>

#include "keel/base/strings.h"

namespace keel::shard {
namespace {

// CRC-16/XMODEM a byte at a time: table[b] is the CRC register after shifting the byte b through
// it from zero, so each input byte costs one lookup (Sarwate's method). Keys are short, so the
// slicing and carry-less-multiply methods that pay off for long buffers would not here.
constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
    }
    table[byte] = static_cast<uint16_t>(crc);
  }
  return table;
}

constexpr std::array<uint16_t, 256> kCrc16Table = MakeCrc16Table();

}  // namespace

uint16_t Crc16Xmodem(std::string_view bytes) {
  uint16_t crc = 0;
  for (const char c : bytes) {
    const auto index = static_cast<uint8_t>((crc >> 8) ^ static_cast<uint8_t>(c));
    crc = static_cast<uint16_t>((crc << 8) ^ kCrc16Table[index]);
  }
  return crc;
}

std::string_view HashTagOf(std::string_view key) {
  const size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const size_t close = key.find('}', open + 1);
  // "{}" (nothing between) and a '{' with no '}' after it both mean: hash the whole key.
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

absl::Status SlotTable::CheckRange(SlotRange range) const {
  if (range.first > range.last || range.last >= kSlotCount) {
    return absl::InvalidArgumentError(base::Cat("slot range ", range.first, "-", range.last,
                                                " is not within 0-", kSlotCount - 1,
                                                " with first <= last"));
  }
  return absl::OkStatus();
}

absl::Status SlotTable::CheckOwnedSlot(uint32_t slot) const {
  if (slot >= kSlotCount) {
    return absl::InvalidArgumentError(
        base::Cat("slot ", slot, " is out of range: slots are 0 to ", kSlotCount - 1));
  }
  if (!assigned_[slot]) {
    return absl::FailedPreconditionError(base::Cat("slot ", slot, " has no owner"));
  }
  return absl::OkStatus();
}

absl::Status SlotTable::Assign(SlotRange range, NodeId node) {
  if (absl::Status status = CheckRange(range); !status.ok()) return status;
  for (uint32_t slot = range.first; slot <= range.last; ++slot) {
    if (assigned_[slot]) {
      return absl::FailedPreconditionError(
          base::Cat("slot ", slot, " already belongs to node ", owner_[slot]));
    }
  }
  for (uint32_t slot = range.first; slot <= range.last; ++slot) {
    owner_[slot] = node;
    assigned_[slot] = true;
  }
  return absl::OkStatus();
}

absl::Status SlotTable::Unassign(SlotRange range) {
  if (absl::Status status = CheckRange(range); !status.ok()) return status;
  for (uint32_t slot = range.first; slot <= range.last; ++slot) {
    if (absl::Status status = CheckOwnedSlot(slot); !status.ok()) return status;
    if (importing_.contains(slot)) {
      return absl::FailedPreconditionError(
          base::Cat("slot ", slot, " is migrating to node ", importing_.at(slot)));
    }
  }
  for (uint32_t slot = range.first; slot <= range.last; ++slot) assigned_[slot] = false;
  return absl::OkStatus();
}

absl::Status SlotTable::BeginMigration(uint32_t slot, NodeId target) {
  if (absl::Status status = CheckOwnedSlot(slot); !status.ok()) return status;
  if (owner_[slot] == target) {
    return absl::FailedPreconditionError(
        base::Cat("slot ", slot, " already belongs to node ", target));
  }
  if (const auto it = importing_.find(slot); it != importing_.end()) {
    return absl::FailedPreconditionError(
        base::Cat("slot ", slot, " is already migrating to node ", it->second));
  }
  importing_.emplace(slot, target);
  return absl::OkStatus();
}

absl::Status SlotTable::CompleteMigration(uint32_t slot) {
  if (absl::Status status = CheckOwnedSlot(slot); !status.ok()) return status;
  const auto it = importing_.find(slot);
  if (it == importing_.end()) {
    return absl::FailedPreconditionError(base::Cat("slot ", slot, " is not migrating"));
  }
  owner_[slot] = it->second;
  importing_.erase(it);
  return absl::OkStatus();
}

absl::Status SlotTable::AbortMigration(uint32_t slot) {
  if (absl::Status status = CheckOwnedSlot(slot); !status.ok()) return status;
  if (importing_.erase(slot) == 0) {
    return absl::FailedPreconditionError(base::Cat("slot ", slot, " is not migrating"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SlotRoute> SlotTable::Route(uint32_t slot) const {
  if (slot >= kSlotCount) {
    return absl::InvalidArgumentError(
        base::Cat("slot ", slot, " is out of range: slots are 0 to ", kSlotCount - 1));
  }
  if (!assigned_[slot]) {
    return absl::UnavailableError(base::Cat("slot ", slot, " is not served by any node"));
  }
  SlotRoute route{.slot = slot, .owner = owner_[slot], .importing = std::nullopt};
  if (const auto it = importing_.find(slot); it != importing_.end()) route.importing = it->second;
  return route;
}

std::vector<std::pair<SlotRange, NodeId>> SlotTable::Ranges() const {
  std::vector<std::pair<SlotRange, NodeId>> ranges;
  for (uint32_t slot = 0; slot < kSlotCount; ++slot) {
    if (!assigned_[slot]) continue;
    if (!ranges.empty() && ranges.back().first.last + 1 == slot &&
        ranges.back().second == owner_[slot]) {
      ranges.back().first.last = slot;
    } else {
      ranges.push_back({{slot, slot}, owner_[slot]});
    }
  }
  return ranges;
}

size_t SlotTable::SlotsOwnedBy(NodeId node) const {
  size_t count = 0;
  for (uint32_t slot = 0; slot < kSlotCount; ++slot)
    count += assigned_[slot] && owner_[slot] == node;
  return count;
}

}  // namespace keel::shard
