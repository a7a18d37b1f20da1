// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// raft_kv as real processes: three `raft_kv serve` processes on loopback (raft_kv/cluster.h) with
// client threads on them, while the test SIGKILLs the leader and restarts it from its directory
// again and again, or cuts the leader off from its peers (raft_kv/link_proxy.h) and heals it.
// The clients connect to any serving replica, and move on when it dies; they GET, SET and INCR a
// few shared keys and SET keys of their own, and record every call with its times and reply.
// At the end:
//
//   every acknowledged write of a key of its own is read back from every replica (the leader
//   first); those reads are linearizable, so a replica that answers a stale value fails too;
//
//   the whole history, with those reads, is linearizable for Redis's semantics
//   (tests/testing/linearizability.h). A write whose outcome the client did not learn (a
//   timeout, a connection lost, -TRYAGAIN) may have happened or not; a write refused before it
//   was proposed (below) did not happen and is left out; so is a read that failed;
//
//   no replica ended on its own (a crash, a failed assertion, a sanitizer's report in a
//   sanitized build).
//
// KEEL_RAFT_KILL_ROUNDS sets how many leaders are killed, KEEL_TEST_SEED the clients' seed.
// RAFT_KV_BINARY (set by CMake) is the program under test.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "doctest/doctest.h"
#include "keel/base/strings.h"
#include "raft_kv/cluster.h"
#include "redis_process.h"
#include "testing/linearizability.h"
#include "testing/testing.h"

namespace keel::examples::raft_kv {
namespace {

using keel::testing::KvInput;
using keel::testing::KvModel;
using keel::testing::KvOperation;
using keel::testing::KvOutput;

#if defined(__SANITIZE_THREAD__)
constexpr uint64_t kDefaultKillRounds = 4;
#elif defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kDefaultKillRounds = 12;
#else
constexpr uint64_t kDefaultKillRounds = 15;
#endif

constexpr int kClients = 4;
constexpr int kSharedKeys = 4;
// Below the replicas' own request timeout (5 s): a client whose write was forwarded to a leader
// that died gives up and moves on before its replica answers -TRYAGAIN.
constexpr int64_t kClientTimeoutMs = 1500;
// Writes acknowledged under each leader before it is killed.
constexpr uint64_t kWritesPerRound = 100;

// A reply's place in the history.
enum class Kind { kAnswered, kRefused, kUnknown };

struct Outcome {
  Kind kind = Kind::kUnknown;
  KvOutput output;
};

// The error replies raft_kv gives before anything reaches the log (keel/raft/server.h's Propose,
// through raft_kv's ErrorReply): no leader known, too many requests waiting, the leader's
// uncommitted bytes full, a leadership transfer under way, and a node that stopped leading.
constexpr std::string_view kRefusals[] = {"knows of no leader", "requests waiting",
                                          "max_uncommitted_bytes", "is handing leadership",
                                          "is not the leader"};

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

Outcome Classify(const net::RespReply& reply) {
  using Type = net::RespValue::Type;
  const net::RespValue& value = reply.value;
  switch (value.type) {
    case Type::kSimpleString:
      if (value.text == "OK") return {Kind::kAnswered, KvOutput::Ok()};
      break;
    case Type::kNullBulkString:
      return {Kind::kAnswered, KvOutput::Nil()};
    case Type::kBulkString:
      return {Kind::kAnswered, KvOutput::String(value.text)};
    case Type::kInteger:
      return {Kind::kAnswered, KvOutput::Integer(value.integer)};
    case Type::kError:
      // The store's own answers to an INCR (keel/raft/kv_store.h): replies like any other.
      if (reply.raw.starts_with("-ERR value is not an integer") ||
          reply.raw.starts_with("-ERR increment or decrement would overflow")) {
        return {Kind::kAnswered, KvOutput::Error(value.text)};
      }
      for (std::string_view refusal : kRefusals) {
        if (Contains(reply.raw, refusal)) return {Kind::kRefused, {}};
      }
      // -TRYAGAIN (not applied in time), a storage failure, a server stopping: the command may
      // or may not take effect.
      return {Kind::kUnknown, KvOutput::Unknown()};
    default:
      break;
  }
  // No command raft_kv serves answers this: recorded as an error, which the model rejects.
  return {Kind::kAnswered,
          KvOutput::Error(base::Cat("unexpected reply ", base::Quoted(reply.raw)))};
}

struct Command {
  std::vector<std::string> args;
  KvInput input;
  bool own_key = false;  // a SET of a key only this client writes
};

// Client threads doing GET, SET and INCR on a few shared keys and SETs of keys of their own,
// each recording its history.
class Workload {
 public:
  Workload(const Cluster& cluster, uint64_t seed)
      : histories_(kClients),
        writes_(kClients),
        sequences_(kClients),
        threads_(cluster, kClients, seed, kClientTimeoutMs,
                 [this](ClientContext& context) { Session(context); }) {}

