// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The contention workload, briefly: every approach runs on the same bookings and passes the
// checks RunApproach makes (no night over its limit, every night's total_reserved equal to the
// rooms of the successful bookings that include it), whose failure is an error.
#include "hotel_reservation/contention.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "testing/testing.h"

namespace keel::examples::hotel {
namespace {

ContentionOptions Small() {
  ContentionOptions options;
  options.threads = static_cast<int>(keel::testing::TestRounds("KEEL_TXN_THREADS", 4));
  options.bookings_per_thread = 150;
  options.dates = 6;
  options.total_inventory = 40;
  options.max_nights = 3;
  options.seed = keel::testing::TestSeed(2310);
  options.approaches = {
      Approach::kOptimistic, Approach::kPessimistic, Approach::kPessimisticUnordered,
      Approach::kConstraint, Approach::kSqlite,      Approach::kGlobalMutex};
  return options;
}

TEST_CASE("Every approach sells out the hot room type without double booking") {
  const ContentionOptions options = Small();
  CAPTURE(options.seed);
  const absl::StatusOr<std::vector<ApproachResult>> results = RunContention(options);
  REQUIRE_MESSAGE(results.ok(), results.status().ToString());
  REQUIRE(results->size() == options.approaches.size());
  // The nights' capacity: 44 rooms (110% of 40) on each of 6 nights.
  const int64_t capacity = 44 * 6;
  for (const ApproachResult& r : *results) {
    CAPTURE(ApproachName(r.approach));
    CHECK(r.attempted == int64_t{options.threads} * options.bookings_per_thread);
    CHECK(r.booked + r.sold_out + r.gave_up == r.attempted);
    CHECK(r.gave_up == 0);
    CHECK(r.booked > 0);
    CHECK(r.sold_out > 0);  // demand is far over supply
    CHECK(r.rooms_booked <= capacity);
    CHECK(r.latency_ns_p50 <= r.latency_ns_p99);
    CHECK(r.latency_ns_p99 <= r.latency_ns_max);
  }
  const std::string table = FormatContentionTable(*results);
  for (Approach a : options.approaches) CHECK(absl::StrContains(table, ApproachName(a)));
  MESSAGE("\n", table);
}

TEST_CASE("With inventory to spare every approach books every request") {
  ContentionOptions options = Small();
  options.total_inventory = 1'000'000;
  const absl::StatusOr<std::vector<ApproachResult>> results = RunContention(options);
  REQUIRE_MESSAGE(results.ok(), results.status().ToString());
  for (const ApproachResult& r : *results) {
    CAPTURE(ApproachName(r.approach));
    CHECK(r.booked == r.attempted);
  }
}

TEST_CASE("With no inventory every approach sells out every request") {
  ContentionOptions options = Small();
  options.total_inventory = 0;
  const absl::StatusOr<std::vector<ApproachResult>> results = RunContention(options);
  REQUIRE_MESSAGE(results.ok(), results.status().ToString());
  for (const ApproachResult& r : *results) {
    CAPTURE(ApproachName(r.approach));
    CHECK(r.sold_out == r.attempted);
  }
}

TEST_CASE("Bad contention options and approach names are refused with the value named") {
  ContentionOptions options = Small();
  options.threads = 0;
  CHECK(absl::StrContains(RunContention(options).status().message(), "threads is 0"));
  options = Small();
  options.max_nights = options.dates + 1;
  CHECK(RunContention(options).status().code() == absl::StatusCode::kInvalidArgument);
  options = Small();
  options.sqlite_synchronous = "SOMETIMES";
  CHECK(absl::StrContains(RunApproach(options, Approach::kSqlite).status().message(), "SOMETIMES"));
  CHECK(*ParseApproach("sqlite") == Approach::kSqlite);
  CHECK(absl::StrContains(ParseApproach("magic").status().message(), "\"magic\""));
}

}  // namespace
}  // namespace keel::examples::hotel
