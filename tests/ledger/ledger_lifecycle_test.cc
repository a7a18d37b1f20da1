// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::ledger::Ledger over time: linked chains and their rollback, id_already_failed, expiry,
// balance history, and the batch and timestamp rules, against TigerBeetle 0.16.78's semantics
// (/work/notes/tigerbeetle-0.16-spec.md, §n below) and keel's explicit expiry and error statuses
// (ledger.h). As in ledger_test.cc, every call runs on the Ledger and on the reference model.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "keel/ledger/ledger.h"
#include "keel/ledger/results.h"
#include "ledger/ledger_testing.h"
#include "ledger/reference_model.h"

// GCC before 14 warns about designated initializers that leave members to their default member
// initializers, which is what they are for here: an event names only the fields it uses.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace keel::ledger::testing {
namespace {

using AF = AccountFlags;
using TF = TransferFlags;
constexpr Uint128 kMax = kMaxUint128;
constexpr uint64_t kSecond = 1'000'000'000;

Transfer Timed(Uint128 id, Uint128 dr, Uint128 cr, Uint128 amount, uint32_t timeout_s) {
  Transfer t = Xfer(id, dr, cr, amount, TF::kPending);
  t.timeout = timeout_s;
  return t;
}

constexpr uint16_t kLinked = TF::kLinked;

// ---------------------------------------------------------------------------------------------
// Linked chains (§3, §8).
// ---------------------------------------------------------------------------------------------

TEST_CASE("A chain fails whole and only its failing event keeps its own result") {
  Twin twin;
  // 1 cannot go into debit and has no credits.
  REQUIRE(twin.Accounts({Acc(1, AF::kDebitsMustNotExceedCredits), Acc(2, AF::kHistory),
                         Acc(3, AF::kHistory)}) == "");
  // §8's batch [A, B (linked), C (linked), D, E]: the chain B-C-D, C fails.
  CHECK(twin.Transfers({Xfer(1, 2, 3, 1), Xfer(2, 2, 3, 1, kLinked), Xfer(3, 1, 3, 1, kLinked),
                        Xfer(4, 2, 3, 1), Xfer(5, 2, 3, 1)}) ==
        "1:linked_event_failed 2:exceeds_credits 3:linked_event_failed");
  CHECK(Balances(twin.account(2)) == "0 2 0 0");
  CHECK(twin.HasTransfer(1));
  CHECK(!twin.HasTransfer(2));
  CHECK(!twin.HasTransfer(4));
  CHECK(twin.HasTransfer(5));
  // Only C's id is failed for good (§6).
  CHECK(twin.Transfers({Xfer(2, 2, 3, 1), Xfer(3, 2, 3, 1), Xfer(4, 2, 3, 1)}) ==
        "1:id_already_failed");
}

TEST_CASE("A chain still open at the end of a batch fails with linked_event_chain_open") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1, AF::kDebitsMustNotExceedCredits), Acc(2), Acc(3)}) == "");
  // Intact until its last event: the others are undone.
  CHECK(twin.Transfers({Xfer(1, 2, 3, 1), Xfer(2, 2, 3, 1, kLinked), Xfer(3, 2, 3, 1, kLinked),
                        Xfer(4, 2, 3, 1, kLinked)}) ==
        "1:linked_event_failed 2:linked_event_failed 3:linked_event_chain_open");
  CHECK(Balances(twin.account(2)) == "0 1 0 0");
  // Already broken: the last event still gets linked_event_chain_open (rule 1 before rule 2).
  CHECK(twin.Transfers(
            {Xfer(5, 2, 3, 1, kLinked), Xfer(6, 1, 3, 1, kLinked), Xfer(7, 2, 3, 1, kLinked)}) ==
        "0:linked_event_failed 1:exceeds_credits 2:linked_event_chain_open");
  // A batch of one linked event (TigerBeetle's L1103), for accounts too.
  CHECK(twin.Transfers({Xfer(8, 2, 3, 1, kLinked)}) == "0:linked_event_chain_open");
  CHECK(twin.Accounts({Acc(9, AF::kLinked)}) == "0:linked_event_chain_open");
  CHECK(!twin.ledger().LookupAccount(9).has_value());
  // Its event is never validated: a linked event with every fault is still chain_open.
  CHECK(twin.Transfers({{.id = 0, .flags = kLinked | 0x8000, .timestamp = 5}}) ==
        "0:linked_event_chain_open");
  CHECK(Balances(twin.account(2)) == "0 1 0 0");
  // chain_open is not transient: 8 may be used again.
  CHECK(twin.Transfers({Xfer(8, 2, 3, 1)}) == "");
}

