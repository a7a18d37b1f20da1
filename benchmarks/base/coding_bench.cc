// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Decoding and encoding varints and fixed-width integers: keel's bounds-checked Reader against an
// unchecked decoder that trusts its input (the LevelDB-style loop that reads past the end if the
// input lies), so the figures show what the checks and the Status plumbing cost.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "keel/base/coding.h"
#include "keel/base/random.h"

namespace keel::base {
namespace {

constexpr size_t kValues = 4096;

// Values whose varints are 1 to 10 bytes long, about equally often (range(0) == 0), or all short
// (range(0) == 1: below 128, the common case of lengths and small counters).
std::vector<uint64_t> Values(bool small) {
  Random rng(7);
  std::vector<uint64_t> values(kValues);
  for (uint64_t& v : values) v = small ? rng.Uniform(128) : rng.Next() >> (7 * rng.Uniform(10));
  return values;
}

std::string EncodeAll(const std::vector<uint64_t>& values) {
  std::string buf;
  for (const uint64_t v : values) PutVarint64(buf, v);
  return buf;
}

// Trusts the input: no bounds, no overflow or length checks.
inline const char* UncheckedVarint64(const char* p, uint64_t* out) {
  uint64_t value = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<uint8_t>(*p++);
    value |= uint64_t{byte & 0x7fu} << shift;
    if (byte < 0x80) break;
  }
  *out = value;
  return p;
}

void BM_ReaderVarint64(benchmark::State& state) {
  const std::string buf = EncodeAll(Values(state.range(0) == 1));
  for (auto _ : state) {
    Reader in(buf);
    uint64_t sum = 0;
    while (!in.empty()) sum += *in.ReadVarint64();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kValues));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}

void BM_UncheckedVarint64Baseline(benchmark::State& state) {
  const std::string buf = EncodeAll(Values(state.range(0) == 1));
  for (auto _ : state) {
    const char* p = buf.data();
    const char* end = p + buf.size();
    uint64_t sum = 0;
    while (p < end) {
      uint64_t v;
      p = UncheckedVarint64(p, &v);
      sum += v;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kValues));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}

BENCHMARK(BM_ReaderVarint64)->ArgName("small")->Arg(0)->Arg(1);
BENCHMARK(BM_UncheckedVarint64Baseline)->ArgName("small")->Arg(0)->Arg(1);

void BM_PutVarint64(benchmark::State& state) {
  const std::vector<uint64_t> values = Values(false);
  std::string buf;
  buf.reserve(kValues * kMaxVarint64Bytes);
  for (auto _ : state) {
    buf.clear();
    for (const uint64_t v : values) PutVarint64(buf, v);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kValues));
}

// Baseline: the same varints written straight into a preallocated array.
void BM_EncodeVarint64Baseline(benchmark::State& state) {
  const std::vector<uint64_t> values = Values(false);
  std::vector<char> buf(kValues * kMaxVarint64Bytes);
  for (auto _ : state) {
    char* p = buf.data();
    for (const uint64_t v : values) p = EncodeVarint64(p, v);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kValues));
}

BENCHMARK(BM_PutVarint64);
BENCHMARK(BM_EncodeVarint64Baseline);

void BM_ReaderFixed64(benchmark::State& state) {
  std::string buf;
  for (const uint64_t v : Values(false)) PutFixed64(buf, v);
  for (auto _ : state) {
    Reader in(buf);
    uint64_t sum = 0;
    while (!in.empty()) sum += *in.ReadFixed64();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kValues));
}

void BM_MemcpyFixed64Baseline(benchmark::State& state) {
  std::string buf;
  for (const uint64_t v : Values(false)) PutFixed64(buf, v);
  for (auto _ : state) {
    uint64_t sum = 0;
    for (size_t off = 0; off < buf.size(); off += 8) {
      uint64_t v;
      std::memcpy(&v, buf.data() + off, 8);
      sum += v;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kValues));
}

BENCHMARK(BM_ReaderFixed64);
BENCHMARK(BM_MemcpyFixed64Baseline);

}  // namespace
}  // namespace keel::base
