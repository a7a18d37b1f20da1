// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The wallet's replicated ledger in one process: LedgerStateMachine on its own (determinism,
// the timestamp rule, bad bytes, snapshots), the RESP protocol's codecs, and one replica
// (a one-member Raft cluster) served over RESP to the WalletClient.
//
// KEEL_WALLET_STEPS sets the commands of the randomized determinism test, KEEL_TEST_SEED its seed.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "digital_wallet/replica_client.h"
#include "digital_wallet/replica_protocol.h"
#include "digital_wallet/replica_service.h"
#include "digital_wallet/replica_state_machine.h"
#include "digital_wallet/replica_workload.h"
#include "doctest/doctest.h"
#include "keel/base/coding.h"
#include "keel/base/strings.h"
#include "keel/net/resp_reader.h"
#include "testing/testing.h"

namespace keel::examples::wallet {
namespace {

using ledger::Account;
using ledger::Command;
using ledger::CommandKind;
using ledger::Transfer;
using ledger::TransferFlags;
using ledger::Uint128;

// The one RESP value in `bytes`.
net::RespValue Resp(std::string_view bytes) {
  net::RespReader reader;
  reader.Feed(bytes);
  absl::StatusOr<std::optional<net::RespReply>> reply = reader.Next();
  REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  REQUIRE_MESSAGE(reply->has_value(), "incomplete: ", base::Quoted(bytes));
  CHECK(reader.buffered().empty());
  return (*reply)->value;
}

std::unique_ptr<LedgerStateMachine> NewMachine(const MachineOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<LedgerStateMachine>> machine = LedgerStateMachine::Create(options);
  REQUIRE_MESSAGE(machine.ok(), machine.status().ToString());
  return std::move(*machine);
}

// Applies `command` and returns the decoded answer (REQUIRE: not an error).
ExecuteReply ApplyOk(LedgerStateMachine& machine, const Command& command) {
  const net::RespValue value = Resp(machine.Apply(ledger::EncodeCommand(command)));
  REQUIRE_MESSAGE(value.type != net::RespValue::Type::kError, value.text);
  absl::StatusOr<ExecuteReply> reply = ParseExecuteReply(value);
  REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  return *reply;
}

Command Accounts(std::vector<Account> accounts, uint64_t timestamp) {
  Command command;
  command.kind = CommandKind::kCreateAccounts;
  command.timestamp = timestamp;
  command.accounts = std::move(accounts);
  return command;
}

Command Transfers(std::vector<Transfer> transfers, uint64_t timestamp) {
  Command command;
  command.kind = CommandKind::kCreateTransfers;
  command.timestamp = timestamp;
  command.transfers = std::move(transfers);
  return command;
}

Command Expiry(uint64_t timestamp) {
  Command command;
  command.kind = CommandKind::kExpirePendingTransfers;
  command.timestamp = timestamp;
  return command;
}

Transfer Pay(Uint128 id, Uint128 from, Uint128 to, Uint128 amount, uint16_t flags = 0) {
  return {.id = id,
          .debit_account_id = from,
          .credit_account_id = to,
          .amount = amount,
          .ledger = kWalletLedger,
          .code = 1,
          .flags = flags};
}

// A random command over a small id space: accounts (some limited, some linked), transfers of
// every kind (single-phase, pending with and without timeouts, posts, voids, linked, balancing,
// repeated ids, unknown accounts), expiries; proposer timestamps that jump back and forth.
Command RandomCommand(std::mt19937_64& random, uint64_t& clock) {
  const uint64_t step = random() % 10;
  // The proposers' clocks: mostly forward, sometimes back (another replica, a clock stepped).
  clock = step == 0 && clock > 5'000'000'000 ? clock - random() % 5'000'000'000
                                             : clock + random() % 2'000'000'000;
  if (step == 1) return Expiry(clock);
  if (step == 2) {
    std::vector<Account> accounts;
    for (uint64_t i = 0, n = 1 + random() % 4; i < n; ++i) {
      accounts.push_back(
          {.id = 1 + random() % 12,
           .ledger = kWalletLedger,
           .code = 1,
           .flags = static_cast<uint16_t>(
               random() % 4 == 0 ? ledger::AccountFlags::kDebitsMustNotExceedCredits : 0)});
    }
    return Accounts(accounts, clock);
  }
  std::vector<Transfer> transfers;
  for (uint64_t i = 0, n = 1 + random() % 20; i < n; ++i) {
    Transfer t = Pay(1 + random() % 3000, 1 + random() % 13, 1 + random() % 13, random() % 500);
    switch (random() % 8) {
      case 0:
        t.flags = TransferFlags::kPending;
        t.timeout = static_cast<uint32_t>(random() % 3);
        break;
      case 1:
        t.flags = random() % 2 ? TransferFlags::kPostPendingTransfer
                               : TransferFlags::kVoidPendingTransfer;
        t.pending_id = 1 + random() % 3000;
        t.debit_account_id = t.credit_account_id = 0;
        t.amount = random() % 2 ? ledger::kMaxUint128 : Uint128(random() % 500);
        break;
      case 2:
        if (random() % 2) t.flags = TransferFlags::kLinked;
        break;
      case 3:
        t.flags = TransferFlags::kBalancingDebit;
        break;
      default:
        break;
    }
    transfers.push_back(t);
  }
  return Transfers(transfers, clock);
}

TEST_CASE("State machines fed the same commands give the same replies and the same states") {
  const uint64_t seed = keel::testing::TestSeed(15);
  const uint64_t steps = keel::testing::TestRounds("KEEL_WALLET_STEPS", 400);
  CAPTURE(seed);
  MESSAGE("seed ", seed, ", ", steps, " commands (KEEL_TEST_SEED, KEEL_WALLET_STEPS)");
  std::mt19937_64 random(seed);
  auto a = NewMachine();
  auto b = NewMachine();
  std::unique_ptr<LedgerStateMachine> c;  // restored from a's snapshot halfway
  uint64_t clock = 1'700'000'000'000'000'000;
  std::vector<Account> accounts;
  for (uint64_t id = 1; id <= 12; ++id) {
    accounts.push_back({.id = id, .ledger = kWalletLedger, .code = 1, .flags = 0});
  }
  const std::string setup = ledger::EncodeCommand(Accounts(accounts, clock));
  REQUIRE(a->Apply(setup) == b->Apply(setup));
  std::map<std::string, int> kinds;  // what the replies were, to see the test did something
  for (uint64_t step = 0; step < steps; ++step) {
    CAPTURE(step);
    const std::string bytes = ledger::EncodeCommand(RandomCommand(random, clock));
    const std::string reply = a->Apply(bytes);
    REQUIRE(b->Apply(bytes) == reply);
    if (c) REQUIRE(c->Apply(bytes) == reply);
    const net::RespValue value = Resp(reply);
    if (value.type == net::RespValue::Type::kError) {
      ++kinds["refused"];
    } else {
      const absl::StatusOr<ExecuteReply> parsed = ParseExecuteReply(value);
      REQUIRE(parsed.ok());
      ++kinds[parsed->result.transfers.empty() && parsed->result.accounts.empty() ? "all ok"
                                                                                  : "some failed"];
      if (parsed->result.expired > 0) ++kinds["expired"];
    }
    if (step == steps / 2) {
      c = NewMachine();
      REQUIRE(c->Restore(a->Snapshot()).ok());
      REQUIRE(c->Position() == a->Position());
    }
    if (step % 50 == 0) REQUIRE(a->Position() == b->Position());
  }
  const LedgerPosition final_a = a->Position();
  CHECK(final_a == b->Position());
  REQUIRE(c != nullptr);
  CHECK(final_a == c->Position());
  CHECK(final_a.commands == steps + 1);
  CHECK(a->ledger().CheckInvariants().ok());
  MESSAGE("replies: ", kinds["all ok"], " all ok, ", kinds["some failed"], " with failed events, ",
          kinds["expired"], " expiries that released transfers; ", final_a.transfers,
          " transfers, ", final_a.pending, " pending");
  CHECK(kinds["some failed"] > 0);
  CHECK(kinds["expired"] > 0);
  CHECK(final_a.transfers > 50);
}

TEST_CASE("Commands are applied at max(proposed, last + n), so timestamps follow the log") {
  auto machine = NewMachine();
  REQUIRE(ApplyOk(*machine, Accounts({{.id = 1, .ledger = kWalletLedger, .code = 1},
                                      {.id = 2, .ledger = kWalletLedger, .code = 1}},
                                     1000))
              .timestamp == 1000);
  // Ahead of the log: the proposer's time.
  ExecuteReply reply =
      ApplyOk(*machine, Transfers({Pay(10, 1, 2, 5), Pay(11, 1, 2, 6), Pay(12, 1, 2, 7)}, 2000));
  CHECK(reply.timestamp == 2000);
  CHECK(machine->ledger().LookupTransfer(10)->timestamp == 1998);
  CHECK(machine->ledger().LookupTransfer(12)->timestamp == 2000);
  // A proposer whose clock is behind (another replica, a clock stepped back): after the last.
  reply = ApplyOk(*machine, Transfers({Pay(13, 1, 2, 1), Pay(14, 1, 2, 1)}, 500));
  CHECK(reply.timestamp == 2002);
  CHECK(machine->ledger().LookupTransfer(13)->timestamp == 2001);
  CHECK(machine->ledger().LookupTransfer(14)->timestamp == 2002);
  // Equal to the last: still after it.
  reply = ApplyOk(*machine, Transfers({Pay(15, 1, 2, 1)}, 2002));
  CHECK(reply.timestamp == 2003);
  // An expiry takes no nanoseconds of its own: max(proposed, last).
  reply = ApplyOk(*machine, Expiry(7));
  CHECK(reply.timestamp == 2003);
  reply = ApplyOk(*machine, Expiry(9000));
  CHECK(reply.timestamp == 9000);
  CHECK(machine->ledger().stats().last_timestamp == 9000);

  CHECK(ApplyTimestamp(Transfers({Pay(1, 1, 2, 1)}, 0), 0) == 1);
  CHECK(ApplyTimestamp(Transfers(std::vector<Transfer>(8189), 100), 100) == 8289);
  CHECK(ApplyTimestamp(Expiry(3), 5) == 5);
}

TEST_CASE("A pending transfer times out on the log's clock and expires alike everywhere") {
  auto a = NewMachine();
  auto b = NewMachine();
  const uint64_t t0 = 1'700'000'000'000'000'000;
  const std::vector<Command> commands = {
      Accounts({{.id = 1, .ledger = kWalletLedger, .code = 1},
                {.id = 2, .ledger = kWalletLedger, .code = 1}},
               t0),
      Transfers({{.id = 20,
                  .debit_account_id = 1,
                  .credit_account_id = 2,
                  .amount = 50,
                  .timeout = 1,
                  .ledger = kWalletLedger,
                  .code = 1,
                  .flags = TransferFlags::kPending}},
                t0 + 10),
      Expiry(t0 + 500'000'000),
      Expiry(t0 + 2'000'000'000),
  };
  std::vector<uint32_t> expired;
  for (const Command& command : commands) {
    expired.push_back(ApplyOk(*a, command).result.expired);
    ApplyOk(*b, command);
  }
  CHECK(expired == std::vector<uint32_t>{0, 0, 0, 1});
  CHECK(a->ledger().PendingStatusOf(20) == ledger::PendingStatus::kExpired);
  CHECK(a->ledger().LookupAccount(1)->debits_pending == 0);
  CHECK(a->Position() == b->Position());
}

TEST_CASE("Bad command bytes get an error reply and change nothing") {
  auto machine = NewMachine({.ledger = {.max_accounts = 4, .max_transfers = 100}});
  ApplyOk(*machine, Accounts({{.id = 1, .ledger = kWalletLedger, .code = 1},
                              {.id = 2, .ledger = kWalletLedger, .code = 1}},
                             1000));
  const std::string good = ledger::EncodeCommand(Transfers({Pay(10, 1, 2, 5)}, 2000));
  std::string wrong_version = good;
  wrong_version[0] = 2;
  std::string wrong_kind = good;
  wrong_kind[1] = 9;
  std::string wrong_count = good;
  base::EncodeFixed32(wrong_count.data() + 4, 2);
  std::string records_for_expiry = ledger::EncodeCommand(Expiry(5));
  records_for_expiry[4] = 1;
  records_for_expiry += std::string(128, '\0');
  std::mt19937_64 random(99);
  std::string noise(300, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"short", good.substr(0, 9)},
      {"truncated record", good.substr(0, good.size() - 1)},
      {"one byte more", good + "x"},
      {"version 2", wrong_version},
      {"kind 9", wrong_kind},
      {"count 2 with one record", wrong_count},
      {"an expiry with a record", records_for_expiry},
      {"noise", noise},
      // Decodes, and the ledger refuses it whole: past the timestamps' range...
      {"timestamp 2^63", ledger::EncodeCommand(Transfers({Pay(11, 1, 2, 5)}, uint64_t{1} << 63))},
      // ...past the capacity...
      {"over capacity", ledger::EncodeCommand(Accounts({{.id = 3, .ledger = 1, .code = 1},
                                                        {.id = 4, .ledger = 1, .code = 1},
                                                        {.id = 5, .ledger = 1, .code = 1}},
                                                       3000))},
      // ...an empty batch at timestamp 0 on a ledger whose clock is at 0 is not one either
      // (covered below on a fresh machine).
  };
  const LedgerPosition before = machine->Position();
  for (const auto& [name, bytes] : cases) {
    CAPTURE(name);
    const net::RespValue value = Resp(machine->Apply(bytes));
    CHECK(value.type == net::RespValue::Type::kError);
    CHECK(value.text.starts_with("ERR command refused: "));
    CHECK(Classify(value) == ReplyClass::kRefused);
    const LedgerPosition after = machine->Position();
    CHECK(after.hash == before.hash);
  }
  CHECK(machine->Position().commands == before.commands + cases.size());
  CHECK(machine->counters().refused.load() == cases.size());
  // The replica keeps going.
  CHECK(ApplyOk(*machine, Transfers({Pay(12, 1, 2, 5)}, 4000)).result.transfers.empty());

  auto fresh = NewMachine();
  CHECK(Resp(fresh->Apply(ledger::EncodeCommand(Transfers({}, 0)))).type ==
        net::RespValue::Type::kError);
}

TEST_CASE("A snapshot restores the same state, position and hash, and bad snapshots are refused") {
  auto machine = NewMachine();
  WalletWorkload workload({.seed = 3, .wallets = 50, .batch_size = 200});
  uint64_t clock = 1'000'000;
  for (const Command& batch : workload.AccountBatches()) {
    ApplyOk(*machine, Accounts(batch.accounts, clock += 1000));
  }
  for (int i = 0; i < 10; ++i) {
    ApplyOk(*machine, Transfers(workload.NextTransferBatch().transfers, clock += 1000));
  }
  const std::string snapshot = machine->Snapshot();
  auto restored = NewMachine({.reserve_accounts = 100, .reserve_transfers = 5000});
  REQUIRE(restored->Restore(snapshot).ok());
  CHECK(restored->Position() == machine->Position());
  CHECK(restored->Snapshot() == snapshot);
  // The same next command, the same reply and state.
  const std::string next =
      ledger::EncodeCommand(Transfers(workload.NextTransferBatch().transfers, clock - 5));
  CHECK(restored->Apply(next) == machine->Apply(next));
  CHECK(restored->Position() == machine->Position());

  // Empty bytes: a fresh ledger at position 0.
  REQUIRE(restored->Restore("").ok());
  CHECK(restored->Position().commands == 0);
  CHECK(restored->Position().accounts == 0);
  CHECK(restored->Position().hash == NewMachine()->Position().hash);

  // Damaged snapshots fail and leave the state as it was.
  REQUIRE(restored->Restore(snapshot).ok());
  const LedgerPosition before = restored->Position();
  std::string wrong_version = snapshot;
  wrong_version[0] = 7;
  // (A flipped bit in a balance would restore another ledger: the bytes' integrity is the Raft
  // storage's, whose snapshot file carries a CRC32C.)
  for (const std::string& bad : {snapshot.substr(0, 5), wrong_version,
                                 snapshot.substr(0, snapshot.size() - 1), snapshot + "x"}) {
    CHECK(!restored->Restore(bad).ok());
    CHECK(restored->Position() == before);
  }
  // Past the capacity.
  auto small = NewMachine({.ledger = {.max_accounts = 10}});
  const absl::Status status = small->Restore(snapshot);
  CHECK(absl::IsResourceExhausted(status));
}

TEST_CASE(
    "Records, positions and numbers round-trip through RESP, and malformed ones are refused") {
  const Transfer transfer{.id = ledger::kMaxUint128 - 1,
                          .debit_account_id = 2,
                          .credit_account_id = 3,
                          .amount = Uint128(1) << 100,
                          .pending_id = 7,
                          .user_data_128 = 8,
                          .user_data_64 = UINT64_MAX,
                          .user_data_32 = UINT32_MAX,
                          .timeout = 9,
                          .ledger = 10,
                          .code = UINT16_MAX,
                          .flags = 3,
                          .timestamp = 123};
  std::string bytes;
  net::RespWriter writer(bytes);
  WriteTransfer(writer, transfer);
  absl::StatusOr<Transfer> parsed = ParseTransfer(Resp(bytes));
  REQUIRE(parsed.ok());
  CHECK(parsed->id == transfer.id);
  CHECK(parsed->amount == transfer.amount);
  CHECK(parsed->user_data_64 == transfer.user_data_64);
  CHECK(parsed->code == transfer.code);
  CHECK(parsed->timestamp == transfer.timestamp);
  CHECK(!ParseAccount(Resp(bytes)).ok());  // a transfer's fields are not an account's

  const Account account{.id = 5, .credits_posted = 99, .ledger = 1, .code = 2, .flags = 8};
  bytes.clear();
  WriteAccount(writer, account);
  absl::StatusOr<Account> parsed_account = ParseAccount(Resp(bytes));
  REQUIRE(parsed_account.ok());
  CHECK(parsed_account->credits_posted == 99);
  CHECK(parsed_account->flags == 8);

  const LedgerPosition position{.commands = 4, .hash = 0x00ab'cdef'0123'4567, .accounts = 2};
  bytes.clear();
  WritePosition(writer, position);
  absl::StatusOr<LedgerPosition> parsed_position = ParsePosition(Resp(bytes));
  REQUIRE(parsed_position.ok());
  CHECK(*parsed_position == position);

  CHECK(*ParseUint128("0") == 0);
  CHECK(*ParseUint128("340282366920938463463374607431768211455") == ledger::kMaxUint128);
  CHECK(!ParseUint128("340282366920938463463374607431768211456").ok());
  CHECK(!ParseUint128("").ok());
  CHECK(!ParseUint128("-1").ok());
  CHECK(!ParseUint128("12a").ok());
  CHECK(!ParseUint128(std::string(40, '1')).ok());

  // A field past its width, a field out of place, a wrong shape.
  CHECK(!ParseTransfer(Resp("*2\r\n$2\r\nid\r\n$1\r\n1\r\n")).ok());
  std::string wide;
  net::RespWriter(wide).ArrayHeader(0);
  CHECK(!ParseTransfer(Resp(wide)).ok());
  bytes.clear();
  WriteTransfer(writer, transfer);
  const size_t code_value = bytes.find("65535");
  REQUIRE(code_value != std::string::npos);
  std::string too_wide = bytes;
  too_wide.replace(code_value - 4, 4 + 5, "$5\r\n65536");
  CHECK(!ParseTransfer(Resp(too_wide)).ok());

  CHECK(CheckCommandHeader(ledger::EncodeCommand(Transfers({Pay(1, 1, 2, 1)}, 1))).ok());
  CHECK(!CheckCommandHeader("").ok());
  CHECK(!CheckCommandHeader(std::string(16, '\0')).ok());  // version 0
  CHECK(!ParseExecuteReply(Resp("$3\r\nabc\r\n")).ok());
  CHECK(!ParseExecuteReply(Resp("-ERR no\r\n")).ok());
  CHECK(Classify(Resp("-TRYAGAIN later\r\n")) == ReplyClass::kRetry);
  CHECK(Classify(Resp("-CLUSTERDOWN no leader\r\n")) == ReplyClass::kRetry);
  CHECK(Classify(Resp("-BUSY full\r\n")) == ReplyClass::kRetry);
  CHECK(Classify(Resp("+OK\r\n")) == ReplyClass::kAnswered);
}

// ---------------------------------------------------------------------------------------------
// One replica over RESP.
// ---------------------------------------------------------------------------------------------

struct OneReplica {
  explicit OneReplica(size_t max_requests_per_connection = 64) {
    ReplicaOptions options;
    options.raft.id = 0;
    options.raft.dir = dir.path();
    options.raft.bootstrap_voters = {0};
    options.raft.tick_ns = 2'000'000;
    options.max_requests_per_connection = max_requests_per_connection;
    options.clock = &clock;
    absl::StatusOr<std::unique_ptr<ReplicaService>> started = ReplicaService::Start(options);
    REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    service = std::move(*started);
    address = base::Cat("127.0.0.1:", service->port());
    REQUIRE(keel::testing::Eventually(
        [&] { return service->raft().status().node.role == raft::Role::kLeader; }));
  }

  [[nodiscard]] std::unique_ptr<ReplicaConnection> Connect() const {
    absl::StatusOr<std::unique_ptr<ReplicaConnection>> connection =
        ReplicaConnection::Connect(address);
    REQUIRE_MESSAGE(connection.ok(), connection.status().ToString());
    return std::move(*connection);
  }

  keel::testing::TempDir dir;
  base::ManualClock clock{1'700'000'000'000'000'000};
  std::unique_ptr<ReplicaService> service;  // after dir and clock: stops before they go
  std::string address;
};

TEST_CASE("A replica stamps commands with its clock and answers pipelined batches in order") {
  OneReplica replica(/*max_requests_per_connection=*/3);
  WalletWorkload workload({.seed = 5, .wallets = 100, .batch_size = 300});
  std::vector<Command> batches = workload.AccountBatches();
  for (int i = 0; i < 12; ++i) batches.push_back(workload.NextTransferBatch());
  std::vector<std::string> requests;
  for (Command& batch : batches) {
    batch.timestamp = 42;  // ignored: the replica stamps its own time
    requests.push_back(ExecuteRequest(ledger::EncodeCommand(batch)));
  }
  WalletClient client({.replicas = {replica.address}, .pipeline = 5});
  std::vector<size_t> order;
  std::vector<ExecuteReply> replies(batches.size());
  const absl::Status status = client.Execute(requests, [&](size_t i, const BatchOutcome& outcome) {
    REQUIRE_MESSAGE(outcome.reply.ok(), outcome.reply.status().ToString());
    CHECK(outcome.attempts == 1);
    order.push_back(i);
    replies[i] = *outcome.reply;
  });
  REQUIRE_MESSAGE(status.ok(), status.ToString());
  std::vector<size_t> expected(batches.size());
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = i;
  CHECK(order == expected);
  CHECK(client.stats().resends == 0);
  // The clock stood still: every batch after the first is stamped last + n.
  const uint64_t start = 1'700'000'000'000'000'000;
  CHECK(replies[0].timestamp == start);
  CHECK(replies[1].timestamp == start + 300);
  CHECK(replies.back().timestamp == start + 11 * 300 + 300);
  replica.clock.Advance(1'000'000);
  const std::string one = ExecuteRequest(ledger::EncodeCommand(workload.NextTransferBatch()));
  size_t extra_failed = 0;
  CHECK(client
            .Execute({&one, 1},
                     [&](size_t, const BatchOutcome& outcome) {
                       REQUIRE(outcome.reply.ok());
                       CHECK(outcome.reply->timestamp == start + 1'000'000);
                       extra_failed = outcome.reply->result.transfers.size();
                     })
            .ok());

  // Every transfer the replies call created is there, and the failed ones are not.
  auto connection = replica.Connect();
  std::vector<Uint128> ids;
  for (size_t b = 1; b < batches.size(); ++b) {
    for (const Transfer& t : batches[b].transfers) ids.push_back(t.id);
  }
  absl::StatusOr<std::vector<std::optional<Transfer>>> found = connection->LookupTransfers(ids);
  REQUIRE_MESSAGE(found.ok(), found.status().ToString());
  size_t k = 0;
  size_t failed = 0;
  for (size_t b = 1; b < batches.size(); ++b) {
    std::vector<bool> ok(batches[b].transfers.size(), true);
    for (const auto& r : replies[b].result.transfers) ok[r.index] = false;
    for (size_t i = 0; i < ok.size(); ++i, ++k) {
      const Transfer& sent = batches[b].transfers[i];
      const std::optional<Transfer>& got = (*found)[k];
      CHECK(got.has_value() == ok[i]);
      if (!ok[i]) ++failed;
      if (got) {
        CHECK(got->amount == sent.amount);
        CHECK(got->timestamp == replies[b].timestamp - ok.size() + i + 1);
      }
    }
  }
  CHECK(failed > 0);  // the wallets' limits refused some
  const absl::StatusOr<std::vector<std::optional<Account>>> accounts =
      connection->LookupAccounts(std::vector<Uint128>{1, 2, 1'000'000});
  REQUIRE(accounts.ok());
  CHECK((*accounts)[0].has_value());
  CHECK((*accounts)[1]->flags == ledger::AccountFlags::kDebitsMustNotExceedCredits);
  CHECK(!(*accounts)[2].has_value());
  const absl::StatusOr<LedgerPosition> position = connection->Position();
  REQUIRE(position.ok());
  CHECK(position->commands == batches.size() + 1);
  CHECK(position->transfers == ids.size() - failed + 300 - extra_failed);
  CHECK(connection->CheckInvariants().ok());
}

TEST_CASE("A replica refuses malformed requests with final errors and keeps serving") {
  OneReplica replica;
  auto connection = replica.Connect();
  net::RespClient& resp = connection->resp();
  const auto call = [&](std::initializer_list<std::string_view> args) {
    absl::StatusOr<net::RespReply> reply = resp.Call(args);
    REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
    return reply->value;
  };
  CHECK(call({"LEDGER.EXECUTE"}).text.starts_with("ERR usage"));
  CHECK(call({"LEDGER.EXECUTE", "short"}).text.starts_with("ERR a ledger command of 5 bytes"));
  CHECK(call({"ledger.transfer"}).text.starts_with("ERR usage"));
  CHECK(call({"LEDGER.TRANSFER", "abc"}).text.starts_with("ERR \"abc\" is not"));
  CHECK(call({"LEDGER.HASH", "x"}).text.starts_with("ERR usage"));
  CHECK(call({"NOPE"}).text.starts_with("ERR unknown command"));
  CHECK(call({"PING"}).text == "PONG");
  const net::RespValue info = call({"INFO"});
  CHECK(info.text.find("role:leader") != std::string::npos);
  CHECK(info.text.find("# Ledger") != std::string::npos);
  const net::RespValue missing = call({"LEDGER.TRANSFER", "5"});
  REQUIRE(missing.type == net::RespValue::Type::kArray);
  REQUIRE(missing.elements.size() == 1);
  CHECK(missing.elements[0].type == net::RespValue::Type::kNullBulkString);
  // A command whose event the ledger refuses: answered, with the event's result.
  std::string bad_record = ledger::EncodeCommand(Transfers({Pay(1, 1, 2, 1)}, 0));
  bad_record[ledger::kCommandHeaderBytes] = 0;  // id 0: decodes, and the ledger judges the event
  const net::RespValue answered = call({"LEDGER.EXECUTE", bad_record});
  REQUIRE(Classify(answered) == ReplyClass::kAnswered);
  absl::StatusOr<ExecuteReply> reply = ParseExecuteReply(answered);
  REQUIRE(reply.ok());
  REQUIRE(reply->result.transfers.size() == 1);
  CHECK(reply->result.transfers[0].result == ledger::CreateTransferResult::kIdMustNotBeZero);
  CHECK(call({"PING", "still here"}).text == "still here");
  CHECK(connection->CheckInvariants().ok());
}

}  // namespace
}  // namespace keel::examples::wallet