TEST_CASE("exists breaks a chain like any failure") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1), Acc(2)}) == "");
  REQUIRE(twin.Transfers({Xfer(1, 1, 2, 5)}) == "");
  CHECK(twin.Transfers({Xfer(2, 1, 2, 1, kLinked), Xfer(1, 1, 2, 5, kLinked), Xfer(3, 1, 2, 1),
                        Xfer(4, 1, 2, 1)}) ==
        "0:linked_event_failed 1:exists_with_different_flags "
        "2:linked_event_failed");
  CHECK(twin.Transfers({Xfer(2, 1, 2, 1, kLinked), Xfer(1, 1, 2, 5)}) ==
        "0:linked_event_failed 1:exists");
  CHECK(Balances(twin.account(1)) == "0 6 0 0");
  // A frame fault breaks one too.
  CHECK(twin.Transfers({Xfer(5, 1, 2, 1, kLinked), {.id = 6, .timestamp = 1}}) ==
        "0:linked_event_failed 1:timestamp_must_be_zero");
}

TEST_CASE("Chain members see each other and a rollback undoes all of them") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1, AF::kDebitsMustNotExceedCredits | AF::kHistory),
                         Acc(2, AF::kHistory), Acc(3)}) == "");
  // A pending transfer, its post, and a payment from what the post credited, in one chain.
  CHECK(twin.Transfers({Xfer(1, 2, 1, 50, TF::kPending | kLinked), Post(2, 1, 30, kLinked),
                        Xfer(3, 1, 3, 30)}) == "");
  CHECK(Balances(twin.account(1)) == "0 30 0 30");
  REQUIRE(twin.Transfers({Timed(4, 2, 1, 10, 60)}) == "");
  const std::optional<uint64_t> next_expiry = twin.ledger().NextExpiry();
  // The same again, failing at its end: the post, its pending status, balances, history rows
  // and the expiry schedule come back as they were.
  CHECK(twin.Transfers({Post(5, 4, kMax, kLinked), Xfer(6, 1, 3, 10, kLinked), Xfer(7, 1, 3, 1)}) ==
        "0:linked_event_failed 1:linked_event_failed 2:exceeds_credits");
  CHECK(twin.status(4) == PendingStatus::kPending);
  CHECK(twin.ledger().NextExpiry() == next_expiry);
  CHECK(Balances(twin.account(1)) == "0 30 10 30");
  // Accounts created in a chain are undone too, even one the chain itself found existing.
  CHECK(twin.Accounts({Acc(10, AF::kLinked), Acc(11, AF::kLinked), Acc(10)}) ==
        "0:linked_event_failed 1:linked_event_failed 2:exists_with_different_flags");
  CHECK(!twin.ledger().LookupAccount(10).has_value());
  CHECK(!twin.ledger().LookupAccount(11).has_value());
  // Two chains in a batch are independent; a failed chain's events' slots stay used (§9).
  CHECK(twin.Accounts({Acc(12, AF::kLinked), Acc(0), Acc(13, AF::kLinked), Acc(14)}) ==
        "0:linked_event_failed 1:id_must_not_be_zero");
  CHECK(twin.account(14).timestamp == twin.now());
  CHECK(twin.account(13).timestamp == twin.now() - 1);
}

