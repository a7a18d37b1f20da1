// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The replay tool's command lines (docs/hotel_reservation.md has the format):
//
//   I,<hotel_id>,<room_type_id>,<date>,<total_inventory>
//   R,<key>,<hotel_id>,<room_type_id>,<start_date>,<end_date>,<rooms>
//   X,<key>,<reservation_key>
//
// A line is judged MALFORMED (its shape: field count, command letter, digits, date form, key
// characters), then INVALID (a value out of range), both without looking at stored state; only a
// line that passes both is a Command.
#ifndef KEEL_EXAMPLES_HOTEL_RESERVATION_COMMANDS_H_
#define KEEL_EXAMPLES_HOTEL_RESERVATION_COMMANDS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace keel::examples::hotel {

// Limits of the format.
inline constexpr size_t kMaxKeyBytes = 64;
inline constexpr uint64_t kMaxId = (uint64_t{1} << 63) - 1;
inline constexpr int64_t kMaxTotalInventory = 1'000'000;
inline constexpr int64_t kMaxRoomsPerReservation = 1'000;
inline constexpr int32_t kMaxNights = 365;

// A calendar date as days since 1970-01-01 (proleptic Gregorian; years 1 to 9999).
using Day = int32_t;

// Days since 1970-01-01 of a valid date, and back (for printing).
[[nodiscard]] Day DaysFromCivil(int year, int month, int day);
[[nodiscard]] std::string FormatDay(Day day);

enum class Verdict { kCommand, kMalformed, kInvalid };

struct Command {
  char kind = 0;                     // 'I', 'R' or 'X'
  std::string_view key;              // R, X: the line's own key (a view into the line)
  std::string_view reservation_key;  // X: the reservation it cancels
  int64_t hotel_id = 0;
  int64_t room_type_id = 0;
  Day start = 0;      // I: the date; R: the first night
  Day end = 0;        // R: the day after the last night
  int64_t count = 0;  // I: total_inventory; R: rooms
};

// Commands built in code (the demo's, the saga's).
[[nodiscard]] inline Command SetInventoryCommand(int64_t hotel_id, int64_t room_type_id, Day day,
                                                 int64_t total_inventory) {
  Command c;
  c.kind = 'I';
  c.hotel_id = hotel_id;
  c.room_type_id = room_type_id;
  c.start = day;
  c.count = total_inventory;
  return c;
}
[[nodiscard]] inline Command ReserveCommand(std::string_view reservation_id, int64_t hotel_id,
                                            int64_t room_type_id, Day start, Day end,
                                            int64_t rooms) {
  Command c = SetInventoryCommand(hotel_id, room_type_id, start, rooms);
  c.kind = 'R';
  c.key = reservation_id;
  c.end = end;
  return c;
}
// `kind` is 'X' (cancel), 'P' (paid) or 'J' (rejected).
[[nodiscard]] inline Command StatusCommand(char kind, std::string_view key,
                                           std::string_view reservation_id) {
  Command c;
  c.kind = kind;
  c.key = key;
  c.reservation_key = reservation_id;
  return c;
}

struct ParsedLine {
  Verdict verdict = Verdict::kMalformed;
  Command command;  // kCommand: all of it; kInvalid: kind and key (for the output line)
};

// Parses one line (without its line ending). Views in the result point into `line`.
[[nodiscard]] ParsedLine ParseLine(std::string_view line);

}  // namespace keel::examples::hotel

#endif  // KEEL_EXAMPLES_HOTEL_RESERVATION_COMMANDS_H_
