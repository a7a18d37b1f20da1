// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Hashing: XXH3 (xxHash 0.8, https://github.com/Cyan4973/xxHash, specified in its
// doc/xxhash_spec.md) for bytes, strings and integers.
//
// keel hashes keys to pick a shard, a partition or a bucket, and those choices are often stored
// or shared between processes, so the hash must be the same on every machine, in every build, and
// from every language that has XXH3. std::hash promises none of that (libstdc++ hashes integers to
// themselves and strings with an unspecified function), and absl::Hash is deliberately salted per
// process. XXH3 is fast, well distributed in every bit, and specified.
//
//   Hash64(bytes, seed)    XXH3_64bits_withSeed of the bytes.
//   Hash128(bytes, seed)   XXH3_128bits_withSeed of the bytes, as an absl::uint128.
//   HashInt(value, seed)   the value widened to 64 bits (sign-extended if signed) and hashed as its
//                          8 little-endian bytes, so HashInt(int8_t{5}) == HashInt(uint64_t{5}).
//   Hasher                 a hash functor for Abseil and standard containers; transparent, so a
//                          map keyed by std::string can be searched with a std::string_view.
//
// Example:
//
//   uint32_t partition = keel::base::Hash64(message_key) % partition_count;
//
//   absl::flat_hash_map<std::string, int, keel::base::Hasher, std::equal_to<>> counts;
//   counts["alice"] += 1;
//   counts.find(std::string_view("alice"));  // no temporary std::string
//
// All functions are inline; none allocates.
#ifndef KEEL_BASE_HASH_H_
#define KEEL_BASE_HASH_H_

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "absl/numeric/int128.h"
#include "keel/base/internal/xxhash.h"

namespace keel::base {

// Returns the 64-bit XXH3 hash of `bytes`.
[[nodiscard]] inline uint64_t Hash64(std::string_view bytes, uint64_t seed = 0) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

// Returns the 128-bit XXH3 hash of `bytes`.
[[nodiscard]] inline absl::uint128 Hash128(std::string_view bytes, uint64_t seed = 0) {
  const XXH128_hash_t h = XXH3_128bits_withSeed(bytes.data(), bytes.size(), seed);
  return absl::MakeUint128(h.high64, h.low64);
}

// Returns Hash64 of the 8 little-endian bytes of `value` converted to uint64_t.
template <std::integral T>
[[nodiscard]] inline uint64_t HashInt(T value, uint64_t seed = 0) {
  uint64_t wide =
      static_cast<uint64_t>(value);  // sign-extends signed types: the value, not its width
  if constexpr (std::endian::native == std::endian::big) wide = __builtin_bswap64(wide);
  char bytes[sizeof(wide)];
  std::memcpy(bytes, &wide, sizeof(wide));
  return XXH3_64bits_withSeed(bytes, sizeof(bytes), seed);
}

// A hash functor over strings (anything convertible to std::string_view), integers and enums.
// Default-constructed, it uses seed 0; containers that need per-instance salting can hold a
// Hasher{.seed = s}.
struct Hasher {
  // Lets Abseil's and the standard's unordered containers look up std::string keys by
  // std::string_view or const char* without building a std::string (with std::equal_to<>).
  using is_transparent = void;

  uint64_t seed = 0;

  size_t operator()(std::string_view bytes) const noexcept {
    return static_cast<size_t>(Hash64(bytes, seed));
  }

  template <typename T>
  requires std::integral<T> || std::is_enum_v<T> size_t operator()(T value) const noexcept {
    if constexpr (std::is_enum_v<T>) {
      return static_cast<size_t>(HashInt(static_cast<std::underlying_type_t<T>>(value), seed));
    } else {
      return static_cast<size_t>(HashInt(value, seed));
    }
  }
};

}  // namespace keel::base

#endif  // KEEL_BASE_HASH_H_
