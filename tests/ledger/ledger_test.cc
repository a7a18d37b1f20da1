// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::ledger::Ledger against TigerBeetle 0.16.78's semantics, table by table: each table walks
// one of the spec's precedence tables (/work/notes/tigerbeetle-0.16-spec.md, §n below) in the
// spirit of TigerBeetle's src/state_machine_tests.zig, each row tripping one new check in
// declaration order while still carrying later faults. Every call runs on the Ledger and on the
// reference model (Twin, ledger_testing.h), which must agree, and the expected values here check
// both against the spec. The expiry, history and batch-limit tables are in
// ledger_lifecycle_test.cc, the randomized differential test in ledger_random_test.cc.
#include "keel/ledger/ledger.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

// One event of a table and the result expected for it ("ok" when created).
template <typename Event>
struct Row {
  Event event;
  const char* expected;
};

// The batch of a table's events, and the results text expected for it.
template <typename Event>
std::pair<std::vector<Event>, std::string> Table(const std::vector<Row<Event>>& rows) {
  std::vector<Event> events;
  std::vector<std::string> expected;
  for (size_t i = 0; i < rows.size(); ++i) {
    events.push_back(rows[i].event);
    if (std::string(rows[i].expected) != "ok") {
      expected.push_back(absl::StrCat(i, ":", rows[i].expected));
    }
  }
  return {events, absl::StrJoin(expected, " ")};
}

// ---------------------------------------------------------------------------------------------
// Accounts (§3, §4.1).
// ---------------------------------------------------------------------------------------------

TEST_CASE("create_accounts reports the first fault in TigerBeetle's order of precedence") {
  Twin twin;
  REQUIRE(twin.Accounts({{.id = 1,
                          .user_data_128 = 10,
                          .user_data_64 = 20,
                          .user_data_32 = 30,
                          .ledger = 1,
                          .code = 1,
                          .flags = AF::kHistory}}) == "");
  const auto [events, expected] = Table<Account>({
      {{.id = 0, .debits_pending = 1, .reserved = 1, .flags = 0xfff0, .timestamp = 1},
       "timestamp_must_be_zero"},
      {{.id = 0, .debits_pending = 1, .reserved = 1, .flags = 0xfff0}, "reserved_field"},
      {{.id = 0,
        .debits_pending = 1,
        .flags = 0x8000 | AF::kDebitsMustNotExceedCredits | AF::kCreditsMustNotExceedDebits},
       "reserved_flag"},
      {{.id = 0, .ledger = 1, .code = 1, .flags = 0x10}, "reserved_flag"},  // imported
      {{.id = 0, .ledger = 1, .code = 1, .flags = 0x20}, "reserved_flag"},  // closed
      {{.id = 0, .ledger = 1, .code = 1, .flags = 0x40}, "reserved_flag"},  // padding
      {{.id = 0,
        .debits_pending = 1,
        .flags = AF::kDebitsMustNotExceedCredits | AF::kCreditsMustNotExceedDebits},
       "id_must_not_be_zero"},
      {{.id = kMax,
        .debits_pending = 1,
        .flags = AF::kDebitsMustNotExceedCredits | AF::kCreditsMustNotExceedDebits},
       "id_must_not_be_int_max"},
      {{.id = 1,
        .debits_pending = 1,
        .user_data_128 = 99,
        .ledger = 2,
        .flags = AF::kDebitsMustNotExceedCredits | AF::kCreditsMustNotExceedDebits},
       "exists_with_different_flags"},
      {{.id = 1,
        .user_data_128 = 99,
        .user_data_64 = 99,
        .user_data_32 = 99,
        .ledger = 2,
        .code = 2,
        .flags = AF::kHistory},
       "exists_with_different_user_data_128"},
      {{.id = 1,
        .user_data_128 = 10,
        .user_data_64 = 99,
        .user_data_32 = 99,
        .ledger = 2,
        .code = 2,
        .flags = AF::kHistory},
       "exists_with_different_user_data_64"},
      {{.id = 1,
        .user_data_128 = 10,
        .user_data_64 = 20,
        .user_data_32 = 99,
        .ledger = 2,
        .code = 2,
        .flags = AF::kHistory},
       "exists_with_different_user_data_32"},
      {{.id = 1,
        .user_data_128 = 10,
        .user_data_64 = 20,
        .user_data_32 = 30,
        .ledger = 2,
        .code = 2,
        .flags = AF::kHistory},
       "exists_with_different_ledger"},
      {{.id = 1,
        .user_data_128 = 10,
        .user_data_64 = 20,
        .user_data_32 = 30,
        .ledger = 1,
        .code = 2,
        .flags = AF::kHistory},
       "exists_with_different_code"},
      // Idempotency comes before the checks of the balances: they are not compared.
      {{.id = 1,
        .debits_pending = 1,
        .debits_posted = 2,
        .credits_pending = 3,
        .credits_posted = 4,
        .user_data_128 = 10,
        .user_data_64 = 20,
        .user_data_32 = 30,
        .ledger = 1,
        .code = 1,
        .flags = AF::kHistory},
       "exists"},
      {{.id = 2,
        .debits_pending = 1,
        .debits_posted = 1,
        .credits_pending = 1,
        .credits_posted = 1,
        .flags = AF::kDebitsMustNotExceedCredits | AF::kCreditsMustNotExceedDebits},
       "flags_are_mutually_exclusive"},
      {{.id = 2,
        .debits_pending = 1,
        .debits_posted = 1,
        .credits_pending = 1,
        .credits_posted = 1},
       "debits_pending_must_be_zero"},
      {{.id = 2, .debits_posted = 1, .credits_pending = 1, .credits_posted = 1},
       "debits_posted_must_be_zero"},
      {{.id = 2, .credits_pending = 1, .credits_posted = 1}, "credits_pending_must_be_zero"},
      {{.id = 2, .credits_posted = 1}, "credits_posted_must_be_zero"},
      {{.id = 2}, "ledger_must_not_be_zero"},
      {{.id = 2, .ledger = 1}, "code_must_not_be_zero"},
      {{.id = 2,
        .user_data_64 = 5,
        .ledger = 1,
        .code = 1,
        .flags = AF::kCreditsMustNotExceedDebits},
       "ok"},
      {{.id = 2,
        .user_data_64 = 5,
        .ledger = 1,
        .code = 1,
        .flags = AF::kCreditsMustNotExceedDebits},
       "exists"},
  });
  CHECK(twin.Accounts(events) == expected);
  // The event's timestamp is its slot in the batch: T - n + i + 1 (§9).
  const Account two = twin.account(2);
  CHECK(two.timestamp == twin.now() - events.size() + 22 + 1);
  CHECK(two.user_data_64 == 5);
  CHECK(two.flags == AF::kCreditsMustNotExceedDebits);
  CHECK(Balances(two) == "0 0 0 0");
  CHECK(twin.ledger().stats().accounts == 2);
}