  void Stop() { threads_.Stop(); }

  [[nodiscard]] uint64_t acknowledged() const { return acknowledged_; }
  [[nodiscard]] uint64_t unknown() const { return unknown_; }
  [[nodiscard]] uint64_t refused() const { return refused_; }

  // After Stop: every client's history, and the acknowledged writes of keys of their own.
  [[nodiscard]] std::vector<KvOperation> History() const {
    std::vector<KvOperation> history;
    for (const auto& operations : histories_) {
      history.insert(history.end(), operations.begin(), operations.end());
    }
    return history;
  }
  [[nodiscard]] std::map<std::string, std::string> Writes() const {
    std::map<std::string, std::string> writes;
    for (const auto& client : writes_) writes.insert(client.begin(), client.end());
    return writes;
  }

  // Waits until `count` more writes are acknowledged than when it was called.
  [[nodiscard]] bool Progress(uint64_t count, int seconds = 30) const {
    const uint64_t target = acknowledged_ + count;
    return keel::testing::Eventually([&] { return acknowledged_ >= target; },
                                     std::chrono::seconds(seconds));
  }

 private:
  static Command Next(int client, uint64_t sequence, std::mt19937_64& random) {
    const std::string shared = base::Cat("shared", random() % kSharedKeys);
    switch (random() % 10) {
      case 0:
      case 1:
        return {{"GET", shared}, KvInput::Get(shared)};
      case 2:
      case 3: {
        // Integers, so that INCR applies to them; unique, so that a read tells which SET it saw.
        const std::string value = base::Cat((client + 1) * 10'000'000 + sequence);
        return {{"SET", shared, value}, KvInput::Set(shared, value)};
      }
      case 4:
      case 5:
        return {{"INCR", shared}, KvInput::Incr(shared)};
      default: {
        const std::string key = base::Cat("own", client, ":", sequence);
        const std::string value = base::Cat("v", sequence);
        return {{"SET", key, value}, KvInput::Set(key, value), /*own_key=*/true};
      }
    }
  }

  // Up to 50 commands on this connection, then another replica.
  void Session(ClientContext& context) {
    std::vector<KvOperation>& history = histories_[context.client];
    for (int k = 0; k < 50 && !context.stop; ++k) {
      const uint64_t sequence = ++sequences_[context.client];
      const Command command = Next(context.client, sequence, context.random);
      const bool read = command.input.command == keel::testing::KvCommand::kGet;
      std::vector<std::string_view> args(command.args.begin(), command.args.end());
      const int64_t call_ns = NowNs();
      absl::StatusOr<net::RespReply> reply = context.connection.Call(args);
      const int64_t return_ns = NowNs();
      // A read that failed tells nothing and changes nothing; a write whose connection failed
      // may have happened.
      const Outcome outcome =
          reply.ok() ? Classify(*reply) : Outcome{Kind::kUnknown, KvOutput::Unknown()};
      if (outcome.kind == Kind::kRefused || (read && outcome.kind == Kind::kUnknown)) {
        ++refused_;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      } else if (outcome.kind == Kind::kUnknown) {
        ++unknown_;
        history.push_back({.client = context.client,
                           .input = command.input,
                           .output = KvOutput::Unknown(),
                           .call_ns = call_ns,
                           .return_ns = keel::testing::kNoReturn});
      } else {
        history.push_back({.client = context.client,
                           .input = command.input,
                           .output = outcome.output,
                           .call_ns = call_ns,
                           .return_ns = return_ns});
        if (!read) ++acknowledged_;
        if (command.own_key && outcome.output.kind == KvOutput::Kind::kOk) {
          writes_[context.client][command.args[1]] = command.args[2];
        }
      }
      if (!reply.ok() || outcome.kind != Kind::kAnswered) return;  // try another replica
    }
  }

  // Each client's own (indexed by its number), read by others only after Stop.
  std::vector<std::vector<KvOperation>> histories_;
  std::vector<std::map<std::string, std::string>> writes_;
  std::vector<uint64_t> sequences_;
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<uint64_t> unknown_{0};
  std::atomic<uint64_t> refused_{0};
  ClientThreads threads_;  // last: its threads stop before the members they use go
};

// Three replicas in a temporary directory, killed at the end however the test ends.
struct TestCluster {
  TestCluster() {
    absl::StatusOr<std::unique_ptr<Cluster>> created =
        Cluster::Create({.binary = RAFT_KV_BINARY, .root = dir.path(), .size = 3});
    REQUIRE_MESSAGE(created.ok(), created.status().ToString());
    cluster = std::move(*created);
    cluster->StartAll();
  }

