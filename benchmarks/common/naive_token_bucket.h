// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The textbook rate limiter, as a baseline for keel's (keel/ratelimit/token_bucket.h): one bucket
// per client in a std::unordered_map, its tokens a double refilled from the time elapsed since the
// client's last request. Shared by the rate limiter's benchmark and the exchange gateway's.
#ifndef KEEL_BENCHMARKS_COMMON_NAIVE_TOKEN_BUCKET_H_
#define KEEL_BENCHMARKS_COMMON_NAIVE_TOKEN_BUCKET_H_

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "keel/ratelimit/token_bucket.h"

namespace keel::bench {

class NaiveTokenBuckets {
 public:
  explicit NaiveTokenBuckets(const ratelimit::Rate& rate) : rate_(rate) {}

  // Takes a token from `client`'s bucket (a new client's is full) at time `now_ns`.
  bool TryAcquire(uint64_t client, int64_t now_ns) {
    const auto capacity = static_cast<double>(rate_.burst);
    auto [it, fresh] = buckets_.try_emplace(client, Bucket{capacity, now_ns});
    Bucket& b = it->second;
    b.tokens = std::min(capacity, b.tokens + static_cast<double>(now_ns - b.last_ns) /
                                                 static_cast<double>(rate_.interval_ns));
    b.last_ns = now_ns;
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }

  [[nodiscard]] size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    int64_t last_ns;
  };
  ratelimit::Rate rate_;
  std::unordered_map<uint64_t, Bucket> buckets_;
};

}  // namespace keel::bench

#endif  // KEEL_BENCHMARKS_COMMON_NAIVE_TOKEN_BUCKET_H_
