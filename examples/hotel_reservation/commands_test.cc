// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "hotel_reservation/commands.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace keel::examples::hotel {
namespace {

Verdict Judge(std::string_view line) { return ParseLine(line).verdict; }

TEST_CASE("Day numbers agree with std::chrono over years 1 to 9999") {
  for (int year :
       {1, 2, 3, 4, 99, 100, 399, 400, 1600, 1899, 1900, 1969, 1970, 2000, 2024, 2100, 9999}) {
    for (unsigned month = 1; month <= 12; ++month) {
      for (unsigned day : {1u, 15u, 28u}) {
        const std::chrono::sys_days want{std::chrono::year{year} / std::chrono::month{month} /
                                         std::chrono::day{day}};
        const Day got = DaysFromCivil(year, static_cast<int>(month), static_cast<int>(day));
        CAPTURE(year);
        CHECK(got == want.time_since_epoch().count());
        char text[16];
        std::snprintf(text, sizeof text, "%04d-%02u-%02u", year, month, day);
        CHECK(FormatDay(got) == text);
      }
    }
  }
}

TEST_CASE("Well formed lines become commands with their values") {
  ParsedLine p = ParseLine("I,1,2,2026-12-24,10");
  REQUIRE(p.verdict == Verdict::kCommand);
  CHECK(p.command.kind == 'I');
  CHECK(p.command.hotel_id == 1);
  CHECK(p.command.room_type_id == 2);
  CHECK(FormatDay(p.command.start) == "2026-12-24");
  CHECK(p.command.count == 10);

  p = ParseLine("R,res_1-A,0007,9223372036854775807,2024-02-28,2024-03-01,1000");
  REQUIRE(p.verdict == Verdict::kCommand);
  CHECK(p.command.key == "res_1-A");
  CHECK(p.command.hotel_id == 7);
  CHECK(p.command.room_type_id == 9223372036854775807);
  CHECK(p.command.end - p.command.start == 2);  // 2024 is a leap year
  CHECK(p.command.count == 1000);

  p = ParseLine("X,cancel-1,res_1-A");
  REQUIRE(p.verdict == Verdict::kCommand);
  CHECK(p.command.key == "cancel-1");
  CHECK(p.command.reservation_key == "res_1-A");
}

TEST_CASE("Numbers are compared by value however many leading zeros they have") {
  CHECK(ParseLine("I,000000000000000000000000000001,1,2026-01-01,0").command.hotel_id == 1);
  CHECK(Judge("I,1,1,2026-01-01,0000000000000000000001000000") == Verdict::kCommand);
  CHECK(Judge("I,1,1,2026-01-01,0000000000000000000001000001") == Verdict::kInvalid);
}

TEST_CASE("Values out of range are INVALID") {
  CHECK(Judge("I,0,1,2026-01-01,5") == Verdict::kInvalid);
  CHECK(Judge("I,1,0,2026-01-01,5") == Verdict::kInvalid);
  CHECK(Judge("I,9223372036854775808,1,2026-01-01,5") == Verdict::kInvalid);
  CHECK(Judge("I,99999999999999999999999,1,2026-01-01,5") == Verdict::kInvalid);
  CHECK(Judge("I,1,1,2026-01-01,1000001") == Verdict::kInvalid);
  CHECK(Judge("I,1,1,2026-01-01,1000000") == Verdict::kCommand);
  CHECK(Judge("I,1,1,2023-02-29,5") == Verdict::kInvalid);
  CHECK(Judge("I,1,1,1900-02-29,5") == Verdict::kInvalid);
  CHECK(Judge("I,1,1,2000-02-29,5") == Verdict::kCommand);
  CHECK(Judge("I,1,1,2026-04-31,5") == Verdict::kInvalid);
  CHECK(Judge("I,1,1,2026-13-01,5") == Verdict::kInvalid);
  CHECK(Judge("I,1,1,2026-00-10,5") == Verdict::kInvalid);
  CHECK(Judge("I,1,1,2026-01-00,5") == Verdict::kInvalid);
  CHECK(Judge("I,1,1,0000-01-01,5") == Verdict::kInvalid);
  CHECK(Judge("I,1,1,9999-12-31,5") == Verdict::kCommand);
  CHECK(Judge("R,k,1,1,2026-01-02,2026-01-02,1") == Verdict::kInvalid);
  CHECK(Judge("R,k,1,1,2026-01-02,2026-01-01,1") == Verdict::kInvalid);
  CHECK(Judge("R,k,1,1,2026-01-01,2027-01-01,1") == Verdict::kCommand);  // 365 nights
  CHECK(Judge("R,k,1,1,2024-01-01,2025-01-01,1") == Verdict::kInvalid);  // 366
  CHECK(Judge("R,k,1,1,2026-01-01,2026-01-02,0") == Verdict::kInvalid);
  CHECK(Judge("R,k,1,1,2026-01-01,2026-01-02,1001") == Verdict::kInvalid);
  // INVALID lines keep their key for the output line.
  CHECK(ParseLine("R,key-9,1,1,2026-01-01,2026-01-02,0").command.key == "key-9");
}

TEST_CASE("Lines of the wrong shape are MALFORMED before any value is judged") {
  for (const char* line :
       {"", "I", "I,1,1,2026-01-01", "I,1,1,2026-01-01,5,", "I,1,1,2026-01-01,5,6",
        "i,1,1,2026-01-01,5", "II,1,1,2026-01-01,5", "Q,1", "X,a", "X,a,b,c", "X,,b", "X,a,",
        "I,+1,1,2026-01-01,5", "I,-1,1,2026-01-01,5", "I,1.0,1,2026-01-01,5", "I, 1,1,2026-01-01,5",
        "I,,1,2026-01-01,5", "I,1,1,2026-1-01,5", "I,1,1,2026/01/01,5", "I,1,1,26-01-01,5",
        "I,1,1,2026-01-01 ,5", "I,1,1,20260101,5", "I,1,1,2026-01-0a,5",
        "R,a b,1,1,2026-01-01,2026-01-02,1", "R,a.b,1,1,2026-01-01,2026-01-02,1",
        "R,é,1,1,2026-01-01,2026-01-02,1", "R,,1,1,2026-01-01,2026-01-02,1", "X,k,bad!key",
        // MALFORMED comes first: a value out of range elsewhere on the line does not matter.
        "R,k,0,1,2026-02-30,2026-01-02,x", "I,0,1,2026-01-01,x"}) {
    CAPTURE(line);
    CHECK(Judge(line) == Verdict::kMalformed);
  }
  const std::string key64(64, 'k');
  CHECK(Judge("X," + key64 + ",r") == Verdict::kCommand);
  CHECK(Judge("X," + key64 + "k,r") == Verdict::kMalformed);
  CHECK(Judge("X,r," + key64 + "k") == Verdict::kMalformed);
}

}  // namespace
}  // namespace keel::examples::hotel