TEST_CASE("An account keeps its linked flag and a retry must repeat it") {
  Twin twin;
  CHECK(twin.Accounts({Acc(1, AF::kLinked), Acc(2)}) == "");
  CHECK(twin.account(1).flags == AF::kLinked);  // §4.1: flags stored exactly as given
  CHECK(twin.Accounts({Acc(1)}) == "0:exists_with_different_flags");
  // The same chain again: the exists of its first event breaks it (§3).
  CHECK(twin.Accounts({Acc(1, AF::kLinked), Acc(2)}) == "0:exists 1:linked_event_failed");
  CHECK(twin.Accounts({Acc(3, AF::kLinked), Acc(2)}) == "0:linked_event_failed 1:exists");
  CHECK(!twin.ledger().LookupAccount(3).has_value());
}

// ---------------------------------------------------------------------------------------------
// Single-phase and pending transfers (§4.2, §4.3).
// ---------------------------------------------------------------------------------------------

TEST_CASE("create_transfers reports the first fault of a single-phase transfer in order") {
  Twin twin;
  // 1 cannot go into debit, 2 cannot go into credit, 3 is on another ledger, 4 and 5 are free.
  REQUIRE(twin.Accounts({Acc(1, AF::kDebitsMustNotExceedCredits),
                         Acc(2, AF::kCreditsMustNotExceedDebits), Acc(3, 0, 2), Acc(4), Acc(5)}) ==
          "");
  REQUIRE(twin.Transfers({Xfer(900, 77, 5, 1)}) == "0:debit_account_not_found");
  Transfer full_fault{.id = 0,
                      .debit_account_id = 0,
                      .credit_account_id = 0,
                      .amount = 1,
                      .pending_id = 7,
                      .timeout = 1,
                      .ledger = 0,
                      .code = 0};
  auto with = [&](auto change) {
    Transfer t = full_fault;
    change(t);
    return t;
  };
  const auto [events, expected] = Table<Transfer>({
      {with([](Transfer& t) { t.flags = 0x100, t.timestamp = 1; }), "timestamp_must_be_zero"},
      {with([](Transfer& t) { t.flags = 0x40; }), "reserved_flag"},   // closing_debit
      {with([](Transfer& t) { t.flags = 0x80; }), "reserved_flag"},   // closing_credit
      {with([](Transfer& t) { t.flags = 0x100; }), "reserved_flag"},  // imported
      {with([](Transfer& t) { t.flags = 0x8000 | TF::kPending; }), "reserved_flag"},
      {with([](Transfer& t) {
         t.flags = TF::kPostPendingTransfer | TF::kVoidPendingTransfer | TF::kPending;
       }),
       "id_must_not_be_zero"},
      {with([](Transfer& t) { t.id = kMax; }), "id_must_not_be_int_max"},
      {with([](Transfer& t) {
         t.id = 900;
         t.flags = TF::kPostPendingTransfer | TF::kPending;
       }),
       "id_already_failed"},
      {with([](Transfer& t) { t.id = 1001; }), "debit_account_id_must_not_be_zero"},
      {with([](Transfer& t) { t.id = 1002, t.debit_account_id = kMax; }),
       "debit_account_id_must_not_be_int_max"},
      {with([](Transfer& t) { t.id = 1003, t.debit_account_id = 4; }),
       "credit_account_id_must_not_be_zero"},
      {with([](Transfer& t) { t.id = 1004, t.debit_account_id = 4, t.credit_account_id = kMax; }),
       "credit_account_id_must_not_be_int_max"},
      {with([](Transfer& t) { t.id = 1005, t.debit_account_id = 4, t.credit_account_id = 4; }),
       "accounts_must_be_different"},
      {with([](Transfer& t) { t.id = 1006, t.debit_account_id = 4, t.credit_account_id = 5; }),
       "pending_id_must_be_zero"},
      {with([](Transfer& t) {
         t.id = 1007, t.debit_account_id = 77, t.credit_account_id = 78, t.pending_id = 0;
       }),
       "timeout_reserved_for_pending_transfer"},
      {with([](Transfer& t) {
         t.id = 1008, t.debit_account_id = 77, t.credit_account_id = 78, t.pending_id = 0;
         t.timeout = 0;
       }),
       "ledger_must_not_be_zero"},
      {with([](Transfer& t) {
         t.id = 1009, t.debit_account_id = 77, t.credit_account_id = 78, t.pending_id = 0;
         t.timeout = 0, t.ledger = 1;
       }),
       "code_must_not_be_zero"},
      {Xfer(1010, 77, 78, 1), "debit_account_not_found"},
      {Xfer(1011, 4, 78, 1), "credit_account_not_found"},
      {{.id = 1012,
        .debit_account_id = 4,
        .credit_account_id = 3,
        .amount = 1,
        .ledger = 2,
        .code = 1},
       "accounts_must_have_the_same_ledger"},
      {{.id = 1013,
        .debit_account_id = 4,
        .credit_account_id = 5,
        .amount = 1,
        .ledger = 2,
        .code = 1},
       "transfer_must_have_the_same_ledger_as_accounts"},
      {Xfer(1014, 1, 2, 1), "exceeds_credits"},
      {Xfer(1015, 4, 2, 1), "exceeds_debits"},
      {Xfer(1016, 4, 5, 1), "ok"},
      {{.id = 1017,
        .debit_account_id = 4,
        .credit_account_id = 5,
        .amount = 2,
        .timeout = 10,
        .ledger = 1,
        .code = 1,
        .flags = TF::kPending},
       "ok"},
      {Xfer(1018, 4, 5, 0), "ok"},  // a zero amount is legal (§4.3 notes)
      {Xfer(1016, 4, 5, 1), "exists"},
  });
  CHECK(twin.Transfers(events) == expected);
  CHECK(Balances(twin.account(4)) == "2 1 0 0");
  CHECK(Balances(twin.account(5)) == "0 0 2 1");
  CHECK(twin.status(1017) == PendingStatus::kPending);
  CHECK(twin.status(1016) == PendingStatus::kNone);
  const Transfer created = twin.transfer(1017);
  CHECK(created.timeout == 10);
  CHECK(created.flags == TF::kPending);
  CHECK(created.timestamp == twin.now() - events.size() + 24 + 1);
  CHECK(twin.transfer(1018).amount == 0);
  CHECK(twin.ledger().NextExpiry() == created.timestamp + 10'000'000'000);
  // Exactly the transient failures are remembered (§6): 900, 1010, 1011, 1014 and 1015.
  CHECK(twin.ledger().stats().failed_ids == 5);
  CHECK(twin.Transfers({Xfer(1010, 4, 5, 1), Xfer(1014, 4, 5, 1), Xfer(1009, 4, 5, 1),
                        Xfer(1013, 4, 5, 1)}) == "0:id_already_failed 1:id_already_failed");
}

TEST_CASE("A repeated transfer is compared field by field before it is validated") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(1, AF::kDebitsMustNotExceedCredits), Acc(4), Acc(5)}) == "");
  const Transfer e{.id = 700,
                   .debit_account_id = 4,
                   .credit_account_id = 5,
                   .amount = 10,
                   .user_data_128 = 1,
                   .user_data_64 = 2,
                   .user_data_32 = 3,
                   .timeout = 1000,
                   .ledger = 1,
                   .code = 1,
                   .flags = TF::kPending};
  REQUIRE(twin.Transfers({e}) == "");
  Transfer all_different{.id = 700,
                         .debit_account_id = 5,
                         .credit_account_id = 4,
                         .amount = 11,
                         .pending_id = 5,
                         .user_data_128 = 9,
                         .user_data_64 = 9,
                         .user_data_32 = 9,
                         .timeout = 1,
                         .ledger = 2,
                         .code = 2,
                         .flags = TF::kPending | TF::kBalancingDebit};
  std::vector<Row<Transfer>> rows;
  rows.push_back({all_different, "exists_with_different_flags"});
  // Each row fixes one more field, in the comparison's order (§4.5).
  auto fix = [&](auto change, const char* expected) {
    change(all_different);
    rows.push_back({all_different, expected});
  };
  fix([](Transfer& t) { t.flags = TF::kPending; }, "exists_with_different_pending_id");
  fix([](Transfer& t) { t.pending_id = 0; }, "exists_with_different_timeout");
  fix([](Transfer& t) { t.timeout = 1000; }, "exists_with_different_debit_account_id");
  // The same account on both sides: exists_* before accounts_must_be_different.
  fix([](Transfer& t) { t.debit_account_id = 4; }, "exists_with_different_credit_account_id");
  fix([](Transfer& t) { t.credit_account_id = 5; }, "exists_with_different_amount");
  fix([](Transfer& t) { t.amount = 10; }, "exists_with_different_user_data_128");
  fix([](Transfer& t) { t.user_data_128 = 1; }, "exists_with_different_user_data_64");
  fix([](Transfer& t) { t.user_data_64 = 2; }, "exists_with_different_user_data_32");
  fix([](Transfer& t) { t.user_data_32 = 3; }, "exists_with_different_ledger");
  fix([](Transfer& t) { t.ledger = 1; }, "exists_with_different_code");
  fix([](Transfer& t) { t.code = 1; }, "exists");
  // reserved_flag and the id checks come first.
  Transfer reserved = e;
  reserved.flags |= 0x40;
  rows.push_back({reserved, "reserved_flag"});
  const auto [events, expected] = Table<Transfer>(rows);
  CHECK(twin.Transfers(events) == expected);

  // A retry is exists even when the request would fail today: the pending transfer was posted,
  // and the debit account of a single-phase transfer can no longer pay.
  REQUIRE(twin.Transfers({Xfer(701, 4, 1, 5), Xfer(702, 1, 5, 5), Post(703, 700)}) == "");
  CHECK(twin.Transfers({e, Xfer(702, 1, 5, 5), Post(703, 700)}) == "0:exists 1:exists 2:exists");
}

