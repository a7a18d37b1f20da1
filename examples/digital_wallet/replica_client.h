// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Clients of the wallet's replicated ledger (replica_protocol.h), for the tests, the benchmark
// and the demo.
//
// ReplicaConnection talks to one replica: INFO, lookups, LEDGER.HASH, LEDGER.CHECK.
//
// WalletClient sends command batches to the leader, as TigerBeetle's clients do: it finds the
// leader by asking every replica's INFO for role:leader, keeps up to `pipeline` batches in flight
// on one connection, and reads their replies in order. When the leader dies (the connection
// fails or stops answering) or a reply says try again (-TRYAGAIN, -CLUSTERDOWN, -BUSY), the
// batches not answered are sent again, to whichever replica leads then, until each gets an
// answer. Resending is safe because the ledger is idempotent: a transfer that the first attempt
// created answers `exists` the second time, one that failed for a reason of the moment answers
// `id_already_failed`, so the answer that finally arrives tells what happened to every event.
// A transfer is acknowledged when its batch's answer says `ok` or `exists` for it.
//
// Example:
//
//   std::vector<std::string> requests;
//   for (const keel::ledger::Command& batch : batches) {
//     requests.push_back(ExecuteRequest(keel::ledger::EncodeCommand(batch)));
//   }
//   WalletClient client({.replicas = {"127.0.0.1:7100", "127.0.0.1:7101", "127.0.0.1:7102"}});
//   Acknowledgements acks;
//   KEEL_RETURN_IF_ERROR(client.Execute(requests, [&](size_t i, const BatchOutcome& outcome) {
//     acks.Record(batches[i], outcome);  // outcome.reply->result lists the failed events
//   }));
//   // acks.acknowledged(): every transfer the cluster has, for good
//
// Not thread-safe: one thread per client.
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_CLIENT_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "digital_wallet/replica_protocol.h"
#include "keel/ledger/command.h"
#include "keel/ledger/types.h"
#include "keel/net/resp_client.h"

namespace keel::examples::wallet {

// One replica. Every call waits at most timeout_ms for its answer.
class ReplicaConnection {
 public:
  // `address` is HOST:PORT. Errors: RespClient::Connect's.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ReplicaConnection>> Connect(
      std::string_view address, int64_t timeout_ms = 10'000);

  // INFO's fields.
  [[nodiscard]] absl::StatusOr<std::map<std::string, std::string>> Info();
  // LEDGER.HASH.
  [[nodiscard]] absl::StatusOr<LedgerPosition> Position();
  // LEDGER.CHECK: OK, or kInternal with the replica's answer.
  [[nodiscard]] absl::Status CheckInvariants();
  // LEDGER.TRANSFER / LEDGER.ACCOUNT of every id, kLookupMax per request, pipelined; nullopt for
  // an id the replica does not have.
  [[nodiscard]] absl::StatusOr<std::vector<std::optional<ledger::Transfer>>> LookupTransfers(
      std::span<const ledger::Uint128> ids);
  [[nodiscard]] absl::StatusOr<std::vector<std::optional<ledger::Account>>> LookupAccounts(
      std::span<const ledger::Uint128> ids);

  [[nodiscard]] net::RespClient& resp() { return *client_; }

 private:
  explicit ReplicaConnection(std::unique_ptr<net::RespClient> client)
      : client_(std::move(client)) {}
  // Sends the lookups and hands each answer's elements to `each`.
  absl::Status Lookup(std::string_view command, std::span<const ledger::Uint128> ids,
                      absl::FunctionRef<absl::Status(const net::RespValue&)> each);
  // A reply that is not an error, or the error as a status.
  absl::StatusOr<net::RespValue> Call(std::span<const std::string_view> args);

