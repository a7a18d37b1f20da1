// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Prefetch: asks the CPU to bring a cache line in, without waiting for it.
//
// Why not __builtin_prefetch alone: GCC 12 at -O2 deletes some of them as dead code (seen on the
// ledger's id index, where every prefetch of a hash table entry vanished from the binary; a
// standalone test measured no gain until the instruction was forced). On x86-64 the instruction
// is written as volatile assembly, which the optimizer must keep; elsewhere the builtin is used.
#ifndef KEEL_BASE_INTERNAL_PREFETCH_H_
#define KEEL_BASE_INTERNAL_PREFETCH_H_

namespace keel::base::internal {

// Prefetches the line holding `address` into every cache level, for a read soon.
inline void Prefetch(const void* address) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(address)));
#else
  __builtin_prefetch(address);
#endif
}

}  // namespace keel::base::internal

#endif  // KEEL_BASE_INTERNAL_PREFETCH_H_
