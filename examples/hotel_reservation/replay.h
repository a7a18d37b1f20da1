// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Replayer: the `hotel_reservation replay` tool's engine. It judges command lines
// (hotel_reservation/commands.h) against the durable state of a HotelService
// (hotel_reservation/service.h): the bookings and, in keel's idempotency store, every reservation
// and cancellation key with its fields and outcome. A key's command, outcome and effects go into
// one log record, so a crash keeps all of them or none; replaying a file again after a crash prints
// each line's stored outcome instead of executing it twice, and gives exactly the output of one
// uninterrupted run. docs/hotel_reservation.md has the format and the rules.
//
// Lines are processed in batches: Process judges a line, changes the state in memory and logs
// it; Commit makes the whole batch durable with one fsync. The caller writes a batch's output
// only after Commit returns.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto replayer, Replayer::Open("/var/lib/hotel"));
//   std::string out;
//   KEEL_RETURN_IF_ERROR(replayer->Process(1, "I,1,1,2026-12-24,10", out));
//   KEEL_RETURN_IF_ERROR(replayer->Process(2, "R,res-1,1,1,2026-12-24,2026-12-26,2", out));
//   KEEL_RETURN_IF_ERROR(replayer->Commit());
//   std::fputs(out.c_str(), stdout);  // "1,-,OK\n2,res-1,NO_INVENTORY\n"
#ifndef KEEL_EXAMPLES_HOTEL_RESERVATION_REPLAY_H_
#define KEEL_EXAMPLES_HOTEL_RESERVATION_REPLAY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "hotel_reservation/service.h"

namespace keel::examples::hotel {

class Replayer {
 public:
  // Opens the state in `dir` (HotelService::Open).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Replayer>> Open(
      const std::string& dir, const ServiceOptions& options = {});

  // Judges line `line_number` and appends its output line, "<line>,<key>,<result>\n", to `out`.
  // Errors: I/O (the state in memory may then be ahead of the disk: stop).
  [[nodiscard]] absl::Status Process(uint64_t line_number, std::string_view line, std::string& out);

  // Makes every line processed so far durable, and writes a checkpoint when one is due.
  [[nodiscard]] absl::Status Commit() { return service_->Commit(); }

  [[nodiscard]] const HotelService& service() const { return *service_; }

 private:
  explicit Replayer(std::unique_ptr<HotelService> service) : service_(std::move(service)) {}

  std::unique_ptr<HotelService> service_;
};

}  // namespace keel::examples::hotel

#endif  // KEEL_EXAMPLES_HOTEL_RESERVATION_REPLAY_H_
