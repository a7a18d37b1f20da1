// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "arguments.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "keel/base/strings.h"

namespace keel::redis::internal {

std::optional<int64_t> ParseInteger(std::string_view text) {
  // LONG_STR_SIZE is 21: longer texts are refused before reading a digit.
  if (text.empty() || text.size() >= 21) return std::nullopt;
  if (text == "0") return 0;
  size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative && ++i == text.size()) return std::nullopt;
  if (text[i] < '1' || text[i] > '9') return std::nullopt;
  uint64_t v = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (v > UINT64_MAX / 10 || v * 10 > UINT64_MAX - digit) return std::nullopt;
    v = v * 10 + digit;
  }
  if (negative) {
    if (v > uint64_t{1} << 63) return std::nullopt;
    return static_cast<int64_t>(0 - v);
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<double> ParseDouble(std::string_view text) {
  // strtod needs a terminator; Redis's arguments are NUL-terminated sds strings.
  const std::string copy(text);
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) ||
      static_cast<size_t>(end - copy.c_str()) != text.size() ||
      (errno == ERANGE &&
       (value == HUGE_VAL || value == -HUGE_VAL || std::fpclassify(value) == FP_ZERO)) ||
      std::isnan(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<long double> ParseLongDouble(std::string_view text) {
  // MAX_LONG_DOUBLE_CHARS is 5 * 1024.
  if (text.empty() || text.size() >= 5 * 1024) return std::nullopt;
  const std::string copy(text);
  errno = 0;
  char* end = nullptr;
  const long double value = std::strtold(copy.c_str(), &end);
  if (std::isspace(static_cast<unsigned char>(copy[0])) || *end != '\0' ||
      static_cast<size_t>(end - copy.c_str()) != text.size() ||
      (errno == ERANGE &&
       (value == HUGE_VALL || value == -HUGE_VALL || std::fpclassify(value) == FP_ZERO)) ||
      errno == EINVAL || std::isnan(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<zset::ScoreBound> ParseScoreBound(std::string_view text) {
  zset::ScoreBound bound{0, false};
  if (!text.empty() && text[0] == '(') {
    bound.exclusive = true;
    text.remove_prefix(1);
  }
  // strtod sees the argument up to its first NUL, and the check is that it stopped there.
  const std::string copy(text.substr(0, std::min(text.find('\0'), text.size())));
  char* end = nullptr;
  bound.value = std::strtod(copy.c_str(), &end);
  if (*end != '\0' || std::isnan(bound.value)) return std::nullopt;
  return bound;
}

std::optional<zset::LexBound> ParseLexBound(std::string_view text) {
  // Redis tests c[1] == '\0' on a NUL-terminated string: a NUL right after '+' or '-' ends it.
  auto alone = [&] { return text.size() == 1 || text[1] == '\0'; };
  if (text.empty()) return std::nullopt;
  switch (text[0]) {
    case '+':
      if (!alone()) return std::nullopt;
      return zset::LexBound::PlusInfinity();
    case '-':
      if (!alone()) return std::nullopt;
      return zset::LexBound::MinusInfinity();
    case '(':
      return zset::LexBound::Exclusive(text.substr(1));
    case '[':
      return zset::LexBound::Inclusive(text.substr(1));
    default:
      return std::nullopt;
  }
}

bool IsOption(std::string_view arg, std::string_view option) {
  const size_t nul = arg.find('\0');
  if (nul != std::string_view::npos) arg = arg.substr(0, nul);
  if (arg.size() != option.size()) return false;
  for (size_t i = 0; i < arg.size(); ++i) {
    const auto a = static_cast<unsigned char>(arg[i]);
    const auto b = static_cast<unsigned char>(option[i]);
    if (std::tolower(a) != std::tolower(b)) return false;
  }
  return true;
}

std::string IntegerText(int64_t value) { return base::Cat(value); }

}  // namespace keel::redis::internal
