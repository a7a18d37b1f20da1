// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A deterministic simulator for Raft clusters: keel::raft::Node instances on a simulated network
// and simulated disks, in virtual time. One seed reproduces a run exactly: every delay, loss,
// timeout and crash is drawn from one seeded generator, and events at the same virtual instant
// run in the order they were scheduled.
//
// The network delivers each message after a delay, or not at all. Reliable, a link is FIFO with
// delays of 0.1 to 1 ms. Unreliable (as MIT 6.5840's labrpc), delays are 0 to 27 ms in any order,
// and 10% of requests and 10% of responses are lost; long reordering delays 2 in 3 responses by
// 200 to 2200 ms. Nodes can be disconnected from everyone (6.5840's DisconnectAll) or single
// links cut one way (asymmetric partitions); messages can be duplicated.
//
// Disks. Each node persists what its Ready says to a simulated disk; a Ready that must be durable
// is synced before its messages go out. A crash keeps only what was synced, and a crash can be
// injected between a Ready's write and its sync (the write is then lost, and nothing of that Ready
// reaches the network). A restarted node recovers from its disk, as raft_kv does from its WAL.
//
// Clocks. Each node ticks at its own rate: tick_ns times (1 + drift), drift drawn once per node
// within +-max_clock_drift.
//
// Checks. The simulator checks Raft's safety properties as it runs (Figure 3 of the paper):
// election safety (one leader per term), log matching and state machine safety (no two nodes
// apply different entries at one index), leader completeness (a new leader holds every committed
// entry). Violations are collected; tests assert there are none.
//
// Applications. Each node runs an Application (a state machine) made by a factory: the 6.5840
// battery uses a log of commands, the randomized tests a key-value store. Entries are numbered
// for the application by command index, counting only commands: keel's leaders append an empty
// entry when elected (section 8 of the paper), which 6.5840's numbering does not have.
#ifndef KEEL_TESTS_RAFT_SIMULATOR_H_
#define KEEL_TESTS_RAFT_SIMULATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "keel/base/random.h"
#include "keel/raft/node.h"

namespace keel::raft::testing {

inline constexpr int64_t kMillis = 1'000'000;
inline constexpr int64_t kSeconds = 1'000 * kMillis;

class Application {
 public:
  virtual ~Application() = default;
  // A committed command: the `command_index`-th command of the log, at log index `raft_index`.
  virtual void Apply(uint64_t command_index, uint64_t raft_index, std::string_view command) = 0;
  // The state, for a snapshot, and back.
  [[nodiscard]] virtual std::string Snapshot() const = 0;
  [[nodiscard]] virtual absl::Status Restore(std::string_view snapshot) = 0;
  // A read index came back (ReadIndex with this context) and has been applied.
  virtual void ReadReady(std::string_view /*context*/) {}
};

using ApplicationFactory = std::function<std::unique_ptr<Application>(int node)>;

struct SimOptions {
  int nodes = 3;
  uint64_t seed = 1;
  int64_t tick_ns = 10 * kMillis;
  // Per node; id and random_seed are filled in. With 10 ms ticks these are 6.5840's budget:
  // heartbeats every 100 ms (at most 10 a second), elections after 300 to 600 ms.
  NodeOptions node{.election_ticks = 30, .heartbeat_ticks = 10};
  // Snapshot (and compact) after every this many commands applied; 0 for never.
  uint64_t snapshot_every_commands = 0;
  double max_clock_drift = 0;
  // The first configuration's voters; every node when empty. The other nodes start with no
  // configuration, to be added to the cluster later.
  std::vector<NodeId> voters;
  ApplicationFactory application;
};

struct StartResult {
  uint64_t command_index = 0;
  uint64_t raft_index = 0;
  uint64_t term = 0;
  bool is_leader = false;
};

class Simulator {
 public:
  explicit Simulator(SimOptions options);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // --- Time.
  [[nodiscard]] int64_t now() const { return now_; }
  void RunFor(int64_t duration_ns);
  // Runs until `done` holds (checked after every event) or `timeout_ns` passes; returns done().
  bool RunUntil(const std::function<bool()>& done, int64_t timeout_ns);
  // Calls `fn` at now() + delay_ns, in order with the simulation's own events.
  void At(int64_t delay_ns, std::function<void()> fn);
  [[nodiscard]] base::Random& random() { return random_; }

  // --- Network.
  void SetReliable(bool reliable) { reliable_ = reliable; }
  [[nodiscard]] bool reliable() const { return reliable_; }
  void SetLongReordering(bool on) { long_reordering_ = on; }
  void SetDuplicateRate(double rate) { duplicate_rate_ = rate; }
  // Cuts node `i` off from every other node, or reconnects it to every connected node.
  void Disconnect(int i);
  void Connect(int i);
  [[nodiscard]] bool IsConnected(int i) const { return connected_[i]; }
  // Cuts or restores the one-way link from -> to.
  void SetLink(int from, int to, bool up);
  // Runs every message sent through `filter`, which may change it, or drop it by returning false
  // (for scripting exact scenarios). An empty function lets everything through.
  void SetFilter(std::function<bool(Message&)> filter) { filter_ = std::move(filter); }

