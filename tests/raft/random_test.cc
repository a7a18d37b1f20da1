// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Random fault schedules. Each seed builds a cluster (3 or 5 nodes, options drawn from the seed),
// runs clients against a replicated KvStore while the network drops, delays, reorders and
// duplicates messages, partitions (asymmetric ones too) come and go, nodes crash (some in the
// middle of persisting) and restart, and clocks drift. Then the faults heal and the test checks:
//
//   safety      the simulator's checks (election safety, log matching and state machine safety,
//               leader completeness) held throughout;
//   linearity   the clients' history (calls, replies, times; unknown outcomes for timeouts) is
//               linearizable for the key-value model (tests/testing/linearizability.h);
//   liveness    within 10 seconds of the faults healing, a new write commits.
//
// KEEL_RAFT_RANDOM_SEEDS sets how many seeds run (1,000 by default; 100 under the sanitizers,
// which run the same code ten times slower); KEEL_TEST_SEED the first.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/strings.h"
#include "keel/raft/kv_store.h"
#include "raft/simulator.h"
#include "testing/linearizability.h"
#include "testing/testing.h"

namespace keel::raft::testing {
namespace {

using keel::testing::KvInput;
using keel::testing::KvModel;
using keel::testing::KvOutput;
using History = std::vector<keel::testing::ModelOperation<KvModel>>;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr uint64_t kDefaultSeeds = 100;
#else
constexpr uint64_t kDefaultSeeds = 1000;
#endif

struct RequestId {
  uint64_t client = 0;
  uint64_t sequence = 0;
  auto operator<=>(const RequestId&) const = default;
};

std::string EncodeRequest(RequestId id, std::span<const std::string_view> args) {
  std::string bytes;
  base::PutVarint64(bytes, id.client);
  base::PutVarint64(bytes, id.sequence);
  bytes += EncodeCommand(args);
  return bytes;
}

// The replicated store on one node. Writes carry the client and sequence that proposed them, so
// that the node the client asked can hand it the reply when it applies the entry.
class KvApp : public Application {
 public:
  using OnReply = std::function<void(RequestId, const std::string& reply)>;
  using OnRead = std::function<void(std::string_view context, const KvStore& store)>;

  KvApp(OnReply on_reply, OnRead on_read)
      : on_reply_(std::move(on_reply)), on_read_(std::move(on_read)) {}

  void Apply(uint64_t, uint64_t, std::string_view command) override {
    base::Reader reader(command);
    const absl::StatusOr<uint64_t> client = reader.ReadVarint64();
    const absl::StatusOr<uint64_t> sequence = reader.ReadVarint64();
    const absl::StatusOr<std::vector<std::string>> args = DecodeCommand(reader.rest());
    KEEL_ASSERT(client.ok() && sequence.ok() && args.ok(), "a request entry is damaged");
    std::vector<std::string_view> views(args->begin(), args->end());
    std::string out;
    net::RespWriter reply(out);
    store_.Apply(views, reply);
    on_reply_(RequestId{*client, *sequence}, out);
  }
  std::string Snapshot() const override { return store_.Snapshot(); }
  absl::Status Restore(std::string_view snapshot) override { return store_.Restore(snapshot); }
  void ReadReady(std::string_view context) override { on_read_(context, store_); }

