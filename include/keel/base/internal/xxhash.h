// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Includes xxHash in its inline mode (XXH_INLINE_ALL): every xxHash function becomes a static
// inline function under a private prefix (XXH_INLINE_*), so that hashing a short key compiles to
// a handful of instructions instead of a call into libxxhash, and keel needs only xxHash's header.
// xxHash documents this mode as safe to combine with a normal #include <xxhash.h> elsewhere.
#ifndef KEEL_BASE_INTERNAL_XXHASH_H_
#define KEEL_BASE_INTERNAL_XXHASH_H_

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#define KEEL_INTERNAL_XXH_INLINE_ALL_DEFINED
#endif

#include <xxhash.h>

#ifdef KEEL_INTERNAL_XXH_INLINE_ALL_DEFINED
#undef XXH_INLINE_ALL
#undef KEEL_INTERNAL_XXH_INLINE_ALL_DEFINED
#endif

#endif  // KEEL_BASE_INTERNAL_XXHASH_H_