  // --- Nodes.
  [[nodiscard]] int size() const { return options_.nodes; }
  void Crash(int i);
  // Restarts a crashed node from its disk.
  void Restart(int i);
  [[nodiscard]] bool alive(int i) const;
  // While a node's disk is set to fail, each Ready that must be synced crashes the node with
  // this probability after writing and before syncing.
  void SetCrashDuringPersist(double probability) { crash_during_persist_ = probability; }
  // The node (null while crashed). Calls on it that produce a Ready must be followed by Process
  // (or ProcessSoon).
  [[nodiscard]] Node* node(int i);
  // Handles the node's pending Ready (persist, send, apply, advance), as the event loop does.
  void Process(int i);
  // Handles it in an event at the current instant, after whatever else the caller does now: the
  // way a server's event loop takes several proposals that arrive together in one Ready.
  void ProcessSoon(int i);

  // --- 6.5840's view.
  // Proposes `command` at node i: 6.5840's Start(). A non-leader says so.
  StartResult Start(int i, std::string command);
  // Asks node i for a read index; the application's ReadReady(context) runs once it is applied.
  absl::Status ReadIndex(int i, std::string context);
  // Proposes a membership change at node i; its index, or the error.
  absl::StatusOr<uint64_t> ProposeConfChange(int i, const ConfChange& change);
  // The live node that leads the highest term, if any.
  [[nodiscard]] std::optional<int> Leader() const;
  // Runs until a leader is elected among live nodes; returns it (nullopt on timeout).
  std::optional<int> WaitForLeader(int64_t timeout_ns = 10 * kSeconds);

  // (term, is_leader) of a live node; (0, false) for a crashed one.
  [[nodiscard]] std::pair<uint64_t, bool> GetState(int i) const;
  // What node i applied as its command_index-th command, if it has.
  [[nodiscard]] std::optional<std::string> Applied(int i, uint64_t command_index) const;
  // Request messages received by node i (a request and its response are one RPC).
  [[nodiscard]] uint64_t RpcCount(int i) const { return rpc_count_[i]; }
  // Bytes of every message sent.
  [[nodiscard]] uint64_t BytesTotal() const { return bytes_total_; }
  // The largest persisted Raft state (hard state and log, snapshot excluded) of any node, in bytes.
  [[nodiscard]] uint64_t MaxLogBytes() const;
  [[nodiscard]] Application& application(int i);

  // --- Safety.
  [[nodiscard]] const std::vector<std::string>& violations() const { return violations_; }
  // Total messages delivered, for statistics.
  [[nodiscard]] uint64_t delivered() const { return delivered_; }

 private:
  struct Disk;
  struct SimNode;
  struct Event {
    int64_t time;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& other) const {
      return time != other.time ? time > other.time : seq > other.seq;
    }
  };

  void Schedule(int64_t time, std::function<void()> fn);
  bool Step();
  void ScheduleTick(int i);
  void Send(int from, Message message);
  void Deliver(int to, uint64_t incarnation, const Message& message);
  void Persist(SimNode& sim, const Ready& ready);
  void ApplyEntries(int i, const Ready& ready);
  void CheckNewLeader(int i);
  void MaybeSnapshot(int i);
  void StartNode(int i);
  void Violation(std::string what);
  [[nodiscard]] uint64_t CommandsThrough(int i, uint64_t raft_index) const;

  SimOptions options_;
  base::Random random_;
  int64_t now_ = 0;
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;

  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::vector<bool> connected_;
  std::vector<std::vector<bool>> link_up_;
  // Reliable links are FIFO: the time the last message on each link arrives.
  std::vector<std::vector<int64_t>> link_last_arrival_;
  std::function<bool(Message&)> filter_;
  bool reliable_ = true;
  bool long_reordering_ = false;
  double duplicate_rate_ = 0;
  double crash_during_persist_ = 0;

  std::vector<uint64_t> rpc_count_;
  uint64_t bytes_total_ = 0;
  uint64_t delivered_ = 0;

  // For the safety checks: the leader of each term, and every applied entry's term and data.
  std::map<uint64_t, int> leader_of_term_;
  std::map<uint64_t, std::pair<uint64_t, std::string>> applied_entries_;
  std::vector<std::string> violations_;
  // KEEL_RAFT_TRACE set: print every change of role, term, vote and commit to stderr.
  bool trace_ = false;
};

// The 6.5840 application: the commands applied, by command index.
class CommandLog : public Application {
 public:
  void Apply(uint64_t command_index, uint64_t raft_index, std::string_view command) override;
  [[nodiscard]] std::string Snapshot() const override;
  [[nodiscard]] absl::Status Restore(std::string_view snapshot) override;
  void ReadReady(std::string_view context) override { reads_.emplace_back(context, last_); }

  [[nodiscard]] const std::map<uint64_t, std::string>& commands() const { return commands_; }
  // Reads served: their context, and the last command applied when they were.
  [[nodiscard]] const std::vector<std::pair<std::string, uint64_t>>& reads() const {
    return reads_;
  }
  [[nodiscard]] uint64_t last() const { return last_; }
  // "apply out of order" and the like: what 6.5840's applier reports.
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  std::map<uint64_t, std::string> commands_;
  uint64_t last_ = 0;
  std::string error_;
  std::vector<std::pair<std::string, uint64_t>> reads_;
};

}  // namespace keel::raft::testing

#endif  // KEEL_TESTS_RAFT_SIMULATOR_H_
