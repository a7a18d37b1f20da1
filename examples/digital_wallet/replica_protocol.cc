// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/replica_protocol.h"

#include <algorithm>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "absl/strings/numbers.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples::wallet {

namespace {

using ledger::Uint128;

constexpr std::string_view kAccountFields[] = {"id",
                                               "debits_pending",
                                               "debits_posted",
                                               "credits_pending",
                                               "credits_posted",
                                               "user_data_128",
                                               "user_data_64",
                                               "user_data_32",
                                               "reserved",
                                               "ledger",
                                               "code",
                                               "flags",
                                               "timestamp"};
constexpr std::string_view kTransferFields[] = {"id",
                                                "debit_account_id",
                                                "credit_account_id",
                                                "amount",
                                                "pending_id",
                                                "user_data_128",
                                                "user_data_64",
                                                "user_data_32",
                                                "timeout",
                                                "ledger",
                                                "code",
                                                "flags",
                                                "timestamp"};
constexpr std::string_view kPositionFields[] = {"commands", "hash",      "last_timestamp",
                                                "accounts", "transfers", "pending"};

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Writes name, value pairs.
class FieldWriter {
 public:
  FieldWriter(net::RespWriter& writer, size_t fields) : writer_(writer) {
    writer_.ArrayHeader(2 * fields);
  }
  void Put(std::string_view name, Uint128 value) {
    writer_.BulkString(name);
    writer_.BulkString(ledger::DecimalString(value));
  }

 private:
  net::RespWriter& writer_;
};

// Reads the name, value pairs of one record, each name checked against the expected one.
class FieldReader {
 public:
  FieldReader(const net::RespValue& value, std::string_view what,
              std::span<const std::string_view> names)
      : value_(value), what_(what), names_(names) {}

  absl::Status CheckShape() const {
    if (value_.type != net::RespValue::Type::kArray ||
        value_.elements.size() != 2 * names_.size()) {
      return absl::InvalidArgumentError(base::Cat("a ", what_, " is an array of ",
                                                  2 * names_.size(), " fields and values, not ",
                                                  base::Quoted(value_.DebugString())));
    }
    for (const net::RespValue& element : value_.elements) {
      if (element.type != net::RespValue::Type::kBulkString) {
        return absl::InvalidArgumentError(base::Cat("a ", what_, " field or value ",
                                                    base::Quoted(element.DebugString()),
                                                    " is not a bulk string"));
      }
    }
    return absl::OkStatus();
  }

  // The next field, which must be names_[next_], as a number up to T's maximum.
  template <typename T>
  absl::Status Read(T& out) {
    const std::string_view name = names_[next_];
    const std::string& got = value_.elements[2 * next_].text;
    const std::string& text = value_.elements[2 * next_ + 1].text;
    ++next_;
    if (got != name) {
      return absl::InvalidArgumentError(
          base::Cat("a ", what_, " has field ", base::Quoted(got), " where ", name, " belongs"));
    }
    KEEL_ASSIGN_OR_RETURN(const Uint128 value, ParseUint128(text));
    if constexpr (std::is_same_v<T, Uint128>) {
      out = value;
    } else {
      if (value > Uint128(std::numeric_limits<T>::max())) {
        return absl::InvalidArgumentError(
            base::Cat("a ", what_, "'s ", name, " ", text, " is past its width"));
      }
      out = static_cast<T>(value);
    }
    return absl::OkStatus();
  }

 private:
  const net::RespValue& value_;
  std::string_view what_;
  std::span<const std::string_view> names_;
  size_t next_ = 0;
};

}  // namespace

std::string ExecuteRequest(std::string_view command) {
  std::string out;
  out.reserve(command.size() + 48);
  const std::string_view args[] = {"LEDGER.EXECUTE", command};
  net::AppendCommand(out, args);
  return out;
}

absl::Status CheckCommandHeader(std::string_view command) {
  if (command.size() < ledger::kCommandHeaderBytes) {
    return absl::InvalidArgumentError(
        base::Cat("a ledger command of ", command.size(), " bytes is shorter than its header"));
  }
  const auto version = static_cast<uint8_t>(command[0]);
  const auto kind = static_cast<uint8_t>(command[1]);
  const uint16_t reserved = base::DecodeFixed16(command.data() + 2);
  const uint32_t count = base::DecodeFixed32(command.data() + 4);
  if (version != 1) {
    return absl::InvalidArgumentError(base::Cat("ledger command version ", version, " is not 1"));
  }
  if (kind < static_cast<uint8_t>(ledger::CommandKind::kCreateAccounts) ||
      kind > static_cast<uint8_t>(ledger::CommandKind::kExpirePendingTransfers)) {
    return absl::InvalidArgumentError(base::Cat("ledger command kind ", kind, " is unknown"));
  }
  if (reserved != 0) {
    return absl::InvalidArgumentError(
        base::Cat("ledger command reserved field is ", reserved, ", not 0"));
  }
  if (count > ledger::kBatchMax) {
    return absl::InvalidArgumentError(
        base::Cat("ledger command of ", count, " events is over the limit of ", ledger::kBatchMax));
  }
  const size_t expected = ledger::kCommandHeaderBytes + size_t{count} * ledger::kRecordBytes;
  if (command.size() != expected) {
    return absl::InvalidArgumentError(base::Cat("ledger command of ", count, " records is ",
                                                command.size(), " bytes, not ", expected));
  }
  return absl::OkStatus();
}

