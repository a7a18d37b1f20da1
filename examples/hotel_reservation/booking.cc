// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "hotel_reservation/booking.h"

#include "keel/base/coding.h"
#include "keel/base/strings.h"

namespace keel::examples::hotel {
namespace {

constexpr int64_t kMs = base::kNanosPerMilli;

// Runs a hotel command and makes it durable before the step answers.
void RunCommand(HotelService& service, const Command& command, const saga::Completion& done,
                bool is_hold) {
  absl::StatusOr<std::string> result = service.Execute(command);
  if (result.ok()) {
    if (absl::Status committed = service.Commit(); !committed.ok()) result = committed;
  }
  if (!result.ok()) {
    done.Done(saga::StepResult::Failure("HotelUnavailable", result.status().ToString()));
    return;
  }
  if (*result == "OK") {
    done.Done(saga::StepResult::Success());
  } else if (is_hold) {
    // Sold out, no inventory, or the id was used for another stay: holding again cannot help.
    done.Done(saga::StepResult::NonRetryableFailure(*result));
  } else {
    // A release or confirmation of a reservation that is no longer pending (or was never held)
    // has nothing left to do.
    done.Done(saga::StepResult::Success(*result));
  }
}

}  // namespace

std::string EncodeBooking(const BookingRequest& r) {
  std::string out;
  base::PutFixed64(out, static_cast<uint64_t>(r.hotel_id));
  base::PutFixed64(out, static_cast<uint64_t>(r.room_type_id));
  base::PutFixed32(out, static_cast<uint32_t>(r.start));
  base::PutFixed32(out, static_cast<uint32_t>(r.end));
  base::PutFixed64(out, static_cast<uint64_t>(r.rooms));
  base::PutFixed64(out, static_cast<uint64_t>(r.amount_cents));
  return out;
}

absl::StatusOr<BookingRequest> DecodeBooking(std::string_view input) {
  if (input.size() != 40) {
    return absl::InvalidArgumentError(
        base::Cat("a booking is 40 bytes, not ", input.size(), " (", base::Quoted(input), ")"));
  }
  const char* p = input.data();
  BookingRequest r;
  r.hotel_id = static_cast<int64_t>(base::DecodeFixed64(p));
  r.room_type_id = static_cast<int64_t>(base::DecodeFixed64(p + 8));
  r.start = static_cast<Day>(base::DecodeFixed32(p + 16));
  r.end = static_cast<Day>(base::DecodeFixed32(p + 20));
  r.rooms = static_cast<int64_t>(base::DecodeFixed64(p + 24));
  r.amount_cents = static_cast<int64_t>(base::DecodeFixed64(p + 32));
  if (r.hotel_id < 1 || r.room_type_id < 1 || r.end <= r.start || r.end - r.start > kMaxNights ||
      r.rooms < 1 || r.rooms > kMaxRoomsPerReservation || r.amount_cents < 0) {
    return absl::InvalidArgumentError(base::Cat("booking ", base::Quoted(input), " is invalid"));
  }
  return r;
}

saga::SagaDefinition BookingSaga(HotelService& service, PaymentProvider& provider) {
  saga::SagaDefinition booking;
  booking.name = std::string(kBookingSaga);
  booking.steps.push_back({
      .name = "hold rooms",
      .action =
          [&service](const saga::StepContext& c, saga::Completion done) {
            absl::StatusOr<BookingRequest> r = DecodeBooking(c.input);
            if (!r.ok()) {
              done.Done(saga::StepResult::NonRetryableFailure("BadBooking", r.status().ToString()));
              return;
            }
            // The reservation id (the saga's id) is the hold's idempotency key.
            RunCommand(
                service,
                ReserveCommand(c.saga_id, r->hotel_id, r->room_type_id, r->start, r->end, r->rooms),
                done, /*is_hold=*/true);
          },
      .compensation =
          [&service](const saga::StepContext& c, saga::Completion done) {
            RunCommand(service, StatusCommand('J', c.idempotency_key, c.saga_id), done,
                       /*is_hold=*/false);
          },
      .retry = {.initial_interval_ns = 5 * kMs, .maximum_attempts = 5},
      .timeout_ns = 2'000 * kMs,
  });
  booking.steps.push_back({
      .name = "charge guest",
      .action =
          [&provider](const saga::StepContext& c, saga::Completion done) {
            absl::StatusOr<BookingRequest> r = DecodeBooking(c.input);
            if (!r.ok()) {
              done.Done(saga::StepResult::NonRetryableFailure("BadBooking", r.status().ToString()));
              return;
            }
            provider.Charge(
                c.idempotency_key, c.saga_id, r->amount_cents, [done](ChargeAnswer answer) {
                  done.Done(answer == ChargeAnswer::kApproved
                                ? saga::StepResult::Success("charged")
                                : saga::StepResult::NonRetryableFailure("CardDeclined"));
                });
          },
      // Reached only when every attempt timed out: the charge may have been made, so refund the
      // action's key (a refund of a charge never made is nothing to do).
      .compensation =
          [&provider](const saga::StepContext& c, saga::Completion done) {
            provider.Refund(saga::IdempotencyKey(c.saga_id, c.step, saga::Phase::kAction));
            done.Done(saga::StepResult::Success());
          },
      .retry = {.initial_interval_ns = 5 * kMs,
                .backoff_coefficient = 2.0,
                .maximum_interval_ns = 80 * kMs,
                .maximum_attempts = 4,
                .jitter = 0.2},
      .timeout_ns = 100 * kMs,
      .pivot = true,
  });
  booking.steps.push_back({
      .name = "confirm",
      .action =
          [&service](const saga::StepContext& c, saga::Completion done) {
            RunCommand(service, StatusCommand('P', c.idempotency_key, c.saga_id), done,
                       /*is_hold=*/false);
          },
      .retry = {.initial_interval_ns = 5 * kMs, .maximum_attempts = 0},
      .timeout_ns = 2'000 * kMs,
  });
  return booking;
}

}  // namespace keel::examples::hotel