// ---------------------------------------------------------------------------------------------
// Post and void (§4.4, §4.5, §5).
// ---------------------------------------------------------------------------------------------

// Pending transfers of 100 from 4 to 5 (ledger 1, code 1, user data 7, 8, 9) with the given id
// and timeout.
Transfer Pending(Uint128 id, uint32_t timeout = 0, Uint128 amount = 100) {
  return {.id = id,
          .debit_account_id = 4,
          .credit_account_id = 5,
          .amount = amount,
          .user_data_128 = 7,
          .user_data_64 = 8,
          .user_data_32 = 9,
          .timeout = timeout,
          .ledger = 1,
          .code = 1,
          .flags = TF::kPending};
}

TEST_CASE("Post and void report the first fault in TigerBeetle's order of precedence") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(4), Acc(5), Acc(6)}) == "");
  // 500 pending; 501 single-phase; 502 posted; 504 voided; 506 expired by ExpirePendingTransfers;
  // 508 expired by time only.
  REQUIRE(twin.Transfers({Pending(500), Xfer(501, 4, 5, 10), Pending(502), Pending(504),
                          Pending(506, 1), Xfer(900, 77, 5, 1)}) == "5:debit_account_not_found");
  REQUIRE(twin.Transfers({Post(503, 502), Void(505, 504)}) == "");
  twin.AdvanceSeconds(1);
  REQUIRE(twin.Expire() == 1);
  REQUIRE(twin.status(506) == PendingStatus::kExpired);
  REQUIRE(twin.Transfers({Pending(508, 1)}) == "");
  twin.AdvanceSeconds(2);

  Transfer walk{.id = 0,
                .debit_account_id = 6,
                .credit_account_id = 6,
                .amount = 101,
                .pending_id = 0,
                .timeout = 1,
                .ledger = 2,
                .code = 2,
                .flags = TF::kPostPendingTransfer | TF::kVoidPendingTransfer | TF::kPending |
                         TF::kBalancingDebit | TF::kBalancingCredit | 0x80};
  std::vector<Row<Transfer>> rows;
  rows.push_back({walk, "reserved_flag"});
  auto fix = [&](auto change, const char* expected) {
    change(walk);
    rows.push_back({walk, expected});
  };
  fix([](Transfer& t) { t.flags &= ~0x80; }, "id_must_not_be_zero");
  fix([](Transfer& t) { t.id = 900; }, "id_already_failed");
  fix([](Transfer& t) { t.id = 2001; }, "flags_are_mutually_exclusive");  // post and void
  fix([](Transfer& t) { t.flags &= ~TF::kVoidPendingTransfer; }, "flags_are_mutually_exclusive");
  fix([](Transfer& t) { t.flags &= ~TF::kPending; }, "flags_are_mutually_exclusive");
  fix([](Transfer& t) { t.flags &= ~TF::kBalancingDebit; }, "flags_are_mutually_exclusive");
  fix([](Transfer& t) { t.flags = TF::kPostPendingTransfer; }, "pending_id_must_not_be_zero");
  fix([](Transfer& t) { t.pending_id = kMax; }, "pending_id_must_not_be_int_max");
  fix([](Transfer& t) { t.pending_id = 2001; }, "pending_id_must_be_different");
  fix([](Transfer& t) { t.pending_id = 9999; }, "timeout_reserved_for_pending_transfer");
  fix([](Transfer& t) { t.id = 2011, t.timeout = 0; }, "pending_transfer_not_found");
  fix([](Transfer& t) { t.id = 2012, t.pending_id = 501; }, "pending_transfer_not_pending");
  fix([](Transfer& t) { t.pending_id = 502; }, "pending_transfer_has_different_debit_account_id");
  fix([](Transfer& t) { t.debit_account_id = 4; },
      "pending_transfer_has_different_credit_account_id");
  fix([](Transfer& t) { t.credit_account_id = 0; }, "pending_transfer_has_different_ledger");
  fix([](Transfer& t) { t.ledger = 1; }, "pending_transfer_has_different_code");
  fix([](Transfer& t) { t.code = 0; }, "exceeds_pending_transfer_amount");
  fix([](Transfer& t) { t.flags = TF::kVoidPendingTransfer, t.amount = 50; },
      "pending_transfer_has_different_amount");
  fix([](Transfer& t) { t.amount = 100; }, "pending_transfer_already_posted");
  fix([](Transfer& t) { t.pending_id = 504, t.amount = 0; }, "pending_transfer_already_voided");
  fix([](Transfer& t) { t.pending_id = 506; }, "pending_transfer_expired");  // by status
  fix([](Transfer& t) { t.pending_id = 508; }, "pending_transfer_expired");  // by time
  rows.push_back({{.id = 2023,
                   .amount = 60,
                   .pending_id = 500,
                   .user_data_64 = 55,
                   .flags = TF::kPostPendingTransfer},
                  "ok"});
  rows.push_back({Void(2024, 500), "pending_transfer_already_posted"});
  const auto [events, expected] = Table<Transfer>(rows);
  CHECK(twin.Transfers(events) == expected);

  // The post takes p's accounts, ledger and code, inherits each zero user data field, and stores
  // timeout 0 (§4.4 effects).
  const Transfer post = twin.transfer(2023);
  CHECK(Describe(post) == Describe(Transfer{.id = 2023,
                                            .debit_account_id = 4,
                                            .credit_account_id = 5,
                                            .amount = 60,
                                            .pending_id = 500,
                                            .user_data_128 = 7,
                                            .user_data_64 = 55,
                                            .user_data_32 = 9,
                                            .ledger = 1,
                                            .code = 1,
                                            .flags = TF::kPostPendingTransfer,
                                            .timestamp = post.timestamp}));
  CHECK(twin.status(500) == PendingStatus::kPosted);
  // 508 is still reserved: expired by time, but ExpirePendingTransfers has not run.
  CHECK(Balances(twin.account(4)) == "100 170 0 0");
  CHECK(twin.status(508) == PendingStatus::kPending);
  CHECK(twin.Expire() == 1);
  CHECK(Balances(twin.account(4)) == "0 170 0 0");
  // Only pending_transfer_not_found was transient.
  CHECK(twin.Transfers({Xfer(2011, 4, 5, 1), Xfer(2012, 4, 5, 1), Xfer(2001, 4, 5, 1)}) ==
        "0:id_already_failed");
}

