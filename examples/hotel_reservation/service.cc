// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "hotel_reservation/service.h"

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples::hotel {
namespace {

// What a key is stored with: the command and its fields by value, so that "01" and "1" are the
// same request and any other difference is KEY_REUSED.
void Fingerprint(const Command& c, std::string& out) {
  out.clear();
  out.push_back(c.kind);
  if (c.kind != 'R') {
    out.append(c.reservation_key);
    return;
  }
  base::PutFixed64(out, static_cast<uint64_t>(c.hotel_id));
  base::PutFixed64(out, static_cast<uint64_t>(c.room_type_id));
  base::PutFixed32(out, static_cast<uint32_t>(c.start));
  base::PutFixed32(out, static_cast<uint32_t>(c.end));
  base::PutFixed64(out, static_cast<uint64_t>(c.count));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HotelService>> HotelService::Open(const std::string& dir,
                                                                 const ServiceOptions& options) {
  std::unique_ptr<HotelService> service(new HotelService());
  idempotency::DurableKeyStoreOptions store_options;
  store_options.keys.retention_ns = idempotency::kRetainForever;
  store_options.keys.max_keys = options.max_keys;
  store_options.keys.max_bytes = options.max_keys * 160;
  store_options.log.sync = wal::SyncPolicy::kNone;
  store_options.log.file_system = options.file_system;
  store_options.checkpoint_log_bytes = options.checkpoint_log_bytes;
  Bookings& bookings = service->bookings_;
  const idempotency::DurableKeyStore::Application app{
      .restore = [&bookings](std::string_view state) { return bookings.Restore(state); },
      .apply = [&bookings](std::string_view effects) { return bookings.Apply(effects); }};
  KEEL_ASSIGN_OR_RETURN(service->store_,
                        idempotency::DurableKeyStore::Open(dir, store_options, app));
  return service;
}

absl::StatusOr<std::string> HotelService::Execute(const Command& command) {
  std::lock_guard lock(mu_);
  return ExecuteLocked(command);
}

absl::StatusOr<std::string> HotelService::ExecuteLocked(const Command& c) {
  effects_.clear();
  if (c.kind == 'I') {
    bookings_.SetInventory({c.hotel_id, c.room_type_id, c.start}, c.count, &effects_);
    KEEL_RETURN_IF_ERROR(store_->LogEffects(effects_).status());
    return std::string(OutcomeName(Outcome::kOk));
  }
  Fingerprint(c, fingerprint_);
  KEEL_ASSIGN_OR_RETURN(idempotency::Claim claim, store_->Begin("", c.key, fingerprint_));
  if (claim.verdict == idempotency::Verdict::kInUse) {
    // Requests run one at a time, so the key's request completed, but its record is not durable
    // yet (it is in the batch since the last Commit): make it so, and its outcome can be told.
    KEEL_RETURN_IF_ERROR(store_->Sync());
    KEEL_ASSIGN_OR_RETURN(claim, store_->Begin("", c.key, fingerprint_));
  }
  switch (claim.verdict) {
    case idempotency::Verdict::kMismatch:
      return std::string("KEY_REUSED");
    case idempotency::Verdict::kReplay:
      return std::move(claim.outcome);
    case idempotency::Verdict::kInUse:
      return absl::InternalError(base::Cat("key ", base::Quoted(c.key), " stays in use"));
    case idempotency::Verdict::kExecute:
      break;
  }
  Outcome outcome;
  switch (c.kind) {
    case 'R':
      outcome = bookings_.Reserve(c.key, {c.hotel_id, c.room_type_id, c.start, c.end, c.count},
                                  &effects_);
      break;
    case 'X':
      outcome = bookings_.Cancel(c.reservation_key, &effects_);
      break;
    case 'P':
      outcome = bookings_.MarkPaid(c.reservation_key, &effects_);
      break;
    case 'J':
      outcome = bookings_.Reject(c.reservation_key, &effects_);
      break;
    default: {
      const absl::Status released = store_->Release(claim.ticket);
      if (!released.ok()) return released;
      return absl::InvalidArgumentError(
          base::Cat("unknown hotel command ", base::Quoted(std::string_view(&c.kind, 1))));
    }
  }
  const std::string_view name = OutcomeName(outcome);
  KEEL_RETURN_IF_ERROR(store_->Complete(claim.ticket, name, effects_).status());
  return std::string(name);
}

absl::Status HotelService::Commit() {
  KEEL_RETURN_IF_ERROR(store_->Sync());
  if (store_->ShouldCheckpoint()) {
    // A checkpoint must not overlap a change: it holds the service's lock while it writes.
    std::lock_guard lock(mu_);
    if (store_->ShouldCheckpoint()) KEEL_RETURN_IF_ERROR(store_->Checkpoint(bookings_.State()));
  }
  return absl::OkStatus();
}

std::optional<int64_t> HotelService::Available(int64_t hotel_id, int64_t room_type_id, Day start,
                                               Day end) const {
  std::lock_guard lock(mu_);
  return bookings_.Available(hotel_id, room_type_id, start, end);
}

std::optional<Status> HotelService::StatusOf(std::string_view reservation_id) const {
  std::lock_guard lock(mu_);
  return bookings_.StatusOf(reservation_id);
}

std::optional<InventoryRow> HotelService::Row(const RoomNight& night) const {
  std::lock_guard lock(mu_);
  const InventoryRow* row = bookings_.Row(night);
  return row == nullptr ? std::nullopt : std::optional<InventoryRow>(*row);
}

void HotelService::ForEachRow(
    const std::function<void(const RoomNight&, const InventoryRow&)>& fn) const {
  std::lock_guard lock(mu_);
  for (const auto& [night, row] : bookings_.inventory()) fn(night, row);
}

Bookings HotelService::Snapshot() const {
  std::lock_guard lock(mu_);
  return bookings_;
}

}  // namespace keel::examples::hotel
