// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "raft_kv/kv_service.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"
#include "keel/pubsub/glob.h"
#include "keel/raft/kv_store.h"

namespace keel::examples::raft_kv {

namespace {

// KvStore as the replicated state machine: commands arrive encoded (keel::raft::EncodeCommand)
// and the reply is the RESP2 bytes Redis would send.
class KvMachine : public raft::StateMachine {
 public:
  std::string Apply(std::string_view command) override {
    std::string out;
    net::RespWriter reply(out);
    const absl::StatusOr<std::vector<std::string>> args = raft::DecodeCommand(command);
    if (!args.ok() || args->empty()) {
      reply.Error("damaged command in the log");
      return out;
    }
    std::vector<std::string_view> views(args->begin(), args->end());
    store_.Apply(views, reply);
    return out;
  }
  std::string Snapshot() const override { return store_.Snapshot(); }
  absl::Status Restore(std::string_view snapshot) override { return store_.Restore(snapshot); }
  const raft::KvStore& store() const { return store_; }

 private:
  raft::KvStore store_;
};

std::string ErrorReply(const absl::Status& status) {
  std::string out;
  net::RespWriter reply(out);
  // Redis clients retry on these prefixes; a timeout is TRYAGAIN (the outcome is unknown).
  const char* code = absl::IsDeadlineExceeded(status) ? "-TRYAGAIN "
                     : absl::IsUnavailable(status) || absl::IsFailedPrecondition(status)
                         ? "-CLUSTERDOWN "
                         : "-ERR ";
  std::string message(status.message());
  std::replace(message.begin(), message.end(), '\r', ' ');
  std::replace(message.begin(), message.end(), '\n', ' ');
  reply.Error(base::Cat(code, message));
  return out;
}

bool NameIs(std::string_view name, std::string_view command) {
  return name.size() == command.size() &&
         std::equal(name.begin(), name.end(), command.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// The replies of one batch of a connection's commands, in order; some arrive later from the
// Raft thread.
struct Batch {
  std::vector<std::optional<std::string>> replies;
  size_t missing = 0;
  bool ended = false;  // OnBatchEnd has run
};

class KvSession : public net::Session {
 public:
  KvSession(KvService* service, net::Connection& connection)
      : service_(service), self_(connection.ref()) {}

  void OnCommand(net::Connection& /*connection*/, std::span<const std::string_view> args) override {
    if (!batch_) batch_ = std::make_shared<Batch>();
    const size_t slot = batch_->replies.size();
    batch_->replies.emplace_back();
    const std::string_view name = args[0];
    if (NameIs(name, "ping")) return Answer(slot, args.size() > 1 ? Bulk(args[1]) : "+PONG\r\n");
    if (NameIs(name, "info")) return Answer(slot, Bulk(service_->Info()));
    if (NameIs(name, "config")) return Answer(slot, service_->Config(args));
    if (NameIs(name, "raft.addnode") || NameIs(name, "raft.removenode") ||
        NameIs(name, "raft.transfer")) {
      return Admin(slot, args);
    }
    switch (raft::ClassifyKvCommand(name)) {
      case raft::KvCommandKind::kUnknown: {
        std::string out;
        net::RespWriter reply(out);
        raft::KvStore::ReplyUnknown(args, reply);
        return Answer(slot, std::move(out));
      }
      case raft::KvCommandKind::kWrite:
        ++batch_->missing;
        service_->raft().Propose(raft::EncodeCommand(args), Later(slot));
        return;
      case raft::KvCommandKind::kRead: {
        ++batch_->missing;
        std::vector<std::string> copy(args.begin(), args.end());
        raft::Server* raft = &service_->raft();
        raft::Server::Done done = Later(slot);
        raft->Read([raft, copy = std::move(copy), done](absl::Status status) {
          if (!status.ok()) return done(status);
          std::vector<std::string_view> views(copy.begin(), copy.end());
          std::string out;
          net::RespWriter reply(out);
          static_cast<KvMachine&>(raft->state_machine()).store().Read(views, reply);
          done(std::move(out));
        });
        return;
      }
    }
  }

  void OnBatchEnd(net::Connection& connection) override {
    if (!batch_) return;
    batch_->ended = true;
    if (batch_->missing == 0) {
      Flush(connection, *batch_);
      batch_.reset();
      return;
    }
    // Nothing leaves, and nothing more is read, until the last reply of the batch is in.
    connection.HoldOutput();
    batch_.reset();
  }

 private:
  static std::string Bulk(std::string_view text) {
    std::string out;
    net::RespWriter(out).BulkString(text);
    return out;
  }

  void Answer(size_t slot, std::string reply) { batch_->replies[slot] = std::move(reply); }

  // A callback that fills `slot` from the Raft thread, on the connection's thread.
  raft::Server::Done Later(size_t slot) {
    return [batch = batch_, slot, self = self_](absl::StatusOr<std::string> reply) {
      std::string bytes = reply.ok() ? std::move(*reply) : ErrorReply(reply.status());
      self.Post([batch, slot, bytes = std::move(bytes)](net::Connection& connection) mutable {
        batch->replies[slot] = std::move(bytes);
        if (--batch->missing == 0 && batch->ended) {
          Flush(connection, *batch);
          connection.ReleaseOutput();
        }
      });
    };
  }

  static void Flush(net::Connection& connection, Batch& batch) {
    for (std::optional<std::string>& reply : batch.replies) {
      connection.writer().output().append(*reply);
    }
  }

  void Admin(size_t slot, std::span<const std::string_view> args) {
    const std::string_view name = args[0];
    const size_t wanted = NameIs(name, "raft.addnode") ? 3 : 2;
    uint64_t id = 0;
    if (args.size() != wanted ||
        !absl::SimpleAtoi(absl::string_view(args[1].data(), args[1].size()), &id)) {
      return Answer(slot, ErrorReply(absl::InvalidArgumentError(
                              base::Cat("usage: ", name, wanted == 3 ? " id host:port" : " id"))));
    }
    ++batch_->missing;
    // The server answers these with a bare "OK"; clients get it as a status reply.
    raft::Server::Done later = Later(slot);
    raft::Server::Done done = [later](absl::StatusOr<std::string> reply) {
      later(reply.ok() ? absl::StatusOr<std::string>(base::Cat("+", *reply, "\r\n")) : reply);
    };
    if (NameIs(name, "raft.addnode")) {
      service_->raft().AddMember(id, std::string(args[2]), std::move(done));
    } else if (NameIs(name, "raft.removenode")) {
      service_->raft().RemoveMember(id, std::move(done));
    } else {
      service_->raft().TransferLeadership(id, std::move(done));
    }
  }

  KvService* service_;
  net::ConnectionRef self_;
  std::shared_ptr<Batch> batch_;
};

std::string Members(const std::vector<raft::NodeId>& ids) {
  std::string text;
  for (raft::NodeId id : ids) text += base::Cat(text.empty() ? "" : ",", id);
  return text;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KvService>> KvService::Start(const ServiceOptions& options) {
  std::unique_ptr<KvService> service(new KvService());
  service->options_ = options;
  KEEL_ASSIGN_OR_RETURN(service->raft_,
                        raft::Server::Start(options.raft, std::make_unique<KvMachine>()));
  net::ServerOptions network;
  network.bind_address = options.bind_address;
  network.port = options.port;
  network.threads = options.io_threads;
  KvService* raw = service.get();
  KEEL_ASSIGN_OR_RETURN(service->network_,
                        net::Server::Start(network, [raw](net::Connection& connection) {
                          return std::make_unique<KvSession>(raw, connection);
                        }));
  // Sessions may run before network_ is assigned: they read the port from here.
  service->client_port_ = service->network_->port();
  return service;
}

KvService::~KvService() { Stop(); }

void KvService::Stop() {
  // Clients first (their callbacks post to connections), then Raft.
  if (network_) network_->Stop();
  if (raft_) raft_->Stop();
}

std::string KvService::Config(std::span<const std::string_view> args) const {
  std::string out;
  net::RespWriter reply(out);
  if (args.size() < 2 || !NameIs(args[1], "get")) {
    reply.Error(args.size() < 2
                    ? std::string("wrong number of arguments for 'config' command")
                    : base::Cat("unknown subcommand '", args[1], "'. Try CONFIG HELP."));
    return out;
  }
  if (args.size() < 3) {
    reply.Error("wrong number of arguments for 'config|get' command");
    return out;
  }
  // Redis's names for what raft_kv does: no point-in-time dumps ("save"), and every write in an
  // append-only log that is fsynced before the write is acknowledged (the Raft log).
  const std::pair<std::string_view, std::string> parameters[] = {
      {"save", ""},
      {"appendonly", "yes"},
      {"appendfsync", "always"},
      {"dir", options_.raft.dir},
      {"port", base::Cat(client_port_.load())},
      {"databases", "1"},
  };
  std::vector<const std::pair<std::string_view, std::string>*> matched;
  for (const auto& parameter : parameters) {
    for (size_t i = 2; i < args.size(); ++i) {
      std::string pattern(args[i]);
      for (char& c : pattern) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (pubsub::GlobMatch(pattern, parameter.first)) {
        matched.push_back(&parameter);
        break;
      }
    }
  }
  reply.MapHeader(matched.size());  // RESP2: an array of name, value, name, value, ...
  for (const auto* parameter : matched) {
    reply.BulkString(parameter->first);
    reply.BulkString(parameter->second);
  }
  return out;
}

std::string KvService::Info() const {
  const raft::ServerStatus status = raft_->status();
  const raft::NodeStatus& node = status.node;
  const auto id_or_none = [](raft::NodeId id) {
    return id == raft::kNoNode ? std::string("-1") : base::Cat(id);
  };
  std::string info;
  info += "# Server\r\n";
  info += base::Cat("raft_kv_node_id:", options_.raft.id, "\r\n");
  info += base::Cat("tcp_port:", client_port_.load(), "\r\n");
  info += base::Cat("peer_port:", raft_->peer_port(), "\r\n");
  info += "\r\n# Raft\r\n";
  info += base::Cat("role:",
                    raft::RoleName(node.role) == "pre-candidate" ? std::string_view("candidate")
                                                                 : raft::RoleName(node.role),
                    "\r\n");
  info += base::Cat("term:", node.term, "\r\n");
  info += base::Cat("leader_id:", id_or_none(node.leader), "\r\n");
  info += base::Cat("commit_index:", node.commit, "\r\n");
  info += base::Cat("applied_index:", node.applied, "\r\n");
  info += base::Cat("first_index:", node.first_index, "\r\n");
  info += base::Cat("last_index:", node.last_index, "\r\n");
  info += base::Cat("voters:", Members(node.conf.voters), "\r\n");
  info += base::Cat("learners:", Members(node.conf.learners), "\r\n");
  info += base::Cat("joint:", node.conf.joint() ? 1 : 0, "\r\n");
  for (const auto& [id, match] : node.match) info += base::Cat("match_", id, ":", match, "\r\n");
  info += base::Cat("proposals:", status.proposals, "\r\n");
  info += base::Cat("forwarded:", status.forwarded, "\r\n");
  info += base::Cat("reads:", status.reads, "\r\n");
  info += base::Cat("timeouts:", status.timeouts, "\r\n");
  info += base::Cat("snapshots_made:", status.snapshots_made, "\r\n");
  info += base::Cat("snapshots_received:", status.snapshots_received, "\r\n");
  info += base::Cat("failed:", status.failed ? 1 : 0, "\r\n");
  info += "\r\n# Persistence\r\n";
  info += base::Cat("snapshot_index:", status.storage.snapshot_index, "\r\n");
  info += base::Cat("log_bytes:", status.storage.log_bytes, "\r\n");
  info += base::Cat("fsyncs:", status.storage.syncs, "\r\n");
  info += "\r\n# Network\r\n";
  info += base::Cat("peer_frames_sent:", status.transport.frames_sent, "\r\n");
  info += base::Cat("peer_frames_received:", status.transport.frames_received, "\r\n");
  info += base::Cat("peer_frames_dropped:", status.transport.frames_dropped, "\r\n");
  return info;
}

}  // namespace keel::examples::raft_kv