TEST_CASE("A chain of a whole batch rolls back whole and then applies whole") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1, AF::kHistory), Acc(2, AF::kHistory)}) == "");
  // kBatchMax transfers, pending ones and their posts, all linked but the last, which fails: the
  // whole batch is undone, ids, balances, pending statuses and history rows.
  std::vector<Transfer> chain;
  for (uint32_t i = 0; chain.size() + 3 < kBatchMax; ++i) {
    chain.push_back(Xfer(1000 + 2 * i, 1, 2, 1 + i % 7, TF::kPending | kLinked));
    chain.push_back(Post(1001 + 2 * i, 1000 + 2 * i, kMax, kLinked));
  }
  while (chain.size() + 1 < kBatchMax) {
    chain.push_back(Xfer(20'000 + chain.size(), 2, 1, 1, kLinked));
  }
  chain.push_back(Xfer(30'000, 3, 1, 1));  // debit_account_not_found
  std::string expected;
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    absl::StrAppend(&expected, i, ":linked_event_failed ");
  }
  absl::StrAppend(&expected, chain.size() - 1, ":debit_account_not_found");
  CHECK(twin.Transfers(chain) == expected);
  CHECK(twin.ledger().stats().transfers == 0);
  CHECK(Balances(twin.account(1)) == "0 0 0 0");
  chain.back().debit_account_id = 2;
  chain.back().id = 30'001;  // 30'000 failed for good
  CHECK(twin.Transfers(chain) == "");
  CHECK(twin.ledger().stats().transfers == kBatchMax);
  CHECK(twin.ledger().stats().pending == 0);
}

// ---------------------------------------------------------------------------------------------
// id_already_failed (§6).
// ---------------------------------------------------------------------------------------------

TEST_CASE("Exactly the seven transient results leave their id failed for good") {
  for (int value = 0; value <= 68; ++value) {
    const auto result = static_cast<CreateTransferResult>(value);
    CAPTURE(value);
    CHECK(IsTransient(result) == ModelIsTransient(result));
  }
  CHECK(ModelIsTransient(CreateTransferResult::kExceedsDebits));
  CHECK(!ModelIsTransient(CreateTransferResult::kPendingTransferExpired));

  Twin twin;
  REQUIRE(twin.Accounts({Acc(1, AF::kDebitsMustNotExceedCredits),
                         Acc(2, AF::kCreditsMustNotExceedDebits), Acc(3), Acc(4), Acc(5, 0, 2)}) ==
          "");
  REQUIRE(twin.Transfers({Timed(100, 3, 4, 1, 1)}) == "");
  twin.AdvanceSeconds(1);
  // Transient failures, then a retry of each id later in the same batch.
  CHECK(twin.Transfers({Xfer(1, 9, 4, 1), Xfer(2, 3, 9, 1), Post(3, 99), Xfer(4, 1, 3, 1),
                        Xfer(5, 3, 2, 1), Xfer(1, 3, 4, 1), Xfer(2, 3, 4, 1), Xfer(3, 3, 4, 1),
                        Xfer(4, 3, 4, 1), Xfer(5, 3, 4, 1)}) ==
        "0:debit_account_not_found 1:credit_account_not_found 2:pending_transfer_not_found "
        "3:exceeds_credits 4:exceeds_debits 5:id_already_failed 6:id_already_failed "
        "7:id_already_failed 8:id_already_failed 9:id_already_failed");
  CHECK(twin.ledger().stats().failed_ids == 5);
  // Non-transient failures leave the id free for a corrected retry (13 overflows: 3 has 1 pending).
  Transfer no_ledger = Xfer(10, 3, 4, 1);
  no_ledger.ledger = 0;
  CHECK(twin.Transfers({no_ledger, Xfer(11, 3, 5, 1), Post(12, 100), Xfer(13, 3, 4, kMax),
                        Xfer(14, 3, 4, 1, TF::kPostPendingTransfer | TF::kVoidPendingTransfer)}) ==
        "0:ledger_must_not_be_zero 1:accounts_must_have_the_same_ledger "
        "2:pending_transfer_expired 3:overflows_debits 4:flags_are_mutually_exclusive");
  CHECK(twin.Transfers({Xfer(14, 4, 3, kMax), Xfer(15, 4, 3, 1)}) == "1:overflows_debits_posted");
  CHECK(twin.Transfers(
            {Xfer(10, 3, 4, 1), Xfer(11, 3, 4, 1), Xfer(12, 3, 4, 1), Xfer(15, 3, 4, 1)}) == "");
  // A failed id names no transfer: posting it is pending_transfer_not_found (itself transient).
  CHECK(twin.Transfers({Post(20, 4)}) == "0:pending_transfer_not_found");
  CHECK(twin.Transfers({Xfer(20, 3, 4, 1)}) == "0:id_already_failed");
  CHECK(!twin.HasTransfer(4));
  CHECK(twin.ledger().stats().failed_ids == 6);
}

TEST_CASE("A failed id survives the rollback of its chain and the other members do not fail") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1, AF::kDebitsMustNotExceedCredits), Acc(2), Acc(3)}) == "");
  CHECK(twin.Transfers({Xfer(1, 2, 3, 1, kLinked), Xfer(2, 2, 9, 1, kLinked), Xfer(3, 2, 3, 1)}) ==
        "0:linked_event_failed 1:credit_account_not_found 2:linked_event_failed");
  // TigerBeetle's "ids failed in a linked chain can be reused" (L1832).
  CHECK(twin.Transfers({Xfer(1, 2, 3, 1), Xfer(2, 2, 3, 1), Xfer(3, 2, 3, 1)}) ==
        "1:id_already_failed");
  // The failing event remembered before a later chain event is even looked at.
  CHECK(twin.Transfers({Xfer(4, 1, 3, 1, kLinked), Xfer(4, 2, 3, 1)}) ==
        "0:exceeds_credits 1:linked_event_failed");
  CHECK(twin.Transfers({Xfer(4, 2, 3, 1)}) == "0:id_already_failed");
}

