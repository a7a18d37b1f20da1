// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Helpers shared by the shard tests.
//
//   CheckRefused(status, code, part)   the status is an error with `code` whose message holds
//                                      `part` (the bad value it names)
#ifndef KEEL_TESTS_SHARD_SHARD_TESTING_H_
#define KEEL_TESTS_SHARD_SHARD_TESTING_H_

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace keel::shard::testing {

inline void CheckRefused(const absl::Status& status, absl::StatusCode code, std::string_view part) {
  const std::string message(status.message());
  CHECK_MESSAGE(status.code() == code, status.ToString());
  CHECK_MESSAGE(message.find(part) != std::string::npos, "\"", part, "\" not in: ", message);
}

}  // namespace keel::shard::testing

#endif  // KEEL_TESTS_SHARD_SHARD_TESTING_H_
