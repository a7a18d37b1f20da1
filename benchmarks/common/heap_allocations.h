// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Counting the process's heap allocations, so that a benchmark can report allocations per message
// ("zero after warm-up" is one of the order book's floors). A binary that uses this links
// common/heap_allocations.cc, which replaces the global operator new and delete (the aligned forms
// too: keel's order book keeps cache-line-aligned orders) with counting versions over malloc.
#ifndef KEEL_BENCHMARKS_COMMON_HEAP_ALLOCATIONS_H_
#define KEEL_BENCHMARKS_COMMON_HEAP_ALLOCATIONS_H_

#include <cstddef>

namespace keel::bench {

// Calls to operator new so far, on every thread.
[[nodiscard]] size_t HeapAllocations();

}  // namespace keel::bench

#endif  // KEEL_BENCHMARKS_COMMON_HEAP_ALLOCATIONS_H_