 private:
  KvStore store_;
  OnReply on_reply_;
  OnRead on_read_;
};

KvOutput ParseReply(const std::string& reply) {
  if (reply == "+OK\r\n") return KvOutput::Ok();
  if (reply == "$-1\r\n") return KvOutput::Nil();
  if (!reply.empty() && reply[0] == ':') {
    return KvOutput::Integer(std::stoll(reply.substr(1, reply.size() - 3)));
  }
  if (!reply.empty() && reply[0] == '-') return KvOutput::Error(reply.substr(1));
  if (!reply.empty() && reply[0] == '$') {
    const size_t header_end = reply.find("\r\n");
    return KvOutput::String(reply.substr(header_end + 2, reply.size() - header_end - 4));
  }
  return KvOutput::Unknown();
}

class Run {
 public:
  explicit Run(uint64_t seed) : seed_(seed), random_(seed, 77) {
    SimOptions options;
    options.nodes = random_.Bernoulli(0.5) ? 3 : 5;
    options.seed = seed;
    const uint64_t snapshot_choices[] = {0, 5, 20};
    options.snapshot_every_commands = snapshot_choices[random_.Uniform(3)];
    options.node.snapshot_chunk_bytes = random_.Bernoulli(0.5) ? 64 : 1 << 20;
    options.node.max_inflight_appends = random_.Bernoulli(0.5) ? 2 : 64;
    options.node.max_bytes_per_append = random_.Bernoulli(0.5) ? 128 : 1 << 20;
    // Entries one per message at times, so that followers acknowledge parts of a leader's
    // log (what Figure 8's commitment rule is about).
    if (random_.Bernoulli(0.3)) options.node.max_bytes_per_append = 1;
    if (random_.Bernoulli(0.3)) {
      options.node.read_only = ReadOnlyMode::kLeaseBased;
      options.node.read_lease_drift_ticks = 3;
    } else {
      // Without check-quorum a deposed leader can believe it leads for as long as it is cut off:
      // only the ReadIndex round keeps its reads linearizable then.
      options.node.check_quorum = random_.Bernoulli(0.5);
      options.node.pre_vote = random_.Bernoulli(0.7);
    }
    // Clocks differ by at most 2 * 3% of an election timeout (30 ticks): under the 3 ticks the
    // lease allows.
    options.max_clock_drift = random_.Bernoulli(0.5) ? 0.03 : 0;
    options.application = [this](int node) {
      return std::make_unique<KvApp>(
          [this, node](RequestId id, const std::string& reply) { OnReply(node, id, reply); },
          [this, node](std::string_view context, const KvStore& store) {
            OnRead(node, context, store);
          });
    };
    nodes_ = options.nodes;
    sim_ = std::make_unique<Simulator>(options);
  }

  Simulator& sim() { return *sim_; }
  const History& history() const { return history_; }

  void StartClients(int clients) {
    for (int c = 0; c < clients; ++c) {
      clients_.push_back(Client{});
      Next(c);
    }
  }

  void Faults(int64_t duration_ns) {
    const int64_t end = sim_->now() + duration_ns;
    while (sim_->now() < end) {
      sim_->RunFor(static_cast<int64_t>(50 + random_.Uniform(400)) * kMillis);
      Fault();
    }
  }

  void Heal() {
    sim_->SetReliable(true);
    sim_->SetLongReordering(false);
    sim_->SetDuplicateRate(0);
    sim_->SetCrashDuringPersist(0);
    for (int i = 0; i < nodes_; ++i) {
      sim_->Connect(i);
      for (int j = 0; j < nodes_; ++j) sim_->SetLink(i, j, true);
      if (!sim_->alive(i)) sim_->Restart(i);
    }
  }

  void StopClients() { stopping_ = true; }

  // A write after healing commits within `bound`: liveness.
  bool WriteCommits(int64_t bound) {
    const int64_t deadline = sim_->now() + bound;
    const RequestId id{1'000'000, 1};
    done_.erase(id);
    while (sim_->now() < deadline) {
      const std::optional<int> leader = sim_->Leader();
      if (leader) {
        const std::vector<std::string_view> args = {"SET", "liveness", "1"};
        if (sim_->node(*leader)->Propose(EncodeRequest(id, args)).ok()) {
          sim_->ProcessSoon(*leader);
          if (sim_->RunUntil([&] { return done_.contains(id); }, deadline - sim_->now())) {
            return true;
          }
        }
      }
      sim_->RunFor(50 * kMillis);
    }
    return false;
  }

 private:
  struct Client {
    uint64_t sequence = 0;
    int node = 0;
    bool waiting = false;
    size_t operation = 0;  // index in history_ of the operation in flight
  };

