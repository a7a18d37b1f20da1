// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Commands and their results as bytes (command.h), and Ledger::Execute.
#include "keel/ledger/command.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/coding.h"
#include "keel/ledger/ledger.h"

namespace keel::ledger {
namespace {

Transfer SomeTransfer(Uint128 id) {
  return {.id = id,
          .debit_account_id = 1,
          .credit_account_id = kMaxUint128 - 5,
          .amount = (Uint128{1} << 100) + 3,
          .user_data_64 = 0x0102030405060708,
          .ledger = 9,
          .code = 2,
          .flags = TransferFlags::kPending | TransferFlags::kLinked};
}

bool Same(const Transfer& a, const Transfer& b) {
  return std::memcmp(&a, &b, sizeof(Transfer)) == 0;
}

TEST_CASE("Commands round-trip through their bytes") {
  Command transfers{.kind = CommandKind::kCreateTransfers, .timestamp = 123456789};
  transfers.transfers = {SomeTransfer(1), SomeTransfer(Uint128{1} << 64)};
  const std::string bytes = EncodeCommand(transfers);
  CHECK(bytes.size() == kCommandHeaderBytes + 2 * kRecordBytes);
  // The layout is the documented one: little-endian header, then the records field by field.
  CHECK(bytes[0] == 1);
  CHECK(bytes[1] == static_cast<char>(CommandKind::kCreateTransfers));
  CHECK(base::DecodeFixed32(bytes.data() + 4) == 2);
  CHECK(base::DecodeFixed64(bytes.data() + 8) == 123456789);
  CHECK(base::DecodeFixed64(bytes.data() + 16) == 1);                        // id, low half
  CHECK(base::DecodeFixed64(bytes.data() + 16 + 128 + 8) == 1);              // 2^64: high half
  CHECK(base::DecodeFixed64(bytes.data() + 16 + 96) == 0x0102030405060708);  // user_data_64
  const absl::StatusOr<Command> decoded = DecodeCommand(bytes);
  REQUIRE(decoded.ok());
  CHECK(decoded->kind == CommandKind::kCreateTransfers);
  CHECK(decoded->timestamp == 123456789);
  REQUIRE(decoded->transfers.size() == 2);
  CHECK(Same(decoded->transfers[0], transfers.transfers[0]));
  CHECK(Same(decoded->transfers[1], transfers.transfers[1]));

  Command accounts{.kind = CommandKind::kCreateAccounts, .timestamp = 5};
  accounts.accounts = {{.id = 7, .user_data_32 = 3, .ledger = 1, .code = 1}};
  const absl::StatusOr<Command> decoded_accounts = DecodeCommand(EncodeCommand(accounts));
  REQUIRE(decoded_accounts.ok());
  REQUIRE(decoded_accounts->accounts.size() == 1);
  CHECK(decoded_accounts->accounts[0].id == 7);
  CHECK(decoded_accounts->accounts[0].user_data_32 == 3);

  const Command expiry{.kind = CommandKind::kExpirePendingTransfers, .timestamp = 9};
  const absl::StatusOr<Command> decoded_expiry = DecodeCommand(EncodeCommand(expiry));
  REQUIRE(decoded_expiry.ok());
  CHECK(decoded_expiry->kind == CommandKind::kExpirePendingTransfers);
  CHECK(decoded_expiry->timestamp == 9);
}

TEST_CASE("Bad command bytes are refused with the reason") {
  Command command{.kind = CommandKind::kCreateTransfers, .timestamp = 1};
  command.transfers = {SomeTransfer(1)};
  const std::string good = EncodeCommand(command);
  auto refused = [](std::string bytes, absl::string_view reason) {
    const absl::Status status = DecodeCommand(bytes).status();
    CHECK(absl::IsInvalidArgument(status));
    CHECK_MESSAGE(absl::StrContains(status.message(), reason), status.message());
  };
  // Every cut is refused, never read past.
  for (size_t cut = 0; cut < good.size(); ++cut) CHECK(!DecodeCommand(good.substr(0, cut)).ok());
  refused(good.substr(0, 3), "shorter than its header");
  std::string bad = good;
  bad[0] = 2;
  refused(bad, "version 2");
  bad = good;
  bad[1] = 9;
  refused(bad, "kind 9");
  bad = good;
  bad[2] = 1;
  refused(bad, "reserved");
  bad = good;
  base::EncodeFixed32(bad.data() + 4, kBatchMax + 1);
  refused(bad, "over the limit");
  refused(good + "x", "not 144");
  bad = good;
  bad[1] = static_cast<char>(CommandKind::kExpirePendingTransfers);
  refused(bad, "takes none");
}

TEST_CASE("Results round-trip through their bytes, and unknown codes are refused") {
  CommandResult result;
  result.transfers = {{0, CreateTransferResult::kExceedsCredits},
                      {5, CreateTransferResult::kLinkedEventChainOpen}};
  const std::string bytes = EncodeCommandResult(CommandKind::kCreateTransfers, result);
  const absl::StatusOr<CommandResult> decoded = DecodeCommandResult(bytes);
  REQUIRE(decoded.ok());
  REQUIRE(decoded->transfers.size() == 2);
  CHECK(decoded->transfers[1].index == 5);
  CHECK(decoded->transfers[1].result == CreateTransferResult::kLinkedEventChainOpen);

  CommandResult expired;
  expired.expired = 42;
  const absl::StatusOr<CommandResult> decoded_expired =
      DecodeCommandResult(EncodeCommandResult(CommandKind::kExpirePendingTransfers, expired));
  REQUIRE(decoded_expired.ok());
  CHECK(decoded_expired->expired == 42);

  std::string bad = bytes;
  base::EncodeFixed32(bad.data() + 13, 60000);
  CHECK(absl::IsInvalidArgument(DecodeCommandResult(bad).status()));
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    CHECK(!DecodeCommandResult(bytes.substr(0, cut)).ok());
  }
}

TEST_CASE("Ledger::Execute applies each kind of command as the direct calls do") {
  Ledger direct;
  Ledger executed;
  Command accounts{.kind = CommandKind::kCreateAccounts, .timestamp = 10};
  accounts.accounts = {{.id = 1, .ledger = 1, .code = 1},
                       {.id = 2, .ledger = 1, .code = 1},
                       {.id = 2, .ledger = 1, .code = 1}};
  std::vector<CreateAccountsResult> account_results;
  REQUIRE(direct.CreateAccounts(accounts.accounts, 10, account_results).ok());
  absl::StatusOr<CommandResult> result = executed.Execute(accounts);
  REQUIRE(result.ok());
  CHECK(result->accounts.size() == account_results.size());

  Command transfers{.kind = CommandKind::kCreateTransfers, .timestamp = 20};
  transfers.transfers = {{.id = 1,
                          .debit_account_id = 1,
                          .credit_account_id = 2,
                          .amount = 5,
                          .timeout = 1,
                          .ledger = 1,
                          .code = 1,
                          .flags = TransferFlags::kPending}};
  std::vector<CreateTransfersResult> transfer_results;
  REQUIRE(direct.CreateTransfers(transfers.transfers, 20, transfer_results).ok());
  result = executed.Execute(transfers);
  REQUIRE(result.ok());
  CHECK(result->transfers.empty());

  const Command expiry{.kind = CommandKind::kExpirePendingTransfers, .timestamp = 2'000'000'000};
  REQUIRE(direct.ExpirePendingTransfers(2'000'000'000).ok());
  result = executed.Execute(expiry);
  REQUIRE(result.ok());
  CHECK(result->expired == 1);
  CHECK(direct.StateHash() == executed.StateHash());
  // Errors are the direct calls' own.
  CHECK(absl::IsInvalidArgument(executed.Execute(transfers).status()));
}

}  // namespace
}  // namespace keel::ledger
