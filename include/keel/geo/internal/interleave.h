// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Bit interleaving (Morton order), as geohashes use it: two 32-bit cell indexes woven into one
// integer, one index in the even bits and the other in the odd ones. Shared by keel/geo's geohash
// and keel-server's geo commands. Not for users.
#ifndef KEEL_GEO_INTERNAL_INTERLEAVE_H_
#define KEEL_GEO_INTERNAL_INTERLEAVE_H_

#include <cstdint>

namespace keel::geo::internal {

// Spreads the low 32 bits of x so that bit k moves to bit 2k (the others become 0).
[[nodiscard]] constexpr uint64_t Spread(uint64_t x) {
  x &= 0xffffffffu;
  x = (x | (x << 16)) & 0x0000ffff0000ffffu;
  x = (x | (x << 8)) & 0x00ff00ff00ff00ffu;
  x = (x | (x << 4)) & 0x0f0f0f0f0f0f0f0fu;
  x = (x | (x << 2)) & 0x3333333333333333u;
  x = (x | (x << 1)) & 0x5555555555555555u;
  return x;
}

// The inverse of Spread: gathers the even bits of x.
[[nodiscard]] constexpr uint64_t Gather(uint64_t x) {
  x &= 0x5555555555555555u;
  x = (x | (x >> 1)) & 0x3333333333333333u;
  x = (x | (x >> 2)) & 0x0f0f0f0f0f0f0f0fu;
  x = (x | (x >> 4)) & 0x00ff00ff00ff00ffu;
  x = (x | (x >> 8)) & 0x0000ffff0000ffffu;
  x = (x | (x >> 16)) & 0x00000000ffffffffu;
  return x;
}

static_assert(Spread(0xffffffffu) == 0x5555555555555555u);
static_assert(Gather(Spread(0x12345678u)) == 0x12345678u);

}  // namespace keel::geo::internal

#endif  // KEEL_GEO_INTERNAL_INTERLEAVE_H_
