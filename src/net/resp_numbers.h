// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Decimal integers as Redis reads them (util.c string2ll): an optional '-', then digits with no
// leading zero (except "0" itself), nothing else, at most 20 characters, within int64_t. Shared by
// the request parser and the reply reader. Private to src/net.
#ifndef KEEL_SRC_NET_RESP_NUMBERS_H_
#define KEEL_SRC_NET_RESP_NUMBERS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace keel::net::internal {

[[nodiscard]] inline std::optional<int64_t> ParseStrictInt64(std::string_view text) {
  // Redis's LONG_STR_SIZE: 21 bytes hold any long long with its sign and a NUL.
  constexpr size_t kMaxChars = 20;
  // Up to 18 digits cannot overflow, which lets the common case skip the overflow checks.
  constexpr size_t kSafeDigits = 18;
  if (text.empty() || text.size() > kMaxChars) return std::nullopt;
  const char* p = text.data();
  const char* const end = p + text.size();
  const bool negative = *p == '-';
  if (negative) ++p;
  if (p == end) return std::nullopt;
  if (*p == '0') {
    if (text.size() == 1) return 0;
    return std::nullopt;  // a leading zero, or "-0"
  }
  uint64_t value = 0;
  if (end - p <= static_cast<ptrdiff_t>(kSafeDigits)) {
    for (; p < end; ++p) {
      const unsigned digit = static_cast<unsigned>(*p) - '0';
      if (digit > 9) return std::nullopt;
      value = value * 10 + digit;
    }
  } else {
    for (; p < end; ++p) {
      const unsigned digit = static_cast<unsigned>(*p) - '0';
      if (digit > 9) return std::nullopt;
      if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
      value = value * 10 + digit;
    }
  }
  if (negative) {
    if (value > uint64_t{1} << 63) return std::nullopt;
    return static_cast<int64_t>(0 - value);
  }
  if (value > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(value);
}

}  // namespace keel::net::internal

#endif  // KEEL_SRC_NET_RESP_NUMBERS_H_