// ---------------------------------------------------------------------------------------------
// Expiry (§10, keel's ExpirePendingTransfers).
// ---------------------------------------------------------------------------------------------

TEST_CASE("A pending transfer cannot be posted from its expiry on and is released when expired") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1, AF::kHistory), Acc(2)}) == "");
  REQUIRE(twin.Transfers({Timed(1, 1, 2, 10, 1), Timed(2, 1, 2, 20, 2), Timed(3, 1, 2, 30, 3),
                          Timed(4, 1, 2, 40, 0), Timed(5, 1, 2, 50, 1)}) == "");
  const uint64_t created = twin.transfer(1).timestamp;
  const uint64_t expires1 = created + kSecond;
  CHECK(twin.ledger().NextExpiry() == expires1);
  CHECK(twin.transfer(5).timestamp + kSecond == expires1 + 4);
  std::string results;
  // 1 cannot be posted at its expiry; one nanosecond before its expiry 5 can be voided.
  const std::vector<Transfer> post1 = {Post(7, 1)};
  REQUIRE(twin.TransfersAt(post1, expires1, &results) == absl::StatusCode::kOk);
  CHECK(results == "0:pending_transfer_expired");
  const std::vector<Transfer> void5 = {Void(6, 5), Void(8, 1)};
  REQUIRE(twin.TransfersAt(void5, expires1 + 4, &results) == absl::StatusCode::kOk);
  CHECK(twin.transfer(6).timestamp == expires1 + 3);
  CHECK(results == "1:pending_transfer_expired");
  // Until ExpirePendingTransfers runs, its amount stays reserved.
  CHECK(Balances(twin.account(1)) == "100 0 0 0");
  CHECK(twin.status(1) == PendingStatus::kPending);
  CHECK(twin.Expire() == 1);
  CHECK(twin.status(1) == PendingStatus::kExpired);
  CHECK(Balances(twin.account(1)) == "90 0 0 0");
  CHECK(Balances(twin.account(2)) == "0 0 90 0");
  CHECK(twin.ledger().stats().expired == 1);
  CHECK(twin.Transfers({Post(9, 1), Void(10, 1), Post(11, 2, 5)}) ==
        "0:pending_transfer_expired 1:pending_transfer_expired");
  CHECK(twin.status(2) == PendingStatus::kPosted);
  // pending_transfer_expired is not transient.
  CHECK(twin.Transfers({Xfer(9, 1, 2, 1), Xfer(7, 1, 2, 1)}) == "");
  const uint64_t expires3 = twin.transfer(3).timestamp + 3 * kSecond;
  CHECK(twin.ledger().NextExpiry() == expires3);
  CHECK(*twin.ExpireAt(expires3 - 1) == 0);
  CHECK(*twin.ExpireAt(expires3) == 1);
  CHECK(Balances(twin.account(1)) == "40 7 0 0");
  CHECK(!twin.ledger().NextExpiry().has_value());
  // 4 has no timeout: it never expires.
  CHECK(*twin.ExpireAt(kTimestampMax) == 0);
  CHECK(twin.status(4) == PendingStatus::kPending);
  CHECK(twin.ledger().stats().expired == 2);
  // Expiry leaves no history row (§12): 1's rows are its five pendings, the void, the post and
  // the two payments.
  CHECK(twin.Balances({.account_id = 1, .limit = 100, .flags = AccountFilter::kDebits}).size() ==
        9);
}

