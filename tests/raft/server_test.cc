// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::raft::Server for real: three replicas in one process, on loopback TCP, with their
// storage in temporary directories. Writes through the leader and through followers, reads on
// every replica, a replica stopped and restarted from its directory, the leader stopped, a
// member added and one removed.
#include "keel/raft/server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "keel/base/strings.h"
#include "keel/raft/kv_store.h"
#include "redis_process.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

using keel::testing::Eventually;
using keel::testing::TempDir;

class Machine : public StateMachine {
 public:
  std::string Apply(std::string_view command) override {
    const absl::StatusOr<std::vector<std::string>> args = DecodeCommand(command);
    std::string out;
    net::RespWriter reply(out);
    std::vector<std::string_view> views(args->begin(), args->end());
    store.Apply(views, reply);
    return out;
  }
  std::string Snapshot() const override { return store.Snapshot(); }
  absl::Status Restore(std::string_view snapshot) override { return store.Restore(snapshot); }

  KvStore store;
};

class Cluster {
 public:
  explicit Cluster(int size, int spare = 0) {
    for (int i = 0; i < size + spare; ++i) {
      addresses_.push_back(base::Cat("127.0.0.1:", keel::testing::FreeLoopbackPort()));
    }
    for (int i = 0; i < size; ++i) founders_.push_back(static_cast<NodeId>(i));
    servers_.resize(size + spare);
    for (int i = 0; i < size; ++i) Start(i, /*join=*/false);
  }

  void Start(int i, bool join) {
    ServerOptions options;
    options.id = static_cast<NodeId>(i);
    options.dir = base::Cat(root_.path(), "/", i);
    options.listen_address = addresses_[i];
    for (int j = 0; j < static_cast<int>(addresses_.size()); ++j) {
      if (j != i) options.peers[static_cast<NodeId>(j)] = addresses_[j];
    }
    if (!join) options.bootstrap_voters = founders_;
    options.tick_ns = 5'000'000;
    options.snapshot_every_entries = 50;
    options.request_timeout_ns = 3'000'000'000;
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Start(options, std::make_unique<Machine>());
    REQUIRE_MESSAGE(server.ok(), server.status().ToString());
    servers_[i] = std::move(*server);
  }

  void Stop(int i) { servers_[i].reset(); }
  Server* server(int i) { return servers_[i].get(); }
  const std::string& address(int i) const { return addresses_[i]; }

  std::optional<int> Leader() {
    std::optional<int> leader;
    uint64_t term = 0;
    for (size_t i = 0; i < servers_.size(); ++i) {
      if (!servers_[i]) continue;
      const ServerStatus status = servers_[i]->status();
      if (status.node.role == Role::kLeader && (!leader || status.node.term > term)) {
        leader = static_cast<int>(i);
        term = status.node.term;
      }
    }
    return leader;
  }

  int WaitForLeader() {
    REQUIRE(Eventually([&] { return Leader().has_value(); }, std::chrono::seconds(10)));
    return *Leader();
  }

 private:
  TempDir root_;
  std::vector<std::string> addresses_;
  std::vector<NodeId> founders_;
  std::vector<std::unique_ptr<Server>> servers_;
};

absl::StatusOr<std::string> Call(Server* server, std::vector<std::string_view> args) {
  std::promise<absl::StatusOr<std::string>> promise;
  auto future = promise.get_future();
  server->Propose(EncodeCommand(args),
                  [&promise](absl::StatusOr<std::string> reply) { promise.set_value(reply); });
  return future.get();
}

absl::StatusOr<std::string> Get(Server* server, std::string key) {
  std::promise<absl::StatusOr<std::string>> promise;
  auto future = promise.get_future();
  server->Read([server, key, &promise](absl::Status status) {
    if (!status.ok()) return promise.set_value(status);
    const std::string* value = static_cast<Machine&>(server->state_machine()).store.Find(key);
    promise.set_value(value == nullptr ? std::string("(nil)") : *value);
  });
  return future.get();
}

