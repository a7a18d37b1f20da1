// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CRC32C: the Castagnoli cyclic redundancy check, for catching damaged bytes.
//
// Every record keel writes to disk (write-ahead log entries, segment headers, snapshots) carries a
// CRC32C of its bytes, checked when it is read back. CRC32C rather than the older CRC-32 of zlib
// because its polynomial (0x1EDC6F41, Castagnoli et al., "Optimization of Cyclic Redundancy-Check
// Codes with 24 and 32 Parity Bits", IEEE Trans. Commun. 1993) detects more error patterns at the
// lengths storage uses, and because x86-64 (SSE4.2) and ARMv8 compute it in hardware. The
// parameters are those of iSCSI (RFC 3720, section 12.1 and appendix B.4): reflected input and
// output, initial value and final XOR 0xFFFFFFFF. So Crc32c("123456789") == 0xE3069283.
//
// On x86-64 CPUs with SSE4.2 (checked once, at run time) the CRC is computed with the crc32
// instruction over three interleaved streams, as in Intel's "Fast CRC Computation for iSCSI
// Polynomial Using CRC32 Instruction" (2011); elsewhere a portable slicing-by-8 table method is
// used (Kounavis and Berry, "Novel Table Lookup-Based Algorithms for High-Performance CRC
// Generation", IEEE Trans. Comput. 2008). Both give identical results.
//
// Example:
//
//   // Checksum a record as it is written...
//   uint32_t crc = keel::base::Crc32c(header);
//   crc = keel::base::ExtendCrc32c(crc, payload);      // == Crc32c(header + payload)
//   PutFixed32(out, keel::base::MaskCrc32c(crc));      // masked: see MaskCrc32c
//   // ...and check it when read back.
//   if (keel::base::UnmaskCrc32c(stored) != keel::base::Crc32c(bytes)) { /* damaged */ }
#ifndef KEEL_BASE_CRC32C_H_
#define KEEL_BASE_CRC32C_H_

#include <cstdint>
#include <string_view>

namespace keel::base {

// Returns the CRC32C of the concatenation of A and `data`, where `crc` is the CRC32C of A.
// ExtendCrc32c(0, data) is the CRC32C of `data` alone: 0 is the CRC32C of the empty string.
[[nodiscard]] uint32_t ExtendCrc32c(uint32_t crc, std::string_view data);

// Returns the CRC32C of `data`.
[[nodiscard]] inline uint32_t Crc32c(std::string_view data) { return ExtendCrc32c(0, data); }

// Returns the CRC32C of the concatenation A + B, given crc_a = Crc32c(A), crc_b = Crc32c(B) and
// the length of B, without the bytes of either. This lets CRCs of pieces computed apart (in
// parallel, or stored with each block) be joined. Takes O(log length_b) time.
[[nodiscard]] uint32_t CombineCrc32c(uint32_t crc_a, uint32_t crc_b, uint64_t length_b);

// Masking, for CRCs stored next to the data they cover.
//
// Computing the CRC of a byte string that itself contains CRCs is weak: the CRC of "data followed
// by its own CRC" is a constant, so a whole record could be replaced by another valid-looking one.
// A masked CRC (rotated right by 15 bits, plus a constant) breaks that relationship. The
// transformation is LevelDB's (util/crc32c.h), so keel's stored CRCs read the same way.
inline constexpr uint32_t kCrc32cMaskDelta = 0xa282ead8u;

[[nodiscard]] constexpr uint32_t MaskCrc32c(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kCrc32cMaskDelta;
}

[[nodiscard]] constexpr uint32_t UnmaskCrc32c(uint32_t masked_crc) {
  const uint32_t rotated = masked_crc - kCrc32cMaskDelta;
  return (rotated >> 17) | (rotated << 15);
}

// True when ExtendCrc32c uses the CPU's CRC32C instruction on this machine.
[[nodiscard]] bool Crc32cUsesHardware();

}  // namespace keel::base

#endif  // KEEL_BASE_CRC32C_H_