TEST_CASE("Expiry goes by expiry time then creation time and at most kExpiryBatchMax a call") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1), Acc(2)}) == "");
  // 8,188 transfers with a timeout of 3 s (ids 100..8287); 1 s later, 1 and 2 with 2 s, expiring
  // with the last two of the first batch; then 3 with 1 s, created last and expiring first. That
  // is 8,191 due at once, one more than a call expires: the last by (expires_at, creation time)
  // is 2 (not 8287, which has a larger id, nor 3, created last).
  std::vector<Transfer> first;
  for (uint32_t i = 0; i < kBatchMax - 1; ++i) first.push_back(Timed(100 + i, 1, 2, 1, 3));
  REQUIRE(twin.Transfers(first) == "");
  const uint64_t t1 = twin.now();
  const std::vector<Transfer> second = {Timed(1, 1, 2, 1, 2), Timed(2, 1, 2, 1, 2)};
  std::string results;
  REQUIRE(twin.TransfersAt(second, t1 + kSecond, &results) == absl::StatusCode::kOk);
  REQUIRE(results == "");
  REQUIRE(twin.Transfers({Timed(3, 1, 2, 1, 1)}) == "");
  CHECK(twin.transfer(8287).timestamp + 3 * kSecond == twin.transfer(2).timestamp + 2 * kSecond);
  CHECK(twin.ledger().NextExpiry() == twin.transfer(3).timestamp + kSecond);
  CHECK(*twin.ExpireAt(t1 + 3 * kSecond) == kExpiryBatchMax);
  CHECK(twin.status(3) == PendingStatus::kExpired);
  CHECK(twin.status(1) == PendingStatus::kExpired);
  CHECK(twin.status(8287) == PendingStatus::kExpired);
  CHECK(twin.status(2) == PendingStatus::kPending);
  CHECK(twin.ledger().stats().pending == 1);
  CHECK(Balances(twin.account(1)) == "1 0 0 0");
  CHECK(*twin.ExpireAt(t1 + 3 * kSecond + 1) == 1);
  CHECK(Balances(twin.account(1)) == "0 0 0 0");
}

// ---------------------------------------------------------------------------------------------
// History and GetAccountBalances (§12).
// ---------------------------------------------------------------------------------------------

