// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The portable CRC32C (slicing-by-8), CombineCrc32c, and the choice between the portable and
// the hardware path.
#include "keel/base/crc32c.h"

#include <array>
#include <cstring>

#include "crc32c_math.h"
#include "keel/base/internal/crc32c_internal.h"

namespace keel::base {
namespace internal {
namespace {

// kSlicing[k][b] is the register after feeding byte b followed by k zero bytes into a zero
// register. Slicing-by-8 consumes eight bytes with eight independent lookups, one per table.
constexpr std::array<std::array<uint32_t, 256>, 8> kSlicing = [] {
  std::array<std::array<uint32_t, 256>, 8> tables{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 1) ? (crc >> 1) ^ kCrc32cPolyReflected : crc >> 1;
    tables[0][b] = crc;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (uint32_t b = 0; b < 256; ++b) {
      const uint32_t prev = tables[k - 1][b];
      tables[k][b] = (prev >> 8) ^ tables[0][prev & 0xff];
    }
  }
  return tables;
}();

uint32_t LoadLittleEndian32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

uint32_t ExtendCrc32cPortable(uint32_t crc, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint32_t l = ~crc;
  for (; n >= 8; p += 8, n -= 8) {
    const uint32_t lo = l ^ LoadLittleEndian32(p);
    const uint32_t hi = LoadLittleEndian32(p + 4);
    l = kSlicing[7][lo & 0xff] ^ kSlicing[6][(lo >> 8) & 0xff] ^ kSlicing[5][(lo >> 16) & 0xff] ^
        kSlicing[4][lo >> 24] ^ kSlicing[3][hi & 0xff] ^ kSlicing[2][(hi >> 8) & 0xff] ^
        kSlicing[1][(hi >> 16) & 0xff] ^ kSlicing[0][hi >> 24];
  }
  for (; n > 0; ++p, --n) l = kSlicing[0][(l ^ *p) & 0xff] ^ (l >> 8);
  return ~l;
}

}  // namespace internal

namespace {

using ExtendFn = uint32_t (*)(uint32_t, std::string_view);

ExtendFn ChooseExtend() {
  return internal::HasHardwareCrc32c() ? &internal::ExtendCrc32cHardware
                                       : &internal::ExtendCrc32cPortable;
}

// Chosen on first use rather than during static initialisation, so that a CRC computed from
// another translation unit's static initialiser still finds the choice made.
ExtendFn Extend() {
  static const ExtendFn extend = ChooseExtend();
  return extend;
}

}  // namespace

uint32_t ExtendCrc32c(uint32_t crc, std::string_view data) { return Extend()(crc, data); }

bool Crc32cUsesHardware() { return Extend() == &internal::ExtendCrc32cHardware; }

uint32_t CombineCrc32c(uint32_t crc_a, uint32_t crc_b, uint64_t length_b) {
  // With the initial and final XORs of both CRCs, the constants cancel and
  // crc(A + B) = crc(A) * x^(8 |B|) + crc(B)   (mod P).
  return internal::MultModP(internal::XPowBytes(length_b), crc_a) ^ crc_b;
}

}  // namespace keel::base