TEST_CASE("A post moves the amount given and releases the whole pending amount") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(4), Acc(5)}) == "");
  REQUIRE(twin.Transfers({Pending(1), Pending(2), Pending(3), Pending(4), Pending(5)}) == "");
  CHECK(Balances(twin.account(4)) == "500 0 0 0");
  // A post of 0 posts 0 (TigerBeetle's T107); of 2^128 - 1 all of it; a void of 0 all of it.
  CHECK(twin.Transfers(
            {Post(11, 1, 0),
             Post(12, 2, kMax),
             Post(13, 3, 30),
             Void(14, 4),
             {.id = 15, .amount = 100, .pending_id = 5, .flags = TF::kVoidPendingTransfer}}) == "");
  CHECK(twin.transfer(11).amount == 0);
  CHECK(twin.transfer(12).amount == 100);
  CHECK(twin.transfer(13).amount == 30);
  CHECK(twin.transfer(14).amount == 100);
  CHECK(twin.transfer(15).amount == 100);
  CHECK(twin.status(1) == PendingStatus::kPosted);
  CHECK(twin.status(4) == PendingStatus::kVoided);
  CHECK(Balances(twin.account(4)) == "0 130 0 0");
  CHECK(Balances(twin.account(5)) == "0 0 0 130");
  CHECK(twin.ledger().stats().pending == 0);
  // A post or void of a post is not pending; a post of a void likewise.
  CHECK(twin.Transfers({Post(16, 12), Void(17, 14)}) ==
        "0:pending_transfer_not_pending 1:pending_transfer_not_pending");
}

