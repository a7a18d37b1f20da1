// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The wallet's replicated ledger as three real processes on loopback (replica_processes.h). A
// client streams batches of transfers to the leader, several in flight; a third of the way in the
// test SIGKILLs the leader, the client finds the new one and resends what was not answered, and
// two thirds of the way in the killed replica restarts from its directory (its Raft log and
// snapshot; snapshots every 16 entries, so it is likely to be sent one). At the end, on every
// replica:
//
//   every acknowledged transfer (its batch's answer says ok, or exists for a resent batch) is
//   there, with its accounts, amount and data, and with the timestamp its answer implies; every
//   transfer that failed is not; no other transfer is (the count matches, and ids never sent are
//   absent);
//
//   every account's balances are the sums of the acknowledged transfers, each ledger's debits
//   equal its credits (LEDGER.CHECK), and the three replicas report the same position and state
//   hash (LEDGER.HASH);
//
//   no replica ended on its own (a crash, a sanitizer's report).
//
// Then one more batch goes through a follower, which forwards it to the leader. KEEL_TEST_SEED
// sets the workload's seed, KEEL_WALLET_BATCHES the number of transfer batches.
// DIGITAL_WALLET_BINARY (set by CMake) is the program under test.
#include "digital_wallet/replica_processes.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "digital_wallet/replica_client.h"
#include "digital_wallet/replica_workload.h"
#include "doctest/doctest.h"
#include "keel/base/strings.h"
#include "testing/testing.h"

namespace keel::examples::wallet {
namespace {

using ledger::Transfer;
using ledger::Uint128;

constexpr uint32_t kBatchSize = 400;
constexpr uint64_t kWallets = 300;

struct TestCluster {
  TestCluster() {
    absl::StatusOr<std::unique_ptr<LocalCluster>> created =
        LocalCluster::Create({.binary = DIGITAL_WALLET_BINARY,
                              .root = dir.path(),
                              .size = 3,
                              .extra_args = {"--snapshot-every", "16"}});
    REQUIRE_MESSAGE(created.ok(), created.status().ToString());
    cluster = std::move(*created);
    cluster->StartAll();
  }

  [[nodiscard]] std::string State() {
    std::string text;
    for (int id = 0; id < cluster->size(); ++id) {
      const auto info = cluster->replica(id).Info();
      const auto field = [&](const char* name) {
        return info.count(name) ? info.at(name) : std::string("?");
      };
      text += base::Cat("node ", id, ": ", field("role"), " term ", field("term"), " commit ",
                        field("commit_index"), " applied ", field("applied_index"), " commands ",
                        field("commands"), "\n");
    }
    const absl::Status processes = cluster->CheckProcesses();
    return text + (processes.ok() ? "every replica ran until it was killed"
                                  : std::string(processes.message()));
  }