TEST_CASE("GetAccountBalances gives a history account's balances after each matching transfer") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1, AF::kHistory), Acc(2, AF::kHistory), Acc(3)}) == "");
  Transfer t1 = Xfer(1, 3, 1, 100);
  t1.user_data_128 = 5;
  Transfer t2 = Xfer(2, 1, 2, 30);
  t2.user_data_64 = 6;
  t2.code = 2;
  Transfer t3 = Xfer(3, 1, 3, 20, TF::kPending);
  t3.user_data_32 = 7;
  REQUIRE(twin.Transfers({t1, t2, t3}) == "");
  REQUIRE(twin.Transfers({Post(4, 3, 15)}) == "");  // inherits code 1 and user_data_32 7
  Transfer t5 = Xfer(5, 2, 1, 10);
  t5.code = 3;
  REQUIRE(twin.Transfers({t5, Timed(6, 1, 3, 5, 1)}) == "");
  twin.AdvanceSeconds(1);
  REQUIRE(twin.Expire() == 1);  // no row
  Transfer t7 = Xfer(7, 3, 1, 1);
  t7.code = 4;
  REQUIRE(twin.Transfers({t7}) == "");
  // A rolled-back chain leaves no row.
  REQUIRE(twin.Transfers({Xfer(8, 3, 1, 1, kLinked), Xfer(9, 9, 1, 1)}) ==
          "0:linked_event_failed 1:debit_account_not_found");

  uint64_t ts[8];
  for (int i = 1; i <= 7; ++i) ts[i] = twin.transfer(i).timestamp;
  auto rows = [&](AccountFilter filter) {
    std::vector<std::string> out;
    for (const AccountBalance& b : twin.Balances(filter)) {
      int which = 0;
      for (int i = 1; i <= 7; ++i) which = ts[i] == b.timestamp ? i : which;
      out.push_back(absl::StrCat("t", which, ":", ToString(b.debits_pending), ",",
                                 ToString(b.debits_posted), ",", ToString(b.credits_pending), ",",
                                 ToString(b.credits_posted)));
    }
    return absl::StrJoin(out, " ");
  };
  constexpr uint32_t kBoth = AccountFilter::kDebits | AccountFilter::kCredits;
  CHECK(rows({.account_id = 1, .limit = 10, .flags = kBoth}) ==
        "t1:0,0,0,100 t2:0,30,0,100 t3:20,30,0,100 t4:0,45,0,100 t5:0,45,0,110 t6:5,45,0,110 "
        "t7:0,45,0,111");
  CHECK(rows({.account_id = 1, .limit = 10, .flags = AccountFilter::kDebits}) ==
        "t2:0,30,0,100 t3:20,30,0,100 t4:0,45,0,100 t6:5,45,0,110");
  CHECK(rows({.account_id = 1, .limit = 10, .flags = AccountFilter::kCredits}) ==
        "t1:0,0,0,100 t5:0,45,0,110 t7:0,45,0,111");
  CHECK(rows({.account_id = 2, .limit = 10, .flags = kBoth}) == "t2:0,0,0,30 t5:0,10,0,30");
  // Filters on the stored transfer's fields: a post carries p's code and inherited user data.
  CHECK(rows({.account_id = 1, .code = 1, .limit = 10, .flags = kBoth}) ==
        "t1:0,0,0,100 t3:20,30,0,100 t4:0,45,0,100 t6:5,45,0,110");
  CHECK(rows({.account_id = 1, .user_data_32 = 7, .limit = 10, .flags = kBoth}) ==
        "t3:20,30,0,100 t4:0,45,0,100");
  CHECK(rows({.account_id = 1, .user_data_128 = 5, .limit = 10, .flags = kBoth}) == "t1:0,0,0,100");
  CHECK(rows({.account_id = 1, .user_data_64 = 6, .code = 2, .limit = 10, .flags = kBoth}) ==
        "t2:0,30,0,100");
  CHECK(rows({.account_id = 1, .user_data_64 = 6, .code = 1, .limit = 10, .flags = kBoth}) == "");
  CHECK(rows({.account_id = 1,
              .timestamp_min = ts[2],
              .timestamp_max = ts[4],
              .limit = 10,
              .flags = kBoth}) == "t2:0,30,0,100 t3:20,30,0,100 t4:0,45,0,100");
  CHECK(rows({.account_id = 1, .timestamp_min = ts[6], .limit = 10, .flags = kBoth}) ==
        "t6:5,45,0,110 t7:0,45,0,111");
  CHECK(rows({.account_id = 1, .timestamp_max = ts[1], .limit = 10, .flags = kBoth}) ==
        "t1:0,0,0,100");
  CHECK(rows({.account_id = 1, .limit = 2, .flags = kBoth}) == "t1:0,0,0,100 t2:0,30,0,100");
  CHECK(rows({.account_id = 1, .limit = 2, .flags = kBoth | AccountFilter::kReversed}) ==
        "t7:0,45,0,111 t6:5,45,0,110");
  CHECK(rows({.account_id = 1,
              .timestamp_max = ts[5],
              .limit = 2,
              .flags = AccountFilter::kDebits | AccountFilter::kReversed}) ==
        "t4:0,45,0,100 t3:20,30,0,100");
  // No history, or no account: empty, not an error.
  CHECK(rows({.account_id = 3, .limit = 10, .flags = kBoth}) == "");
  CHECK(rows({.account_id = 99, .limit = 10, .flags = kBoth}) == "");
}

