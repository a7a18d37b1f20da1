// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/replica_client.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"

namespace keel::examples::wallet {

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// How many lookup requests one ReplicaConnection keeps in flight.
constexpr size_t kLookupWindow = 4;

}  // namespace

// ---------------------------------------------------------------------------------------------
// ReplicaConnection.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<ReplicaConnection>> ReplicaConnection::Connect(
    std::string_view address, int64_t timeout_ms) {
  net::RespClientOptions options;
  options.timeout_ms = timeout_ms;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<net::RespClient> client,
                        net::RespClient::Connect(address, options));
  return std::unique_ptr<ReplicaConnection>(new ReplicaConnection(std::move(client)));
}

absl::StatusOr<net::RespValue> ReplicaConnection::Call(std::span<const std::string_view> args) {
  KEEL_ASSIGN_OR_RETURN(net::RespReply reply, client_->Call(args));
  if (reply.value.type == net::RespValue::Type::kError) {
    return absl::InternalError(base::Cat(args[0], " answered -", reply.value.text));
  }
  return std::move(reply.value);
}

absl::StatusOr<std::map<std::string, std::string>> ReplicaConnection::Info() {
  const std::string_view args[] = {"INFO"};
  KEEL_ASSIGN_OR_RETURN(const net::RespValue value, Call(args));
  if (value.type != net::RespValue::Type::kBulkString) {
    return absl::InvalidArgumentError(
        base::Cat("INFO answered ", base::Quoted(value.DebugString())));
  }
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(value.text, "\r\n")) {
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos) {
      fields[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
    }
  }
  return fields;
}

absl::StatusOr<LedgerPosition> ReplicaConnection::Position() {
  const std::string_view args[] = {"LEDGER.HASH"};
  KEEL_ASSIGN_OR_RETURN(const net::RespValue value, Call(args));
  return ParsePosition(value);
}

absl::Status ReplicaConnection::CheckInvariants() {
  const std::string_view args[] = {"LEDGER.CHECK"};
  KEEL_ASSIGN_OR_RETURN(const net::RespValue value, Call(args));
  if (value.type != net::RespValue::Type::kSimpleString || value.text != "OK") {
    return absl::InvalidArgumentError(
        base::Cat("LEDGER.CHECK answered ", base::Quoted(value.DebugString())));
  }
  return absl::OkStatus();
}

absl::Status ReplicaConnection::Lookup(
    std::string_view command, std::span<const ledger::Uint128> ids,
    absl::FunctionRef<absl::Status(const net::RespValue&)> each) {
  const size_t requests = (ids.size() + kLookupMax - 1) / kLookupMax;
  size_t sent = 0;
  for (size_t received = 0; received < requests; ++received) {
    while (sent < requests && sent - received < kLookupWindow) {
      const std::span<const ledger::Uint128> chunk =
          ids.subspan(sent * kLookupMax, std::min(kLookupMax, ids.size() - sent * kLookupMax));
      std::vector<std::string> texts;
      texts.reserve(chunk.size());
      for (const ledger::Uint128& id : chunk) texts.push_back(ledger::DecimalString(id));
      std::vector<std::string_view> args = {command};
      args.insert(args.end(), texts.begin(), texts.end());
      std::string frame;
      net::AppendCommand(frame, args);
      KEEL_RETURN_IF_ERROR(client_->SendRaw(frame));
      ++sent;
    }
    KEEL_ASSIGN_OR_RETURN(const net::RespReply reply, client_->Read());
    const size_t expected = std::min(kLookupMax, ids.size() - received * kLookupMax);
    if (reply.value.type != net::RespValue::Type::kArray ||
        reply.value.elements.size() != expected) {
      return absl::InternalError(
          base::Cat(command, " of ", expected, " ids answered ", base::Quoted(reply.raw)));
    }
    for (const net::RespValue& element : reply.value.elements) KEEL_RETURN_IF_ERROR(each(element));
  }
  return absl::OkStatus();
}

namespace {

bool IsNil(const net::RespValue& value) {
  return value.type == net::RespValue::Type::kNullBulkString ||
         value.type == net::RespValue::Type::kNull ||
         value.type == net::RespValue::Type::kNullArray;
}

}  // namespace

