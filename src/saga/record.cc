// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "record.h"

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::saga::internal {
namespace {

void EncodeStepFields(const Record& record, std::string& out) {
  base::PutVarint32(out, record.step);
  out.push_back(static_cast<char>(record.phase));
  base::PutVarint32(out, record.attempt);
}

absl::Status ReadStepFields(base::Reader& in, Record& record) {
  KEEL_ASSIGN_OR_RETURN(record.step, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(uint8_t phase, in.ReadByte());
  if (phase > static_cast<uint8_t>(Phase::kCompensation)) {
    return absl::DataLossError(base::Cat("saga record has phase ", phase));
  }
  record.phase = static_cast<Phase>(phase);
  KEEL_ASSIGN_OR_RETURN(record.attempt, in.ReadVarint32());
  if (record.attempt == 0) return absl::DataLossError("saga record has attempt 0");
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadString(base::Reader& in) {
  KEEL_ASSIGN_OR_RETURN(std::string_view bytes, in.ReadLengthPrefixed());
  return std::string(bytes);
}

absl::Status DecodeBody(base::Reader& in, Record& record) {
  switch (record.kind) {
    case RecordKind::kStarted: {
      KEEL_ASSIGN_OR_RETURN(record.id, ReadString(in));
      KEEL_ASSIGN_OR_RETURN(record.definition, ReadString(in));
      KEEL_ASSIGN_OR_RETURN(record.steps, in.ReadVarint32());
      KEEL_ASSIGN_OR_RETURN(record.input, ReadString(in));
      return absl::OkStatus();
    }
    case RecordKind::kFailed: {
      KEEL_RETURN_IF_ERROR(ReadStepFields(in, record));
      KEEL_ASSIGN_OR_RETURN(uint8_t flags, in.ReadByte());
      if ((flags & ~(kFlagTimedOut | kFlagFinal)) != 0) {
        return absl::DataLossError(base::Cat("saga record has unknown flags ", flags));
      }
      record.timed_out = (flags & kFlagTimedOut) != 0;
      record.final = (flags & kFlagFinal) != 0;
      KEEL_ASSIGN_OR_RETURN(record.error_type, ReadString(in));
      KEEL_ASSIGN_OR_RETURN(record.message, ReadString(in));
      return absl::OkStatus();
    }
    case RecordKind::kSucceeded: {
      KEEL_RETURN_IF_ERROR(ReadStepFields(in, record));
      KEEL_ASSIGN_OR_RETURN(record.output, ReadString(in));
      return absl::OkStatus();
    }
    case RecordKind::kDismissed:
      return absl::OkStatus();
  }
  return absl::DataLossError(
      base::Cat("saga record has unknown kind ", static_cast<int>(record.kind)));
}

}  // namespace

void EncodeRecord(const Record& record, std::string& out) {
  out.push_back(static_cast<char>(record.kind));
  base::PutVarint64(out, record.seq);
  base::PutVarint64(out, base::ZigZagEncode64(record.time_ns));
  switch (record.kind) {
    case RecordKind::kStarted:
      base::PutLengthPrefixed(out, record.id);
      base::PutLengthPrefixed(out, record.definition);
      base::PutVarint32(out, record.steps);
      base::PutLengthPrefixed(out, record.input);
      break;
    case RecordKind::kFailed:
      EncodeStepFields(record, out);
      out.push_back(static_cast<char>((record.timed_out ? kFlagTimedOut : 0) |
                                      (record.final ? kFlagFinal : 0)));
      base::PutLengthPrefixed(out, record.error_type);
      base::PutLengthPrefixed(out, record.message);
      break;
    case RecordKind::kSucceeded:
      EncodeStepFields(record, out);
      base::PutLengthPrefixed(out, record.output);
      break;
    case RecordKind::kDismissed:
      break;
  }
}

absl::StatusOr<Record> DecodeRecord(std::string_view bytes) {
  base::Reader in(bytes);
  Record record;
  absl::Status status = [&]() -> absl::Status {
    KEEL_ASSIGN_OR_RETURN(uint8_t kind, in.ReadByte());
    if (kind < static_cast<uint8_t>(RecordKind::kStarted) ||
        kind > static_cast<uint8_t>(RecordKind::kDismissed)) {
      return absl::DataLossError(base::Cat("saga record has unknown kind ", kind));
    }
    record.kind = static_cast<RecordKind>(kind);
    KEEL_ASSIGN_OR_RETURN(record.seq, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(uint64_t time, in.ReadVarint64());
    record.time_ns = base::ZigZagDecode64(time);
    KEEL_RETURN_IF_ERROR(DecodeBody(in, record));
    return in.ExpectEnd();
  }();
  if (!status.ok()) {
    return absl::DataLossError(base::Cat("bad saga record: ", status.message()));
  }
  return record;
}

}  // namespace keel::saga::internal
