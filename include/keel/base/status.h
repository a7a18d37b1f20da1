// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Propagating expected failures.
//
// Everything in keel that can fail for a reason outside the program's control (bad input, an I/O
// error, corrupt bytes on disk, a conflicting request) returns absl::Status or absl::StatusOr<T>,
// with a message that names the bad value. Two macros keep the happy path readable:
//
//   KEEL_RETURN_IF_ERROR(expr)       evaluates `expr` (an absl::Status) and returns it from the
//                                    enclosing function if it is not OK.
//   KEEL_ASSIGN_OR_RETURN(lhs, expr) evaluates `expr` (an absl::StatusOr<T>); returns its status
//                                    if it is not OK, otherwise moves the value into `lhs`, which
//                                    may be a new declaration.
//
// The enclosing function must return absl::Status or absl::StatusOr<U> (a Status converts to
// either). Newer Abseil releases ship similar macros; Debian 12's Abseil (20220623) does not.
//
// Example:
//
//   absl::StatusOr<Header> ReadHeader(keel::base::Reader& in) {
//     KEEL_ASSIGN_OR_RETURN(uint32_t magic, in.ReadFixed32());
//     if (magic != kMagic) {
//       return absl::DataLossError(keel::base::Cat("bad magic 0x", absl::Hex(magic)));
//     }
//     Header header;
//     KEEL_ASSIGN_OR_RETURN(header.length, in.ReadVarint64());
//     KEEL_RETURN_IF_ERROR(CheckLength(header.length));
//     return header;
//   }
//
// Failures that only a bug can cause are not Statuses: see KEEL_ASSERT in keel/base/assert.h.
#ifndef KEEL_BASE_STATUS_H_
#define KEEL_BASE_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KEEL_RETURN_IF_ERROR(expr)                          \
  do {                                                      \
    ::absl::Status keel_status_internal_ = (expr);          \
    if (__builtin_expect(!keel_status_internal_.ok(), 0)) { \
      return keel_status_internal_;                         \
    }                                                       \
  } while (false)

// The temporary gets a name unique to the line, so that several KEEL_ASSIGN_OR_RETURNs can share a
// scope. The value is moved out, so `lhs` may be a move-only type.
#define KEEL_ASSIGN_OR_RETURN(lhs, expr) \
  KEEL_INTERNAL_ASSIGN_OR_RETURN(KEEL_INTERNAL_CONCAT(keel_statusor_, __LINE__), lhs, expr)

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------
#define KEEL_INTERNAL_CONCAT_INNER(a, b) a##b
#define KEEL_INTERNAL_CONCAT(a, b) KEEL_INTERNAL_CONCAT_INNER(a, b)

#define KEEL_INTERNAL_ASSIGN_OR_RETURN(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (__builtin_expect(!statusor.ok(), 0)) {                \
    return std::move(statusor).status();                    \
  }                                                         \
  lhs = *std::move(statusor)

#endif  // KEEL_BASE_STATUS_H_