TEST_CASE("A repeated post or void is compared with the stored one and its pending transfer") {
  Twin twin;
  REQUIRE(twin.Accounts({Acc(4), Acc(5), Acc(6)}) == "");
  REQUIRE(twin.Transfers({Pending(598), Pending(599), Pending(601), Pending(603)}) == "");
  REQUIRE(twin.Transfers({Post(600, 599, 40), Post(602, 601), Void(604, 603)}) == "");

  Transfer walk{.id = 600,
                .debit_account_id = 6,
                .credit_account_id = 6,
                .amount = 41,
                .pending_id = 598,
                .user_data_128 = 1,
                .user_data_64 = 1,
                .user_data_32 = 1,
                .timeout = 1,
                .ledger = 2,
                .code = 2,
                .flags = TF::kVoidPendingTransfer};
  std::vector<Row<Transfer>> rows;
  rows.push_back({walk, "exists_with_different_flags"});
  auto fix = [&](auto change, const char* expected) {
    change(walk);
    rows.push_back({walk, expected});
  };
  fix([](Transfer& t) { t.flags = TF::kPostPendingTransfer; }, "exists_with_different_pending_id");
  fix([](Transfer& t) { t.pending_id = 599; }, "exists_with_different_timeout");
  fix([](Transfer& t) { t.timeout = 0; }, "exists_with_different_debit_account_id");
  fix([](Transfer& t) { t.debit_account_id = 4; }, "exists_with_different_credit_account_id");
  fix([](Transfer& t) { t.credit_account_id = 0; }, "exists_with_different_amount");
  fix([](Transfer& t) { t.amount = 40; }, "exists_with_different_user_data_128");
  fix([](Transfer& t) { t.user_data_128 = 7; }, "exists_with_different_user_data_64");
  fix([](Transfer& t) { t.user_data_64 = 0; }, "exists_with_different_user_data_32");
  fix([](Transfer& t) { t.user_data_32 = 9; }, "exists_with_different_ledger");
  fix([](Transfer& t) { t.ledger = 0; }, "exists_with_different_code");
  fix([](Transfer& t) { t.code = 1; }, "exists");
  rows.push_back({Post(600, 599, 40), "exists"});
  rows.push_back({Post(600, 599, kMax), "exists_with_different_amount"});  // 40 of 100 posted
  // A full post: 2^128 - 1 or the exact amount; more is not exists (TigerBeetle's T105).
  rows.push_back({Post(602, 601, kMax), "exists"});
  rows.push_back({Post(602, 601, 100), "exists"});
  rows.push_back({Post(602, 601, 101), "exists_with_different_amount"});
  rows.push_back({Post(602, 601, 0), "exists_with_different_amount"});
  rows.push_back({Void(604, 603), "exists"});
  rows.push_back(
      {{.id = 604, .amount = 100, .pending_id = 603, .flags = TF::kVoidPendingTransfer}, "exists"});
  rows.push_back({{.id = 604, .amount = 50, .pending_id = 603, .flags = TF::kVoidPendingTransfer},
                  "exists_with_different_amount"});
  rows.push_back({{.id = 604,
                   .debit_account_id = 4,
                   .credit_account_id = 5,
                   .pending_id = 603,
                   .user_data_128 = 7,
                   .ledger = 1,
                   .code = 1,
                   .flags = TF::kVoidPendingTransfer},
                  "exists"});
  const auto [events, expected] = Table<Transfer>(rows);
  CHECK(twin.Transfers(events) == expected);
}