  void Fault() {
    switch (random_.Uniform(11)) {
      case 0: {  // a partition: a random side cut off from the rest
        std::vector<int> side;
        for (int i = 0; i < nodes_; ++i) {
          if (random_.Bernoulli(0.4)) side.push_back(i);
        }
        for (int i : side) {
          for (int j = 0; j < nodes_; ++j) {
            if (std::find(side.begin(), side.end(), j) == side.end()) {
              sim_->SetLink(i, j, false);
              sim_->SetLink(j, i, false);
            }
          }
        }
        break;
      }
      case 1:  // a one-way link failure
        sim_->SetLink(static_cast<int>(random_.Uniform(nodes_)),
                      static_cast<int>(random_.Uniform(nodes_)), false);
        break;
      case 2:  // heal the network
        for (int i = 0; i < nodes_; ++i) {
          sim_->Connect(i);
          for (int j = 0; j < nodes_; ++j) sim_->SetLink(i, j, true);
        }
        break;
      case 3:
        // The leader more often than not: leader changes are where Raft's subtleties are.
        if (const std::optional<int> leader = sim_->Leader(); leader && random_.Bernoulli(0.7)) {
          sim_->Crash(*leader);
        } else {
          sim_->Crash(static_cast<int>(random_.Uniform(nodes_)));
        }
        break;
      case 4:
      case 5:
        for (int i = 0; i < nodes_; ++i) {
          if (!sim_->alive(i) && random_.Bernoulli(0.5)) sim_->Restart(i);
        }
        break;
      case 6:
        sim_->SetReliable(!sim_->reliable());
        break;
      case 7:
        sim_->SetLongReordering(random_.Bernoulli(0.3));
        sim_->SetDuplicateRate(random_.Bernoulli(0.5) ? 0.05 : 0);
        break;
      case 8:
        sim_->SetCrashDuringPersist(random_.Bernoulli(0.3) ? 0.01 : 0);
        break;
      case 9:
        // Cut the leader off, so that another is elected while it may still think it leads.
        if (const std::optional<int> leader = sim_->Leader()) sim_->Disconnect(*leader);
        break;
      default:
        sim_->Disconnect(static_cast<int>(random_.Uniform(nodes_)));
        break;
    }
  }

  std::string Key() { return std::string(1, static_cast<char>('a' + random_.Uniform(3))); }

  // The client's next operation, at a node it picks (the leader it last saw, or any).
  void Next(int c) {
    Client& client = clients_[c];
    client.waiting = false;
    if (stopping_) return;
    const std::optional<int> leader = sim_->Leader();
    client.node =
        leader && random_.Bernoulli(0.8) ? *leader : static_cast<int>(random_.Uniform(nodes_));
    if (!sim_->alive(client.node)) {
      sim_->At(20 * kMillis, [this, c] { Next(c); });
      return;
    }
    const RequestId id{static_cast<uint64_t>(c), ++client.sequence};
    const std::string key = Key();
    std::vector<std::string> args;
    KvInput input;
    switch (random_.Uniform(4)) {
      case 0:
        input = KvInput::Get(key);
        break;
      case 1: {
        const std::string value = base::Cat(c, ".", id.sequence);
        args = {"SET", key, value};
        input = KvInput::Set(key, value);
        break;
      }
      case 2:
        args = {"DEL", key};
        input = KvInput::Del(key);
        break;
      default:
        args = {"INCR", key};
        input = KvInput::Incr(key);
        break;
    }
    Node* node = sim_->node(client.node);
    if (input.command == keel::testing::KvCommand::kGet) {
      const std::string context = base::Cat(c, ":", id.sequence);
      if (!node->ReadIndex(context).ok()) {
        sim_->At(20 * kMillis, [this, c] { Next(c); });
        return;
      }
      sim_->ProcessSoon(client.node);
    } else {
      std::vector<std::string_view> views(args.begin(), args.end());
      if (!node->Propose(EncodeRequest(id, views)).ok()) {
        // Refused: not appended anywhere, so it did not happen. Try again elsewhere.
        sim_->At(20 * kMillis, [this, c] { Next(c); });
        return;
      }
      sim_->ProcessSoon(client.node);
    }
    client.waiting = true;
    client.operation = history_.size();
    history_.push_back({.client = c,
                        .input = input,
                        .output = KvOutput::Unknown(),
                        .call_ns = sim_->now(),
                        .return_ns = keel::testing::kNoReturn});
    // Give up after a while: the outcome is unknown (a read is simply dropped).
    const uint64_t sequence = id.sequence;
    sim_->At(2 * kSeconds, [this, c, sequence] {
      Client& waiting = clients_[c];
      if (!waiting.waiting || waiting.sequence != sequence) return;
      if (history_[waiting.operation].input.command == keel::testing::KvCommand::kGet) {
        history_[waiting.operation].call_ns = -1;  // dropped below
      }
      Next(c);
    });
  }

