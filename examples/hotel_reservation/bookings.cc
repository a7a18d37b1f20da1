// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "hotel_reservation/bookings.h"

#include <algorithm>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/strings.h"

namespace keel::examples::hotel {
namespace {

// The effects of each change: its kind, then its fields.
constexpr char kSetInventory = 'I';  // hotel room_type day total_inventory
constexpr char kReserve = 'R';       // hotel room_type start end rooms key
constexpr char kCancel = 'X';        // key
constexpr char kPaid = 'P';          // key
constexpr char kReject = 'J';        // key

void PutStay(std::string& out, const Stay& stay) {
  base::PutFixed64(out, static_cast<uint64_t>(stay.hotel_id));
  base::PutFixed64(out, static_cast<uint64_t>(stay.room_type_id));
  base::PutFixed32(out, static_cast<uint32_t>(stay.start));
  base::PutFixed32(out, static_cast<uint32_t>(stay.end));
  base::PutFixed64(out, static_cast<uint64_t>(stay.rooms));
}

bool ReadStay(base::Reader& in, Stay* stay) {
  auto hotel = in.ReadFixed64();
  auto room_type = in.ReadFixed64();
  auto start = in.ReadFixed32();
  auto end = in.ReadFixed32();
  auto rooms = in.ReadFixed64();
  if (!hotel.ok() || !room_type.ok() || !start.ok() || !end.ok() || !rooms.ok()) return false;
  *stay = {static_cast<int64_t>(*hotel), static_cast<int64_t>(*room_type), static_cast<Day>(*start),
           static_cast<Day>(*end), static_cast<int64_t>(*rooms)};
  return stay->end > stay->start && stay->end - stay->start <= kMaxNights && stay->rooms > 0;
}

absl::Status Damaged(std::string_view what, std::string_view bytes) {
  return absl::DataLossError(base::Cat("hotel bookings: ", what, " (", base::Quoted(bytes), ")"));
}

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "OK";
    case Outcome::kSoldOut:
      return "SOLD_OUT";
    case Outcome::kNoInventory:
      return "NO_INVENTORY";
    case Outcome::kUnknownReservation:
      return "UNKNOWN_RESERVATION";
    case Outcome::kAlreadyCancelled:
      return "ALREADY_CANCELLED";
  }
  return "UNKNOWN";
}

std::string_view StatusName(Status status) {
  switch (status) {
    case Status::kPending:
      return "pending";
    case Status::kPaid:
      return "paid";
    case Status::kCanceled:
      return "canceled";
    case Status::kRejected:
      return "rejected";
    case Status::kRefunded:
      return "refunded";
  }
  return "unknown";
}

const InventoryRow* Bookings::Row(const RoomNight& night) const {
  auto it = inventory_.find(night);
  return it == inventory_.end() ? nullptr : &it->second;
}

void Bookings::SetInventory(const RoomNight& night, int64_t total_inventory, std::string* effects) {
  inventory_[night].total_inventory = total_inventory;
  if (effects != nullptr) {
    effects->push_back(kSetInventory);
    base::PutFixed64(*effects, static_cast<uint64_t>(night.hotel_id));
    base::PutFixed64(*effects, static_cast<uint64_t>(night.room_type_id));
    base::PutFixed32(*effects, static_cast<uint32_t>(night.day));
    base::PutFixed64(*effects, static_cast<uint64_t>(total_inventory));
  }
}

