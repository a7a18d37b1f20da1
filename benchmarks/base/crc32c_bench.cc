// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CRC32C throughput: the hardware path (three interleaved crc32 streams) against the portable
// slicing-by-8 path and the classic one-table, byte-at-a-time method (Sarwate 1988), the baseline
// most hand-written CRC code uses. Bytes per second are in the "bytes_per_second" counter.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "keel/base/crc32c.h"
#include "keel/base/internal/crc32c_internal.h"
#include "keel/base/random.h"

namespace keel::base {
namespace {

std::string RandomBytes(size_t n) {
  Random rng(n);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(rng.Next());
  return bytes;
}

// One 256-entry table, one byte per step.
uint32_t SarwateCrc32c(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t crc = b;
      for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
      t[b] = crc;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : data) crc = table[(crc ^ static_cast<unsigned char>(c)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

template <typename Fn>
void RunCrc(benchmark::State& state, Fn fn) {
  const std::string data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    uint32_t crc = fn(data);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Crc32cHardware(benchmark::State& state) {
  if (!internal::HasHardwareCrc32c()) {
    state.SkipWithError("no hardware CRC32C on this CPU");
    return;
  }
  RunCrc(state, [](std::string_view d) { return internal::ExtendCrc32cHardware(0, d); });
}

void BM_Crc32cPortable(benchmark::State& state) {
  RunCrc(state, [](std::string_view d) { return internal::ExtendCrc32cPortable(0, d); });
}

void BM_Crc32cSarwateBaseline(benchmark::State& state) { RunCrc(state, SarwateCrc32c); }

// 16 B is a record header, 4 KiB a page, 64 KiB and 1 MiB are log segments being scanned.
#define KEEL_CRC_SIZES ->Arg(16)->Arg(256)->Arg(4096)->Arg(65536)->Arg(1 << 20)
BENCHMARK(BM_Crc32cHardware) KEEL_CRC_SIZES;
BENCHMARK(BM_Crc32cPortable) KEEL_CRC_SIZES;
BENCHMARK(BM_Crc32cSarwateBaseline) KEEL_CRC_SIZES;
#undef KEEL_CRC_SIZES

void BM_CombineCrc32c(benchmark::State& state) {
  uint32_t crc = 0x12345678u;
  const uint64_t length = static_cast<uint64_t>(state.range(0));
  for (auto _ : state) {
    crc = CombineCrc32c(crc, 0x9abcdef0u, length);
    benchmark::DoNotOptimize(crc);
  }
}
BENCHMARK(BM_CombineCrc32c)->Arg(4096)->Arg(1 << 30);

}  // namespace
}  // namespace keel::base
