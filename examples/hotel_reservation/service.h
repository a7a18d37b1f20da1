// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// HotelService: the chapter's reservation service over its durable state. Every request that
// changes a reservation carries an idempotency key: a reservation's key is the reservation id
// the client generated, and the booking saga gives each of its steps a key of its own. The
// service keeps its bookings (hotel_reservation/bookings.h) in memory and every change on keel's
// durable idempotency store (keel/idempotency/durable_key_store.h), each keyed request's key,
// fields, outcome and effects in one log record, so that a retry never books or releases twice,
// even across a crash.
//
// Commands (hotel_reservation/commands.h):
//   I  set a night's inventory (no key: setting a value twice is harmless)
//   R  reserve a stay under its reservation id (the reservation is pending)
//   X  cancel the reservation named by reservation_key (pending: canceled; paid: refunded)
//   P  the booking saga's confirmation: the reservation was paid (pending to paid)
//   J  the booking saga's compensation: the charge failed (pending to rejected; rooms released)
//
// Execute changes the state in memory and logs it; Commit makes everything executed so far
// durable with one fsync. A caller answers its clients only after Commit returns.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto service, HotelService::Open("/var/lib/hotel"));
//   Command reserve{.kind = 'R', .key = "res-42", .hotel_id = 1, .room_type_id = 2,
//                   .start = day, .end = day + 2, .count = 1};
//   KEEL_ASSIGN_OR_RETURN(std::string result, service->Execute(reserve));  // "OK"
//   KEEL_RETURN_IF_ERROR(service->Commit());
//
// Thread safety: every method may be called from several threads; Execute runs one request at a
// time (the check of every night and the update of every night are one step), Commit may overlap.
#ifndef KEEL_EXAMPLES_HOTEL_RESERVATION_SERVICE_H_
#define KEEL_EXAMPLES_HOTEL_RESERVATION_SERVICE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "hotel_reservation/bookings.h"
#include "hotel_reservation/commands.h"
#include "keel/idempotency/durable_key_store.h"

namespace keel::examples::hotel {

struct ServiceOptions {
  // A checkpoint is written once the log has grown this much since the last one.
  uint64_t checkpoint_log_bytes = uint64_t{64} << 20;
  // The most keys remembered; they never expire (a repeat must always get its stored outcome).
  uint64_t max_keys = uint64_t{1} << 24;
  wal::FileSystem* file_system = nullptr;  // the operating system's when null
};

class HotelService {
 public:
  // Opens the state in `dir`, creating it if absent, and recovers it. Errors: those of
  // DurableKeyStore::Open (kUnavailable while another process has `dir` open).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HotelService>> Open(
      const std::string& dir, const ServiceOptions& options = {});

  // Executes a command and returns its result: an Outcome's name (OutcomeName), the stored one
  // for a repeated key, or "KEY_REUSED" for a key used with another command or other fields.
  // REQUIRES: the command is valid (ParseLine's kCommand, or built with values in range).
  // Errors: I/O (the state in memory may then be ahead of the disk: stop).
  [[nodiscard]] absl::StatusOr<std::string> Execute(const Command& command);

  // Makes every command executed so far durable, and writes a checkpoint when one is due.
  [[nodiscard]] absl::Status Commit();

  // Reads, under the service's lock.
  [[nodiscard]] std::optional<int64_t> Available(int64_t hotel_id, int64_t room_type_id, Day start,
                                                 Day end) const;
  [[nodiscard]] std::optional<Status> StatusOf(std::string_view reservation_id) const;
  [[nodiscard]] std::optional<InventoryRow> Row(const RoomNight& night) const;
  // Calls fn for every inventory row, sorted by hotel, room type and date, under the lock.
  void ForEachRow(const std::function<void(const RoomNight&, const InventoryRow&)>& fn) const;
  // A copy of the whole state, for checking invariants.
  [[nodiscard]] Bookings Snapshot() const;

 private:
  HotelService() = default;

  [[nodiscard]] absl::StatusOr<std::string> ExecuteLocked(const Command& command);

  mutable std::mutex mu_;
  Bookings bookings_;
  std::unique_ptr<idempotency::DurableKeyStore> store_;
  std::string fingerprint_;  // scratch, under mu_
  std::string effects_;      // scratch, under mu_
};

}  // namespace keel::examples::hotel

#endif  // KEEL_EXAMPLES_HOTEL_RESERVATION_SERVICE_H_