  [[nodiscard]] int Leader(uint64_t above_term = 0) const {
    const std::optional<int> leader = cluster->WaitForLeader(30, above_term);
    if (!leader) FAIL("no leader within 30 s\n", State());
    return *leader;
  }

  // For a failure's message: each replica's role, term and indexes, then Processes().
  [[nodiscard]] std::string State() const {
    std::string text;
    for (int id = 0; id < cluster->size(); ++id) {
      text += base::Cat("node ", id, ": ", Field(id, "role"), " term ", Field(id, "term"),
                        " commit_index ", Field(id, "commit_index"), " last_index ",
                        Field(id, "last_index"), "\n");
    }
    return text + Processes();
  }

  // That no replica ended on its own (a crash, a failed assertion, a sanitizer's report), or
  // which did, with the end of every replica's log.
  [[nodiscard]] std::string Processes() const {
    const absl::Status status = cluster->CheckProcesses();
    if (status.ok()) return "every replica ran until it was killed";
    std::string text(status.message());
    for (int id = 0; id < cluster->size(); ++id) {
      std::ifstream file(cluster->replica(id).log_path());
      const std::string log((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
      text += base::Cat("\n--- the end of node ", id, "'s log:\n",
                        log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
    }
    return text;
  }

  [[nodiscard]] std::string Field(int id, const std::string& name) const {
    const auto info = cluster->replica(id).Info();
    return info.count(name) ? info.at(name) : "?";
  }

  keel::testing::TempDir dir;
  std::unique_ptr<Cluster> cluster;  // after dir: its processes end before dir is removed
};

// Reads every acknowledged write of a client's own key, and every shared key, from every replica
// (the leader first), checks the former, adds the reads to the history, and checks that it is
// linearizable.
void Verify(TestCluster& test, const Workload& load) {
  Cluster& cluster = *test.cluster;
  const int leader = test.Leader();
  std::vector<int> order = {leader};
  for (int id = 0; id < cluster.size(); ++id) {
    if (id != leader) order.push_back(id);
  }
  const std::map<std::string, std::string> writes = load.Writes();
  std::vector<std::string> keys;
  for (const auto& [key, value] : writes) keys.push_back(key);
  for (int k = 0; k < kSharedKeys; ++k) keys.push_back(base::Cat("shared", k));
  std::vector<KvOperation> history = load.History();
  for (int id : order) {
    if (!cluster.replica(id).WaitUntilServing(30))
      FAIL("node ", id, " does not answer\n", test.State());
    absl::StatusOr<std::vector<TimedReply>> replies =
        GetAll(cluster.replica(id).port(), keys, /*timeout_ms=*/10'000);
    REQUIRE_MESSAGE(replies.ok(), "node ", id, ": ", replies.status().ToString());
    for (size_t i = 0; i < keys.size(); ++i) {
      const TimedReply& read = (*replies)[i];
      const auto written = writes.find(keys[i]);
      if (written != writes.end() && (read.reply.value.type != net::RespValue::Type::kBulkString ||
                                      read.reply.value.text != written->second)) {
        FAIL("node ", id, " has lost acknowledged write ", keys[i], " = ", written->second,
             " (it answers ", base::Quoted(read.reply.raw), ")");
      }
      const Outcome outcome = Classify(read.reply);
      if (outcome.kind != Kind::kAnswered) continue;
      history.push_back({.client = -1 - id,
                         .input = KvInput::Get(keys[i]),
                         .output = outcome.output,
                         .call_ns = read.call_ns,
                         .return_ns = read.return_ns});
    }
  }
  const std::string processes = test.Processes();
  CHECK_MESSAGE(processes == "every replica ran until it was killed", processes);
  const auto result = keel::testing::CheckLinearizability(KvModel(), std::span(history));
  REQUIRE(result.ok());
  MESSAGE(history.size(), " operations (", load.acknowledged(), " writes acknowledged, ",
          load.unknown(), " of unknown outcome, ", load.refused(), " refused or failed reads), ",
          writes.size(), " own keys read back from ", order.size(), " replicas; ",
          keel::testing::VerdictName(result->verdict), " in ", result->steps, " steps");
  if (result->verdict != keel::testing::Verdict::kLinearizable) FAIL(result->explanation);
}

TEST_CASE("Acknowledged writes survive the leader being killed again and again under load") {
  const uint64_t seed = keel::testing::TestSeed(13);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_RAFT_KILL_ROUNDS", kDefaultKillRounds);
  CAPTURE(seed);
  MESSAGE("seed ", seed, ", ", rounds, " leaders killed (KEEL_TEST_SEED, KEEL_RAFT_KILL_ROUNDS)");
  TestCluster test;
  Cluster& cluster = *test.cluster;
  int leader = test.Leader();
  Workload load(cluster, seed);
  for (uint64_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    if (!load.Progress(kWritesPerRound)) {
      FAIL("writes stalled under node ", leader, "\n", test.State());
    }
    const uint64_t term = cluster.replica(leader).Number("term").value_or(0);
    cluster.replica(leader).Kill();
    const int killed = leader;
    leader = test.Leader(term);
    cluster.Start(killed);  // from its write-ahead log and snapshot
    if (!cluster.replica(killed).WaitUntilServing(30)) {
      FAIL("node ", killed, " does not answer after its restart\n", test.State());
    }
  }
  if (!load.Progress(kWritesPerRound)) FAIL("writes stalled after the last kill\n", test.State());
  load.Stop();
  Verify(test, load);
}

TEST_CASE("A leader cut off by a partition steps down without raising its term and rejoins") {
  const uint64_t seed = keel::testing::TestSeed(14);
  CAPTURE(seed);
  TestCluster test;
  Cluster& cluster = *test.cluster;
  const int isolated = test.Leader();
  Workload load(cluster, seed);
  if (!load.Progress(kWritesPerRound)) FAIL("writes stalled\n", test.State());

  const uint64_t term = cluster.replica(isolated).Number("term").value_or(0);
  cluster.Partition(isolated);
  const int leader = test.Leader(term);
  const std::string leader_term = test.Field(leader, "term");
  CHECK(leader != isolated);
  // Check-quorum: a leader that has not heard from a majority for an election timeout steps
  // down. Meanwhile the majority takes writes.
  CHECK(keel::testing::Eventually([&] { return test.Field(isolated, "role") != "leader"; },
                                  std::chrono::seconds(10)));
  CHECK_MESSAGE(load.Progress(kWritesPerRound), test.State());
  // Pre-vote: campaigning alone for a few election timeouts (0.5 to 1 s each), it never wins a
  // pre-vote, so it never raises its term.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  CHECK(test.Field(isolated, "term") == base::Cat(term));
  const uint64_t blackholed = cluster.blackholed_bytes();
  CHECK(blackholed > 0);

  cluster.Heal();
  // It hears the new leader and follows it in its term; the leader was not disturbed.
  CHECK(keel::testing::Eventually(
      [&] {
        return test.Field(isolated, "role") == "follower" &&
               test.Field(isolated, "term") == leader_term &&
               test.Field(isolated, "leader_id") == base::Cat(leader);
      },
      std::chrono::seconds(10)));
  CHECK(test.Field(leader, "role") == "leader");
  CHECK(test.Field(leader, "term") == leader_term);
  CHECK_MESSAGE(load.Progress(kWritesPerRound), test.State());
  load.Stop();
  Verify(test, load);
}

// Runs redis-cli with `args` against port `port` and returns what it prints.
std::string RedisCli(const std::string& path, uint16_t port, const std::string& args) {
  const std::string command = base::Cat(path, " -h 127.0.0.1 -p ", port, " ", args, " 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
  CHECK(::pclose(pipe) == 0);
  return out;
}

TEST_CASE("redis-cli writes through a follower and reads INFO raft") {
  const std::string redis_cli = keel::testing::FindOnPath("redis-cli");
  if (redis_cli.empty()) {
    MESSAGE("redis-cli is not on PATH: skipped");
    return;
  }
  TestCluster test;
  Cluster& cluster = *test.cluster;
  const int leader = test.Leader();
  const int follower = (leader + 1) % 3;
  const int other = (leader + 2) % 3;
  CHECK(RedisCli(redis_cli, cluster.replica(follower).port(), "SET greeting hello") == "OK\n");
  CHECK(RedisCli(redis_cli, cluster.replica(other).port(), "GET greeting") == "hello\n");
  CHECK(RedisCli(redis_cli, cluster.replica(leader).port(), "INCR visits") == "1\n");
  const std::string info = RedisCli(redis_cli, cluster.replica(follower).port(), "INFO raft");
  CAPTURE(info);
  CHECK(Contains(info, "# Raft"));
  CHECK(Contains(info, "role:follower"));
  CHECK(Contains(info, base::Cat("term:", test.Field(leader, "term"))));
  CHECK(Contains(info, base::Cat("leader_id:", leader)));
  CHECK(Contains(info, "commit_index:"));
  const std::string processes = test.Processes();
  CHECK_MESSAGE(processes == "every replica ran until it was killed", processes);
}

}  // namespace
}  // namespace keel::examples::raft_kv
