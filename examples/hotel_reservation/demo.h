// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What the parts of `hotel_reservation demo` share.
#ifndef KEEL_EXAMPLES_HOTEL_RESERVATION_DEMO_H_
#define KEEL_EXAMPLES_HOTEL_RESERVATION_DEMO_H_

#include <string>
#include <string_view>

namespace keel::examples::hotel {

// The sections in demo_booking.cc: the concurrency approaches side by side on a hot room type,
// and the booking saga with a hostile payment provider and a crash mid-saga.
void Contention(bool short_run);
void BookingSagas(const std::string& work, bool short_run);

// Prints a section's title.
void Heading(std::string_view title);

// Prints why the demo failed and exits with status 1.
[[noreturn]] void Die(std::string_view why);

}  // namespace keel::examples::hotel

#endif  // KEEL_EXAMPLES_HOTEL_RESERVATION_DEMO_H_