Outcome Bookings::Reserve(std::string_view key, const Stay& stay, std::string* effects) {
  // The nights are consecutive rows of the sorted inventory, so one ordered walk finds them: a
  // missing row anywhere makes the stay NO_INVENTORY even if another night is full.
  auto first = inventory_.find({stay.hotel_id, stay.room_type_id, stay.start});
  bool sold_out = false;
  auto it = first;
  for (Day day = stay.start; day < stay.end; ++day, ++it) {
    if (it == inventory_.end() || it->first != RoomNight{stay.hotel_id, stay.room_type_id, day}) {
      return Outcome::kNoInventory;
    }
    if (it->second.total_reserved + stay.rooms > ReservableRooms(it->second.total_inventory)) {
      sold_out = true;
    }
  }
  if (sold_out) return Outcome::kSoldOut;
  it = first;
  for (Day day = stay.start; day < stay.end; ++day, ++it) it->second.total_reserved += stay.rooms;
  const bool inserted = reservations_.try_emplace(std::string(key), Reservation{stay}).second;
  KEEL_ASSERT(inserted, base::Cat("reservation ", base::Quoted(key), " made twice"));
  if (effects != nullptr) {
    effects->push_back(kReserve);
    PutStay(*effects, stay);
    effects->append(key);
  }
  return Outcome::kOk;
}

void Bookings::Release(Reservation& reservation, Status status) {
  const Stay& stay = reservation.stay;
  auto it = inventory_.find({stay.hotel_id, stay.room_type_id, stay.start});
  for (Day day = stay.start; day < stay.end; ++day, ++it) {
    KEEL_ASSERT(it != inventory_.end() && it->first.day == day,
                "a reservation's inventory row went missing");
    it->second.total_reserved -= stay.rooms;
  }
  reservation.status = status;
}

Outcome Bookings::Transition(std::string_view key, char kind, std::string* effects) {
  auto found = reservations_.find(key);
  if (found == reservations_.end()) return Outcome::kUnknownReservation;
  Reservation& reservation = found->second;
  const Status status = reservation.status;
  if (status != Status::kPending && (kind != kCancel || status != Status::kPaid)) {
    return Outcome::kAlreadyCancelled;
  }
  switch (kind) {
    case kCancel:
      Release(reservation, status == Status::kPaid ? Status::kRefunded : Status::kCanceled);
      break;
    case kReject:
      Release(reservation, Status::kRejected);
      break;
    default:
      reservation.status = Status::kPaid;
  }
  if (effects != nullptr) {
    effects->push_back(kind);
    effects->append(key);
  }
  return Outcome::kOk;
}

Outcome Bookings::Cancel(std::string_view key, std::string* effects) {
  return Transition(key, kCancel, effects);
}
Outcome Bookings::MarkPaid(std::string_view key, std::string* effects) {
  return Transition(key, kPaid, effects);
}
Outcome Bookings::Reject(std::string_view key, std::string* effects) {
  return Transition(key, kReject, effects);
}

std::optional<Status> Bookings::StatusOf(std::string_view key) const {
  auto found = reservations_.find(key);
  if (found == reservations_.end()) return std::nullopt;
  return found->second.status;
}

std::optional<int64_t> Bookings::Available(int64_t hotel_id, int64_t room_type_id, Day start,
                                           Day end) const {
  std::optional<int64_t> available;
  auto it = inventory_.find({hotel_id, room_type_id, start});
  for (Day day = start; day < end; ++day, ++it) {
    if (it == inventory_.end() || it->first != RoomNight{hotel_id, room_type_id, day}) {
      return std::nullopt;
    }
    const int64_t free = ReservableRooms(it->second.total_inventory) - it->second.total_reserved;
    available = available ? std::min(*available, free) : free;
  }
  return available;
}

