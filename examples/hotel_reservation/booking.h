// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The booking saga: the chapter's answer to a reservation and its payment living in different
// services, each with its own database. A booking is three local transactions, run in order by
// keel's saga orchestrator (keel/saga/orchestrator.h):
//
//   1. hold rooms      the hotel service reserves the stay (pending). Compensation: reject it,
//                      which releases the rooms.
//   2. charge guest    the payment provider charges the card. The pivot: once the money is
//                      taken the booking only goes forward. Declined: the saga compensates (the
//                      rooms are released, nothing is charged). No answer: retried with the same
//                      idempotency key, so the provider charges once; if every attempt times out,
//                      the charge may have been made, and its compensation refunds it.
//   3. confirm         the hotel service marks the reservation paid; retried until it succeeds.
//
// The saga's id is the reservation id, which is also the hold's idempotency key; the later steps
// use the orchestrator's per-step keys. Each participant makes its change durable before it
// answers, so that a step the orchestrator logged as done survives a crash of either side.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto sagas, keel::saga::Orchestrator::Open(
//                                         options, {BookingSaga(service, psp)}));
//   keel::saga::Driver driver(*sagas);
//   KEEL_RETURN_IF_ERROR(sagas->Start("res-1", kBookingSaga, EncodeBooking(request)));
#ifndef KEEL_EXAMPLES_HOTEL_RESERVATION_BOOKING_H_
#define KEEL_EXAMPLES_HOTEL_RESERVATION_BOOKING_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "hotel_reservation/payment_provider.h"
#include "hotel_reservation/service.h"
#include "keel/saga/definition.h"

namespace keel::examples::hotel {

inline constexpr std::string_view kBookingSaga = "booking";

struct BookingRequest {
  int64_t hotel_id = 0;
  int64_t room_type_id = 0;
  Day start = 0;
  Day end = 0;
  int64_t rooms = 0;
  int64_t amount_cents = 0;
};

// The saga's input, and back (kInvalidArgument for bytes that are not one).
[[nodiscard]] std::string EncodeBooking(const BookingRequest& request);
[[nodiscard]] absl::StatusOr<BookingRequest> DecodeBooking(std::string_view input);

// The saga's definition over `service` and `provider`, which must outlive the orchestrator that
// runs it.
[[nodiscard]] saga::SagaDefinition BookingSaga(HotelService& service, PaymentProvider& provider);

}  // namespace keel::examples::hotel

#endif  // KEEL_EXAMPLES_HOTEL_RESERVATION_BOOKING_H_
