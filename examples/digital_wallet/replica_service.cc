// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/replica_service.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"

namespace keel::examples::wallet {

namespace {

bool NameIs(std::string_view name, std::string_view command) {
  return name.size() == command.size() &&
         std::equal(name.begin(), name.end(), command.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

std::string ErrorBytes(const absl::Status& status) {
  std::string out;
  net::RespWriter writer(out);
  WriteError(writer, status);
  return out;
}

// One connection's replies in the order of its requests. Only the connection's thread touches
// it (callbacks from the Raft thread post there).
struct ReplyQueue {
  std::deque<std::optional<std::string>> replies;
  uint64_t first = 0;      // the request number of replies.front()
  uint64_t next = 0;       // the next request's number
  size_t outstanding = 0;  // replies that will come from the Raft thread
  bool held = false;       // reading stopped (HoldOutput) past the limit
};

class WalletSession : public net::Session {
 public:
  WalletSession(ReplicaService* service, net::Connection& connection)
      : service_(service),
        max_outstanding_(std::max<size_t>(1, service->options().max_requests_per_connection)),
        self_(connection.ref()),
        queue_(std::make_shared<ReplyQueue>()) {}

  void OnCommand(net::Connection& /*connection*/, std::span<const std::string_view> args) override {
    const uint64_t request = queue_->next++;
    queue_->replies.emplace_back();
    const std::string_view name = args[0];
    if (NameIs(name, "ledger.execute")) return Execute(request, args);
    if (NameIs(name, "ledger.account") || NameIs(name, "ledger.transfer")) {
      return Lookup(request, args, NameIs(name, "ledger.account"));
    }
    if (NameIs(name, "ledger.hash") || NameIs(name, "ledger.check")) {
      if (args.size() != 1) return Refuse(request, base::Cat("usage: ", name));
      return ReadState(request, NameIs(name, "ledger.hash"));
    }
    if (NameIs(name, "ping")) {
      std::string out;
      net::RespWriter writer(out);
      if (args.size() > 1) {
        writer.BulkString(args[1]);
      } else {
        writer.SimpleString("PONG");
      }
      return Fill(request, std::move(out));
    }
    if (NameIs(name, "info")) {
      std::string out;
      net::RespWriter(out).BulkString(service_->Info());
      return Fill(request, std::move(out));
    }
    return Refuse(request, base::Cat("unknown command ", base::Quoted(name)));
  }

  void OnBatchEnd(net::Connection& connection) override {
    Drain(*queue_, connection);
    if (queue_->outstanding >= max_outstanding_) {
      // Nothing more is read until replies come back (and nothing leaves meanwhile; what is
      // ready goes out with them).
      connection.HoldOutput();
      queue_->held = true;
    }
  }

 private:
  void Execute(uint64_t request, std::span<const std::string_view> args) {
    if (args.size() != 2) return Refuse(request, "usage: LEDGER.EXECUTE <command bytes>");
    if (const absl::Status status = CheckCommandHeader(args[1]); !status.ok()) {
      return Fill(request, ErrorBytes(status));
    }
    std::string command(args[1]);
    // The proposer's wall clock; the state machine makes it monotonic in log order.
    const int64_t now = service_->options().clock->NowNanos();
    base::EncodeFixed64(command.data() + 8, static_cast<uint64_t>(std::max<int64_t>(now, 0)));
    raft::Server::Done later = Later(request);
    service_->raft().Propose(std::move(command), [later](absl::StatusOr<std::string> reply) {
      later(reply.ok() ? std::move(*reply) : ErrorBytes(reply.status()));
    });
  }

  void Lookup(uint64_t request, std::span<const std::string_view> args, bool accounts) {
    if (args.size() < 2 || args.size() - 1 > kLookupMax) {
      return Refuse(request,
                    base::Cat("usage: ", args[0], " <id> [<id> ...] (up to ", kLookupMax, " ids)"));
    }
    std::vector<ledger::Uint128> ids;
    ids.reserve(args.size() - 1);
    for (std::string_view arg : args.subspan(1)) {
      absl::StatusOr<ledger::Uint128> id = ParseUint128(arg);
      if (!id.ok()) return Fill(request, ErrorBytes(id.status()));
      ids.push_back(*id);
    }
    raft::Server* raft = &service_->raft();
    raft::Server::Done later = Later(request);
    raft->Read([raft, later, accounts, ids = std::move(ids)](absl::Status status) {
      if (!status.ok()) return later(ErrorBytes(status));
      const auto& machine = static_cast<LedgerStateMachine&>(raft->state_machine());
      std::string out;
      net::RespWriter writer(out);
      writer.ArrayHeader(ids.size());
      for (const ledger::Uint128& id : ids) {
        if (accounts) {
          const std::optional<ledger::Account> account = machine.ledger().LookupAccount(id);
          if (account) {
            WriteAccount(writer, *account);
          } else {
            writer.Null();
          }
        } else {
          const std::optional<ledger::Transfer> transfer = machine.ledger().LookupTransfer(id);
          if (transfer) {
            WriteTransfer(writer, *transfer);
          } else {
            writer.Null();
          }
        }
      }
      later(std::move(out));
    });
  }

  void ReadState(uint64_t request, bool hash) {
    raft::Server* raft = &service_->raft();
    raft::Server::Done later = Later(request);
    raft->Read([raft, later, hash](absl::Status status) {
      if (!status.ok()) return later(ErrorBytes(status));
      const auto& machine = static_cast<LedgerStateMachine&>(raft->state_machine());
      std::string out;
      net::RespWriter writer(out);
      if (hash) {
        WritePosition(writer, machine.Position());
      } else if (const absl::Status check = machine.ledger().CheckInvariants(); check.ok()) {
        writer.SimpleString("OK");
      } else {
        WriteError(writer, check);
      }
      later(std::move(out));
    });
  }

  void Refuse(uint64_t request, std::string message) {
    Fill(request, ErrorBytes(absl::InvalidArgumentError(std::move(message))));
  }

  // A reply known now (on the connection's thread).
  void Fill(uint64_t request, std::string reply) {
    queue_->replies[request - queue_->first] = std::move(reply);
  }

  // A callback, for any thread, that fills the reply to `request` on the connection's thread
  // and sends what is ready.
  raft::Server::Done Later(uint64_t request) {
    ++queue_->outstanding;
    return [queue = queue_, request, self = self_,
            max = max_outstanding_](absl::StatusOr<std::string> reply) {
      std::string bytes = reply.ok() ? std::move(*reply) : ErrorBytes(reply.status());
      self.Post(
          [queue, request, max, bytes = std::move(bytes)](net::Connection& connection) mutable {
            queue->replies[request - queue->first] = std::move(bytes);
            --queue->outstanding;
            Drain(*queue, connection);
            if (queue->held && queue->outstanding < max) {
              queue->held = false;
              connection.ReleaseOutput();
            }
          });
    };
  }

  // Writes the replies that are ready and not waiting behind one that is not.
  static void Drain(ReplyQueue& queue, net::Connection& connection) {
    while (!queue.replies.empty() && queue.replies.front().has_value()) {
      connection.writer().output().append(*queue.replies.front());
      queue.replies.pop_front();
      ++queue.first;
    }
  }

  ReplicaService* service_;
  size_t max_outstanding_;
  net::ConnectionRef self_;
  std::shared_ptr<ReplyQueue> queue_;
};

std::string Members(const std::vector<raft::NodeId>& ids) {
  std::string text;
  for (raft::NodeId id : ids) text += base::Cat(text.empty() ? "" : ",", id);
  return text;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplicaService>> ReplicaService::Start(
    const ReplicaOptions& options) {
  std::unique_ptr<ReplicaService> service(new ReplicaService());
  service->options_ = options;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<LedgerStateMachine> machine,
                        LedgerStateMachine::Create(options.machine));
  service->counters_ = &machine->counters();
  KEEL_ASSIGN_OR_RETURN(service->raft_, raft::Server::Start(options.raft, std::move(machine)));
  net::ServerOptions network;
  network.bind_address = options.bind_address;
  network.port = options.port;
  network.threads = options.io_threads;
  // A batch of 8,189 transfers is a megabyte: read it in a few calls, not sixty-four.
  network.read_bytes = 256 * 1024;
  ReplicaService* raw = service.get();
  KEEL_ASSIGN_OR_RETURN(service->network_,
                        net::Server::Start(network, [raw](net::Connection& connection) {
                          return std::make_unique<WalletSession>(raw, connection);
                        }));
  service->client_port_ = service->network_->port();
  return service;
}

ReplicaService::~ReplicaService() { Stop(); }

void ReplicaService::Stop() {
  // Clients first (their callbacks post to connections), then Raft.
  if (network_) network_->Stop();
  if (raft_) raft_->Stop();
}

std::string ReplicaService::Info() const {
  const raft::ServerStatus status = raft_->status();
  const raft::NodeStatus& node = status.node;
  const auto id_or_none = [](raft::NodeId id) {
    return id == raft::kNoNode ? std::string("-1") : base::Cat(id);
  };
  const std::string_view role = raft::RoleName(node.role);
  std::string info;
  info += "# Server\r\n";
  info += base::Cat("wallet_replica_id:", options_.raft.id, "\r\n");
  info += base::Cat("tcp_port:", client_port_.load(), "\r\n");
  info += base::Cat("peer_port:", raft_->peer_port(), "\r\n");
  info += "\r\n# Raft\r\n";
  info +=
      base::Cat("role:", role == "pre-candidate" ? std::string_view("candidate") : role, "\r\n");
  info += base::Cat("term:", node.term, "\r\n");
  info += base::Cat("leader_id:", id_or_none(node.leader), "\r\n");
  info += base::Cat("commit_index:", node.commit, "\r\n");
  info += base::Cat("applied_index:", node.applied, "\r\n");
  info += base::Cat("first_index:", node.first_index, "\r\n");
  info += base::Cat("last_index:", node.last_index, "\r\n");
  info += base::Cat("voters:", Members(node.conf.voters), "\r\n");
  for (const auto& [id, match] : node.match) info += base::Cat("match_", id, ":", match, "\r\n");
  info += base::Cat("proposals:", status.proposals, "\r\n");
  info += base::Cat("forwarded:", status.forwarded, "\r\n");
  info += base::Cat("reads:", status.reads, "\r\n");
  info += base::Cat("timeouts:", status.timeouts, "\r\n");
  info += base::Cat("snapshots_made:", status.snapshots_made, "\r\n");
  info += base::Cat("snapshots_received:", status.snapshots_received, "\r\n");
  info += base::Cat("failed:", status.failed ? 1 : 0, "\r\n");
  info += "\r\n# Ledger\r\n";
  const auto load = [](const std::atomic<uint64_t>& value) {
    return value.load(std::memory_order_relaxed);
  };
  info += base::Cat("commands:", load(counters_->commands), "\r\n");
  info += base::Cat("commands_refused:", load(counters_->refused), "\r\n");
  info += base::Cat("accounts:", load(counters_->accounts), "\r\n");
  info += base::Cat("transfers:", load(counters_->transfers), "\r\n");
  info += base::Cat("last_timestamp:", load(counters_->last_timestamp), "\r\n");
  info += base::Cat("restores:", load(counters_->restores), "\r\n");
  info += "\r\n# Persistence\r\n";
  info += base::Cat("snapshot_index:", status.storage.snapshot_index, "\r\n");
  info += base::Cat("log_bytes:", status.storage.log_bytes, "\r\n");
  info += base::Cat("fsyncs:", status.storage.syncs, "\r\n");
  return info;
}

}  // namespace keel::examples::wallet
