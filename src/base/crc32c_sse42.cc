// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CRC32C with the SSE4.2 crc32 instruction.
//
// One crc32 instruction folds 8 bytes into the register, but it has a latency of 3 cycles and a
// throughput of one per cycle, so a single dependent chain uses a third of what the CPU offers.
// Following Intel's white paper ("Fast CRC Computation for iSCSI Polynomial Using CRC32
// Instruction", 2011), a long buffer is cut into three equal blocks whose CRCs are computed in
// three independent chains at once; the three registers are then joined by advancing the earlier
// ones past the later blocks (see crc32c_math.h), with tables built at compile time for the two
// block sizes used.
//
// The function carries the "sse4.2" target attribute instead of the file being compiled with
// -msse4.2, so that nothing else the compiler emits here can use SSE4.2 on a CPU without it; it
// is only called after HasHardwareCrc32c() said yes.
#include <cstring>

#include "crc32c_math.h"
#include "keel/base/assert.h"
#include "keel/base/internal/crc32c_internal.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace keel::base::internal {

#if defined(__x86_64__)

namespace {

// Bytes per stream. Long blocks amortise the two joins; short ones keep mid-sized buffers on the
// three-stream path. 3 x 8 KiB and 3 x 256 B, the sizes of Intel's paper.
constexpr size_t kLongBlock = 8192;
constexpr size_t kShortBlock = 256;

constexpr Crc32cShiftTable kShiftLong = MakeCrc32cShiftTable(kLongBlock);
constexpr Crc32cShiftTable kShiftShort = MakeCrc32cShiftTable(kShortBlock);

__attribute__((target("sse4.2"))) inline uint64_t Load64(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return word;
}

// Advances three registers over three consecutive blocks of `block` bytes starting at `p`, then
// joins them into c0.
template <size_t block>
__attribute__((target("sse4.2"))) uint64_t ThreeStreams(uint64_t c0, const char* p,
                                                        const Crc32cShiftTable& shift) {
  uint64_t c1 = 0;
  uint64_t c2 = 0;
  for (const char* end = p + block; p < end; p += 8) {
    c0 = _mm_crc32_u64(c0, Load64(p));
    c1 = _mm_crc32_u64(c1, Load64(p + block));
    c2 = _mm_crc32_u64(c2, Load64(p + 2 * block));
  }
  c0 = shift.Apply(static_cast<uint32_t>(c0)) ^ c1;
  return shift.Apply(static_cast<uint32_t>(c0)) ^ c2;
}

}  // namespace

bool HasHardwareCrc32c() { return __builtin_cpu_supports("sse4.2"); }

__attribute__((target("sse4.2"))) uint32_t ExtendCrc32cHardware(uint32_t crc,
                                                                std::string_view data) {
  const char* p = data.data();
  size_t n = data.size();
  uint64_t l = ~crc;

  // Byte at a time up to an 8-byte boundary, so that the word loads below are aligned.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    l = _mm_crc32_u8(static_cast<uint32_t>(l), static_cast<unsigned char>(*p));
    ++p;
    --n;
  }
  for (; n >= 3 * kLongBlock; p += 3 * kLongBlock, n -= 3 * kLongBlock) {
    l = ThreeStreams<kLongBlock>(l, p, kShiftLong);
  }
  for (; n >= 3 * kShortBlock; p += 3 * kShortBlock, n -= 3 * kShortBlock) {
    l = ThreeStreams<kShortBlock>(l, p, kShiftShort);
  }
  for (; n >= 8; p += 8, n -= 8) l = _mm_crc32_u64(l, Load64(p));
  for (; n > 0; ++p, --n) {
    l = _mm_crc32_u8(static_cast<uint32_t>(l), static_cast<unsigned char>(*p));
  }
  return ~static_cast<uint32_t>(l);
}

#else  // No hardware path for this architecture yet.

bool HasHardwareCrc32c() { return false; }

uint32_t ExtendCrc32cHardware(uint32_t crc, std::string_view data) {
  KEEL_ASSERT(false, "no hardware CRC32C on this architecture; check HasHardwareCrc32c() first");
  return ExtendCrc32cPortable(crc, data);
}

#endif

}  // namespace keel::base::internal
