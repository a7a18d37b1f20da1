// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The two CRC32C implementations behind keel::base::ExtendCrc32c, exposed so that tests can check
// them against each other and benchmarks can measure them side by side. Not for users.
#ifndef KEEL_BASE_INTERNAL_CRC32C_INTERNAL_H_
#define KEEL_BASE_INTERNAL_CRC32C_INTERNAL_H_

#include <cstdint>
#include <string_view>

namespace keel::base::internal {

// Slicing-by-8 over lookup tables; runs on any CPU.
[[nodiscard]] uint32_t ExtendCrc32cPortable(uint32_t crc, std::string_view data);

// True when this CPU has an instruction ExtendCrc32cHardware can use (SSE4.2 on x86-64).
[[nodiscard]] bool HasHardwareCrc32c();

// The crc32 instruction over three interleaved streams.
// REQUIRES: HasHardwareCrc32c().
[[nodiscard]] uint32_t ExtendCrc32cHardware(uint32_t crc, std::string_view data);

}  // namespace keel::base::internal

#endif  // KEEL_BASE_INTERNAL_CRC32C_INTERNAL_H_