// A read, retried while the replica knows no leader yet (just restarted, or an election).
absl::StatusOr<std::string> GetRetrying(Server* server, const std::string& key) {
  absl::StatusOr<std::string> reply;
  for (int attempt = 0; attempt < 100; ++attempt) {
    reply = Get(server, key);
    if (reply.ok()) return reply;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return reply;
}

// Retries while the cluster has no leader (a fresh election).
absl::StatusOr<std::string> CallRetrying(Cluster& cluster, int i,
                                         std::vector<std::string_view> args) {
  absl::StatusOr<std::string> reply;
  for (int attempt = 0; attempt < 50; ++attempt) {
    reply = Call(cluster.server(i), args);
    if (reply.ok()) return reply;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return reply;
}

TEST_CASE("three replicas replicate writes from any of them and read them back on each") {
  Cluster cluster(3);
  const int leader = cluster.WaitForLeader();
  const uint64_t first_term = cluster.server(leader)->status().node.term;
  for (int i = 0; i < 3; ++i) {
    const std::string key = base::Cat("k", i);
    const absl::StatusOr<std::string> reply = CallRetrying(cluster, i, {"SET", key, "v"});
    REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
    CHECK(*reply == "+OK\r\n");
  }
  CHECK(*CallRetrying(cluster, (leader + 1) % 3, {"INCR", "n"}) == ":1\r\n");
  CHECK(*CallRetrying(cluster, (leader + 2) % 3, {"INCRBY", "n", "41"}) == ":42\r\n");
  for (int i = 0; i < 3; ++i) {
    CHECK(*GetRetrying(cluster.server(i), "n") == "42");
    CHECK(*GetRetrying(cluster.server(i), "k2") == "v");
    CHECK(*GetRetrying(cluster.server(i), "missing") == "(nil)");
  }
  // Writes went through every replica, so followers forwarded some to the leader. Which ones
  // depends on whether leadership moved meanwhile (it can, on a loaded machine), so count them
  // all; only if elections moved the leadership to each writer in turn did none forward. A
  // replica publishes its status on its next tick, so the counts are polled for.
  uint64_t forwarded = 0;
  uint64_t term = 0;
  CHECK(Eventually(
      [&] {
        forwarded = 0;
        term = 0;
        for (int i = 0; i < 3; ++i) {
          forwarded += cluster.server(i)->status().forwarded;
          term = std::max(term, cluster.server(i)->status().node.term);
        }
        return forwarded >= 1 || term > first_term;
      },
      std::chrono::seconds(5)));
}

TEST_CASE("a replica restarted from its directory keeps every acknowledged write") {
  Cluster cluster(3);
  int leader = cluster.WaitForLeader();
  std::map<std::string, std::string> acknowledged;
  for (int i = 0; i < 120; ++i) {  // past snapshot_every_entries: the restart reads a snapshot
    const std::string key = base::Cat("key", i);
    const std::string value = base::Cat("value", i);
    if (CallRetrying(cluster, leader, {"SET", key, value}).ok()) acknowledged[key] = value;
  }
  // Stop the leader, write more through the others, then bring it back.
  cluster.Stop(leader);
  const int other = (leader + 1) % 3;
  for (int i = 120; i < 150; ++i) {
    const std::string key = base::Cat("key", i);
    const std::string value = base::Cat("value", i);
    if (CallRetrying(cluster, other, {"SET", key, value}).ok()) acknowledged[key] = value;
  }
  cluster.Start(leader, /*join=*/false);
  for (const auto& [key, value] : acknowledged) {
    const absl::StatusOr<std::string> read = GetRetrying(cluster.server(leader), key);
    REQUIRE_MESSAGE(read.ok(), read.status().ToString());
    CHECK(*read == value);
  }
  CHECK(acknowledged.size() == 150);
  CHECK(cluster.server(leader)->status().snapshots_made +
            cluster.server(other)->status().snapshots_made >
        0);
}

TEST_CASE("a member is added as a learner then promoted and a founder is removed") {
  Cluster cluster(3, /*spare=*/1);
  const int leader = cluster.WaitForLeader();
  for (int i = 0; i < 80; ++i) {
    REQUIRE(CallRetrying(cluster, leader, {"SET", base::Cat("a", i), "x"}).ok());
  }
  cluster.Start(3, /*join=*/true);
  std::promise<absl::StatusOr<std::string>> added;
  cluster.server(leader)->AddMember(3, cluster.address(3),
                                    [&](absl::StatusOr<std::string> r) { added.set_value(r); });
  const absl::StatusOr<std::string> result = added.get_future().get();
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK(Eventually([&] {
    const NodeStatus status = cluster.server(3)->status().node;
    return status.conf.voters == std::vector<NodeId>{0, 1, 2, 3};
  }));
  CHECK(*GetRetrying(cluster.server(3), "a79") == "x");
  const int removed = (leader + 1) % 3;
  std::promise<absl::StatusOr<std::string>> gone;
  cluster.server(leader)->RemoveMember(static_cast<NodeId>(removed),
                                       [&](absl::StatusOr<std::string> r) { gone.set_value(r); });
  REQUIRE(gone.get_future().get().ok());
  cluster.Stop(removed);
  CHECK(*CallRetrying(cluster, 3, {"SET", "after", "removal"}) == "+OK\r\n");
}

TEST_CASE("a write proposed while no leader is known fails fast and one that times out says so") {
  Cluster cluster(3);
  const int leader = cluster.WaitForLeader();
  // Two of three stopped: no quorum. The survivor's writes time out (or find no leader).
  const int survivor = (leader + 1) % 3;
  cluster.Stop(leader);
  cluster.Stop((leader + 2) % 3);
  const absl::StatusOr<std::string> reply = Call(cluster.server(survivor), {"SET", "x", "1"});
  CHECK_FALSE(reply.ok());
  CHECK((absl::IsDeadlineExceeded(reply.status()) || absl::IsUnavailable(reply.status())));
}

}  // namespace
}  // namespace keel::raft
