// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/errors.h"

#include <doctest/doctest.h>

#include <string>

namespace keel::mq {
namespace {

TEST_CASE("An error payload survives with the status and nothing else carries one") {
  for (const Error e :
       {Error::kNotEnoughReplicas, Error::kNotEnoughReplicasAfterAppend, Error::kProducerFenced,
        Error::kOutOfOrderSequence, Error::kDuplicateSequence}) {
    CAPTURE(ErrorName(e));
    const absl::Status status = MakeError(absl::StatusCode::kUnavailable, e, "why");
    CHECK(ErrorOf(status) == e);
    CHECK(status.code() == absl::StatusCode::kUnavailable);
    CHECK(status.message() == "why");
    const absl::Status copy = status;  // NOLINT: copies keep the payload
    CHECK(ErrorOf(copy) == e);
    CHECK(status.ToString().find(ErrorName(e)) != std::string::npos);  // shown when printed
  }
  CHECK(ErrorOf(absl::OkStatus()) == Error::kNone);
  CHECK(ErrorOf(absl::UnavailableError("no payload")) == Error::kNone);
  absl::Status foreign = absl::UnavailableError("x");
  foreign.SetPayload("type.keel.dev/keel.mq.Error", absl::Cord("SOMETHING_ELSE"));
  CHECK(ErrorOf(foreign) == Error::kNone);
  CHECK(ErrorName(Error::kNotEnoughReplicas) == "NOT_ENOUGH_REPLICAS");
}

}  // namespace
}  // namespace keel::mq
