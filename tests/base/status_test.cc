// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/status.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>

namespace keel::base {
namespace {

absl::Status FailIf(bool fail) {
  return fail ? absl::NotFoundError("no such thing") : absl::OkStatus();
}

absl::StatusOr<int> ParseDigit(char c) {
  if (c < '0' || c > '9') return absl::InvalidArgumentError("not a digit");
  return c - '0';
}

absl::Status Check(bool fail, int* reached) {
  KEEL_RETURN_IF_ERROR(FailIf(fail));
  *reached = 1;
  return absl::OkStatus();
}

// Two assignments in one scope, into a new and into an existing variable.
absl::StatusOr<int> AddDigits(char a, char b) {
  KEEL_ASSIGN_OR_RETURN(const int x, ParseDigit(a));
  int y = 0;
  KEEL_ASSIGN_OR_RETURN(y, ParseDigit(b));
  return x + y;
}

absl::StatusOr<std::unique_ptr<int>> MakeBox(bool fail) {
  if (fail) return absl::ResourceExhaustedError("out of boxes");
  return std::make_unique<int>(7);
}

absl::StatusOr<int> Unbox(bool fail) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(fail));
  return *box;
}

TEST_CASE("KEEL_RETURN_IF_ERROR returns the error and continues on OK") {
  int reached = 0;
  CHECK(Check(false, &reached).ok());
  CHECK(reached == 1);
  reached = 0;
  const absl::Status status = Check(true, &reached);
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(status.message() == "no such thing");
  CHECK(reached == 0);
}

TEST_CASE("KEEL_ASSIGN_OR_RETURN assigns the value or returns the first error") {
  CHECK(*AddDigits('3', '4') == 7);
  CHECK(AddDigits('x', '4').status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(AddDigits('3', 'y').status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("KEEL_ASSIGN_OR_RETURN moves move-only values") {
  CHECK(*Unbox(false) == 7);
  CHECK(Unbox(true).status().code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("The macros evaluate their expression exactly once") {
  int calls = 0;
  auto counted = [&]() -> absl::StatusOr<int> {
    ++calls;
    return 1;
  };
  auto run = [&]() -> absl::Status {
    KEEL_ASSIGN_OR_RETURN(const int v, counted());
    KEEL_RETURN_IF_ERROR(v == 1 ? absl::OkStatus() : absl::InternalError("bad"));
    return absl::OkStatus();
  };
  CHECK(run().ok());
  CHECK(calls == 1);
}

}  // namespace
}  // namespace keel::base