  void OnReply(int node, RequestId id, const std::string& reply) {
    done_.insert(id);
    if (id.client >= clients_.size()) return;
    Client& client = clients_[id.client];
    if (!client.waiting || client.sequence != id.sequence || client.node != node) return;
    auto& operation = history_[client.operation];
    operation.output = ParseReply(reply);
    operation.return_ns = sim_->now();
    sim_->At(0, [this, c = static_cast<int>(id.client)] { Next(c); });
    client.waiting = false;
  }

  void OnRead(int node, std::string_view context, const KvStore& store) {
    const size_t colon = context.find(':');
    const uint64_t c = std::stoull(std::string(context.substr(0, colon)));
    const uint64_t sequence = std::stoull(std::string(context.substr(colon + 1)));
    if (c >= clients_.size()) return;
    Client& client = clients_[c];
    if (!client.waiting || client.sequence != sequence || client.node != node) return;
    auto& operation = history_[client.operation];
    const std::string* value = store.Find(operation.input.key);
    operation.output = value == nullptr ? KvOutput::Nil() : KvOutput::String(*value);
    operation.return_ns = sim_->now();
    client.waiting = false;
    sim_->At(0, [this, c] { Next(static_cast<int>(c)); });
  }

  uint64_t seed_;
  base::Random random_;
  int nodes_ = 0;
  std::unique_ptr<Simulator> sim_;
  std::vector<Client> clients_;
  bool stopping_ = false;
  History history_;
  std::set<RequestId> done_;
};

TEST_CASE("random fault schedules keep Raft safe and the key-value store linearizable") {
  const uint64_t first = keel::testing::TestSeed(9000);
  const uint64_t seeds = keel::testing::TestRounds("KEEL_RAFT_RANDOM_SEEDS", kDefaultSeeds);
  uint64_t operations = 0;
  uint64_t unknown = 0;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    CAPTURE(seed);
    Run run(seed);
    run.StartClients(4);
    run.Faults(5 * kSeconds);
    run.Heal();
    run.sim().RunFor(kSeconds);
    run.StopClients();
    REQUIRE_MESSAGE(run.WriteCommits(10 * kSeconds), "no write committed within 10 s of healing");
    run.sim().RunFor(3 * kSeconds);  // let every client finish or time out
    if (!run.sim().violations().empty()) FAIL(run.sim().violations().front());
    History history;
    for (const auto& operation : run.history()) {
      if (operation.call_ns < 0) continue;  // a read that timed out: no information
      if (operation.return_ns == keel::testing::kNoReturn &&
          operation.input.command == keel::testing::KvCommand::kGet) {
        continue;
      }
      unknown += operation.return_ns == keel::testing::kNoReturn ? 1 : 0;
      history.push_back(operation);
    }
    operations += history.size();
    const auto result = keel::testing::CheckLinearizability(KvModel(), std::span(history));
    REQUIRE(result.ok());
    if (result->verdict != keel::testing::Verdict::kLinearizable) FAIL(result->explanation);
  }
  MESSAGE(seeds, " seeds, ", operations, " operations checked (", unknown,
          " with unknown outcome)");
}

}  // namespace
}  // namespace keel::raft::testing
