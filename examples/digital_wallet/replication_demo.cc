// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The replicated ledger narrated (replication_demo.h). The client streams batches of transfers to
// the leader with several in flight; a third of the way in the leader is killed with SIGKILL, the
// client finds the new leader and resends what was not answered (a resent transfer that had been
// applied answers `exists`), and the killed replica restarts from its directory later. Then every
// replica is asked for every acknowledged transfer.
#include "digital_wallet/replication_demo.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/scratch_dir.h"
#include "digital_wallet/replica_client.h"
#include "digital_wallet/replica_processes.h"
#include "digital_wallet/replica_protocol.h"
#include "digital_wallet/replica_workload.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples::wallet {
namespace {

using keel::examples::ScratchDir;

}  // namespace

absl::Status RunReplicationDemo(const std::string& binary, bool short_run) {
  const uint64_t wallets = short_run ? 1'000 : 100'000;
  const uint32_t batch_size = short_run ? 500 : ledger::kBatchMax;
  const uint64_t batches = short_run ? 24 : 120;
  ScratchDir scratch("keel-wallet-raft");
  if (scratch.path().empty()) return absl::InternalError("cannot create a scratch directory");
  std::unique_ptr<LocalCluster> cluster;
  {
    KEEL_ASSIGN_OR_RETURN(
        cluster, LocalCluster::Create({.binary = binary, .root = scratch.path(), .size = 3}));
  }
  cluster->StartAll();
  const std::optional<int> first_leader = cluster->WaitForLeader(30);
  if (!first_leader.has_value()) return absl::UnavailableError("no leader within 30 s");
  std::printf(
      "Three `digital_wallet replica` processes on loopback; each appends every entry of the\n"
      "Raft log to its own WAL and fsyncs it before acknowledging. The ledger is the state\n"
      "machine: every replica applies the same commands in the same order. Replica %d leads.\n\n",
      *first_leader);

  WalletWorkload workload({.seed = 2026, .wallets = wallets, .batch_size = batch_size});
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
  absl::Status outcome_error;
  Acknowledgements book;
  WalletClient client({.replicas = cluster->addresses(), .pipeline = 4});
  const auto start = std::chrono::steady_clock::now();
  KEEL_RETURN_IF_ERROR(client.Execute(requests, [&](size_t index, const BatchOutcome& outcome) {
    if (!outcome.reply.ok() && outcome_error.ok()) outcome_error = outcome.reply.status();
    book.Record(commands[index], outcome);
    ++answered;
    if (answered == kill_after && client.leader().has_value()) {
      killed = static_cast<int>(*client.leader());
      cluster->replica(*killed).Kill();
      std::printf("  after %zu batches: replica %d, the leader, killed with SIGKILL\n", answered,
                  *killed);
    } else if (answered == restart_after && killed.has_value()) {
      cluster->Start(*killed);
      std::printf("  after %zu batches: replica %d restarted from its directory\n", answered,
                  *killed);
    }
  }));
  KEEL_RETURN_IF_ERROR(outcome_error);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const ClientStats& stats = client.stats();
  const uint64_t transfers = batches * batch_size;
  std::printf(
      "\n%llu transfers in %llu batches of %u, 4 in flight, in %.2f s (%.0fk transfers/s,\n"
      "the leader's death and the election included); %llu batches resent to the new leader,\n"
      "%llu transfers acknowledged (%llu of them as exists: applied before the kill, their\n"
      "answer lost with the leader), %zu refused (exceeds_credits).\n\n",
      static_cast<unsigned long long>(transfers), static_cast<unsigned long long>(batches),
      batch_size, seconds, static_cast<double>(transfers) / seconds / 1e3,
      static_cast<unsigned long long>(stats.resends),
      static_cast<unsigned long long>(book.acknowledged().size()),
      static_cast<unsigned long long>(book.exists()), book.failed().size());

  // Every replica: every acknowledged transfer there, the same position and state hash.
  std::vector<ledger::Uint128> ids;
  for (const auto& [id, transfer] : book.acknowledged()) ids.push_back(id);
  std::optional<LedgerPosition> first_position;
  for (int id = 0; id < cluster->size(); ++id) {
    if (!cluster->replica(id).WaitUntilServing(30)) {
      return absl::UnavailableError(base::Cat("replica ", id, " does not answer"));
    }
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<ReplicaConnection> connection,
                          ReplicaConnection::Connect(cluster->replica(id).address(), 30'000));
    absl::StatusOr<LedgerPosition> position;
    for (int attempt = 0; attempt < 300; ++attempt) {  // the restarted one catches up first
      position = connection->Position();
      if (position.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    KEEL_RETURN_IF_ERROR(position.status());
    if (!first_position.has_value()) first_position = *position;
    KEEL_ASSIGN_OR_RETURN(std::vector<std::optional<ledger::Transfer>> found,
                          connection->LookupTransfers(ids));
    size_t missing = 0;
    for (const std::optional<ledger::Transfer>& t : found) missing += !t.has_value();
    KEEL_RETURN_IF_ERROR(connection->CheckInvariants());
    const bool same = *position == *first_position;
    std::printf(
        "  replica %d: %zu of %zu acknowledged transfers present, %llu transfers in all,\n"
        "             state hash %016llx (%s)\n",
        id, ids.size() - missing, ids.size(), static_cast<unsigned long long>(position->transfers),
        static_cast<unsigned long long>(position->hash),
        same ? "the same on every replica so far" : "DIFFERENT");
    if (missing != 0 || !same || position->transfers != ids.size()) {
      return absl::DataLossError(base::Cat("replica ", id,
                                           " lost acknowledged transfers or "
                                           "disagrees with the others"));
    }
  }
  KEEL_RETURN_IF_ERROR(cluster->CheckProcesses());
  std::printf(
      "\nNo acknowledged transfer was lost when the leader died: an answer is sent only once a\n"
      "majority has the batch on disk. docs/benchmarks.md has the replicated throughput against\n"
      "TigerBeetle's published figure.\n");
  return absl::OkStatus();
}

}  // namespace keel::examples::wallet
