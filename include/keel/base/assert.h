// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Assertions for invariants: conditions that only a bug in keel (or in the code calling it against
// a documented REQUIRES) can break.
//
// keel has two error channels. A failure the caller can expect (bad input, I/O errors, corrupt
// data, a conflict) is returned as an absl::Status; see keel/base/status.h. A broken invariant is
// not something to recover from: the state is already wrong, and carrying on risks turning a bug
// into lost or corrupted data. So it stops the program at once, naming the file, the line and the
// condition.
//
//   KEEL_ASSERT(cond)            always checked, in every build mode.
//   KEEL_ASSERT(cond, message)   the same, with a message built from pieces, as keel::base::Cat.
//   KEEL_DCHECK(cond)            checked only in debug builds (without NDEBUG): for checks on hot
//   KEEL_DCHECK(cond, message)   paths that are too expensive to keep in release builds. The
//                                condition must still compile, and it is never evaluated in release
//                                builds, so it must not have side effects.
//
// Example:
//
//   void RingBuffer::Push(Item item) {
//     KEEL_ASSERT(size_ < capacity_, "push onto a full ring of ", capacity_);
//     KEEL_DCHECK(IsConsistent());
//     ...
//   }
//
// Never use these on user input: validate it and return absl::InvalidArgumentError instead.
#ifndef KEEL_BASE_ASSERT_H_
#define KEEL_BASE_ASSERT_H_

#include <string_view>

#include "keel/base/strings.h"

#define KEEL_ASSERT(cond, ...)                                              \
  (__builtin_expect(static_cast<bool>(cond), 1)                             \
       ? static_cast<void>(0)                                               \
       : ::keel::base::internal::AssertionFailed(__FILE__, __LINE__, #cond, \
                                                 ::keel::base::Cat(__VA_ARGS__)))

#ifdef NDEBUG
// The condition sits in an unevaluated operand: it must compile, but it costs nothing.
#define KEEL_DCHECK(cond, ...) static_cast<void>(sizeof(static_cast<bool>(cond)))
#else
#define KEEL_DCHECK(cond, ...) KEEL_ASSERT(cond __VA_OPT__(, ) __VA_ARGS__)
#endif

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------
namespace keel::base::internal {

// Prints "file:line: assertion failed: cond: message" to stderr and aborts.
[[noreturn]] void AssertionFailed(const char* file, int line, const char* condition,
                                  std::string_view message);

}  // namespace keel::base::internal

#endif  // KEEL_BASE_ASSERT_H_
