// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/ledger/results.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace keel::ledger {
namespace {

TEST_CASE("Result names are TigerBeetle's and name the result back") {
  CHECK(ResultName(CreateAccountResult::kOk) == "ok");
  CHECK(ResultName(CreateAccountResult::kExistsWithDifferentUserData128) ==
        "exists_with_different_user_data_128");
  CHECK(ResultName(CreateTransferResult::kIdMustNotBeIntMax) == "id_must_not_be_int_max");
  CHECK(ResultName(CreateTransferResult::kTransferMustHaveTheSameLedgerAsAccounts) ==
        "transfer_must_have_the_same_ledger_as_accounts");
  CHECK(ResultName(CreateTransferResult::kIdAlreadyFailed) == "id_already_failed");
  CHECK(ResultName(static_cast<CreateTransferResult>(18)) == "unknown");  // deprecated_18

  // Every value TigerBeetle 0.16.78 defines (0..26 for accounts, 0..68 but 18 for transfers) has
  // a distinct name that maps back to it.
  std::set<std::string> names;
  for (uint32_t v = 0; v <= 26; ++v) {
    const auto result = static_cast<CreateAccountResult>(v);
    const std::string name(ResultName(result));
    CAPTURE(v);
    REQUIRE(name != "unknown");
    CHECK(names.insert(name).second);
    CHECK(CreateAccountResultNamed(name) == result);
  }
  names.clear();
  for (uint32_t v = 0; v <= 68; ++v) {
    if (v == 18) continue;
    const auto result = static_cast<CreateTransferResult>(v);
    const std::string name(ResultName(result));
    CAPTURE(v);
    REQUIRE(name != "unknown");
    CHECK(names.insert(name).second);
    CHECK(CreateTransferResultNamed(name) == result);
  }
  CHECK(ResultName(static_cast<CreateAccountResult>(27)) == "unknown");
  CHECK(ResultName(static_cast<CreateTransferResult>(69)) == "unknown");
  CHECK(CreateTransferResultNamed("no_such_result") == std::nullopt);
  CHECK(CreateAccountResultNamed("") == std::nullopt);
}

TEST_CASE("The values are TigerBeetle's wire values") {
  CHECK(static_cast<uint32_t>(CreateAccountResult::kExists) == 21);
  CHECK(static_cast<uint32_t>(CreateAccountResult::kImportedEventTimestampMustNotRegress) == 26);
  CHECK(static_cast<uint32_t>(CreateTransferResult::kExists) == 46);
  CHECK(static_cast<uint32_t>(CreateTransferResult::kExistsWithDifferentLedger) == 67);
  CHECK(static_cast<uint32_t>(CreateTransferResult::kExceedsDebits) == 55);
}

TEST_CASE("Exactly TigerBeetle's seven transient results leave an id failed") {
  int transient = 0;
  for (uint32_t v = 0; v <= 68; ++v) {
    if (IsTransient(static_cast<CreateTransferResult>(v))) ++transient;
  }
  CHECK(transient == 7);
  CHECK(IsTransient(CreateTransferResult::kDebitAccountNotFound));
  CHECK(IsTransient(CreateTransferResult::kCreditAccountNotFound));
  CHECK(IsTransient(CreateTransferResult::kPendingTransferNotFound));
  CHECK(IsTransient(CreateTransferResult::kExceedsCredits));
  CHECK(IsTransient(CreateTransferResult::kExceedsDebits));
  CHECK(IsTransient(CreateTransferResult::kDebitAccountAlreadyClosed));
  CHECK(IsTransient(CreateTransferResult::kCreditAccountAlreadyClosed));
  CHECK_FALSE(IsTransient(CreateTransferResult::kPendingTransferExpired));
  CHECK_FALSE(IsTransient(CreateTransferResult::kOverflowsDebits));
}

}  // namespace
}  // namespace keel::ledger
