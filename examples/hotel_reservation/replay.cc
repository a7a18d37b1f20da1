// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "hotel_reservation/replay.h"

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
  if (c.kind == 'X') {
    out.append(c.reservation_key);
    return;
  }
  base::PutFixed64(out, static_cast<uint64_t>(c.hotel_id));
  base::PutFixed64(out, static_cast<uint64_t>(c.room_type_id));
  base::PutFixed32(out, static_cast<uint32_t>(c.start));
  base::PutFixed32(out, static_cast<uint32_t>(c.end));
  base::PutFixed64(out, static_cast<uint64_t>(c.count));
}

void PutLine(std::string& out, uint64_t line_number, std::string_view key,
             std::string_view result) {
  out.append(std::to_string(line_number));
  out.push_back(',');
  out.append(key);
  out.push_back(',');
  out.append(result);
  out.push_back('\n');
}

}  // namespace

absl::StatusOr<std::unique_ptr<Replayer>> Replayer::Open(const std::string& dir,
                                                         const ReplayOptions& options) {
  std::unique_ptr<Replayer> replayer(new Replayer());
  idempotency::DurableKeyStoreOptions store_options;
  store_options.keys.retention_ns = idempotency::kRetainForever;
  store_options.keys.max_keys = options.max_keys;
  store_options.keys.max_bytes = options.max_keys * 160;
  store_options.log.sync = wal::SyncPolicy::kNone;
  store_options.log.file_system = options.file_system;
  store_options.checkpoint_log_bytes = options.checkpoint_log_bytes;
  Bookings& bookings = replayer->bookings_;
  const idempotency::DurableKeyStore::Application app{
      .restore = [&bookings](std::string_view state) { return bookings.Restore(state); },
      .apply = [&bookings](std::string_view effects) { return bookings.Apply(effects); }};
  KEEL_ASSIGN_OR_RETURN(replayer->store_,
                        idempotency::DurableKeyStore::Open(dir, store_options, app));
  return replayer;
}

absl::StatusOr<std::string_view> Replayer::Execute(const Command& c) {
  effects_.clear();
  if (c.kind == 'I') {
    bookings_.SetInventory({c.hotel_id, c.room_type_id, c.start}, c.count, &effects_);
    KEEL_RETURN_IF_ERROR(store_->LogEffects(effects_).status());
    return OutcomeName(Outcome::kOk);
  }
  Fingerprint(c, fingerprint_);
  KEEL_ASSIGN_OR_RETURN(idempotency::Claim claim, store_->Begin("", c.key, fingerprint_));
  if (claim.verdict == idempotency::Verdict::kInUse) {
    // The key was completed earlier in this batch, which is not durable yet: make it so, and
    // its outcome can be told.
    KEEL_RETURN_IF_ERROR(store_->Sync());
    KEEL_ASSIGN_OR_RETURN(claim, store_->Begin("", c.key, fingerprint_));
  }
  switch (claim.verdict) {
    case idempotency::Verdict::kMismatch:
      return "KEY_REUSED";
    case idempotency::Verdict::kReplay:
      outcome_ = std::move(claim.outcome);
      return outcome_;
    case idempotency::Verdict::kInUse:
      return absl::InternalError(base::Cat("key ", base::Quoted(c.key), " stays in use"));
    case idempotency::Verdict::kExecute:
      break;
  }
  const Outcome outcome =
      c.kind == 'R' ? bookings_.Reserve(
                          c.key, {c.hotel_id, c.room_type_id, c.start, c.end, c.count}, &effects_)
                    : bookings_.Cancel(c.reservation_key, &effects_);
  const std::string_view name = OutcomeName(outcome);
  KEEL_RETURN_IF_ERROR(store_->Complete(claim.ticket, name, effects_).status());
  return name;
}

absl::Status Replayer::Process(uint64_t line_number, std::string_view line, std::string& out) {
  const ParsedLine parsed = ParseLine(line);
  const Command& c = parsed.command;
  const std::string_view key = c.kind == 'I' ? std::string_view("-") : c.key;
  switch (parsed.verdict) {
    case Verdict::kMalformed:
      PutLine(out, line_number, "-", "MALFORMED");
      return absl::OkStatus();
    case Verdict::kInvalid:
      PutLine(out, line_number, key, "INVALID");
      return absl::OkStatus();
    case Verdict::kCommand:
      break;
  }
  KEEL_ASSIGN_OR_RETURN(const std::string_view result, Execute(c));
  PutLine(out, line_number, key, result);
  return absl::OkStatus();
}

absl::Status Replayer::Commit() {
  KEEL_RETURN_IF_ERROR(store_->Sync());
  if (store_->ShouldCheckpoint()) KEEL_RETURN_IF_ERROR(store_->Checkpoint(bookings_.State()));
  return absl::OkStatus();
}

}  // namespace keel::examples::hotel