void WriteExecuteReply(net::RespWriter& writer, uint64_t timestamp, ledger::CommandKind kind,
                       const ledger::CommandResult& result) {
  std::string bytes;
  base::PutFixed64(bytes, timestamp);
  bytes += ledger::EncodeCommandResult(kind, result);
  writer.BulkString(bytes);
}

ReplyClass Classify(const net::RespValue& reply) {
  if (reply.type != net::RespValue::Type::kError) return ReplyClass::kAnswered;
  const std::string_view text = reply.text;
  if (StartsWith(text, "TRYAGAIN") || StartsWith(text, "CLUSTERDOWN") || StartsWith(text, "BUSY")) {
    return ReplyClass::kRetry;
  }
  return ReplyClass::kRefused;
}

absl::StatusOr<ExecuteReply> ParseExecuteReply(const net::RespValue& reply) {
  if (reply.type != net::RespValue::Type::kBulkString || reply.text.size() < 8) {
    return absl::InvalidArgumentError(base::Cat("LEDGER.EXECUTE answered ",
                                                base::Quoted(reply.DebugString()),
                                                ", not a timestamp and results"));
  }
  ExecuteReply out;
  out.timestamp = base::DecodeFixed64(reply.text.data());
  KEEL_ASSIGN_OR_RETURN(out.result,
                        ledger::DecodeCommandResult(std::string_view(reply.text).substr(8)));
  return out;
}

void WriteError(net::RespWriter& writer, const absl::Status& status) {
  const char* code = absl::IsDeadlineExceeded(status)    ? "-TRYAGAIN "
                     : absl::IsResourceExhausted(status) ? "-BUSY "
                     : absl::IsUnavailable(status) || absl::IsFailedPrecondition(status) ||
                             absl::IsCancelled(status)
                         ? "-CLUSTERDOWN "
                         : "-ERR ";
  std::string message(status.message());
  std::replace(message.begin(), message.end(), '\r', ' ');
  std::replace(message.begin(), message.end(), '\n', ' ');
  writer.Error(base::Cat(code, message));
}

void WriteAccount(net::RespWriter& writer, const ledger::Account& a) {
  FieldWriter out(writer, std::size(kAccountFields));
  out.Put("id", a.id);
  out.Put("debits_pending", a.debits_pending);
  out.Put("debits_posted", a.debits_posted);
  out.Put("credits_pending", a.credits_pending);
  out.Put("credits_posted", a.credits_posted);
  out.Put("user_data_128", a.user_data_128);
  out.Put("user_data_64", a.user_data_64);
  out.Put("user_data_32", a.user_data_32);
  out.Put("reserved", a.reserved);
  out.Put("ledger", a.ledger);
  out.Put("code", a.code);
  out.Put("flags", a.flags);
  out.Put("timestamp", a.timestamp);
}

void WriteTransfer(net::RespWriter& writer, const ledger::Transfer& t) {
  FieldWriter out(writer, std::size(kTransferFields));
  out.Put("id", t.id);
  out.Put("debit_account_id", t.debit_account_id);
  out.Put("credit_account_id", t.credit_account_id);
  out.Put("amount", t.amount);
  out.Put("pending_id", t.pending_id);
  out.Put("user_data_128", t.user_data_128);
  out.Put("user_data_64", t.user_data_64);
  out.Put("user_data_32", t.user_data_32);
  out.Put("timeout", t.timeout);
  out.Put("ledger", t.ledger);
  out.Put("code", t.code);
  out.Put("flags", t.flags);
  out.Put("timestamp", t.timestamp);
}

