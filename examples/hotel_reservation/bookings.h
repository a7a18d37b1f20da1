// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Bookings: the hotel reservation case study's data, as the chapter models it in a relational
// database: one inventory row per (hotel, room type, date) with total_inventory and
// total_reserved, and the reservations made against them. A reservation takes its rooms on every
// night of its stay or on none, and only while total_reserved + rooms <= floor(total_inventory *
// 1.1) on each night: the chapter's 10% overbooking.
//
// A reservation's status follows the chapter: pending once its rooms are held, paid once the
// guest is charged, rejected when the charge fails, canceled when the guest cancels before paying
// and refunded when after. Every status but pending and paid has given its rooms back.
//
// Every change is also described as bytes (its "effects"), so that keel's idempotency store can
// log it together with the key and outcome of the request that made it, and Apply can redo it on
// recovery. State() and Restore() carry the whole state through a checkpoint.
//
// Example:
//
//   Bookings bookings;
//   bookings.SetInventory({.hotel_id = 1, .room_type_id = 2, .day = d}, 100);
//   std::string effects;
//   Outcome outcome = bookings.Reserve("res-42", {1, 2, d, d + 3, 2}, &effects);  // kOk
//
// Not thread-safe: the caller serializes changes (and logs them in the same order).
#ifndef KEEL_EXAMPLES_HOTEL_RESERVATION_BOOKINGS_H_
#define KEEL_EXAMPLES_HOTEL_RESERVATION_BOOKINGS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "hotel_reservation/commands.h"
#include "keel/base/hash.h"

namespace keel::examples::hotel {

struct RoomNight {
  int64_t hotel_id = 0;
  int64_t room_type_id = 0;
  Day day = 0;

  auto operator<=>(const RoomNight&) const = default;
};

struct InventoryRow {
  int64_t total_inventory = 0;
  int64_t total_reserved = 0;
};

struct Stay {
  int64_t hotel_id = 0;
  int64_t room_type_id = 0;
  Day start = 0;  // the first night
  Day end = 0;    // the day after the last night
  int64_t rooms = 0;
};

enum class Outcome {
  kOk,
  kSoldOut,             // some night would pass floor(total_inventory * 1.1)
  kNoInventory,         // some night has no inventory row
  kUnknownReservation,  // no reservation was made under that key
  kAlreadyCancelled,
};

enum class Status : uint8_t { kPending, kPaid, kCanceled, kRejected, kRefunded };

// "pending", "paid", "canceled", "rejected", "refunded".
[[nodiscard]] std::string_view StatusName(Status status);

// "OK", "SOLD_OUT", "NO_INVENTORY", "UNKNOWN_RESERVATION", "ALREADY_CANCELLED".
[[nodiscard]] std::string_view OutcomeName(Outcome outcome);

// The most rooms a night may have reserved: floor(total_inventory * 1.1), in integers.
[[nodiscard]] constexpr int64_t ReservableRooms(int64_t total_inventory) {
  return total_inventory * 11 / 10;
}

class Bookings {
 public:
  // Sets a night's total_inventory, creating its row with total_reserved 0 or keeping
  // total_reserved. Appends the change's effects to `effects` when not null.
  void SetInventory(const RoomNight& night, int64_t total_inventory,
                    std::string* effects = nullptr);

  // Reserves the stay under `key`, all nights or none; the reservation is pending. On kOk
  // appends the effects. REQUIRES: no reservation exists under `key`.
  Outcome Reserve(std::string_view key, const Stay& stay, std::string* effects = nullptr);

  // The guest cancels the reservation made under `key`, releasing its rooms on every night: a
  // pending one becomes canceled, a paid one refunded. kAlreadyCancelled when it gave its rooms
  // back already (canceled, rejected or refunded). On kOk appends the effects.
  Outcome Cancel(std::string_view key, std::string* effects = nullptr);

  // The booking saga's steps after the hold: the charge succeeded (pending to paid), or failed
  // (pending to rejected, releasing the rooms). kUnknownReservation for no such reservation;
  // kAlreadyCancelled when it is not pending. On kOk appends the effects.
  Outcome MarkPaid(std::string_view key, std::string* effects = nullptr);
  Outcome Reject(std::string_view key, std::string* effects = nullptr);

  // The status of the reservation made under `key`, if there is one.
  [[nodiscard]] std::optional<Status> StatusOf(std::string_view key) const;

  // Availability search: how many more rooms of the room type can be reserved on every night of
  // [start, end), or nullopt when some night has no inventory row.
  [[nodiscard]] std::optional<int64_t> Available(int64_t hotel_id, int64_t room_type_id, Day start,
                                                 Day end) const;

  // Redoes a change from its effects, as logged. Errors: kDataLoss when the bytes are not effects
  // or the change no longer applies (the log and the state disagree).
  [[nodiscard]] absl::Status Apply(std::string_view effects);

  // The whole state, and back (Restore replaces the state). Restore errors: kDataLoss.
  [[nodiscard]] std::string State() const;
  [[nodiscard]] absl::Status Restore(std::string_view state);

  [[nodiscard]] const absl::btree_map<RoomNight, InventoryRow>& inventory() const {
    return inventory_;
  }
  [[nodiscard]] const InventoryRow* Row(const RoomNight& night) const;
  [[nodiscard]] size_t reservations() const { return reservations_.size(); }

 private:
  struct Reservation {
    Stay stay;
    Status status = Status::kPending;
  };

  // Gives a reservation's rooms back on every night and sets its new status.
  void Release(Reservation& reservation, Status status);
  Outcome Transition(std::string_view key, char kind, std::string* effects);

  absl::btree_map<RoomNight, InventoryRow> inventory_;
  absl::flat_hash_map<std::string, Reservation, base::Hasher, std::equal_to<>> reservations_;
};

}  // namespace keel::examples::hotel

#endif  // KEEL_EXAMPLES_HOTEL_RESERVATION_BOOKINGS_H_
