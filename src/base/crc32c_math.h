// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The arithmetic behind CRC32C, shared by the portable and the hardware implementations.
//
// A CRC is the remainder of the message, read as a polynomial over GF(2), divided by the
// generator P. keel's CRC32C is "reflected": bit 31 of a 32-bit word holds the coefficient of x^0
// and bit 0 the coefficient of x^31, so the constant 0x82F63B78 is the Castagnoli polynomial
// 0x1EDC6F41 with its bits reversed, and x^0 is 0x80000000.
//
// Two facts make everything here work:
//  - Feeding n zero bytes into a CRC register multiplies its value by x^(8n) mod P. With
//    MultModP and XPowBytes below, a register can be advanced past n bytes in O(log n) steps
//    without touching them. That is how CombineCrc32c joins two CRCs, and how the hardware path
//    joins three streams computed side by side.
//  - Advancing by a fixed number of zero bytes is linear over GF(2), so it can be tabulated one
//    register byte at a time: four lookups instead of a polynomial multiplication.
//
// Not installed: used only by src/base/crc32c*.cc.
#ifndef KEEL_SRC_BASE_CRC32C_MATH_H_
#define KEEL_SRC_BASE_CRC32C_MATH_H_

#include <array>
#include <cstdint>

namespace keel::base::internal {

inline constexpr uint32_t kCrc32cPolyReflected = 0x82F63B78u;

// x^0, the multiplicative identity, in the reflected representation.
inline constexpr uint32_t kXPow0 = 0x80000000u;

// Returns a * b mod P.
constexpr uint32_t MultModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  // Walk a's coefficients from x^0 upward while b runs through b*x^0, b*x^1, ... mod P.
  for (uint32_t bit = kXPow0; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kCrc32cPolyReflected : b >> 1;
  }
  return product;
}

// kXPow8Pow2[k] = x^(8 * 2^k) mod P: the factor that advances a register by 2^k bytes.
inline constexpr std::array<uint32_t, 64> kXPow8Pow2 = [] {
  std::array<uint32_t, 64> powers{};
  uint32_t p = kXPow0 >> 8;  // x^8
  for (uint32_t& power : powers) {
    power = p;
    p = MultModP(p, p);
  }
  return powers;
}();

// Returns x^(8 * n) mod P.
constexpr uint32_t XPowBytes(uint64_t n) {
  uint32_t result = kXPow0;
  for (int k = 0; n != 0; ++k, n >>= 1) {
    if (n & 1) result = MultModP(result, kXPow8Pow2[static_cast<size_t>(k)]);
  }
  return result;
}

// Advancing a register by a fixed number of zero bytes, one lookup per register byte.
struct Crc32cShiftTable {
  std::array<std::array<uint32_t, 256>, 4> by_byte;

  constexpr uint32_t Apply(uint32_t crc) const {
    return by_byte[0][crc & 0xff] ^ by_byte[1][(crc >> 8) & 0xff] ^ by_byte[2][(crc >> 16) & 0xff] ^
           by_byte[3][crc >> 24];
  }
};

constexpr Crc32cShiftTable MakeCrc32cShiftTable(uint64_t bytes) {
  const uint32_t factor = XPowBytes(bytes);
  Crc32cShiftTable table{};
  for (uint32_t k = 0; k < 4; ++k) {
    for (uint32_t b = 0; b < 256; ++b) {
      table.by_byte[k][b] = MultModP(factor, b << (8 * k));
    }
  }
  return table;
}

}  // namespace keel::base::internal

#endif  // KEEL_SRC_BASE_CRC32C_MATH_H_
