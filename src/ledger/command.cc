// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The bytes of a command and of its results (command.h has the grammar).
#include "keel/ledger/command.h"

#include "keel/base/coding.h"
#include "keel/base/strings.h"
#include "record_bytes.h"

namespace keel::ledger {
namespace {

constexpr uint8_t kVersion = 1;
static_assert(sizeof(Account) == kRecordBytes && sizeof(Transfer) == kRecordBytes);

bool KnownKind(uint8_t kind) {
  return kind >= static_cast<uint8_t>(CommandKind::kCreateAccounts) &&
         kind <= static_cast<uint8_t>(CommandKind::kExpirePendingTransfers);
}

}  // namespace

std::string EncodeCommand(const Command& command) {
  const size_t count = command.kind == CommandKind::kCreateAccounts    ? command.accounts.size()
                       : command.kind == CommandKind::kCreateTransfers ? command.transfers.size()
                                                                       : 0;
  std::string out;
  out.reserve(kCommandHeaderBytes + count * kRecordBytes);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(command.kind));
  base::PutFixed16(out, 0);
  base::PutFixed32(out, static_cast<uint32_t>(count));
  base::PutFixed64(out, command.timestamp);
  if (command.kind == CommandKind::kCreateAccounts) {
    for (const Account& a : command.accounts) internal::PutRow(out, a);
  } else if (command.kind == CommandKind::kCreateTransfers) {
    for (const Transfer& t : command.transfers) internal::PutRow(out, t);
  }
  return out;
}

absl::StatusOr<Command> DecodeCommand(std::string_view bytes) {
  if (bytes.size() < kCommandHeaderBytes) {
    return absl::InvalidArgumentError(
        base::Cat("a ledger command of ", bytes.size(), " bytes is shorter than its header"));
  }
  const auto version = static_cast<uint8_t>(bytes[0]);
  const auto kind = static_cast<uint8_t>(bytes[1]);
  const uint16_t reserved = base::DecodeFixed16(bytes.data() + 2);
  const uint32_t count = base::DecodeFixed32(bytes.data() + 4);
  if (version != kVersion) {
    return absl::InvalidArgumentError(
        base::Cat("ledger command version ", version, " is not ", kVersion));
  }
  if (!KnownKind(kind)) {
    return absl::InvalidArgumentError(base::Cat("ledger command kind ", kind, " is unknown"));
  }
  if (reserved != 0) {
    return absl::InvalidArgumentError(
        base::Cat("ledger command reserved field is ", reserved, ", not 0"));
  }
  if (count > kBatchMax) {
    return absl::InvalidArgumentError(
        base::Cat("ledger command of ", count, " events is over the limit of ", kBatchMax));
  }
  Command command;
  command.kind = static_cast<CommandKind>(kind);
  command.timestamp = base::DecodeFixed64(bytes.data() + 8);
  if (command.kind == CommandKind::kExpirePendingTransfers && count != 0) {
    return absl::InvalidArgumentError(
        base::Cat("an expiry command carries ", count, " records; it takes none"));
  }
  const size_t expected = kCommandHeaderBytes + size_t{count} * kRecordBytes;
  if (bytes.size() != expected) {
    return absl::InvalidArgumentError(base::Cat("ledger command of ", count, " records is ",
                                                bytes.size(), " bytes, not ", expected));
  }
  const char* p = bytes.data() + kCommandHeaderBytes;
  if (command.kind == CommandKind::kCreateAccounts) {
    command.accounts.reserve(count);
    for (uint32_t i = 0; i < count; ++i, p += kRecordBytes) {
      command.accounts.push_back(internal::GetRow<Account>(p));
    }
  } else if (command.kind == CommandKind::kCreateTransfers) {
    command.transfers.reserve(count);
    for (uint32_t i = 0; i < count; ++i, p += kRecordBytes) {
      command.transfers.push_back(internal::GetRow<Transfer>(p));
    }
  }
  return command;
}

std::string EncodeCommandResult(CommandKind kind, const CommandResult& result) {
  std::string out;
  const size_t count = kind == CommandKind::kCreateAccounts    ? result.accounts.size()
                       : kind == CommandKind::kCreateTransfers ? result.transfers.size()
                                                               : 0;
  out.push_back(static_cast<char>(kind));
  base::PutFixed32(out, static_cast<uint32_t>(count));
  base::PutFixed32(out, result.expired);
  if (kind == CommandKind::kCreateAccounts) {
    for (const auto& r : result.accounts) {
      base::PutFixed32(out, r.index);
      base::PutFixed32(out, static_cast<uint32_t>(r.result));
    }
  } else if (kind == CommandKind::kCreateTransfers) {
    for (const auto& r : result.transfers) {
      base::PutFixed32(out, r.index);
      base::PutFixed32(out, static_cast<uint32_t>(r.result));
    }
  }
  return out;
}

absl::StatusOr<CommandResult> DecodeCommandResult(std::string_view bytes) {
  if (bytes.size() < 9) {
    return absl::InvalidArgumentError(
        base::Cat("a ledger command result of ", bytes.size(), " bytes is shorter than 9"));
  }
  const auto kind = static_cast<uint8_t>(bytes[0]);
  const uint32_t count = base::DecodeFixed32(bytes.data() + 1);
  if (!KnownKind(kind)) {
    return absl::InvalidArgumentError(base::Cat("ledger result kind ", kind, " is unknown"));
  }
  if (count > kBatchMax || bytes.size() != 9 + size_t{count} * 8 ||
      (kind == static_cast<uint8_t>(CommandKind::kExpirePendingTransfers) && count != 0)) {
    return absl::InvalidArgumentError(base::Cat("a ledger command result of ", count,
                                                " entries does not fit its ", bytes.size(),
                                                " bytes"));
  }
  CommandResult result;
  result.expired = base::DecodeFixed32(bytes.data() + 5);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t index = base::DecodeFixed32(bytes.data() + 9 + size_t{i} * 8);
    const uint32_t code = base::DecodeFixed32(bytes.data() + 13 + size_t{i} * 8);
    if (kind == static_cast<uint8_t>(CommandKind::kCreateAccounts)) {
      const auto r = static_cast<CreateAccountResult>(code);
      if (code > UINT16_MAX || ResultName(r) == "unknown") {
        return absl::InvalidArgumentError(base::Cat("account result code ", code, " is unknown"));
      }
      result.accounts.push_back({index, r});
    } else {
      const auto r = static_cast<CreateTransferResult>(code);
      if (code > UINT16_MAX || ResultName(r) == "unknown") {
        return absl::InvalidArgumentError(base::Cat("transfer result code ", code, " is unknown"));
      }
      result.transfers.push_back({index, r});
    }
  }
  return result;
}

}  // namespace keel::ledger