absl::Status Bookings::Apply(std::string_view effects) {
  if (effects.empty()) return Damaged("empty effects", effects);
  base::Reader in(effects.substr(1));
  switch (effects[0]) {
    case kSetInventory: {
      auto hotel = in.ReadFixed64();
      auto room_type = in.ReadFixed64();
      auto day = in.ReadFixed32();
      auto total = in.ReadFixed64();
      if (!hotel.ok() || !room_type.ok() || !day.ok() || !total.ok() || !in.empty()) {
        return Damaged("bad inventory change", effects);
      }
      SetInventory(
          {static_cast<int64_t>(*hotel), static_cast<int64_t>(*room_type), static_cast<Day>(*day)},
          static_cast<int64_t>(*total));
      return absl::OkStatus();
    }
    case kReserve: {
      Stay stay;
      if (!ReadStay(in, &stay) || in.empty()) return Damaged("bad reservation", effects);
      const std::string_view key = in.rest();
      if (reservations_.contains(key)) return Damaged("a reservation made twice", effects);
      if (Reserve(key, stay) != Outcome::kOk) return Damaged("a reservation redone fails", effects);
      return absl::OkStatus();
    }
    case kCancel:
    case kPaid:
    case kReject:
      if (Transition(in.rest(), effects[0], nullptr) != Outcome::kOk) {
        return Damaged("a status change redone fails", effects);
      }
      return absl::OkStatus();
    default:
      return Damaged("unknown change", effects);
  }
}

std::string Bookings::State() const {
  std::string out;
  base::PutFixed64(out, inventory_.size());
  for (const auto& [night, row] : inventory_) {
    base::PutFixed64(out, static_cast<uint64_t>(night.hotel_id));
    base::PutFixed64(out, static_cast<uint64_t>(night.room_type_id));
    base::PutFixed32(out, static_cast<uint32_t>(night.day));
    base::PutFixed64(out, static_cast<uint64_t>(row.total_inventory));
    base::PutFixed64(out, static_cast<uint64_t>(row.total_reserved));
  }
  // In key order, so that equal states are equal bytes whatever order the hash map keeps.
  std::vector<const std::pair<const std::string, Reservation>*> sorted;
  sorted.reserve(reservations_.size());
  for (const auto& entry : reservations_) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  base::PutFixed64(out, reservations_.size());
  for (const auto* entry : sorted) {
    const auto& [key, reservation] = *entry;
    base::PutLengthPrefixed(out, key);
    PutStay(out, reservation.stay);
    out.push_back(static_cast<char>(reservation.status));
  }
  return out;
}

absl::Status Bookings::Restore(std::string_view state) {
  inventory_.clear();
  reservations_.clear();
  if (state.empty()) return absl::OkStatus();
  base::Reader in(state);
  auto rows = in.ReadFixed64();
  if (!rows.ok() || *rows > in.remaining() / 36)
    return Damaged("bad row count", state.substr(0, 8));
  for (uint64_t i = 0; i < *rows; ++i) {
    auto hotel = in.ReadFixed64();
    auto room_type = in.ReadFixed64();
    auto day = in.ReadFixed32();
    auto total = in.ReadFixed64();
    auto reserved = in.ReadFixed64();
    if (!hotel.ok() || !room_type.ok() || !day.ok() || !total.ok() || !reserved.ok()) {
      return Damaged(base::Cat("inventory row ", i, " cut short"), {});
    }
    inventory_[{static_cast<int64_t>(*hotel), static_cast<int64_t>(*room_type),
                static_cast<Day>(*day)}] = {static_cast<int64_t>(*total),
                                            static_cast<int64_t>(*reserved)};
  }
  auto count = in.ReadFixed64();
  if (!count.ok()) return Damaged("no reservation count", {});
  for (uint64_t i = 0; i < *count; ++i) {
    auto key = in.ReadLengthPrefixed();
    Stay stay;
    if (!key.ok() || !ReadStay(in, &stay)) return Damaged(base::Cat("reservation ", i), {});
    auto status = in.ReadByte();
    if (!status.ok() || *status > static_cast<uint8_t>(Status::kRefunded)) {
      return Damaged(base::Cat("reservation ", i), *key);
    }
    reservations_[*key] = {stay, static_cast<Status>(*status)};
  }
  if (!in.empty()) return Damaged("trailing bytes", in.rest().substr(0, 16));
  return absl::OkStatus();
}

}  // namespace keel::examples::hotel
