// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/ledger/types.h"

#include <doctest/doctest.h>

#include <cstddef>

namespace keel::ledger {
namespace {

// TigerBeetle's records are 128 bytes with these offsets (src/tigerbeetle.zig at 0.16.78), so a
// batch of keel's records is the bytes TigerBeetle's clients send.
static_assert(sizeof(Account) == 128);
static_assert(offsetof(Account, debits_pending) == 16);
static_assert(offsetof(Account, credits_posted) == 64);
static_assert(offsetof(Account, user_data_128) == 80);
static_assert(offsetof(Account, user_data_64) == 96);
static_assert(offsetof(Account, user_data_32) == 104);
static_assert(offsetof(Account, reserved) == 108);
static_assert(offsetof(Account, ledger) == 112);
static_assert(offsetof(Account, code) == 116);
static_assert(offsetof(Account, flags) == 118);
static_assert(offsetof(Account, timestamp) == 120);
static_assert(sizeof(Transfer) == 128);
static_assert(offsetof(Transfer, amount) == 48);
static_assert(offsetof(Transfer, pending_id) == 64);
static_assert(offsetof(Transfer, user_data_128) == 80);
static_assert(offsetof(Transfer, timeout) == 108);
static_assert(offsetof(Transfer, ledger) == 112);
static_assert(offsetof(Transfer, code) == 116);
static_assert(offsetof(Transfer, flags) == 118);
static_assert(offsetof(Transfer, timestamp) == 120);

TEST_CASE("Flags have TigerBeetle's bit positions and the supported sets leave out the rest") {
  CHECK(AccountFlags::kLinked == 0x1);
  CHECK(AccountFlags::kDebitsMustNotExceedCredits == 0x2);
  CHECK(AccountFlags::kCreditsMustNotExceedDebits == 0x4);
  CHECK(AccountFlags::kHistory == 0x8);
  CHECK(AccountFlags::kSupported == 0xF);  // imported (0x10) and closed (0x20) are not
  CHECK(TransferFlags::kPending == 0x2);
  CHECK(TransferFlags::kPostPendingTransfer == 0x4);
  CHECK(TransferFlags::kVoidPendingTransfer == 0x8);
  CHECK(TransferFlags::kBalancingDebit == 0x10);
  CHECK(TransferFlags::kBalancingCredit == 0x20);
  CHECK(TransferFlags::kSupported == 0x3F);  // closing_* (0x40, 0x80) and imported (0x100) not
}

TEST_CASE("Limits are TigerBeetle's") {
  CHECK(kBatchMax == 8'189);
  CHECK(kExpiryBatchMax == 8'190);
  CHECK(kTimestampMax == (uint64_t{1} << 63) - 1);
  CHECK(kMaxUint128 + 1 == 0);
  CHECK(Account{}.id == 0);
  CHECK(Transfer{}.amount == 0);
}

}  // namespace
}  // namespace keel::ledger
