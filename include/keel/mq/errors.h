// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The message queue's own errors, told apart by program rather than by message text.
//
// Every keel::mq failure is an absl::Status with the canonical code that says what a caller may
// do about it (kUnavailable: try again; kFailedPrecondition: not without changing something).
// Some failures need more than the code to act on: a producer must know whether its messages
// were appended before it was refused (NotEnoughReplicas: no; NotEnoughReplicasAfterAppend:
// yes), and that it was fenced by a newer instance of itself. Those statuses carry an Error as a
// payload, named after the Kafka error it corresponds to, and ErrorOf() reads it back:
//
//   Error                          code                  meaning
//   kNotEnoughReplicas             kUnavailable          acks=all refused before the append: the
//                                                        ISR is smaller than min_insync_replicas
//   kNotEnoughReplicasAfterAppend  kUnavailable          the messages are on the leader but the ISR
//                                                        shrank below min_insync_replicas before
//                                                        they were on all of it; they may commit
//   kProducerFenced                kFailedPrecondition   a newer epoch of this producer id exists:
//                                                        this instance is a zombie and must stop
//   kOutOfOrderSequence            kFailedPrecondition   a gap in an idempotent producer's
//                                                        sequence numbers (or a new epoch that did
//                                                        not start at 0)
//   kDuplicateSequence             kAlreadyExists        a retry of a batch appended too long ago
//                                                        for the partition to say where
//
// Example:
//
//   absl::StatusOr<keel::mq::ProduceResult> r = cluster->Produce("t", 0, batch, Acks::kAll);
//   if (keel::mq::ErrorOf(r.status()) == keel::mq::Error::kNotEnoughReplicas) {
//     // nothing was appended: safe to send again later, or elsewhere
//   }
#ifndef KEEL_MQ_ERRORS_H_
#define KEEL_MQ_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"

namespace keel::mq {

enum class Error {
  kNone,  // an OK status, or one without a keel::mq error payload
  kNotEnoughReplicas,
  kNotEnoughReplicasAfterAppend,
  kProducerFenced,
  kOutOfOrderSequence,
  kDuplicateSequence,
};

// The Error a status carries; kNone if it carries none.
[[nodiscard]] Error ErrorOf(const absl::Status& status);

// "NOT_ENOUGH_REPLICAS" and so on, as Kafka spells them; "NONE" for kNone.
[[nodiscard]] std::string_view ErrorName(Error error);

// A status with `code`, `message` and `error` as its payload. For keel::mq's own use, and for
// tests and simulations that stand in for it.
[[nodiscard]] absl::Status MakeError(absl::StatusCode code, Error error, std::string_view message);

}  // namespace keel::mq

#endif  // KEEL_MQ_ERRORS_H_
