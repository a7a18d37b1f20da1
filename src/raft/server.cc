// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/raft/server.h"

#include <chrono>
#include <deque>
#include <mutex>
#include <utility>

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/raft/codec.h"

namespace keel::raft {

namespace internal {

namespace {

// What travels between replicas, after the transport's framing: one byte of kind, then
//   kMessage   an encoded Raft message (keel/raft/codec.h)
//   kForward   a tagged command (below) for the leader to propose
enum class FrameKind : uint8_t { kMessage = 1, kForward = 2 };

// A command in the log, tagged with the replica and request it came from, so that the replica
// that took the request can answer it when it applies the entry:
//   varint64 origin, varint64 request, command bytes
std::string Tag(NodeId origin, uint64_t request, std::string_view command) {
  std::string bytes;
  base::PutVarint64(bytes, origin);
  base::PutVarint64(bytes, request);
  bytes.append(command);
  return bytes;
}

struct Tagged {
  NodeId origin = kNoNode;
  uint64_t request = 0;
  std::string_view command;
};

absl::StatusOr<Tagged> Untag(std::string_view bytes) {
  base::Reader reader(bytes);
  Tagged tagged;
  KEEL_ASSIGN_OR_RETURN(tagged.origin, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(tagged.request, reader.ReadVarint64());
  tagged.command = reader.rest();
  return tagged;
}

std::string Frame(FrameKind kind, std::string_view payload) {
  std::string frame;
  frame.reserve(payload.size() + 1);
  frame.push_back(static_cast<char>(kind));
  frame.append(payload);
  return frame;
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::Status NotLeader(const Node& node) {
  return node.leader() == kNoNode
             ? absl::UnavailableError(base::Cat("node ", node.id(), " knows of no leader"))
             : absl::FailedPreconditionError(base::Cat(
                   "node ", node.id(), " is not the leader; node ", node.leader(), " is"));
}

}  // namespace

class ServerImpl {
 public:
  ServerImpl(const ServerOptions& options, std::unique_ptr<StateMachine> state_machine)
      : options_(options), state_machine_(std::move(state_machine)) {}

  absl::Status Init() {
    KEEL_ASSIGN_OR_RETURN(storage_,
                          Storage::Open(options_.dir, options_.storage, options_.bootstrap_voters));
    InitialState initial = storage_->TakeInitialState();
    KEEL_RETURN_IF_ERROR(state_machine_->Restore(initial.snapshot.bytes()));
    applied_since_snapshot_ = 0;
    NodeOptions node_options = options_.node;
    node_options.id = options_.id;
    node_options.random_seed =
        static_cast<uint64_t>(NowNanos()) ^ (options_.id * 0x9e3779b97f4a7c15u);
    KEEL_ASSIGN_OR_RETURN(node_, Node::Create(node_options, std::move(initial)));
    // Before the transport's thread starts: from then on only that thread touches the node.
    PublishStatus();
    TransportOptions transport_options = options_.transport;
    transport_options.id = options_.id;
    transport_options.listen_address = options_.listen_address;
    transport_options.peers = options_.peers;
    KEEL_ASSIGN_OR_RETURN(transport_,
                          Transport::Start(
                              transport_options,
                              [this](NodeId from, std::string_view frame) { OnFrame(from, frame); },
                              [this](NodeId peer) { node_->ReportUnreachable(peer); }));
    KEEL_RETURN_IF_ERROR(transport_->Every(options_.tick_ns, [this] { OnTick(); }));
    // Frames may arrive as soon as Transport::Start listens, before transport_ is assigned on
    // this thread; OnFrame drops them until this task, posted after the assignment, has run
    // (Raft loses nothing it does not resend; a forwarded write times out).
    transport_->Post([this] {
      started_ = true;
      Process();
    });
    return absl::OkStatus();
  }

  void Stop() {
    if (transport_) transport_->Stop();
    // The thread is gone: fail what was waiting here.
    FailAll(absl::CancelledError("the server stopped"));
  }

  bool Post(std::function<void()> task) { return transport_->Post(std::move(task)); }

  void Propose(std::string command, Server::Done done) {
    auto shared_done = std::make_shared<Server::Done>(std::move(done));
    if (!Post([this, command = std::move(command), shared_done]() mutable {
          ProposeHere(std::move(command), std::move(*shared_done));
        })) {
      (*shared_done)(absl::CancelledError("the server stopped"));
    }
  }

  void Read(Server::ReadReady ready) {
    auto shared_ready = std::make_shared<Server::ReadReady>(std::move(ready));
    if (!Post([this, shared_ready] { ReadHere(std::move(*shared_ready)); })) {
      (*shared_ready)(absl::CancelledError("the server stopped"));
    }
  }

  void ChangeMembership(ConfChange change, Server::Done done, bool join) {
    auto shared_done = std::make_shared<Server::Done>(std::move(done));
    if (!Post([this, change = std::move(change), shared_done, join] {
          ChangeMembershipHere(change, std::move(*shared_done), join);
        })) {
      (*shared_done)(absl::CancelledError("the server stopped"));
    }
  }

  void TransferLeadership(NodeId id, Server::Done done) {
    auto shared_done = std::make_shared<Server::Done>(std::move(done));
    if (!Post([this, id, shared_done] {
          const absl::Status status = node_->TransferLeadership(id);
          ScheduleProcess();
          (*shared_done)(status.ok() ? absl::StatusOr<std::string>("OK")
                                     : absl::StatusOr<std::string>(status));
        })) {
      (*shared_done)(absl::CancelledError("the server stopped"));
    }
  }

  StateMachine& state_machine() { return *state_machine_; }

  ServerStatus status() const {
    std::lock_guard lock(status_mu_);
    return status_;
  }

  uint16_t peer_port() const { return transport_->port(); }

 private:
  struct PendingWrite {
    Server::Done done;
    int64_t deadline_ns = 0;
  };
  struct PendingRead {
    Server::ReadReady ready;
    int64_t deadline_ns = 0;
    std::optional<uint64_t> index;  // known once the read index came back
  };
  // AddMember's progress: the learner entry, its catching up, the promotion.
  struct Join {
    NodeId id = kNoNode;
    std::string address;
    Server::Done done;
    int64_t deadline_ns = 0;
    uint64_t learner_index = 0;  // the AddLearner entry
    bool promoting = false;
  };

  int64_t Deadline() const { return NowNanos() + options_.request_timeout_ns; }

  bool TooMany() const {
    return pending_writes_.size() + pending_reads_.size() >= options_.max_pending_requests;
  }

  void ProposeHere(std::string command, Server::Done done) {
    if (failed_) return done(absl::FailedPreconditionError(failure_));
    if (TooMany()) {
      return done(absl::ResourceExhaustedError(base::Cat(
          "node ", options_.id, " has ", options_.max_pending_requests, " requests waiting")));
    }
    const uint64_t request = next_request_++;
    std::string tagged = Tag(options_.id, request, command);
    if (node_->role() == Role::kLeader) {
      const absl::StatusOr<uint64_t> index = node_->Propose(std::move(tagged));
      if (!index.ok()) return done(index.status());
    } else if (node_->leader() != kNoNode) {
      (void)transport_->Send(node_->leader(), Frame(FrameKind::kForward, tagged));
      ++counters_.forwarded;
    } else {
      return done(NotLeader(*node_));
    }
    ++counters_.proposals;
    pending_writes_.emplace(request, PendingWrite{std::move(done), Deadline()});
    ScheduleProcess();
  }

  void ReadHere(Server::ReadReady ready) {
    if (failed_) return ready(absl::FailedPreconditionError(failure_));
    if (TooMany()) {
      return ready(absl::ResourceExhaustedError(base::Cat(
          "node ", options_.id, " has ", options_.max_pending_requests, " requests waiting")));
    }
    const uint64_t request = next_request_++;
    std::string context;
    base::PutVarint64(context, request);
    if (const absl::Status status = node_->ReadIndex(std::move(context)); !status.ok()) {
      return ready(status);
    }
    pending_reads_.emplace(request, PendingRead{std::move(ready), Deadline(), std::nullopt});
    ScheduleProcess();
  }

  void ChangeMembershipHere(const ConfChange& change, Server::Done done, bool join) {
    if (failed_) return done(absl::FailedPreconditionError(failure_));
    if (node_->role() != Role::kLeader) return done(NotLeader(*node_));
    if (join && join_) {
      return done(absl::FailedPreconditionError(
          base::Cat("node ", join_->id, " is being added; add one member at a time")));
    }
    const absl::StatusOr<uint64_t> index = node_->ProposeConfChange(change);
    if (!index.ok()) return done(index.status());
    if (join) {
      join_ = Join{
          change.changes.front().node, change.context, std::move(done), Deadline(), *index, false};
    } else {
      pending_conf_.emplace(*index, PendingWrite{std::move(done), Deadline()});
    }
    ScheduleProcess();
  }

  // A new member is promoted once it has every entry the leader has committed.
  void AdvanceJoin() {
    if (!join_ || join_->promoting || node_->role() != Role::kLeader) return;
    if (node_->applied_index() < join_->learner_index) return;
    const NodeStatus status = node_->status();
    uint64_t match = 0;
    for (const auto& [id, index] : status.match) {
      if (id == join_->id) match = index;
    }
    if (match < status.commit) return;
    ConfChange promote;
    promote.changes = {{ConfChangeType::kAddVoter, join_->id}};
    promote.context = join_->address;
    const absl::StatusOr<uint64_t> index = node_->ProposeConfChange(promote);
    if (!index.ok()) return;  // another change is pending: try again at the next tick
    join_->promoting = true;
    pending_conf_.emplace(*index, PendingWrite{std::move(join_->done), join_->deadline_ns});
    join_.reset();
    ScheduleProcess();
  }

  void OnFrame(NodeId from, std::string_view frame) {
    if (!started_ || frame.empty() || failed_) return;
    const auto kind = static_cast<FrameKind>(frame[0]);
    frame.remove_prefix(1);
    if (kind == FrameKind::kMessage) {
      absl::StatusOr<Message> message = DecodeMessage(frame);
      if (!message.ok() || message->from != from) return;  // damaged, or not from its sender
      (void)node_->Step(*message);
    } else if (kind == FrameKind::kForward) {
      // A follower's client write. If this replica no longer leads, it is dropped and the
      // follower's caller times out: it may not be retried here without knowing whether an
      // earlier attempt is in the log already.
      if (node_->role() == Role::kLeader) (void)node_->Propose(std::string(frame));
    }
    ScheduleProcess();
  }

  void OnTick() {
    if (failed_) return;
    node_->Tick();
    ExpireRequests();
    AdvanceJoin();
    Process();
    PublishStatus();
  }

  void ScheduleProcess() {
    if (process_scheduled_) return;
    process_scheduled_ = true;
    transport_->Post([this] {
      process_scheduled_ = false;
      Process();
    });
  }

  // The Ready loop (keel/raft/node.h): persist, send, apply, advance.
  void Process() {
    while (!failed_ && node_->HasReady()) {
      Ready ready = node_->GetReady();
      // A leader's appends go out before its own write, which then overlaps the followers'
      // (keel/raft/node.h, step 2); everything else waits for the write.
      for (const Message& message : ready.messages) {
        if (MaySendBeforePersist(message.type)) Send(message);
      }
      if (const absl::Status status = storage_->Save(ready); !status.ok()) {
        return Fail(base::Cat("storage failed: ", status.ToString()));
      }
      for (const Message& message : ready.messages) {
        if (!MaySendBeforePersist(message.type)) Send(message);
      }
      if (ready.snapshot) {
        if (const absl::Status status = state_machine_->Restore(ready.snapshot->bytes());
            !status.ok()) {
          return Fail(base::Cat("a snapshot from the leader did not restore: ", status.ToString()));
        }
        ++counters_.snapshots_received;
        applied_since_snapshot_ = 0;
      }
      Apply(ready.committed_entries);
      for (const ReadState& read : ready.read_states) {
        base::Reader reader(read.context);
        const absl::StatusOr<uint64_t> request = reader.ReadVarint64();
        if (!request.ok()) continue;
        const auto it = pending_reads_.find(*request);
        if (it != pending_reads_.end()) it->second.index = read.index;
      }
      node_->Advance(ready);
      ServeReads();
      if (const absl::Status status = MaybeSnapshot(); !status.ok()) {
        return Fail(base::Cat("snapshot failed: ", status.ToString()));
      }
    }
  }

  void Send(const Message& message) {
    (void)transport_->Send(message.to, Frame(FrameKind::kMessage, EncodeMessage(message)));
  }

  void Apply(const std::vector<Entry>& entries) {
    for (const Entry& entry : entries) {
      ++counters_.applied_entries;
      ++applied_since_snapshot_;
      if (entry.type == EntryType::kConfChange) {
        ApplyConfChange(entry);
        continue;
      }
      if (entry.data.empty()) continue;  // a new leader's no-op
      const absl::StatusOr<Tagged> tagged = Untag(entry.data);
      if (!tagged.ok()) return Fail(base::Cat("entry ", entry.index, " is damaged"));
      std::string reply = state_machine_->Apply(tagged->command);
      if (tagged->origin != options_.id) continue;
      const auto it = pending_writes_.find(tagged->request);
      if (it == pending_writes_.end()) continue;
      Server::Done done = std::move(it->second.done);
      pending_writes_.erase(it);
      done(std::move(reply));
    }
  }

  void ApplyConfChange(const Entry& entry) {
    const absl::StatusOr<ConfChange> change = DecodeConfChange(entry.data);
    absl::Status status = change.status();
    if (status.ok()) {
      for (const ConfChangeSingle& single : change->changes) {
        if (single.node == options_.id) continue;
        if (single.type == ConfChangeType::kRemoveNode) {
          transport_->RemovePeer(single.node);
        } else if (!change->context.empty()) {
          (void)transport_->SetPeer(single.node, change->context);
        }
      }
      status = node_->ApplyConfChange(*change).status();
    }
    const auto it = pending_conf_.find(entry.index);
    if (it != pending_conf_.end()) {
      Server::Done done = std::move(it->second.done);
      pending_conf_.erase(it);
      done(status.ok() ? absl::StatusOr<std::string>("OK") : absl::StatusOr<std::string>(status));
    }
  }

  void ServeReads() {
    const uint64_t applied = node_->applied_index();
    for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
      if (it->second.index && *it->second.index <= applied) {
        Server::ReadReady ready = std::move(it->second.ready);
        it = pending_reads_.erase(it);
        ++counters_.reads;
        ready(absl::OkStatus());
      } else {
        ++it;
      }
    }
  }

  absl::Status MaybeSnapshot() {
    if (applied_since_snapshot_ < options_.snapshot_every_entries) return absl::OkStatus();
    applied_since_snapshot_ = 0;
    KEEL_ASSIGN_OR_RETURN(Snapshot snapshot,
                          node_->Compact(node_->applied_index(), state_machine_->Snapshot()));
    KEEL_RETURN_IF_ERROR(storage_->SaveSnapshot(snapshot));
    ++counters_.snapshots_made;
    return absl::OkStatus();
  }

  void ExpireRequests() {
    const int64_t now = NowNanos();
    const auto expired = [&](auto& pending, auto fail) {
      for (auto it = pending.begin(); it != pending.end();) {
        if (it->second.deadline_ns <= now) {
          auto callback = std::move(it->second);
          it = pending.erase(it);
          ++counters_.timeouts;
          fail(callback);
        } else {
          ++it;
        }
      }
    };
    const absl::Status timeout =
        absl::DeadlineExceededError("not applied in time; the command may or may not take effect");
    expired(pending_writes_, [&](PendingWrite& write) { write.done(timeout); });
    expired(pending_conf_, [&](PendingWrite& write) { write.done(timeout); });
    expired(pending_reads_, [](PendingRead& read) {
      read.ready(absl::DeadlineExceededError("no read index in time"));
    });
    if (join_ && join_->deadline_ns <= now) {
      join_->done(absl::DeadlineExceededError(
          base::Cat("node ", join_->id, " did not catch up in time; it stays a learner")));
      join_.reset();
    }
  }

  void Fail(std::string failure) {
    failed_ = true;
    failure_ = std::move(failure);
    FailAll(absl::FailedPreconditionError(failure_));
    PublishStatus();
  }

  void FailAll(const absl::Status& status) {
    auto writes = std::move(pending_writes_);
    auto conf = std::move(pending_conf_);
    auto reads = std::move(pending_reads_);
    pending_writes_.clear();
    pending_conf_.clear();
    pending_reads_.clear();
    for (auto& [request, write] : writes) write.done(status);
    for (auto& [index, write] : conf) write.done(status);
    for (auto& [request, read] : reads) read.ready(status);
    if (join_) {
      join_->done(status);
      join_.reset();
    }
  }

  void PublishStatus() {
    ServerStatus status = counters_;
    status.node = node_->status();
    status.storage = storage_->stats();
    if (transport_) status.transport = transport_->stats();
    status.failed = failed_;
    status.failure = failure_;
    std::lock_guard lock(status_mu_);
    status_ = std::move(status);
  }

  ServerOptions options_;
  std::unique_ptr<StateMachine> state_machine_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<Transport> transport_;

  uint64_t next_request_ = 1;
  std::map<uint64_t, PendingWrite> pending_writes_;  // by request id
  std::map<uint64_t, PendingRead> pending_reads_;    // by request id
  std::map<uint64_t, PendingWrite> pending_conf_;    // by log index
  std::optional<Join> join_;
  uint64_t applied_since_snapshot_ = 0;
  bool process_scheduled_ = false;
  bool started_ = false;  // on the transport thread: Init has handed it the server (see Init)
  bool failed_ = false;
  std::string failure_;
  ServerStatus counters_;

  mutable std::mutex status_mu_;
  ServerStatus status_;
};

}  // namespace internal

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      std::unique_ptr<StateMachine> state_machine) {
  if (options.id == kNoNode) return absl::InvalidArgumentError("ServerOptions.id is not set");
  if (options.tick_ns <= 0) {
    return absl::InvalidArgumentError(
        base::Cat("ServerOptions.tick_ns ", options.tick_ns, " must be positive"));
  }
  if (state_machine == nullptr) return absl::InvalidArgumentError("no state machine");
  auto impl = std::make_unique<internal::ServerImpl>(options, std::move(state_machine));
  KEEL_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<internal::ServerImpl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }

void Server::Propose(std::string command, Done done) {
  impl_->Propose(std::move(command), std::move(done));
}
void Server::Read(ReadReady ready) { impl_->Read(std::move(ready)); }
void Server::AddMember(NodeId id, std::string address, Done done) {
  ConfChange change;
  change.changes = {{ConfChangeType::kAddLearner, id}};
  change.context = std::move(address);
  impl_->ChangeMembership(std::move(change), std::move(done), /*join=*/true);
}
void Server::RemoveMember(NodeId id, Done done) {
  ConfChange change;
  change.changes = {{ConfChangeType::kRemoveNode, id}};
  impl_->ChangeMembership(std::move(change), std::move(done), /*join=*/false);
}
void Server::TransferLeadership(NodeId id, Done done) {
  impl_->TransferLeadership(id, std::move(done));
}
bool Server::Post(std::function<void()> task) { return impl_->Post(std::move(task)); }
StateMachine& Server::state_machine() { return impl_->state_machine(); }
ServerStatus Server::status() const { return impl_->status(); }
uint16_t Server::peer_port() const { return impl_->peer_port(); }
void Server::Stop() {
  if (impl_ && !stopped_) {
    stopped_ = true;
    impl_->Stop();
  }
}

}  // namespace keel::raft
