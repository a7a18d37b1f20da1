// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "raft/tester.h"

#include <map>
#include <vector>

#include "doctest/doctest.h"
#include "keel/base/strings.h"

namespace keel::raft::testing {

// One client of the lab's one(): tries every server until one takes the command as leader, then
// polls for agreement for 2 seconds, and starts over (with retry) for up to 10 seconds. Event
// driven, so that several can run at once in one simulation as the lab's goroutines do.
class Tester::OneClient : public std::enable_shared_from_this<OneClient> {
 public:
  OneClient(Tester* tester, std::string command, int expected, bool retry,
            std::function<void(uint64_t)> done)
      : tester_(tester),
        command_(std::move(command)),
        expected_(expected),
        retry_(retry),
        done_(std::move(done)),
        start_(tester->sim().now()) {}

  void Attempt() {
    Simulator& sim = tester_->sim();
    if (sim.now() - start_ >= 10 * kSeconds) return Finish(0);
    index_ = 0;
    for (int k = 0; k < tester_->servers(); ++k) {
      starts_ = (starts_ + 1) % tester_->servers();
      if (!sim.IsConnected(starts_)) continue;
      const StartResult result = sim.Start(starts_, command_);
      if (result.is_leader) {
        index_ = result.command_index;
        break;
      }
    }
    if (index_ == 0) {
      sim.At(50 * kMillis, [self = shared_from_this()] { self->Attempt(); });
      return;
    }
    poll_start_ = sim.now();
    Poll();
  }

 private:
  void Poll() {
    Simulator& sim = tester_->sim();
    const auto [count, command] = tester_->NCommitted(index_);
    if (count > 0 && count >= expected_ && command == command_) return Finish(index_);
    if (sim.now() - poll_start_ >= 2 * kSeconds) {
      if (!retry_) return Finish(0);
      Attempt();
      return;
    }
    sim.At(20 * kMillis, [self = shared_from_this()] { self->Poll(); });
  }

  void Finish(uint64_t index) {
    if (done_) done_(index);
    done_ = nullptr;
  }

