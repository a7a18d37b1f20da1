// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "raft/simulator.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/raft/codec.h"

namespace keel::raft::testing {

namespace {

// A snapshot's data in the simulator: how many commands it covers, then the application's state.
std::string WrapSnapshot(uint64_t commands, std::string_view state) {
  std::string data;
  base::PutVarint64(data, commands);
  data.append(state);
  return data;
}

std::pair<uint64_t, std::string_view> UnwrapSnapshot(std::string_view data) {
  if (data.empty()) return {0, {}};  // the bootstrap snapshot
  base::Reader reader(data);
  const absl::StatusOr<uint64_t> commands = reader.ReadVarint64();
  KEEL_ASSERT(commands.ok(), "a simulated snapshot lost its header");
  return {*commands, reader.rest()};
}

bool IsCommand(const Entry& entry) {
  return entry.type == EntryType::kNormal && !entry.data.empty();
}

}  // namespace

// A node's disk. A Ready that must be synced is written whole or (when a crash is injected
// between its write and its sync) not at all, so the log and the snapshot are kept once; only the
// hard state has a written copy that may be newer than the durable one (a change of commit index
// alone is not synced).
struct Simulator::Disk {
  HardState hard;          // durable
  HardState hard_written;  // written, maybe not synced
  Snapshot snapshot;
  std::vector<Entry> entries;
  // commands[k]: the commands among entries[0..k], for numbering commands without a scan.
  std::vector<uint64_t> commands;

  uint64_t CommandsBefore(size_t count) const { return count == 0 ? 0 : commands[count - 1]; }
  void PopBack() {
    entries.pop_back();
    commands.pop_back();
  }
  void PushBack(const Entry& entry) {
    entries.push_back(entry);
    commands.push_back(CommandsBefore(commands.size()) + (IsCommand(entry) ? 1 : 0));
  }
  void DropThrough(uint64_t index) {
    size_t drop = 0;
    while (drop < entries.size() && entries[drop].index <= index) ++drop;
    if (drop == 0) return;
    const uint64_t dropped_commands = commands[drop - 1];
    entries.erase(entries.begin(), entries.begin() + static_cast<ptrdiff_t>(drop));
    commands.erase(commands.begin(), commands.begin() + static_cast<ptrdiff_t>(drop));
    for (uint64_t& count : commands) count -= dropped_commands;
  }

