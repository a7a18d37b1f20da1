// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The ledger tool's batch runner and output (ledger_tool.h).
#include "digital_wallet/ledger_tool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/ledger/results.h"

namespace keel::examples::wallet {
namespace {

using ledger::kBatchMax;
using ledger::kTimestampMax;

// Reads start small, so that output starts at once, and double up to the most, so that a long
// file pays few syncs.
constexpr size_t kFirstReadBytes = size_t{64} << 10;
constexpr size_t kMaxReadBytes = size_t{1} << 20;

// The longest output line: a line number (20 digits), an id (39), the longest result name (well
// under 64) and the separators; a balances line has five 128-bit numbers.
constexpr size_t kMaxOutputLine = 256;

}  // namespace

LedgerTool::LedgerTool(LedgerStore& store, Sink sink) : store_(store), sink_(std::move(sink)) {
  const uint64_t last = store_.ledger().stats().last_timestamp;
  if (last != 0) {
    seconds_ = last / kNanosPerSecond;
    nanos_ = last % kNanosPerSecond;
  }
  accounts_.reserve(kBatchMax);
  transfers_.reserve(kBatchMax);
  lines_.reserve(kBatchMax);
  out_.reserve(kFlushBytes + kMaxOutputLine);
}

absl::Status LedgerTool::CatchUpExpiry() {
  caught_up_ = true;
  // A run killed between the calls of a C's expiry (more than kExpiryBatchMax expiring at once)
  // leaves pending transfers that are due but not released; release them now. Nothing else can
  // be due: whatever is due at S * 10^9 + k was due at the C that set S (ledger_tool.h).
  const std::optional<uint64_t> next = store_.ledger().NextExpiry();
  if (store_.ledger().stats().last_timestamp == 0 || !next.has_value()) return absl::OkStatus();
  const uint64_t now = seconds_ * kNanosPerSecond + nanos_;
  if (*next > now) return absl::OkStatus();
  uint32_t expired = 0;
  do {
    KEEL_ASSIGN_OR_RETURN(expired, store_.ExpirePendingTransfers(now));
  } while (expired == ledger::kExpiryBatchMax);
  return absl::OkStatus();
}

absl::Status LedgerTool::Feed(std::string_view bytes) {
  if (!caught_up_) KEEL_RETURN_IF_ERROR(CatchUpExpiry());
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      Carry(bytes);
      break;
    }
    const std::string_view piece = bytes.substr(0, newline);
    bytes.remove_prefix(newline + 1);
    if (carry_.empty() && !overlong_) {
      KEEL_RETURN_IF_ERROR(EndLine(piece, false));  // the common case: no copy
    } else {
      Carry(piece);
      const bool overlong = overlong_;
      overlong_ = false;
      const absl::Status status = EndLine(carry_, overlong);
      carry_.clear();
      KEEL_RETURN_IF_ERROR(status);
    }
  }
  return absl::OkStatus();
}

void LedgerTool::Carry(std::string_view piece) {
  if (overlong_) return;
  if (carry_.size() + piece.size() > kMaxLineBytes + 1) {  // + 1: a '\r' that is stripped
    overlong_ = true;
    std::string().swap(carry_);
    return;
  }
  carry_.append(piece);
}

absl::Status LedgerTool::EndLine(std::string_view line, bool overlong) {
  ++line_number_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const LineKind kind =
      overlong || line.size() > kMaxLineBytes ? LineKind::kMalformed : ParseLine(line, parsed_);
  switch (kind) {
    case LineKind::kAccount:
      if (!transfers_.empty()) KEEL_RETURN_IF_ERROR(ApplyBatch());
      accounts_.push_back(parsed_.account);
      lines_.push_back(line_number_);
      if (accounts_.size() == kBatchMax) KEEL_RETURN_IF_ERROR(ApplyBatch());
      break;
    case LineKind::kTransfer:
      if (!accounts_.empty()) KEEL_RETURN_IF_ERROR(ApplyBatch());
      transfers_.push_back(parsed_.transfer);
      lines_.push_back(line_number_);
      if (transfers_.size() == kBatchMax) KEEL_RETURN_IF_ERROR(ApplyBatch());
      break;
    case LineKind::kBatchEnd:
      KEEL_RETURN_IF_ERROR(ApplyBatch());
      break;
    case LineKind::kClock:
      KEEL_RETURN_IF_ERROR(ApplyBatch());
      KEEL_RETURN_IF_ERROR(AdvanceClock(parsed_.seconds));
      break;
    case LineKind::kMalformed:
      KEEL_RETURN_IF_ERROR(ApplyBatch());
      AppendMalformed(line_number_);
      break;
  }
  if (out_.size() >= kFlushBytes) return Flush();
  return absl::OkStatus();
}