  keel::testing::TempDir dir;
  std::unique_ptr<LocalCluster> cluster;  // after dir: its processes end before dir goes
};

TEST_CASE("No acknowledged transfer is lost when the leader is SIGKILLed mid-stream") {
  const uint64_t seed = keel::testing::TestSeed(28);
  const uint64_t batches = keel::testing::TestRounds("KEEL_WALLET_BATCHES", 90);
  CAPTURE(seed);
  MESSAGE("seed ", seed, ", ", batches, " batches of ", kBatchSize,
          " transfers (KEEL_TEST_SEED, KEEL_WALLET_BATCHES)");
  TestCluster test;
  LocalCluster& cluster = *test.cluster;
  if (!cluster.WaitForLeader(30)) FAIL("no leader within 30 s\n", test.State());

  WalletWorkload workload({.seed = seed, .wallets = kWallets, .batch_size = kBatchSize});
  std::vector<ledger::Command> commands = workload.AccountBatches();
  const size_t first_transfer_batch = commands.size();
  for (uint64_t i = 0; i < batches; ++i) commands.push_back(workload.NextTransferBatch());
  std::vector<std::string> requests;
  for (const ledger::Command& command : commands) {
    requests.push_back(ExecuteRequest(ledger::EncodeCommand(command)));
  }

  const size_t kill_after = first_transfer_batch + batches / 3;
  const size_t restart_after = first_transfer_batch + 2 * batches / 3;
  std::optional<int> killed;
  size_t answered = 0;
  Acknowledgements book;
  WalletClient client({.replicas = cluster.addresses(), .pipeline = 4});
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status =
      client.Execute(requests, [&](size_t index, const BatchOutcome& outcome) {
        REQUIRE_MESSAGE(outcome.reply.ok(), outcome.reply.status().ToString());
        book.Record(commands[index], outcome);
        ++answered;
        if (answered == kill_after) {
          // The replica the client streams to; the next batches are in flight to it.
          REQUIRE(client.leader().has_value());
          killed = static_cast<int>(*client.leader());
          cluster.replica(*killed).Kill();
        } else if (answered == restart_after && killed) {
          cluster.Start(*killed);
        }
      });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE_MESSAGE(status.ok(), status.ToString(), "\n", test.State());
  REQUIRE(killed.has_value());
  const ClientStats& stats = client.stats();
  MESSAGE(answered, " batches answered in ", seconds, " s; node ", *killed, " killed after batch ",
          kill_after, ", restarted after ", restart_after, "; ", stats.resends, " resends, ",
          stats.connection_failures, " connections lost, ", stats.retry_replies, " retry replies; ",
          book.acknowledged().size(), " transfers acknowledged (", book.exists(), " as exists), ",
          book.failed().size(), " failed");
  CHECK(stats.connection_failures >= 1);
  CHECK(book.failed().size() > 0);
  for (const auto& [id, result] : book.failed()) {
    // The wallets' limit, first time or remembered from a lost attempt.
    const std::string_view name = ledger::ResultName(result);
    CHECK_MESSAGE((name == "exceeds_credits" || name == "id_already_failed"), name);
  }

  // Every id sent, and ids never sent just past them.
  std::vector<Uint128> ids;
  for (size_t b = first_transfer_batch; b < commands.size(); ++b) {
    for (const Transfer& t : commands[b].transfers) ids.push_back(t.id);
  }
  const size_t sent = ids.size();
  for (uint64_t k = 0; k < 100; ++k) ids.push_back(workload.next_transfer_id() + k);
  std::vector<Uint128> accounts;
  for (uint64_t id = 1; id <= kWallets + 1; ++id) accounts.push_back(id);
  std::map<Uint128, std::pair<Uint128, Uint128>> balances;  // debits, credits posted
  for (const auto& [id, t] : book.acknowledged()) {
    balances[t.debit_account_id].first += t.amount;
    balances[t.credit_account_id].second += t.amount;
  }

  std::optional<LedgerPosition> first_position;
  for (int id = 0; id < cluster.size(); ++id) {
    CAPTURE(id);
    if (!cluster.replica(id).WaitUntilServing(30))
      FAIL("node ", id, " does not answer\n", test.State());
    absl::StatusOr<std::unique_ptr<ReplicaConnection>> connection =
        ReplicaConnection::Connect(cluster.replica(id).address(), /*timeout_ms=*/30'000);
    REQUIRE(connection.ok());
    // A linearizable read: answered once the replica has applied everything committed. The
    // restarted replica answers -CLUSTERDOWN until it hears from the leader.
    absl::StatusOr<LedgerPosition> position;
    const bool answered_hash = keel::testing::Eventually(
        [&] {
          position = (*connection)->Position();
          return position.ok();
        },
        std::chrono::seconds(30));
    REQUIRE_MESSAGE(answered_hash, position.status().ToString(), "\n", test.State());
    if (!first_position) first_position = *position;
    CHECK(*position == *first_position);
    CHECK(position->transfers == book.acknowledged().size());
    CHECK(position->accounts == kWallets + 1);

    absl::StatusOr<std::vector<std::optional<Transfer>>> found =
        (*connection)->LookupTransfers(ids);
    REQUIRE_MESSAGE(found.ok(), found.status().ToString());
    size_t lost = 0;
    size_t unexpected = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::optional<Transfer>& got = (*found)[i];
      const auto acknowledged = book.acknowledged().find(ids[i]);
      if (acknowledged == book.acknowledged().end()) {
        if (got) ++unexpected;
        if (got && unexpected <= 3) {
          FAIL_CHECK("node ", id, " has transfer ", ledger::DecimalString(ids[i]),
                     i < sent ? ", which failed" : ", which was never sent");
        }
        continue;
      }
      if (!got) {
        if (++lost <= 3) {
          FAIL_CHECK("node ", id, " lost acknowledged transfer ", ledger::DecimalString(ids[i]));
        }
        continue;
      }
      const Transfer& t = acknowledged->second;
      CHECK(got->debit_account_id == t.debit_account_id);
      CHECK(got->credit_account_id == t.credit_account_id);
      CHECK(got->amount == t.amount);
      CHECK(got->user_data_64 == t.user_data_64);
      const auto timestamp = book.timestamps().find(ids[i]);
      if (timestamp != book.timestamps().end()) CHECK(got->timestamp == timestamp->second);
    }
    CHECK(lost == 0);
    CHECK(unexpected == 0);

    absl::StatusOr<std::vector<std::optional<ledger::Account>>> rows =
        (*connection)->LookupAccounts(accounts);
    REQUIRE(rows.ok());
    for (size_t i = 0; i < accounts.size(); ++i) {
      REQUIRE((*rows)[i].has_value());
      const ledger::Account& a = *(*rows)[i];
      CHECK(a.debits_posted == balances[a.id].first);
      CHECK(a.credits_posted == balances[a.id].second);
      CHECK(a.debits_pending == 0);
      CHECK(a.credits_pending == 0);
    }
    CHECK((*connection)->CheckInvariants().ok());
  }
  const auto info = cluster.replica(*killed).Info();
  MESSAGE("positions agree at ", first_position->commands, " commands, hash ", first_position->hash,
          "; the restarted node ", *killed, " received ",
          info.count("snapshots_received") ? info.at("snapshots_received") : "?",
          " snapshots from the leader");

  // A batch through a follower: forwarded to the leader, answered once applied on the follower.
  const std::optional<int> leader = cluster.WaitForLeader(30);
  REQUIRE(leader.has_value());
  const int follower = (*leader + 1) % cluster.size();
  const ledger::Command extra = workload.NextTransferBatch();
  absl::StatusOr<std::unique_ptr<ReplicaConnection>> direct =
      ReplicaConnection::Connect(cluster.replica(follower).address());
  REQUIRE(direct.ok());
  absl::StatusOr<net::RespReply> reply =
      (*direct)->resp().Call({"LEDGER.EXECUTE", ledger::EncodeCommand(extra)});
  REQUIRE(reply.ok());
  REQUIRE_MESSAGE(Classify(reply->value) == ReplyClass::kAnswered, reply->raw);
  CHECK(ParseExecuteReply(reply->value).ok());
  absl::StatusOr<LedgerPosition> after = (*direct)->Position();
  REQUIRE(after.ok());
  CHECK(after->commands == first_position->commands + 1);

  const absl::Status processes = cluster.CheckProcesses();
  CHECK_MESSAGE(processes.ok(), processes.message());
}

}  // namespace
}  // namespace keel::examples::wallet
