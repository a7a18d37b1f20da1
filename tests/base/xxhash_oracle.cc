// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The oracle for keel/base/hash.h: libxxhash's own compiled functions, reached through a plain
// #include <xxhash.h> in a translation unit of its own, so they are not keel's inline copies.
#include <xxhash.h>

#include <cstddef>
#include <cstdint>

namespace keel::testing {

uint64_t LibraryXxh3_64(const void* data, size_t size, uint64_t seed) {
  return XXH3_64bits_withSeed(data, size, seed);
}

void LibraryXxh3_128(const void* data, size_t size, uint64_t seed, uint64_t* high, uint64_t* low) {
  const XXH128_hash_t h = XXH3_128bits_withSeed(data, size, seed);
  *high = h.high64;
  *low = h.low64;
}

}  // namespace keel::testing