absl::Status LedgerTool::ApplyBatch() {
  const size_t n = accounts_.size() + transfers_.size();
  if (n == 0) return absl::OkStatus();
  // One nanosecond per event, all within the current clock second (ledger_tool.h).
  if (nanos_ + n >= kNanosPerSecond) {
    return absl::OutOfRangeError(base::Cat(
        "line ", lines_.back(), ": a batch of ", n, " events after the ", nanos_,
        " this ledger has applied would reach 10^9 events, past what the tool's clock maps (a "
        "ledger file of a billion events is out of scope)"));
  }
  const uint64_t now = seconds_ * kNanosPerSecond + nanos_;  // <= kTimestampMax, always
  if (n > kTimestampMax - now) {
    return absl::OutOfRangeError(
        base::Cat("line ", lines_.back(), ": a batch of ", n, " events at clock second ", seconds_,
                  " would pass the ledger's last timestamp, ", kTimestampMax, " ns"));
  }
  const uint64_t timestamp = now + n;
  if (!accounts_.empty()) {
    KEEL_RETURN_IF_ERROR(store_.CreateAccounts(accounts_, timestamp, account_results_));
    auto result = account_results_.begin();
    for (uint32_t i = 0; i < accounts_.size(); ++i) {
      ledger::CreateAccountResult code = ledger::CreateAccountResult::kOk;
      if (result != account_results_.end() && result->index == i) code = (result++)->result;
      AppendResult(lines_[i], accounts_[i].id, ledger::ResultName(code));
    }
  } else {
    KEEL_RETURN_IF_ERROR(store_.CreateTransfers(transfers_, timestamp, transfer_results_));
    auto result = transfer_results_.begin();
    for (uint32_t i = 0; i < transfers_.size(); ++i) {
      ledger::CreateTransferResult code = ledger::CreateTransferResult::kOk;
      if (result != transfer_results_.end() && result->index == i) code = (result++)->result;
      AppendResult(lines_[i], transfers_[i].id, ledger::ResultName(code));
    }
  }
  nanos_ += n;
  accounts_.clear();
  transfers_.clear();
  lines_.clear();
  return absl::OkStatus();
}

absl::Status LedgerTool::AdvanceClock(uint64_t seconds) {
  // The most seconds the clock can hold with the nanoseconds used so far: S * 10^9 + k stays at
  // most kTimestampMax. A C past that is malformed, its value beyond what the clock can hold.
  const uint64_t max_seconds = (kTimestampMax - nanos_) / kNanosPerSecond;
  if (seconds > max_seconds - seconds_) {
    AppendMalformed(line_number_);
    return absl::OkStatus();
  }
  seconds_ += seconds;
  const uint64_t now = seconds_ * kNanosPerSecond + nanos_;
  uint32_t expired = 0;
  do {
    KEEL_ASSIGN_OR_RETURN(expired, store_.ExpirePendingTransfers(now));
  } while (expired == ledger::kExpiryBatchMax);
  return absl::OkStatus();
}

void LedgerTool::AppendResult(uint64_t line, const ledger::Uint128& id, std::string_view result) {
  char buffer[kMaxOutputLine];
  char* at = std::to_chars(buffer, buffer + 20, line).ptr;
  *at++ = ',';
  at = FormatDecimal(id, at);
  *at++ = ',';
  const size_t length =
      std::min(result.size(), static_cast<size_t>(buffer + sizeof(buffer) - at - 1));
  std::memcpy(at, result.data(), length);
  at += length;
  *at++ = '\n';
  out_.append(buffer, at);
}

void LedgerTool::AppendMalformed(uint64_t line) {
  char buffer[32];
  char* at = std::to_chars(buffer, buffer + 20, line).ptr;
  constexpr std::string_view kTail = ",-,malformed\n";
  std::memcpy(at, kTail.data(), kTail.size());
  out_.append(buffer, at + kTail.size());
}

absl::Status LedgerTool::Flush() {
  if (out_.empty()) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(store_.Sync());
  return WriteOutput();
}

absl::Status LedgerTool::WriteOutput() {
  if (out_.empty()) return absl::OkStatus();
  const absl::Status status = sink_(out_);
  out_.clear();
  return status;
}

absl::Status LedgerTool::Finish() {
  if (!caught_up_) KEEL_RETURN_IF_ERROR(CatchUpExpiry());
  if (!carry_.empty() || overlong_) {
    const bool overlong = overlong_;
    overlong_ = false;
    const absl::Status status = EndLine(carry_, overlong);
    std::string().swap(carry_);
    KEEL_RETURN_IF_ERROR(status);
  }
  KEEL_RETURN_IF_ERROR(ApplyBatch());
  KEEL_RETURN_IF_ERROR(store_.Sync());
  return WriteOutput();
}

absl::Status LedgerTool::WriteBalances() {
  out_.append("#balances\n");
  for (const ledger::Account& account : store_.ledger().Accounts()) {
    char buffer[kMaxOutputLine];
    char* at = FormatDecimal(account.id, buffer);
    for (const ledger::Uint128& balance : {account.debits_pending, account.debits_posted,
                                           account.credits_pending, account.credits_posted}) {
      *at++ = ',';
      at = FormatDecimal(balance, at);
    }
    *at++ = '\n';
    out_.append(buffer, at);
    if (out_.size() >= kFlushBytes) KEEL_RETURN_IF_ERROR(WriteOutput());
  }
  return WriteOutput();
}

namespace {

absl::Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          base::Cat("writing the output: ", n < 0 ? std::strerror(errno) : "nothing written"));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Closes a file descriptor when it goes.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

absl::Status RunLedgerFile(const std::string& path, LedgerStore& store,
                           const LedgerFileOptions& options, int out_fd) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(base::Cat(base::Quoted(path), ": ", std::strerror(errno)));
  FdCloser closer(fd);
  LedgerTool tool(store, [out_fd](std::string_view bytes) { return WriteAll(out_fd, bytes); });
  std::string buffer(kMaxReadBytes, '\0');
  size_t read_bytes = kFirstReadBytes;
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), read_bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::UnavailableError(
          base::Cat("reading ", base::Quoted(path), ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    read_bytes = std::min(read_bytes * 2, kMaxReadBytes);
    if (absl::Status status = tool.Feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
        !status.ok()) {
      // The batches applied before the failure still get their output, once durable.
      tool.Flush().IgnoreError();
      return status;
    }
    KEEL_RETURN_IF_ERROR(tool.Flush());
  }
  if (absl::Status status = tool.Finish(); !status.ok()) {
    tool.Flush().IgnoreError();
    return status;
  }
  if (options.balances) KEEL_RETURN_IF_ERROR(tool.WriteBalances());
  return store.Finish();
}

}  // namespace keel::examples::wallet