// ---------------------------------------------------------------------------------------------
// Balancing transfers (§4.3 row 21, §5).
// ---------------------------------------------------------------------------------------------

TEST_CASE("Balancing transfers move at most what the balances allow and may move 0") {
  Twin twin;
  // 1 must not go into debit, 2 must not go into credit, 3..8 are free.
  REQUIRE(twin.Accounts({Acc(1, AF::kDebitsMustNotExceedCredits),
                         Acc(2, AF::kCreditsMustNotExceedDebits), Acc(3), Acc(4), Acc(5), Acc(6),
                         Acc(7), Acc(8)}) == "");
  REQUIRE(twin.Transfers({Xfer(1, 3, 1, 100), Xfer(2, 1, 3, 30), Xfer(3, 1, 3, 20, TF::kPending),
                          Xfer(4, 2, 4, 70), Xfer(5, 4, 2, 20, TF::kPending), Xfer(6, 3, 5, 40),
                          Xfer(7, 6, 3, 25), Xfer(8, 7, 3, 10)}) == "");
  // 1 can pay 100 - 50 = 50 more; 2 can take 70 - 20 = 50 more; 5 (no limit flag) has 40 of
  // credits to balance; 6 has 25 of debits; 7 has 10 of debits.
  const auto [events, expected] = Table<Transfer>({
      {Xfer(10, 1, 4, 45, TF::kBalancingDebit), "ok"},                           // 45
      {Xfer(11, 1, 4, kMax, TF::kBalancingDebit), "ok"},                         // the 5 left
      {Xfer(12, 1, 4, 5, TF::kBalancingDebit), "ok"},                            // 0
      {Xfer(13, 1, 4, 0, TF::kBalancingDebit), "ok"},                            // 0 means 0
      {Xfer(20, 4, 2, 30, TF::kBalancingCredit), "ok"},                          // 30
      {Xfer(21, 4, 2, kMax, TF::kBalancingCredit), "ok"},                        // 20
      {Xfer(30, 5, 6, kMax, TF::kBalancingDebit | TF::kBalancingCredit), "ok"},  // min(40, 25)
      // The credit side allows 10, but 1 is at its limit: exceeds_credits all the same.
      {Xfer(31, 1, 7, kMax, TF::kBalancingCredit), "exceeds_credits"},
      {Xfer(32, 8, 3, kMax, TF::kBalancingDebit), "ok"},                 // 8 has nothing: 0
      {Xfer(33, 5, 3, kMax, TF::kBalancingDebit | TF::kPending), "ok"},  // reserves the 15 left
      {Xfer(34, 5, 3, kMax, TF::kBalancingDebit), "ok"},                 // 0
      // A retry of a balancing transfer is exists for any bound >= the amount moved (§4.5).
      {Xfer(11, 1, 4, kMax, TF::kBalancingDebit), "exists"},
      {Xfer(11, 1, 4, 5, TF::kBalancingDebit), "exists"},
      {Xfer(11, 1, 4, 6, TF::kBalancingDebit), "exists"},
      {Xfer(11, 1, 4, 4, TF::kBalancingDebit), "exists_with_different_amount"},
      {Xfer(12, 1, 4, 0, TF::kBalancingDebit), "exists"},
  });
  CHECK(twin.Transfers(events) == expected);
  CHECK(twin.transfer(10).amount == 45);
  CHECK(twin.transfer(11).amount == 5);
  CHECK(twin.transfer(12).amount == 0);
  CHECK(twin.transfer(13).amount == 0);
  CHECK(twin.transfer(20).amount == 30);
  CHECK(twin.transfer(21).amount == 20);
  CHECK(twin.transfer(30).amount == 25);
  CHECK(twin.transfer(32).amount == 0);
  CHECK(twin.transfer(33).amount == 15);
  CHECK(twin.transfer(34).amount == 0);
  CHECK(Balances(twin.account(1)) == "20 80 0 100");
  CHECK(Balances(twin.account(2)) == "0 70 20 50");
  CHECK(Balances(twin.account(5)) == "15 25 0 40");
}