  std::unique_ptr<net::RespClient> client_;
};

struct ClientOptions {
  // Every replica's client address, HOST:PORT.
  std::vector<std::string> replicas = {};
  // Batches in flight on the connection to the leader.
  size_t pipeline = 4;
  // The longest wait for one reply before the connection is given up and its batches resent.
  // Above the replicas' own request timeout (5 s), so that a slow commit answers -TRYAGAIN
  // rather than look like a dead leader.
  int64_t timeout_ms = 8'000;
  // Pause before resending after a -TRYAGAIN or while no replica leads.
  int64_t retry_pause_ms = 20;
  // Execute fails when no batch has been answered for this long.
  int64_t give_up_ms = 60'000;
};

// What became of one batch.
struct BatchOutcome {
  // The answer: its timestamp and failed events; or the refusal (-ERR) of the whole command,
  // which is final (kInvalidArgument with the replica's message).
  absl::StatusOr<ExecuteReply> reply;
  uint32_t attempts = 0;   // times it was sent
  int64_t latency_ns = 0;  // from the first send to the answer
};

struct ClientStats {
  uint64_t sends = 0;  // batches sent, resends included
  uint64_t resends = 0;
  uint64_t connections = 0;  // connections made to a leader
  uint64_t connection_failures = 0;
  uint64_t retry_replies = 0;  // -TRYAGAIN, -CLUSTERDOWN, -BUSY
};

// What a client learned about the transfers it sent, from its batches' outcomes: which were
// acknowledged (answered ok, or exists for a batch sent again whose earlier attempt had created
// them), which failed and with what, and when each created one was applied.
class Acknowledgements {
 public:
  // Records the outcome of `batch` (account batches and expiries count only as batches).
  void Record(const ledger::Command& batch, const BatchOutcome& outcome);

  [[nodiscard]] const std::map<ledger::Uint128, ledger::Transfer>& acknowledged() const {
    return acknowledged_;
  }
  [[nodiscard]] const std::map<ledger::Uint128, ledger::CreateTransferResult>& failed() const {
    return failed_;
  }
  // The transfers of batches refused whole (-ERR): none applied.
  [[nodiscard]] const std::set<ledger::Uint128>& refused() const { return refused_; }
  // The timestamps of the transfers the answer the client got created (not those answered
  // exists, whose creating answer was lost).
  [[nodiscard]] const std::map<ledger::Uint128, uint64_t>& timestamps() const {
    return timestamps_;
  }
  [[nodiscard]] uint64_t exists() const { return exists_; }
  [[nodiscard]] uint64_t resent_batches() const { return resent_batches_; }
  [[nodiscard]] uint64_t refused_batches() const { return refused_batches_; }

 private:
  std::map<ledger::Uint128, ledger::Transfer> acknowledged_;
  std::map<ledger::Uint128, ledger::CreateTransferResult> failed_;
  std::map<ledger::Uint128, uint64_t> timestamps_;
  std::set<ledger::Uint128> refused_;
  uint64_t exists_ = 0;
  uint64_t resent_batches_ = 0;
  uint64_t refused_batches_ = 0;
};

class WalletClient {
 public:
  explicit WalletClient(ClientOptions options) : options_(std::move(options)) {}

  using OnOutcome = absl::FunctionRef<void(size_t index, const BatchOutcome& outcome)>;

  // Executes requests[i] (ExecuteRequest frames), up to `pipeline` at a time, each until it is
  // answered; `on_outcome` runs once per request, in the order the answers come (a batch sent
  // again comes after those sent after it). Errors: kDeadlineExceeded after give_up_ms without
  // an answer (the requests not yet reported to on_outcome may or may not have taken effect);
  // kInvalidArgument for an answer that is not one (a replica speaking another protocol).
  [[nodiscard]] absl::Status Execute(std::span<const std::string> requests, OnOutcome on_outcome);

  // The replica (an index into options.replicas) the last batches went to, if connected.
  [[nodiscard]] std::optional<size_t> leader() const { return leader_; }
  [[nodiscard]] const ClientStats& stats() const { return stats_; }

  // The replica that says it leads the highest term, by INFO (each asked with a short timeout);
  // nullopt when none does.
  [[nodiscard]] std::optional<size_t> FindLeader() const;

 private:
  // Connects to the leader, waiting for one until `deadline_ns` (steady clock).
  absl::Status ConnectToLeader(int64_t deadline_ns);

  ClientOptions options_;
  std::unique_ptr<net::RespClient> connection_;
  std::optional<size_t> leader_;
  ClientStats stats_;
};

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_CLIENT_H_
