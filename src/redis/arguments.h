// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Reading command arguments exactly as Redis 7.0 reads them (util.c's string2ll and string2d,
// t_zset.c's range items). The quirks are Redis's and are kept on purpose, because a client
// sees them: an integer has no '+', no leading zero and no spaces; a float goes through strtod,
// so "0x1p3", "1e3", "inf" and "-Infinity" are numbers, "nan" is not; a score range's bound
// is read by strtod up to the first NUL, so "(5" and "5" differ but "" is 0.
#ifndef KEEL_SRC_REDIS_ARGUMENTS_H_
#define KEEL_SRC_REDIS_ARGUMENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keel/zset/sorted_set.h"

namespace keel::redis::internal {

// string2ll: an optional '-', then digits without a leading zero ("0" alone is fine); fits in
// int64_t.
[[nodiscard]] std::optional<int64_t> ParseInteger(std::string_view text);

// string2d: the whole text is a number for strtod, not NaN, does not start with a space, and
// did not overflow (an underflow to a subnormal is kept; one to zero is refused).
[[nodiscard]] std::optional<double> ParseDouble(std::string_view text);

// string2ld with strtold, for INCRBYFLOAT-like commands and GEO arguments read as long double.
[[nodiscard]] std::optional<long double> ParseLongDouble(std::string_view text);

// zslParseRange's item: "(" makes it exclusive; the rest is read by strtod up to the first NUL
// and must be wholly consumed and not NaN.
[[nodiscard]] std::optional<zset::ScoreBound> ParseScoreBound(std::string_view text);

// zslParseLexRangeItem: "+", "-", "[value", "(value".
[[nodiscard]] std::optional<zset::LexBound> ParseLexBound(std::string_view text);

// ASCII case-insensitive equality, as strcasecmp on an option name. Like strcasecmp, it stops
// at a NUL: "nx\0junk" equals "nx".
[[nodiscard]] bool IsOption(std::string_view arg, std::string_view option);

// The integer's decimal text.
[[nodiscard]] std::string IntegerText(int64_t value);

}  // namespace keel::redis::internal

#endif  // KEEL_SRC_REDIS_ARGUMENTS_H_