TEST_CASE("GetAccountBalances refuses an invalid filter with kInvalidArgument") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1, AF::kHistory), Acc(2)}) == "");
  REQUIRE(twin.Transfers({Xfer(1, 2, 1, 1)}) == "");
  const AccountFilter good{.account_id = 1, .limit = 1, .flags = AccountFilter::kCredits};
  CHECK(twin.BalancesStatus(good) == absl::StatusCode::kOk);
  struct Case {
    const char* name;
    AccountFilter filter;
    absl::StatusCode expected;
  };
  auto with = [&](auto change) {
    AccountFilter f = good;
    change(f);
    return f;
  };
  const Case cases[] = {
      {"account 0", with([](AccountFilter& f) { f.account_id = 0; }),
       absl::StatusCode::kInvalidArgument},
      {"account max", with([](AccountFilter& f) { f.account_id = kMax; }),
       absl::StatusCode::kInvalidArgument},
      {"limit 0", with([](AccountFilter& f) { f.limit = 0; }), absl::StatusCode::kInvalidArgument},
      {"no side", with([](AccountFilter& f) { f.flags = 0; }), absl::StatusCode::kInvalidArgument},
      {"reversed only", with([](AccountFilter& f) { f.flags = AccountFilter::kReversed; }),
       absl::StatusCode::kInvalidArgument},
      {"unknown flag", with([](AccountFilter& f) { f.flags |= 8; }),
       absl::StatusCode::kInvalidArgument},
      {"high flag", with([](AccountFilter& f) { f.flags |= 1u << 31; }),
       absl::StatusCode::kInvalidArgument},
      {"min > max", with([](AccountFilter& f) { f.timestamp_min = 10, f.timestamp_max = 9; }),
       absl::StatusCode::kInvalidArgument},
      {"min too big", with([](AccountFilter& f) { f.timestamp_min = kTimestampMax + 1; }),
       absl::StatusCode::kInvalidArgument},
      {"max too big", with([](AccountFilter& f) { f.timestamp_max = kTimestampMax + 1; }),
       absl::StatusCode::kInvalidArgument},
      {"min = max", with([](AccountFilter& f) { f.timestamp_min = 10, f.timestamp_max = 10; }),
       absl::StatusCode::kOk},
      {"min, max unbounded", with([](AccountFilter& f) { f.timestamp_min = 10; }),
       absl::StatusCode::kOk},
      {"max limits", with([](AccountFilter& f) { f.timestamp_max = kTimestampMax; }),
       absl::StatusCode::kOk},
      {"largest limit", with([](AccountFilter& f) { f.limit = UINT32_MAX; }),
       absl::StatusCode::kOk},
      {"account missing", with([](AccountFilter& f) { f.account_id = 5; }), absl::StatusCode::kOk},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK(twin.BalancesStatus(c.filter) == c.expected);
  }
}

TEST_CASE("GetAccountBalances returns at most kBatchMax rows whatever the limit") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1, AF::kHistory), Acc(2)}) == "");
  std::vector<Transfer> batch;
  for (uint32_t i = 0; i < kBatchMax; ++i) batch.push_back(Xfer(1 + i, 2, 1, 1));
  REQUIRE(twin.Transfers(batch) == "");
  REQUIRE(twin.Transfers({Xfer(kBatchMax + 1, 2, 1, 1)}) == "");
  const std::vector<AccountBalance> oldest =
      twin.Balances({.account_id = 1, .limit = UINT32_MAX, .flags = AccountFilter::kCredits});
  REQUIRE(oldest.size() == kBatchMax);
  CHECK(oldest.front().credits_posted == 1);
  CHECK(oldest.back().credits_posted == kBatchMax);
  const std::vector<AccountBalance> newest =
      twin.Balances({.account_id = 1,
                     .limit = kBatchMax + 1,
                     .flags = AccountFilter::kCredits | AccountFilter::kReversed});
  REQUIRE(newest.size() == kBatchMax);
  CHECK(newest.front().credits_posted == kBatchMax + 1);
  CHECK(newest.back().credits_posted == 2);
}

// ---------------------------------------------------------------------------------------------
// Batches, timestamps and limits (§9, §13, ledger.h).
// ---------------------------------------------------------------------------------------------