absl::StatusOr<std::vector<std::optional<ledger::Transfer>>> ReplicaConnection::LookupTransfers(
    std::span<const ledger::Uint128> ids) {
  std::vector<std::optional<ledger::Transfer>> out;
  out.reserve(ids.size());
  KEEL_RETURN_IF_ERROR(Lookup("LEDGER.TRANSFER", ids, [&](const net::RespValue& value) {
    if (IsNil(value)) {
      out.emplace_back();
      return absl::OkStatus();
    }
    KEEL_ASSIGN_OR_RETURN(ledger::Transfer transfer, ParseTransfer(value));
    out.emplace_back(transfer);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<std::optional<ledger::Account>>> ReplicaConnection::LookupAccounts(
    std::span<const ledger::Uint128> ids) {
  std::vector<std::optional<ledger::Account>> out;
  out.reserve(ids.size());
  KEEL_RETURN_IF_ERROR(Lookup("LEDGER.ACCOUNT", ids, [&](const net::RespValue& value) {
    if (IsNil(value)) {
      out.emplace_back();
      return absl::OkStatus();
    }
    KEEL_ASSIGN_OR_RETURN(ledger::Account account, ParseAccount(value));
    out.emplace_back(account);
    return absl::OkStatus();
  }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Acknowledgements.
// ---------------------------------------------------------------------------------------------

void Acknowledgements::Record(const ledger::Command& batch, const BatchOutcome& outcome) {
  if (outcome.attempts > 1) ++resent_batches_;
  if (!outcome.reply.ok()) {
    ++refused_batches_;
    // Refused whole: nothing of it applied. (An earlier lost attempt cannot have applied it
    // either: every replica refuses a command alike.)
    for (const ledger::Transfer& t : batch.transfers) refused_.insert(t.id);
    return;
  }
  if (batch.kind != ledger::CommandKind::kCreateTransfers) return;
  const size_t n = batch.transfers.size();
  std::vector<std::optional<ledger::CreateTransferResult>> results(n);
  for (const ledger::CreateTransfersResult& r : outcome.reply->result.transfers) {
    if (r.index < n) results[r.index] = r.result;
  }
  for (size_t i = 0; i < n; ++i) {
    const ledger::Transfer& t = batch.transfers[i];
    if (!results[i]) {
      acknowledged_[t.id] = t;
      timestamps_[t.id] = outcome.reply->timestamp - n + i + 1;
    } else if (*results[i] == ledger::CreateTransferResult::kExists) {
      acknowledged_[t.id] = t;
      ++exists_;
    } else {
      failed_[t.id] = *results[i];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// WalletClient.
// ---------------------------------------------------------------------------------------------

std::optional<size_t> WalletClient::FindLeader() const {
  std::optional<size_t> leader;
  uint64_t best_term = 0;
  for (size_t i = 0; i < options_.replicas.size(); ++i) {
    auto connection = ReplicaConnection::Connect(options_.replicas[i], /*timeout_ms=*/500);
    if (!connection.ok()) continue;
    const auto info = (*connection)->Info();
    if (!info.ok()) continue;
    const auto role = info->find("role");
    const auto term_text = info->find("term");
    uint64_t term = 0;
    if (role != info->end() && role->second == "leader" && term_text != info->end() &&
        absl::SimpleAtoi(term_text->second, &term) && (!leader || term > best_term)) {
      leader = i;
      best_term = term;
    }
  }
  return leader;
}

absl::Status WalletClient::ConnectToLeader(int64_t deadline_ns) {
  connection_.reset();
  leader_.reset();
  while (true) {
    if (const std::optional<size_t> leader = FindLeader()) {
      net::RespClientOptions options;
      options.timeout_ms = options_.timeout_ms;
      auto connection = net::RespClient::Connect(options_.replicas[*leader], options);
      if (connection.ok()) {
        connection_ = std::move(*connection);
        leader_ = leader;
        ++stats_.connections;
        return absl::OkStatus();
      }
    }
    if (NowNs() >= deadline_ns) {
      return absl::DeadlineExceededError(
          base::Cat("none of the ", options_.replicas.size(), " replicas leads"));
    }
    SleepMs(std::max<int64_t>(options_.retry_pause_ms, 20));
  }
}

absl::Status WalletClient::Execute(std::span<const std::string> requests, OnOutcome on_outcome) {
  const size_t pipeline = std::max<size_t>(1, options_.pipeline);
  const int64_t give_up_ns = options_.give_up_ms * 1'000'000;
  std::vector<uint32_t> attempts(requests.size(), 0);
  std::vector<int64_t> first_sent_ns(requests.size(), 0);
  std::deque<size_t> waiting;  // not in flight, in the order to send them
  for (size_t i = 0; i < requests.size(); ++i) waiting.push_back(i);
  std::deque<size_t> in_flight;  // sent on connection_, in order
  int64_t last_progress_ns = NowNs();

  // Gives the connection up: what was in flight goes back to the front, in order.
  const auto drop_connection = [&] {
    for (auto it = in_flight.rbegin(); it != in_flight.rend(); ++it) waiting.push_front(*it);
    in_flight.clear();
    connection_.reset();
    leader_.reset();
    SleepMs(options_.retry_pause_ms);
  };

  while (!waiting.empty() || !in_flight.empty()) {
    if (NowNs() - last_progress_ns > give_up_ns) {
      return absl::DeadlineExceededError(base::Cat("no batch answered for ", options_.give_up_ms,
                                                   " ms; ", waiting.size() + in_flight.size(),
                                                   " of ", requests.size(), " unanswered"));
    }
    if (!connection_) KEEL_RETURN_IF_ERROR(ConnectToLeader(last_progress_ns + give_up_ns));
    bool failed = false;
    while (in_flight.size() < pipeline && !waiting.empty()) {
      const size_t i = waiting.front();
      if (!connection_->SendRaw(requests[i]).ok()) {
        failed = true;
        break;
      }
      waiting.pop_front();
      in_flight.push_back(i);
      if (attempts[i]++ > 0) ++stats_.resends;
      if (first_sent_ns[i] == 0) first_sent_ns[i] = NowNs();
      ++stats_.sends;
    }
    if (failed) {
      ++stats_.connection_failures;
      drop_connection();
      continue;
    }
    absl::StatusOr<net::RespReply> reply = connection_->Read();
    if (!reply.ok()) {
      ++stats_.connection_failures;
      drop_connection();
      continue;
    }
    const size_t i = in_flight.front();
    BatchOutcome outcome;
    switch (Classify(reply->value)) {
      case ReplyClass::kRetry:
        // The leader changed or is changing: the connection, with what is in flight on it, is
        // given up and the leader found again.
        ++stats_.retry_replies;
        drop_connection();
        continue;
      case ReplyClass::kRefused:
        outcome.reply = absl::InvalidArgumentError(reply->value.text);
        break;
      case ReplyClass::kAnswered:
        outcome.reply = ParseExecuteReply(reply->value);
        if (!outcome.reply.ok()) return outcome.reply.status();
        break;
    }
    in_flight.pop_front();
    outcome.attempts = attempts[i];
    last_progress_ns = NowNs();
    outcome.latency_ns = last_progress_ns - first_sent_ns[i];
    on_outcome(i, outcome);
  }
  return absl::OkStatus();
}

}  // namespace keel::examples::wallet
