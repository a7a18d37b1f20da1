// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "hotel_reservation/bookings.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "testing/testing.h"

namespace keel::examples::hotel {
namespace {

const Day kDay = DaysFromCivil(2026, 12, 20);

TEST_CASE("A reservation goes pending then paid or rejected and a cancel refunds a paid one") {
  Bookings b;
  for (Day d = kDay; d < kDay + 3; ++d) b.SetInventory({1, 1, d}, 10);
  REQUIRE(b.Reserve("a", {1, 1, kDay, kDay + 3, 4}) == Outcome::kOk);
  REQUIRE(b.Reserve("b", {1, 1, kDay, kDay + 2, 4}) == Outcome::kOk);
  CHECK(b.StatusOf("a") == Status::kPending);
  CHECK(b.Available(1, 1, kDay, kDay + 3) == 11 - 8);
  CHECK(b.MarkPaid("a") == Outcome::kOk);
  CHECK(b.StatusOf("a") == Status::kPaid);
  CHECK(b.Reject("a") == Outcome::kAlreadyCancelled);  // paid: the charge cannot fail now
  CHECK(b.Reject("b") == Outcome::kOk);
  CHECK(b.StatusOf("b") == Status::kRejected);
  CHECK(b.Available(1, 1, kDay, kDay + 3) == 11 - 4);
  CHECK(b.Cancel("b") == Outcome::kAlreadyCancelled);
  CHECK(b.Cancel("a") == Outcome::kOk);
  CHECK(b.StatusOf("a") == Status::kRefunded);
  CHECK(b.Available(1, 1, kDay, kDay + 3) == 11);
  CHECK(b.MarkPaid("zz") == Outcome::kUnknownReservation);
  CHECK_FALSE(b.StatusOf("zz").has_value());
  CHECK_FALSE(b.Available(1, 1, kDay, kDay + 4).has_value());  // no row for the 4th night
}

TEST_CASE("Bookings match a brute force over random changes and survive State and Apply") {
  const uint64_t seed = testing::TestSeed(1420);
  CAPTURE(seed);
  base::Random rng(seed);
  Bookings b;
  Bookings replayed;  // rebuilt from the effects alone
  // The brute force: rooms reserved per night, summed over live reservations.
  std::map<Day, int64_t> total;
  std::map<std::string, std::pair<Stay, bool>> live;  // key -> (stay, holds rooms)
  for (int step = 0; step < 20'000; ++step) {
    std::string effects;
    const Day start = kDay + static_cast<Day>(rng.Uniform(10));
    const std::string key = base::Cat("k", rng.Uniform(300));
    switch (rng.Uniform(5)) {
      case 0: {
        const int64_t inventory = static_cast<int64_t>(rng.Uniform(12));
        b.SetInventory({1, 1, start}, inventory, &effects);
        total[start] = inventory;
        break;
      }
      case 1:
      case 2: {
        if (live.contains(key)) break;
        const Stay stay{1, 1, start, start + 1 + static_cast<Day>(rng.Uniform(3)),
                        1 + static_cast<int64_t>(rng.Uniform(3))};
        std::optional<int64_t> available = b.Available(1, 1, stay.start, stay.end);
        const Outcome o = b.Reserve(key, stay, &effects);
        CHECK((o == Outcome::kNoInventory) == !available.has_value());
        CHECK((o == Outcome::kOk) == (available && *available >= stay.rooms));
        if (o == Outcome::kOk) live[key] = {stay, true};
        break;
      }
      default: {
        const int which = static_cast<int>(rng.Uniform(3));
        const Outcome o = which == 0   ? b.Cancel(key, &effects)
                          : which == 1 ? b.MarkPaid(key, &effects)
                                       : b.Reject(key, &effects);
        if (o == Outcome::kOk && which != 1) live[key].second = false;
      }
    }
    if (!effects.empty()) REQUIRE(replayed.Apply(effects).ok());
  }
  // Every row's total_reserved is the sum of the live reservations' rooms on it.
  std::map<Day, int64_t> reserved;
  for (const auto& [key, entry] : live) {
    if (!entry.second) continue;
    for (Day d = entry.first.start; d < entry.first.end; ++d) reserved[d] += entry.first.rooms;
  }
  for (const auto& [night, row] : b.inventory()) {
    CHECK(row.total_reserved == reserved[night.day]);
    CHECK(row.total_inventory == total[night.day]);
  }
  CHECK(replayed.State() == b.State());
  Bookings restored;
  REQUIRE(restored.Restore(b.State()).ok());
  CHECK(restored.State() == b.State());
}

TEST_CASE("Damaged effects and states are data loss and never a crash") {
  Bookings b;
  b.SetInventory({1, 1, kDay}, 5);
  std::string effects;
  REQUIRE(b.Reserve("a", {1, 1, kDay, kDay + 1, 1}, &effects) == Outcome::kOk);
  const std::string state = b.State();
  for (size_t size = 0; size < effects.size(); ++size) {
    Bookings fresh;
    fresh.SetInventory({1, 1, kDay}, 5);
    CHECK(fresh.Apply(effects.substr(0, size)).code() == absl::StatusCode::kDataLoss);
  }
  Bookings again = b;
  CHECK(again.Apply(effects).code() == absl::StatusCode::kDataLoss);  // reserved twice
  for (size_t size = 1; size < state.size(); ++size) {
    Bookings fresh;
    CHECK(fresh.Restore(state.substr(0, size)).code() == absl::StatusCode::kDataLoss);
  }
  CHECK(Bookings().Apply("Zjunk").code() == absl::StatusCode::kDataLoss);
  CHECK(Bookings().Apply("Xnobody").code() == absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace keel::examples::hotel