// ---------------------------------------------------------------------------------------------
// Overflows near 2^128 - 1 (§4.3 rows 22-28).
// ---------------------------------------------------------------------------------------------

TEST_CASE("Transfers that would pass 2^128 - 1 fail with the first overflow in order") {
  Twin twin;
  std::vector<Account> accounts;
  for (Uint128 id = 1; id <= 14; ++id) accounts.push_back(Acc(id));
  REQUIRE(twin.Accounts(accounts) == "");
  const Uint128 half = Uint128(1) << 127;
  // 1 has debited and 2 credited 2^128 - 1 posted; 5 and 6 the same pending; 9 has debits of
  // 2^127 pending and 2^127 - 1 posted, 10 the credits.
  REQUIRE(twin.Transfers({Xfer(1, 1, 2, kMax), Xfer(2, 5, 6, kMax, TF::kPending),
                          Xfer(3, 9, 10, half, TF::kPending), Xfer(4, 9, 10, half - 1)}) == "");
  const auto [events, expected] = Table<Transfer>({
      {Xfer(10, 5, 6, 1, TF::kPending), "overflows_debits_pending"},  // both: debit first
      {Xfer(11, 7, 6, 1, TF::kPending), "overflows_credits_pending"},
      {Xfer(12, 1, 3, 1, TF::kPending), "overflows_debits_posted"},  // checked for pending too
      {Xfer(13, 1, 3, 1), "overflows_debits_posted"},
      {Xfer(14, 4, 2, 1), "overflows_credits_posted"},
      {Xfer(15, 5, 7, 1), "overflows_debits"},
      {Xfer(16, 8, 6, 1), "overflows_credits"},
      {Xfer(17, 9, 11, 1, TF::kPending), "overflows_debits"},  // 2^127 + 2^127 - 1 + 1
      {Xfer(18, 12, 10, 1), "overflows_credits"},
      {Xfer(19, 1, 3, 0), "ok"},  // 0 never overflows
      {Xfer(20, 13, 14, kMax), "ok"},
      {Xfer(21, 3, 14, 1, TF::kBalancingCredit), "ok"},  // balanced down to 0 first
  });
  CHECK(twin.Transfers(events) == expected);
  CHECK(twin.transfer(21).amount == 0);
  // None of them is transient.
  CHECK(twin.ledger().stats().failed_ids == 0);
  // Posting and voiding 2^128 - 1.
  CHECK(twin.Transfers({Post(30, 2), Xfer(31, 11, 12, kMax, TF::kPending)}) == "");
  CHECK(twin.Transfers({Void(32, 31)}) == "");
  CHECK(Balances(twin.account(5)) == "0 " + ToString(kMax) + " 0 0");
  CHECK(Balances(twin.account(11)) == "0 0 0 0");
}

