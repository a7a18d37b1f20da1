// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "hotel_reservation/commands.h"

#include <array>
#include <cstdio>

namespace keel::examples::hotel {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// The value of a string of decimal digits (REQUIRES: AllDigits), or nullopt-like -1 when it is
// above kMaxId. Leading zeros are allowed: numbers are compared by value.
int64_t DigitsValue(std::string_view s) {
  size_t i = 0;
  while (i + 1 < s.size() && s[i] == '0') ++i;
  s.remove_prefix(i);
  if (s.size() > 19) return -1;
  uint64_t value = 0;
  for (char c : s) value = value * 10 + static_cast<uint64_t>(c - '0');
  return value > kMaxId ? -1 : static_cast<int64_t>(value);
}

bool IsKey(std::string_view s) {
  if (s.empty() || s.size() > kMaxKeyBytes) return false;
  for (char c : s) {
    const bool ok =
        IsDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsDateForm(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  return AllDigits(s.substr(0, 4)) && AllDigits(s.substr(5, 2)) && AllDigits(s.substr(8, 2));
}

bool IsLeap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// The date's day number, or false for a calendar date that does not exist (REQUIRES:
// IsDateForm).
bool DateValue(std::string_view s, Day* out) {
  const int year = static_cast<int>(DigitsValue(s.substr(0, 4)));
  const int month = static_cast<int>(DigitsValue(s.substr(5, 2)));
  const int day = static_cast<int>(DigitsValue(s.substr(8, 2)));
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const int days_in_month = kDays[static_cast<size_t>(month - 1)] + (month == 2 && IsLeap(year));
  if (day > days_in_month) return false;
  *out = DaysFromCivil(year, month, day);
  return true;
}

// Splits on commas into at most N + 1 fields (one more than wanted shows there are too many).
template <size_t N>
size_t Split(std::string_view line, std::array<std::string_view, N + 1>& fields) {
  size_t n = 0;
  while (true) {
    const size_t comma = line.find(',');
    if (n == N || comma == std::string_view::npos) {
      fields[n++] = line;
      return n;
    }
    fields[n++] = line.substr(0, comma);
    line.remove_prefix(comma + 1);
  }
}

}  // namespace

// Days from civil: the algorithm of H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"
// (2013), which counts 400-year eras of 146,097 days from 0000-03-01.
Day DaysFromCivil(int year, int month, int day) {
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::string FormatDay(Day days) {
  const int z = days + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const int doe = z - era * 146097;
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int mp = (5 * doy + 2) / 153;
  const int day = doy - (153 * mp + 2) / 5 + 1;
  const int month = mp < 10 ? mp + 3 : mp - 9;
  const int year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", year, month, day);
  return buffer;
}

ParsedLine ParseLine(std::string_view line) {
  ParsedLine parsed;
  std::array<std::string_view, 8> fields;
  const size_t n = Split<7>(line, fields);
  if (fields[0].size() != 1) return parsed;
  Command& c = parsed.command;
  c.kind = fields[0][0];

  // The shape of every field first: anything wrong with it is MALFORMED, whatever else is.
  switch (c.kind) {
    case 'I':
      if (n != 5 || !AllDigits(fields[1]) || !AllDigits(fields[2]) || !IsDateForm(fields[3]) ||
          !AllDigits(fields[4])) {
        return parsed;
      }
      break;
    case 'R':
      if (n != 7 || !IsKey(fields[1]) || !AllDigits(fields[2]) || !AllDigits(fields[3]) ||
          !IsDateForm(fields[4]) || !IsDateForm(fields[5]) || !AllDigits(fields[6])) {
        return parsed;
      }
      c.key = fields[1];
      break;
    case 'X':
      if (n != 3 || !IsKey(fields[1]) || !IsKey(fields[2])) return parsed;
      c.key = fields[1];
      c.reservation_key = fields[2];
      parsed.verdict = Verdict::kCommand;
      return parsed;
    default:
      return parsed;
  }

  // Then the values.
  parsed.verdict = Verdict::kInvalid;
  const std::string_view* f = &fields[c.kind == 'I' ? 1 : 2];
  c.hotel_id = DigitsValue(f[0]);
  c.room_type_id = DigitsValue(f[1]);
  if (c.hotel_id < 1 || c.room_type_id < 1) return parsed;
  if (!DateValue(f[2], &c.start)) return parsed;
  if (c.kind == 'I') {
    c.count = DigitsValue(f[3]);
    if (c.count < 0 || c.count > kMaxTotalInventory) return parsed;
  } else {
    if (!DateValue(f[3], &c.end)) return parsed;
    if (c.end <= c.start || c.end - c.start > kMaxNights) return parsed;
    c.count = DigitsValue(f[4]);
    if (c.count < 1 || c.count > kMaxRoomsPerReservation) return parsed;
  }
  parsed.verdict = Verdict::kCommand;
  return parsed;
}

}  // namespace keel::examples::hotel