TEST_CASE("A batch over kBatchMax events is refused whole and the next limit is accepted") {
  Twin twin;
  std::vector<Account> accounts;
  for (uint32_t i = 0; i <= kBatchMax; ++i) accounts.push_back(Acc(1 + i));
  const LedgerStats before = twin.ledger().stats();
  CHECK(twin.AccountsAt(accounts, twin.now() + accounts.size()) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Describe(twin.ledger().stats()) == Describe(before));
  accounts.pop_back();
  CHECK(twin.Accounts(accounts) == "");
  CHECK(twin.ledger().stats().accounts == kBatchMax);
  std::vector<Transfer> transfers;
  for (uint32_t i = 0; i <= kBatchMax; ++i) transfers.push_back(Xfer(1 + i, 1, 2, 1));
  CHECK(twin.TransfersAt(transfers, twin.now() + transfers.size()) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(twin.ledger().stats().transfers == 0);
}

TEST_CASE("Timestamps must be in range and after every timestamp used before") {
  Twin twin({}, 0);
  const std::vector<Account> three = {Acc(1), Acc(2), Acc(3)};
  const std::vector<Account> none;
  CHECK(twin.AccountsAt(three, 0) == absl::StatusCode::kInvalidArgument);
  CHECK(twin.AccountsAt(three, 2) == absl::StatusCode::kInvalidArgument);  // T - n < 0
  CHECK(twin.AccountsAt(three, kTimestampMax + 1) == absl::StatusCode::kInvalidArgument);
  CHECK(twin.AccountsAt(none, 0) == absl::StatusCode::kInvalidArgument);
  CHECK(twin.ledger().stats().last_timestamp == 0);
  std::string results;
  CHECK(twin.AccountsAt(three, 3, &results) == absl::StatusCode::kOk);  // takes 1, 2, 3
  CHECK(results == "");
  CHECK(twin.account(1).timestamp == 1);
  CHECK(twin.account(3).timestamp == 3);
  const std::vector<Transfer> two = {Xfer(1, 1, 2, 1), Xfer(2, 1, 2, 1)};
  CHECK(twin.TransfersAt(two, 4) == absl::StatusCode::kInvalidArgument);  // 3 would repeat
  CHECK(twin.TransfersAt(two, 3) == absl::StatusCode::kInvalidArgument);
  CHECK(twin.ledger().stats().transfers == 0);
  CHECK(twin.ledger().stats().last_timestamp == 3);
  CHECK(twin.TransfersAt(two, 5, &results) == absl::StatusCode::kOk);
  CHECK(twin.transfer(1).timestamp == 4);
  // An empty batch must pass the rule, but uses no timestamp.
  CHECK(twin.AccountsAt(none, 5) == absl::StatusCode::kOk);
  CHECK(twin.AccountsAt(none, 4) == absl::StatusCode::kInvalidArgument);
  CHECK(twin.TransfersAt({}, 4) == absl::StatusCode::kInvalidArgument);
  CHECK(twin.AccountsAt(none, 9) == absl::StatusCode::kOk);
  CHECK(twin.ledger().stats().last_timestamp == 5);
  // ExpirePendingTransfers: the same rule for no events, and it uses its timestamp up.
  CHECK(twin.ExpireAt(9).ok());
  CHECK(twin.ExpireAt(8).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(twin.ExpireAt(0).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(twin.ExpireAt(kTimestampMax + 1).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(twin.ExpireAt(9).ok());
  CHECK(twin.ExpireAt(20).ok());
  CHECK(twin.TransfersAt(two, 21) == absl::StatusCode::kInvalidArgument);
  // The largest timestamp is usable, and nothing after it.
  CHECK(twin.AccountsAt(three, kTimestampMax) == absl::StatusCode::kOk);
  CHECK(twin.AccountsAt(none, kTimestampMax) == absl::StatusCode::kOk);
  CHECK(twin.ExpireAt(kTimestampMax).ok());
}

TEST_CASE("A batch that could pass max_accounts or max_transfers is refused whole") {
  Twin twin({.max_accounts = 3, .max_transfers = 2});
  CHECK(twin.AccountsAt(std::vector<Account>{Acc(1), Acc(2), Acc(3), Acc(4)}, twin.now() + 4) ==
        absl::StatusCode::kResourceExhausted);
  CHECK(twin.ledger().stats().last_timestamp == 0);
  CHECK(twin.Accounts({Acc(1), Acc(2)}) == "");
  // Even when the event would not create one.
  CHECK(twin.AccountsAt(std::vector<Account>{Acc(1), Acc(1)}, twin.now() + 2) ==
        absl::StatusCode::kResourceExhausted);
  CHECK(twin.Accounts({Acc(1)}) == "0:exists");
  CHECK(twin.Accounts({Acc(3)}) == "");
  CHECK(
      twin.TransfersAt(std::vector<Transfer>{Xfer(1, 1, 2, 1), Xfer(2, 1, 2, 1), Xfer(3, 1, 2, 1)},
                       twin.now() + 3) == absl::StatusCode::kResourceExhausted);
  CHECK(twin.Transfers({Xfer(1, 1, 2, 1), Xfer(2, 0, 2, 1)}) ==
        "1:debit_account_id_must_not_be_zero");
  CHECK(twin.TransfersAt(std::vector<Transfer>{Xfer(2, 1, 2, 1), Xfer(3, 1, 2, 1)},
                         twin.now() + 2) == absl::StatusCode::kResourceExhausted);
  CHECK(twin.Transfers({Xfer(2, 1, 2, 1)}) == "");
  CHECK(twin.ledger().stats().transfers == 2);
}

}  // namespace
}  // namespace keel::ledger::testing
