// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "hotel_reservation/replay.h"

#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples::hotel {
namespace {

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
                                                         const ServiceOptions& options) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<HotelService> service, HotelService::Open(dir, options));
  return std::unique_ptr<Replayer>(new Replayer(std::move(service)));
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
  KEEL_ASSIGN_OR_RETURN(const std::string result, service_->Execute(c));
  PutLine(out, line_number, key, result);
  return absl::OkStatus();
}

}  // namespace keel::examples::hotel
