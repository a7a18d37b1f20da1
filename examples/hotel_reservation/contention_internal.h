// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What the contention workload's approaches share (contention.cc drives them; the SQLite one
// lives in contention_sqlite.cc). Not for the demo: it uses contention.h.
#ifndef KEEL_EXAMPLES_HOTEL_RESERVATION_CONTENTION_INTERNAL_H_
#define KEEL_EXAMPLES_HOTEL_RESERVATION_CONTENTION_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "contention.h"

namespace keel::examples::hotel::internal {

// The workload's hotel and room type, and the first night on sale (2026-07-01, in days since
// 1970-01-01).
inline constexpr int64_t kHotelId = 7;
inline constexpr int64_t kRoomTypeId = 2;
inline constexpr int64_t kFirstDay = 20'635;

// One client's request: `rooms` rooms for nights first_night .. first_night + nights - 1 (indexes
// into the nights on sale).
struct Booking {
  int first_night = 0;
  int nights = 1;
  int64_t rooms = 1;
};

enum class Outcome : uint8_t { kBooked, kSoldOut, kGaveUp };

// The counters one client thread keeps for its approach.
struct ClientCounters {
  int64_t retries = 0;
  int64_t deadlocks = 0;
};

// One approach's inventory of the nights on sale.
class Inventory {
 public:
  virtual ~Inventory() = default;
  // Makes `booking` for client `client` (0 to threads - 1); called by that client's thread only.
  virtual Outcome Book(int client, const Booking& booking, ClientCounters& counters) = 0;
  // total_reserved of every night, once every client has stopped.
  virtual absl::StatusOr<std::vector<int64_t>> Reserved() = 0;
};

// "2026-07-01" for night 0.
[[nodiscard]] std::string NightDate(int night);

// The SQLite inventory: a database in options.sqlite_dir (or a fresh temporary directory), with
// one connection per client.
[[nodiscard]] absl::StatusOr<std::unique_ptr<Inventory>> MakeSqliteInventory(
    const ContentionOptions& options);

}  // namespace keel::examples::hotel::internal

#endif  // KEEL_EXAMPLES_HOTEL_RESERVATION_CONTENTION_INTERNAL_H_
