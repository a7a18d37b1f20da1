// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Jump consistent hash: a key's bucket among n numbered buckets, in a few nanoseconds and no
// memory, such that growing to n + 1 buckets moves only the keys the new bucket takes (1/(n+1) of
// them, the least possible).
//
// Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm" (Google, 2014,
// arXiv:1406.2294). Think of each key following a random sequence of "jumps": as the bucket count
// grows from 1, the key moves to bucket j with probability 1/(j+1) when bucket j appears, and
// otherwise stays. Then every bucket holds 1/n of the keys, and adding a bucket moves exactly the
// keys that jump to it. The algorithm computes where the key's last jump below n lands without
// visiting every j: from a jump to b, the next jump is to the first j with a uniform draw
// r < (b+1)/(j+1), that is j = floor((b+1)/r), drawn from a 64-bit linear congruential generator
// seeded by the key. O(log n) steps.
//
// The price is that buckets are numbers 0..n-1 and can only be added or removed at the end: it
// suits storage shards that are numbered and never fail for long (replicated partitions), not a
// pool of servers that come and go in any order (use HashRing, Rendezvous or Maglev for those).
// This is the published generator bit for bit, so the buckets match other implementations (the
// test checks values from Guava-compatible and ClickHouse test suites).
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(uint32_t shard, keel::shard::JumpBucketOfKey("player:42", 16));
//   // With 17 shards, "player:42" stays on `shard` or moves to shard 16.
#ifndef KEEL_SHARD_JUMP_HASH_H_
#define KEEL_SHARD_JUMP_HASH_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/hash.h"
#include "keel/base/strings.h"

namespace keel::shard {

// The most buckets: the paper's function takes an int32 bucket count.
inline constexpr uint32_t kJumpMaxBuckets = uint32_t{1} << 31;

// Returns the bucket, 0 to buckets - 1, of a key whose 64-bit hash is `key_hash`.
// kInvalidArgument when `buckets` is 0 or more than kJumpMaxBuckets.
[[nodiscard]] absl::StatusOr<uint32_t> JumpBucket(uint64_t key_hash, uint32_t buckets);

// JumpBucket(keel::base::Hash64(key), buckets).
[[nodiscard]] absl::StatusOr<uint32_t> JumpBucketOfKey(std::string_view key, uint32_t buckets);

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------
namespace internal {

// The paper's loop. REQUIRES: 1 <= buckets <= kJumpMaxBuckets.
[[nodiscard]] inline uint32_t JumpBucketUnchecked(uint64_t key, uint32_t buckets) {
  int64_t bucket = -1;
  int64_t next = 0;
  while (next < static_cast<int64_t>(buckets)) {
    bucket = next;
    key = key * 2862933555777941757ULL + 1;
    // (key >> 33) + 1 is uniform on 1..2^31, so the quotient is 1/r for r uniform on (0, 1].
    next = static_cast<int64_t>(
        static_cast<double>(bucket + 1) *
        (static_cast<double>(int64_t{1} << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<uint32_t>(bucket);
}

}  // namespace internal

inline absl::StatusOr<uint32_t> JumpBucket(uint64_t key_hash, uint32_t buckets) {
  if (buckets == 0 || buckets > kJumpMaxBuckets) [[unlikely]] {
    return absl::InvalidArgumentError(
        base::Cat("jump hash bucket count is ", buckets, ": want 1 to ", kJumpMaxBuckets));
  }
  return internal::JumpBucketUnchecked(key_hash, buckets);
}

inline absl::StatusOr<uint32_t> JumpBucketOfKey(std::string_view key, uint32_t buckets) {
  return JumpBucket(base::Hash64(key), buckets);
}

}  // namespace keel::shard

#endif  // KEEL_SHARD_JUMP_HASH_H_