  Tester* tester_;
  std::string command_;
  int expected_;
  bool retry_;
  std::function<void(uint64_t)> done_;
  int64_t start_;
  int64_t poll_start_ = 0;
  int starts_ = 0;
  uint64_t index_ = 0;
};

Tester::Tester(int servers, bool reliable, bool snapshot, uint64_t seed) : servers_(servers) {
  SimOptions options;
  options.nodes = servers;
  options.seed = seed;
  options.snapshot_every_commands = snapshot ? kSnapshotInterval : 0;
  sim_ = std::make_unique<Simulator>(options);
  sim_->SetReliable(reliable);
}

Tester::Tester(const SimOptions& options)
    : servers_(options.nodes), sim_(std::make_unique<Simulator>(options)) {}

Tester::~Tester() = default;

void Tester::CheckSafety() {
  if (!sim_->violations().empty()) {
    std::string all;
    for (const std::string& violation : sim_->violations()) all += violation + "\n";
    FAIL(all);
  }
  for (int i = 0; i < servers_; ++i) {
    if (!sim_->alive(i)) continue;
    const auto* log = dynamic_cast<const CommandLog*>(&sim_->application(i));
    if (log != nullptr && !log->error().empty()) FAIL("server ", i, ": ", log->error());
  }
}

int Tester::CheckOneLeader() {
  for (int iters = 0; iters < 10; ++iters) {
    Sleep((450 + static_cast<int64_t>(RandInt() % 100)) * kMillis);
    std::map<uint64_t, std::vector<int>> leaders;
    for (int i = 0; i < servers_; ++i) {
      if (!IsConnected(i) || !sim_->alive(i)) continue;
      const auto [term, is_leader] = sim_->GetState(i);
      if (is_leader) leaders[term].push_back(i);
    }
    for (const auto& [term, ids] : leaders) {
      if (ids.size() > 1) FAIL("term ", term, " has ", ids.size(), " (>1) leaders");
    }
    if (!leaders.empty()) return leaders.rbegin()->second.front();
  }
  FAIL("expected one leader, got none");
  return -1;
}

uint64_t Tester::CheckTerms() {
  std::optional<uint64_t> term;
  for (int i = 0; i < servers_; ++i) {
    if (!IsConnected(i) || !sim_->alive(i)) continue;
    const uint64_t xterm = sim_->GetState(i).first;
    if (!term) {
      term = xterm;
    } else if (*term != xterm) {
      FAIL("servers disagree on term");
    }
  }
  return term.value_or(0);
}

void Tester::CheckNoLeader() {
  for (int i = 0; i < servers_; ++i) {
    if (IsConnected(i) && sim_->GetState(i).second) {
      FAIL("expected no leader among connected servers, but ", i, " claims to be leader");
    }
  }
}

std::pair<int, std::optional<std::string>> Tester::NCommitted(uint64_t index) {
  CheckSafety();
  int count = 0;
  std::optional<std::string> command;
  for (int i = 0; i < servers_; ++i) {
    const std::optional<std::string> applied = sim_->Applied(i, index);
    if (!applied) continue;
    if (count > 0 && *command != *applied) {
      FAIL("committed values do not match: index ", index, ", ", *command, ", ", *applied);
    }
    ++count;
    command = applied;
  }
  return {count, command};
}

void Tester::OneAsync(std::string command, int expected, bool retry,
                      std::function<void(uint64_t)> done) {
  auto client =
      std::make_shared<OneClient>(this, std::move(command), expected, retry, std::move(done));
  client->Attempt();
}

uint64_t Tester::One(const std::string& command, int expected, bool retry) {
  std::optional<uint64_t> result;
  OneAsync(command, expected, retry, [&result](uint64_t index) { result = index; });
  sim_->RunUntil([&result] { return result.has_value(); }, 11 * kSeconds);
  if (!result || *result == 0) {
    FAIL("one(", command, ") failed to reach agreement\n", Describe());
  }
  CheckSafety();
  return *result;
}

std::optional<std::string> Tester::Wait(uint64_t index, int n, int64_t start_term) {
  int64_t to = 10 * kMillis;
  for (int iters = 0; iters < 30; ++iters) {
    if (NCommitted(index).first >= n) break;
    Sleep(to);
    if (to < kSeconds) to *= 2;
    if (start_term > -1) {
      for (int i = 0; i < servers_; ++i) {
        if (sim_->GetState(i).first > static_cast<uint64_t>(start_term)) return std::nullopt;
      }
    }
  }
  const auto [count, command] = NCommitted(index);
  if (count < n) FAIL("only ", count, " decided for index ", index, "; wanted ", n);
  return command;
}

void Tester::CheckNoAgreement(uint64_t index) {
  const int count = NCommitted(index).first;
  if (count > 0) FAIL(count, " committed but no majority");
}

void Tester::Restart(int i) {
  sim_->Restart(i);
  sim_->Connect(i);
}

void Tester::ShutdownAll() {
  for (int i = 0; i < servers_; ++i) sim_->Crash(i);
}

void Tester::StartAll() {
  for (int i = 0; i < servers_; ++i) Restart(i);
}

std::string Tester::Describe() {
  std::string out = base::Cat("t=", sim_->now() / kMillis, "ms\n");
  for (int i = 0; i < servers_; ++i) {
    Node* node = sim_->node(i);
    if (node == nullptr) {
      out += base::Cat("  ", i, ": down\n");
      continue;
    }
    const NodeStatus status = node->status();
    out += base::Cat("  ", i, ": ", RoleName(status.role), " term ", status.term, " leader ",
                     static_cast<int64_t>(status.leader), " commit ", status.commit, " applied ",
                     status.applied, " log [", status.first_index, ", ", status.last_index, "]",
                     sim_->IsConnected(i) ? "" : " disconnected");
    for (const auto& [id, match] : status.match) out += base::Cat(" ", id, ":", match);
    out += "\n";
  }
  return out;
}

uint64_t Tester::RpcTotal() const {
  uint64_t total = 0;
  for (int i = 0; i < servers_; ++i) total += sim_->RpcCount(i);
  return total;
}

}  // namespace keel::raft::testing