TEST_CASE("A timeout that would pass 2^63 - 1 nanoseconds is overflows_timeout") {
  // The batch's first event gets 2^63 - 1 - 10 s: a timeout of 10 s ends exactly at the limit.
  const uint64_t first = kTimestampMax - 10'000'000'000;
  Twin twin({}, first - 10);
  REQUIRE(twin.Accounts({Acc(1, AF::kDebitsMustNotExceedCredits), Acc(2)}) == "");
  auto pending = [](Uint128 id, Uint128 dr, Uint128 cr, uint32_t timeout) {
    Transfer t = Xfer(id, dr, cr, 5, TF::kPending);
    t.timeout = timeout;
    return t;
  };
  const std::vector<Transfer> batch = {pending(1, 2, 1, 10), pending(2, 2, 1, 10),
                                       pending(3, 1, 2, 10)};  // overflows before exceeds
  std::string results;
  CHECK(twin.TransfersAt(batch, first + 2, &results) == absl::StatusCode::kOk);
  CHECK(results == "1:overflows_timeout 2:overflows_timeout");
  CHECK(twin.ledger().NextExpiry() == kTimestampMax);
  CHECK(twin.ledger().stats().failed_ids == 0);

  // The largest timeout, 2^32 - 1 s, from 4 * 10^18 ns and from 5 * 10^18 ns.
  for (const uint64_t start :
       {uint64_t{4'000'000'000'000'000'000}, uint64_t{5'000'000'000'000'000'000}}) {
    CAPTURE(start);
    Twin other({}, start);
    REQUIRE(other.Accounts({Acc(1), Acc(2)}) == "");
    CHECK(other.Transfers({pending(1, 1, 2, UINT32_MAX)}) ==
          (start < 4'900'000'000'000'000'000 ? "" : "0:overflows_timeout"));
  }
}

}  // namespace
}  // namespace keel::ledger::testing