absl::StatusOr<ledger::Account> ParseAccount(const net::RespValue& value) {
  FieldReader in(value, "account", kAccountFields);
  KEEL_RETURN_IF_ERROR(in.CheckShape());
  ledger::Account a;
  KEEL_RETURN_IF_ERROR(in.Read(a.id));
  KEEL_RETURN_IF_ERROR(in.Read(a.debits_pending));
  KEEL_RETURN_IF_ERROR(in.Read(a.debits_posted));
  KEEL_RETURN_IF_ERROR(in.Read(a.credits_pending));
  KEEL_RETURN_IF_ERROR(in.Read(a.credits_posted));
  KEEL_RETURN_IF_ERROR(in.Read(a.user_data_128));
  KEEL_RETURN_IF_ERROR(in.Read(a.user_data_64));
  KEEL_RETURN_IF_ERROR(in.Read(a.user_data_32));
  KEEL_RETURN_IF_ERROR(in.Read(a.reserved));
  KEEL_RETURN_IF_ERROR(in.Read(a.ledger));
  KEEL_RETURN_IF_ERROR(in.Read(a.code));
  KEEL_RETURN_IF_ERROR(in.Read(a.flags));
  KEEL_RETURN_IF_ERROR(in.Read(a.timestamp));
  return a;
}

absl::StatusOr<ledger::Transfer> ParseTransfer(const net::RespValue& value) {
  FieldReader in(value, "transfer", kTransferFields);
  KEEL_RETURN_IF_ERROR(in.CheckShape());
  ledger::Transfer t;
  KEEL_RETURN_IF_ERROR(in.Read(t.id));
  KEEL_RETURN_IF_ERROR(in.Read(t.debit_account_id));
  KEEL_RETURN_IF_ERROR(in.Read(t.credit_account_id));
  KEEL_RETURN_IF_ERROR(in.Read(t.amount));
  KEEL_RETURN_IF_ERROR(in.Read(t.pending_id));
  KEEL_RETURN_IF_ERROR(in.Read(t.user_data_128));
  KEEL_RETURN_IF_ERROR(in.Read(t.user_data_64));
  KEEL_RETURN_IF_ERROR(in.Read(t.user_data_32));
  KEEL_RETURN_IF_ERROR(in.Read(t.timeout));
  KEEL_RETURN_IF_ERROR(in.Read(t.ledger));
  KEEL_RETURN_IF_ERROR(in.Read(t.code));
  KEEL_RETURN_IF_ERROR(in.Read(t.flags));
  KEEL_RETURN_IF_ERROR(in.Read(t.timestamp));
  return t;
}

void WritePosition(net::RespWriter& writer, const LedgerPosition& p) {
  writer.ArrayHeader(2 * std::size(kPositionFields));
  const auto put = [&](std::string_view name, std::string value) {
    writer.BulkString(name);
    writer.BulkString(value);
  };
  put("commands", base::Cat(p.commands));
  std::string hex(16, '0');
  for (int i = 0; i < 16; ++i) hex[15 - i] = "0123456789abcdef"[(p.hash >> (4 * i)) & 0xf];
  put("hash", hex);
  put("last_timestamp", base::Cat(p.last_timestamp));
  put("accounts", base::Cat(p.accounts));
  put("transfers", base::Cat(p.transfers));
  put("pending", base::Cat(p.pending));
}

absl::StatusOr<LedgerPosition> ParsePosition(const net::RespValue& value) {
  FieldReader shape(value, "ledger position", kPositionFields);
  KEEL_RETURN_IF_ERROR(shape.CheckShape());
  const auto text = [&](size_t i) -> const std::string& { return value.elements[2 * i + 1].text; };
  for (size_t i = 0; i < std::size(kPositionFields); ++i) {
    if (value.elements[2 * i].text != kPositionFields[i]) {
      return absl::InvalidArgumentError(base::Cat("a ledger position has field ",
                                                  base::Quoted(value.elements[2 * i].text),
                                                  " where ", kPositionFields[i], " belongs"));
    }
  }
  LedgerPosition p;
  uint64_t* numbers[] = {&p.commands, nullptr,      &p.last_timestamp,
                         &p.accounts, &p.transfers, &p.pending};
  for (size_t i = 0; i < std::size(numbers); ++i) {
    const bool ok = numbers[i] == nullptr
                        ? text(i).size() == 16 && absl::SimpleHexAtoi(text(i), &p.hash)
                        : absl::SimpleAtoi(text(i), numbers[i]);
    if (!ok) {
      return absl::InvalidArgumentError(base::Cat("a ledger position's ", kPositionFields[i], " ",
                                                  base::Quoted(text(i)), " is not a number"));
    }
  }
  return p;
}

absl::StatusOr<Uint128> ParseUint128(std::string_view text) {
  if (text.empty() || text.size() > 39) {
    return absl::InvalidArgumentError(
        base::Cat(base::Quoted(text), " is not a number from 0 to 2^128 - 1"));
  }
  Uint128 value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(base::Cat(base::Quoted(text), " is not a decimal number"));
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    // value * 10 + digit <= max  <=>  value <= (max - digit) / 10
    if (value > (ledger::kMaxUint128 - digit) / 10) {
      return absl::InvalidArgumentError(base::Cat(text, " is past 2^128 - 1"));
    }
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace keel::examples::wallet
