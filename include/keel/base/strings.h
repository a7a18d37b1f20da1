// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Building the text of error messages.
//
// keel's error messages name the bad value ("geohash \"ez$42\" has '$' at position 2, which is not
// in the base32 alphabet"), so they are assembled from pieces, some of them bytes a user handed in.
// Two helpers cover that:
//
//   Cat(pieces...)    absl::StrCat, but also accepting std::string_view. Debian's Abseil
//                     (20220623) has its own absl::string_view, which std::string_view does not
//                     convert to, and keel's public API speaks std::string_view.
//   Quoted(bytes)     the bytes in double quotes with C escapes, cut to a bounded length, so that a
//                     binary or megabyte-long bad input still gives a one-line message.
//
// Example:
//
//   if (!IsValidToken(token)) {
//     return absl::InvalidArgumentError(keel::base::Cat("bad cell token ", Quoted(token)));
//   }
#ifndef KEEL_BASE_STRINGS_H_
#define KEEL_BASE_STRINGS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace keel::base {

namespace internal {

// absl::StrCat accepts absl::string_view but not std::string_view; everything else passes through.
template <typename T>
decltype(auto) ToStrCatArg(const T& value) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return absl::string_view(value.data(), value.size());
  } else {
    return (value);
  }
}

}  // namespace internal

// Concatenates numbers, strings and string views into a new string, like absl::StrCat.
template <typename... Args>
[[nodiscard]] std::string Cat(const Args&... pieces) {
  return absl::StrCat(internal::ToStrCatArg(pieces)...);
}

// The longest input Quoted() shows in full by default; the rest is summarised by its length.
inline constexpr size_t kQuotedMaxBytes = 64;

// Returns `bytes` in double quotes, with quotes, backslashes and non-printable bytes escaped as in
// C (\", \\, \n, \x01). Input longer than `max_bytes` is cut there and followed by
// "... (N bytes in all)".
[[nodiscard]] std::string Quoted(std::string_view bytes, size_t max_bytes = kQuotedMaxBytes);

}  // namespace keel::base

#endif  // KEEL_BASE_STRINGS_H_