  uint64_t LogBytes() const {
    uint64_t bytes = EncodeHardState(hard).size();
    for (const Entry& entry : entries) bytes += EncodeEntry(entry).size();
    return bytes;
  }
};

struct Simulator::SimNode {
  std::unique_ptr<Node> node;
  std::unique_ptr<Application> app;
  Disk disk;
  uint64_t incarnation = 0;
  double drift = 0;
  // Commands applied so far (the command index of the last one), and at the last snapshot.
  uint64_t applied_commands = 0;
  uint64_t snapshot_commands = 0;
  std::vector<ReadState> waiting_reads;
  // Proposals made at this instant and not yet persisted (index, whether a command), and whether
  // a Process is already scheduled for them.
  std::vector<std::pair<uint64_t, bool>> proposed;
  bool process_scheduled = false;
};

Simulator::Simulator(SimOptions options)
    : options_(std::move(options)),
      random_(options_.seed),
      connected_(options_.nodes, true),
      link_up_(options_.nodes, std::vector<bool>(options_.nodes, true)),
      link_last_arrival_(options_.nodes, std::vector<int64_t>(options_.nodes, 0)),
      rpc_count_(options_.nodes, 0),
      trace_(std::getenv("KEEL_RAFT_TRACE") != nullptr) {
  if (!options_.application) {
    options_.application = [](int) { return std::make_unique<CommandLog>(); };
  }
  std::vector<NodeId> voters = options_.voters;
  if (voters.empty()) {
    for (int i = 0; i < options_.nodes; ++i) voters.push_back(static_cast<NodeId>(i));
  }
  const InitialState bootstrap = InitialState::Bootstrap(voters);
  for (int i = 0; i < options_.nodes; ++i) {
    auto sim = std::make_unique<SimNode>();
    if (std::find(voters.begin(), voters.end(), static_cast<NodeId>(i)) != voters.end()) {
      sim->disk.snapshot = bootstrap.snapshot;
      sim->disk.hard = sim->disk.hard_written = bootstrap.hard_state;
    }
    const double drift = options_.max_clock_drift;
    sim->drift =
        drift > 0 ? (static_cast<double>(random_.Uniform(2'000'001)) / 1e6 - 1.0) * drift : 0;
    nodes_.push_back(std::move(sim));
  }
  for (int i = 0; i < options_.nodes; ++i) StartNode(i);
}

Simulator::~Simulator() = default;

void Simulator::Schedule(int64_t time, std::function<void()> fn) {
  events_.push(Event{time, seq_++, std::move(fn)});
}

void Simulator::At(int64_t delay_ns, std::function<void()> fn) {
  Schedule(now_ + delay_ns, std::move(fn));
}

bool Simulator::Step() {
  if (events_.empty()) return false;
  Event event = events_.top();
  events_.pop();
  now_ = event.time;
  event.fn();
  return true;
}

void Simulator::RunFor(int64_t duration_ns) {
  const int64_t end = now_ + duration_ns;
  while (!events_.empty() && events_.top().time <= end) Step();
  now_ = end;
}

bool Simulator::RunUntil(const std::function<bool()>& done, int64_t timeout_ns) {
  const int64_t end = now_ + timeout_ns;
  while (!done()) {
    if (events_.empty() || events_.top().time > end) {
      now_ = end;
      return done();
    }
    Step();
  }
  return true;
}

void Simulator::Violation(std::string what) {
  if (violations_.size() < 20) {
    violations_.push_back(base::Cat("t=", now_ / kMillis, "ms: ", what));
  }
}

// --- Nodes.

void Simulator::StartNode(int i) {
  SimNode& sim = *nodes_[i];
  ++sim.incarnation;
  sim.disk.hard_written = sim.disk.hard;
  sim.waiting_reads.clear();
  sim.proposed.clear();
  NodeOptions node_options = options_.node;
  node_options.id = static_cast<NodeId>(i);
  node_options.random_seed = options_.seed * 1'000'003 + sim.incarnation;
  InitialState initial;
  initial.hard_state = sim.disk.hard;
  initial.snapshot = sim.disk.snapshot;
  initial.entries = sim.disk.entries;
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(node_options, std::move(initial));
  KEEL_ASSERT(node.ok(), "node ", i, " did not start: ", node.status().message());
  sim.node = std::move(*node);
  sim.app = options_.application(i);
  const auto [commands, state] = UnwrapSnapshot(sim.disk.snapshot.bytes());
  sim.applied_commands = sim.snapshot_commands = commands;
  if (!sim.disk.snapshot.bytes().empty()) {
    if (absl::Status status = sim.app->Restore(state); !status.ok()) {
      Violation(base::Cat("node ", i, " could not restore its snapshot: ", status.message()));
    }
  }
  ScheduleTick(i);
  Process(i);
}

void Simulator::ScheduleTick(int i) {
  SimNode& sim = *nodes_[i];
  const auto period = static_cast<int64_t>(static_cast<double>(options_.tick_ns) * (1 + sim.drift));
  const uint64_t incarnation = sim.incarnation;
  Schedule(now_ + period, [this, i, incarnation] {
    SimNode& node = *nodes_[i];
    if (!node.node || node.incarnation != incarnation) return;
    node.node->Tick();
    Process(i);
    ScheduleTick(i);
  });
}

void Simulator::Crash(int i) {
  SimNode& sim = *nodes_[i];
  if (!sim.node) return;
  sim.node.reset();
  sim.app.reset();
  ++sim.incarnation;
  sim.disk.hard_written = sim.disk.hard;  // what was not synced is gone
  sim.proposed.clear();
  sim.process_scheduled = false;
}

void Simulator::Restart(int i) {
  Crash(i);
  StartNode(i);
}

bool Simulator::alive(int i) const { return nodes_[i]->node != nullptr; }

Node* Simulator::node(int i) { return nodes_[i]->node.get(); }

Application& Simulator::application(int i) {
  KEEL_ASSERT(nodes_[i]->app != nullptr, "node ", i, " is down");
  return *nodes_[i]->app;
}

void Simulator::Process(int i) {
  SimNode& sim = *nodes_[i];
  while (sim.node && sim.node->HasReady()) {
    Ready ready = sim.node->GetReady();
    const uint64_t incarnation = sim.incarnation;
    // A leader's appends may leave before its own write (keel/raft/node.h, step 2), as
    // raft_kv sends them; a crash during the write then finds them already on the network.
    for (Message& message : ready.messages) {
      if (MaySendBeforePersist(message.type)) Send(i, std::move(message));
    }
    if (ready.must_sync && crash_during_persist_ > 0 &&
        random_.Uniform(1'000'000) < static_cast<uint64_t>(crash_during_persist_ * 1e6)) {
      Crash(i);  // written, never synced: the write is lost with the node
      return;
    }
    Persist(sim, ready);
    if (ready.soft_state && ready.soft_state->role == Role::kLeader) CheckNewLeader(i);
    if (trace_ && (ready.soft_state || ready.hard_state)) {
      std::fprintf(stderr, "t=%lld node %d: %s term %llu vote %lld commit %llu last %llu\n",
                   static_cast<long long>(now_ / 1000), i,
                   std::string(RoleName(sim.node->role())).c_str(),
                   static_cast<unsigned long long>(sim.node->term()),
                   static_cast<long long>(sim.node->status().vote),
                   static_cast<unsigned long long>(sim.node->commit_index()),
                   static_cast<unsigned long long>(sim.node->last_index()));
    }
    for (Message& message : ready.messages) {
      if (!MaySendBeforePersist(message.type)) Send(i, std::move(message));
    }
    ApplyEntries(i, ready);
    if (!sim.node || sim.incarnation != incarnation) return;
    sim.node->Advance(ready);
    MaybeSnapshot(i);
  }
}

void Simulator::ProcessSoon(int i) {
  SimNode& sim = *nodes_[i];
  if (sim.process_scheduled) return;
  sim.process_scheduled = true;
  const uint64_t incarnation = sim.incarnation;
  Schedule(now_, [this, i, incarnation] {
    SimNode& node = *nodes_[i];
    if (node.incarnation != incarnation) return;
    node.process_scheduled = false;
    Process(i);
  });
}

void Simulator::Persist(SimNode& sim, const Ready& ready) {
  Disk& disk = sim.disk;
  sim.proposed.clear();
  if (ready.snapshot) {
    disk.snapshot = *ready.snapshot;
    disk.entries.clear();
    disk.commands.clear();
  }
  if (!ready.entries.empty()) {
    const uint64_t first = ready.entries.front().index;
    while (!disk.entries.empty() && disk.entries.back().index >= first) disk.PopBack();
    KEEL_ASSERT(disk.entries.empty() ? first == disk.snapshot.metadata.index + 1
                                     : first == disk.entries.back().index + 1,
                "a Ready's entries leave a gap in the log at ", first);
    for (const Entry& entry : ready.entries) disk.PushBack(entry);
  }
  if (ready.hard_state) disk.hard_written = *ready.hard_state;
  if (ready.must_sync) disk.hard = disk.hard_written;
}

void Simulator::CheckNewLeader(int i) {
  const uint64_t term = nodes_[i]->node->term();
  const auto [it, inserted] = leader_of_term_.emplace(term, i);
  if (!inserted && it->second != i) {
    Violation(
        base::Cat("election safety: nodes ", it->second, " and ", i, " both lead term ", term));
  }
  // Leader completeness: every entry applied anywhere is in the new leader's log.
  const Disk& disk = nodes_[i]->disk;
  const uint64_t snapshot_index = disk.snapshot.metadata.index;
  for (const auto& [index, entry] : applied_entries_) {
    if (index <= snapshot_index) continue;
    const uint64_t offset = index - snapshot_index - 1;
    if (offset >= disk.entries.size() || disk.entries[offset].term != entry.first) {
      Violation(base::Cat("leader completeness: node ", i, " leads term ", term,
                          " without committed entry ", index, " of term ", entry.first));
      return;
    }
  }
}

void Simulator::ApplyEntries(int i, const Ready& ready) {
  SimNode& sim = *nodes_[i];
  if (ready.snapshot && ready.snapshot->bytes().empty()) {
    // The bootstrap snapshot (a node joining the cluster): an empty state.
    sim.app = options_.application(i);
    sim.applied_commands = sim.snapshot_commands = 0;
  } else if (ready.snapshot) {
    const auto [commands, state] = UnwrapSnapshot(ready.snapshot->bytes());
    sim.applied_commands = sim.snapshot_commands = commands;
    if (absl::Status status = sim.app->Restore(state); !status.ok()) {
      Violation(base::Cat("node ", i, " could not restore a snapshot: ", status.message()));
    }
  }
  for (const Entry& entry : ready.committed_entries) {
    // State machine safety: one entry per index, everywhere.
    const auto [it, inserted] = applied_entries_.try_emplace(entry.index, entry.term, entry.data);
    if (!inserted && (it->second.first != entry.term || it->second.second != entry.data)) {
      Violation(base::Cat("state machine safety: node ", i, " applied entry ", entry.index,
                          " of term ", entry.term, " where term ", it->second.first,
                          " was applied"));
    }
    if (entry.type == EntryType::kConfChange) {
      absl::StatusOr<ConfChange> change = DecodeConfChange(entry.data);
      if (!change.ok()) {
        Violation(
            base::Cat("node ", i, " applied a bad membership change: ", change.status().message()));
        continue;
      }
      if (absl::StatusOr<ConfState> conf = sim.node->ApplyConfChange(*change); !conf.ok()) {
        Violation(base::Cat("node ", i, " could not apply a committed membership change: ",
                            conf.status().message()));
      }
    } else if (IsCommand(entry)) {
      sim.app->Apply(++sim.applied_commands, entry.index, entry.data);
    }
  }
  const uint64_t applied = ready.committed_entries.empty() ? sim.node->applied_index()
                                                           : ready.committed_entries.back().index;
  for (const ReadState& read : ready.read_states) sim.waiting_reads.push_back(read);
  auto ready_end =
      std::stable_partition(sim.waiting_reads.begin(), sim.waiting_reads.end(),
                            [&](const ReadState& read) { return read.index <= applied; });
  std::vector<ReadState> served(sim.waiting_reads.begin(), ready_end);
  sim.waiting_reads.erase(sim.waiting_reads.begin(), ready_end);
  for (const ReadState& read : served) sim.app->ReadReady(read.context);
}

void Simulator::MaybeSnapshot(int i) {
  SimNode& sim = *nodes_[i];
  const uint64_t every = options_.snapshot_every_commands;
  if (every == 0 || sim.applied_commands < sim.snapshot_commands + every) return;
  const uint64_t index = sim.node->applied_index();
  std::string data = WrapSnapshot(sim.applied_commands, sim.app->Snapshot());
  absl::StatusOr<Snapshot> snapshot = sim.node->Compact(index, std::move(data));
  if (!snapshot.ok()) return;  // nothing new since the last snapshot
  sim.snapshot_commands = sim.applied_commands;
  // The application writes and syncs its snapshot, then drops the log before it.
  sim.disk.snapshot = *snapshot;
  sim.disk.DropThrough(index);
}

// --- Network.

void Simulator::Disconnect(int i) { connected_[i] = false; }
void Simulator::Connect(int i) { connected_[i] = true; }
void Simulator::SetLink(int from, int to, bool up) { link_up_[from][to] = up; }

void Simulator::Send(int from, Message message) {
  const auto to = static_cast<int>(message.to);
  KEEL_ASSERT(to >= 0 && to < options_.nodes, "node ", from, " sent to unknown node ", message.to);
  bytes_total_ += EncodedMessageSize(message);
  if (!connected_[from] || !connected_[to] || !link_up_[from][to]) return;
  if (filter_ && !filter_(message)) return;
  const bool response = IsResponse(message.type);
  if (!reliable_ && random_.Uniform(1000) < 100) return;  // lost
  const int copies = duplicate_rate_ > 0 && random_.Uniform(1'000'000) <
                                                static_cast<uint64_t>(duplicate_rate_ * 1e6)
                         ? 2
                         : 1;
  for (int copy = 0; copy < copies; ++copy) {
    int64_t arrival;
    if (reliable_) {
      arrival = now_ + kMillis / 10 + static_cast<int64_t>(random_.Uniform(9 * kMillis / 10));
      arrival = std::max(arrival, link_last_arrival_[from][to] + 1);
      link_last_arrival_[from][to] = arrival;
    } else {
      arrival = now_ + static_cast<int64_t>(random_.Uniform(27 * kMillis));
      if (long_reordering_ && response && random_.Uniform(900) < 600) {
        arrival += 200 * kMillis +
                   static_cast<int64_t>(random_.Uniform(1 + random_.Uniform(2000))) * kMillis;
      }
    }
    const uint64_t incarnation = nodes_[to]->incarnation;
    Schedule(arrival, [this, to, incarnation, message] { Deliver(to, incarnation, message); });
  }
}

void Simulator::Deliver(int to, uint64_t incarnation, const Message& message) {
  SimNode& sim = *nodes_[to];
  const auto from = static_cast<int>(message.from);
  if (!sim.node || sim.incarnation != incarnation) return;
  if (!connected_[to] || !connected_[from] || !link_up_[from][to]) return;
  ++delivered_;
  if (!IsResponse(message.type)) ++rpc_count_[to];
  if (absl::Status status = sim.node->Step(message); !status.ok()) {
    Violation(base::Cat("node ", to, " refused ", MessageTypeName(message.type), " from ", from,
                        ": ", status.message()));
  }
  Process(to);
}

// --- 6.5840's view.

StartResult Simulator::Start(int i, std::string command) {
  StartResult result;
  SimNode& sim = *nodes_[i];
  if (!sim.node) return result;
  result.term = sim.node->term();
  absl::StatusOr<uint64_t> index = sim.node->Propose(std::move(command));
  if (!index.ok()) return result;
  result.is_leader = true;
  result.raft_index = *index;
  sim.proposed.emplace_back(*index, true);
  result.command_index = CommandsThrough(i, *index);
  ProcessSoon(i);
  return result;
}

uint64_t Simulator::CommandsThrough(int i, uint64_t raft_index) const {
  // The commands up to the snapshot, plus those in the log after it, plus those proposed at
  // this instant and not yet written (a leader's only unwritten entries).
  const SimNode& sim = *nodes_[i];
  const Disk& disk = sim.disk;
  uint64_t commands = UnwrapSnapshot(disk.snapshot.bytes()).first;
  const uint64_t snapshot_index = disk.snapshot.metadata.index;
  if (raft_index > snapshot_index) {
    const auto in_log = std::min<uint64_t>(raft_index - snapshot_index, disk.entries.size());
    commands += disk.CommandsBefore(in_log);
  }
  for (const auto& [index, is_command] : sim.proposed) {
    if (index <= raft_index && is_command) ++commands;
  }
  return commands;
}

absl::Status Simulator::ReadIndex(int i, std::string context) {
  SimNode& sim = *nodes_[i];
  if (!sim.node) return absl::UnavailableError(base::Cat("node ", i, " is down"));
  absl::Status status = sim.node->ReadIndex(std::move(context));
  ProcessSoon(i);
  return status;
}

absl::StatusOr<uint64_t> Simulator::ProposeConfChange(int i, const ConfChange& change) {
  SimNode& sim = *nodes_[i];
  if (!sim.node) return absl::UnavailableError(base::Cat("node ", i, " is down"));
  absl::StatusOr<uint64_t> index = sim.node->ProposeConfChange(change);
  if (index.ok()) {
    sim.proposed.emplace_back(*index, false);
    ProcessSoon(i);
  }
  return index;
}

std::optional<int> Simulator::Leader() const {
  std::optional<int> leader;
  uint64_t best_term = 0;
  for (int i = 0; i < options_.nodes; ++i) {
    const auto [term, is_leader] = GetState(i);
    if (is_leader && (!leader || term > best_term)) {
      leader = i;
      best_term = term;
    }
  }
  return leader;
}

std::optional<int> Simulator::WaitForLeader(int64_t timeout_ns) {
  RunUntil([this] { return Leader().has_value(); }, timeout_ns);
  return Leader();
}

std::pair<uint64_t, bool> Simulator::GetState(int i) const {
  const SimNode& sim = *nodes_[i];
  if (!sim.node) return {0, false};
  return {sim.node->term(), sim.node->role() == Role::kLeader};
}

std::optional<std::string> Simulator::Applied(int i, uint64_t command_index) const {
  const SimNode& sim = *nodes_[i];
  if (!sim.app) return std::nullopt;
  const auto* log = dynamic_cast<const CommandLog*>(sim.app.get());
  if (log == nullptr) return std::nullopt;
  const auto it = log->commands().find(command_index);
  if (it == log->commands().end()) return std::nullopt;
  return it->second;
}

uint64_t Simulator::MaxLogBytes() const {
  uint64_t max = 0;
  for (const auto& sim : nodes_) max = std::max(max, sim->disk.LogBytes());
  return max;
}

// --- CommandLog.

void CommandLog::Apply(uint64_t command_index, uint64_t /*raft_index*/, std::string_view command) {
  if (command_index != last_ + 1 && error_.empty()) {
    error_ = base::Cat("apply out of order: expected command ", last_ + 1, ", got ", command_index);
  }
  last_ = command_index;
  commands_[command_index] = std::string(command);
}

std::string CommandLog::Snapshot() const {
  std::string data;
  base::PutVarint64(data, last_);
  base::PutVarint64(data, commands_.size());
  for (const auto& [index, command] : commands_) {
    base::PutVarint64(data, index);
    base::PutLengthPrefixed(data, command);
  }
  return data;
}

absl::Status CommandLog::Restore(std::string_view snapshot) {
  base::Reader reader(snapshot);
  KEEL_ASSIGN_OR_RETURN(const uint64_t last_command, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(const uint64_t count, reader.ReadVarint64());
  std::map<uint64_t, std::string> commands;
  for (uint64_t i = 0; i < count; ++i) {
    KEEL_ASSIGN_OR_RETURN(const uint64_t index, reader.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(const std::string_view command, reader.ReadLengthPrefixed());
    commands[index] = std::string(command);
  }
  KEEL_RETURN_IF_ERROR(reader.ExpectEnd());
  commands_ = std::move(commands);
  last_ = last_command;
  return absl::OkStatus();
}

}  // namespace keel::raft::testing
