// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "raft_kv/demo.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/cli.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"
#include "keel/raft/server.h"
#include "raft_kv/cluster.h"

namespace keel::examples::raft_kv {
namespace {

using Clock = std::chrono::steady_clock;

const Clock::time_point kStart = Clock::now();

void Say(const std::string& text) {
  const double seconds = std::chrono::duration<double>(Clock::now() - kStart).count();
  std::printf("%8.3fs  %s\n", seconds, text.c_str());
  std::fflush(stdout);
}

// Clients writing unique keys through every serving replica; the acknowledged ones are kept to
// be checked at the end.
class Load {
 public:
  // Short enough that a client stuck on a frozen replica moves on soon; a write that times out
  // counts as refused (its outcome unknown), and is not checked at the end.
  static constexpr int64_t kTimeoutMs = 1500;

  Load(const Cluster& cluster, int clients)
      : sequences_(clients),
        threads_(cluster, clients, /*seed=*/1, kTimeoutMs,
                 [this](ClientContext& context) { Session(context); }) {}

  void Stop() { threads_.Stop(); }

  uint64_t acknowledged() const { return acknowledged_; }
  uint64_t failed() const { return failed_; }
  std::map<std::string, std::string> writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }

 private:
  // A few writes per connection, then another replica.
  void Session(ClientContext& context) {
    uint64_t& sequence = sequences_[context.client];
    for (int k = 0; k < 20 && !context.stop; ++k) {
      const std::string key = base::Cat("c", context.client, ":", ++sequence);
      const std::string value = base::Cat("v", sequence);
      auto reply = context.connection.Call({"SET", key, value});
      if (!reply.ok()) {
        ++failed_;
        return;  // the replica died or froze: go elsewhere
      }
      if (reply->raw == "+OK\r\n") {
        std::lock_guard lock(mu_);
        writes_[key] = value;
        ++acknowledged_;
      } else {
        ++failed_;  // no leader for now, or a timeout: the outcome is unknown
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }

  std::vector<uint64_t> sequences_;  // each client's own
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<uint64_t> failed_{0};
  mutable std::mutex mu_;
  std::map<std::string, std::string> writes_;
  ClientThreads threads_;  // last: its threads stop before the members they use go
};

// Every acknowledged write, read back (linearizably) from every serving replica; and no replica
// ended but by SIGKILL.
bool ReportWrites(Cluster& cluster, const std::map<std::string, std::string>& writes) {
  if (const absl::Status status = cluster.CheckProcesses(); !status.ok()) {
    Say(base::Cat("FAILED: ", status.message()));
    return false;
  }
  size_t reads = 0;
  if (const absl::Status status = CheckWrites(cluster, writes, &reads); !status.ok()) {
    Say(base::Cat("FAILED: ", status.message()));
    return false;
  }
  Say(base::Cat("checked ", writes.size(), " acknowledged writes on every live node (", reads,
                " reads): none lost"));
  return true;
}

std::string LeaderText(Cluster& cluster, int leader) {
  const auto info = cluster.replica(leader).Info();
  return base::Cat("node ", leader, " leads term ", info.count("term") ? info.at("term") : "?");
}

bool Require(bool ok, const std::string& what) {
  if (!ok) Say(base::Cat("FAILED: ", what));
  return ok;
}

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// Polls `condition` every 20 ms for up to `seconds`.
template <typename Condition>
bool Within(int seconds, Condition condition) {
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(seconds);
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::unique_ptr<Cluster> NewCluster(const ClusterOptions& options) {
  absl::StatusOr<std::unique_ptr<Cluster>> cluster = Cluster::Create(options);
  if (!cluster.ok()) {
    Say(base::Cat("FAILED: ", cluster.status().ToString()));
    return nullptr;
  }
  return std::move(*cluster);
}

// A partition: the leader cut off from its peers by the proxies between replicas, while it
// keeps running. The others elect a leader; the isolated one steps down (check-quorum) and,
// campaigning alone, never wins a pre-vote, so its term stays where it was; healed, it follows
// the new leader in that leader's term, without an election. Returns the new leader.
std::optional<int> PartitionLeader(Cluster& cluster, int isolated, bool short_run) {
  const auto field = [&](int id, const std::string& name) {
    const auto info = cluster.replica(id).Info();
    return info.count(name) ? info.at(name) : std::string("?");
  };
  const uint64_t term = cluster.replica(isolated).Number("term").value_or(0);
  const uint64_t blackholed = cluster.blackholed_bytes();
  const Clock::time_point cut = Clock::now();
  cluster.Partition(isolated);
  Say(base::Cat("cut the leader, node ", isolated,
                ", off from its peers: the proxies between replicas drop its links, both ways; "
                "it keeps running"));
  const std::optional<int> leader = cluster.WaitForLeader(30, term);
  if (!Require(leader.has_value() && *leader != isolated, "no leader among the others")) {
    return std::nullopt;
  }
  const std::string leader_term = field(*leader, "term");
  Say(base::Cat("  after ", MillisSince(cut),
                " ms the others elect: ", LeaderText(cluster, *leader)));
  if (!Require(Within(10, [&] { return field(isolated, "role") != "leader"; }),
               base::Cat("node ", isolated, " still leads without a majority"))) {
    return std::nullopt;
  }
  Say(base::Cat("  node ", isolated, " steps down after ", MillisSince(cut),
                " ms (check-quorum: it has not heard from a majority for an election timeout)"));
  const int alone_seconds = short_run ? 2 : 4;
  std::this_thread::sleep_for(std::chrono::seconds(alone_seconds));
  const std::string isolated_term = field(isolated, "term");
  if (!Require(isolated_term == base::Cat(term),
               base::Cat("node ", isolated, "'s term rose from ", term, " to ", isolated_term,
                         " while it was cut off"))) {
    return std::nullopt;
  }
  Say(base::Cat("  ", alone_seconds, " s later node ", isolated, " is a ", field(isolated, "role"),
                " still in term ", term,
                ": no pre-vote of its own succeeded, so it never raised "
                "its term (",
                cluster.blackholed_bytes() - blackholed, " bytes went into the cut links)"));
  cluster.Heal();
  const Clock::time_point healed = Clock::now();
  Say("heal the partition");
  if (!Require(
          Within(10,
                 [&] {
                   return field(isolated, "role") == "follower" &&
                          field(isolated, "term") == leader_term;
                 }),
          base::Cat("node ", isolated, " did not rejoin as a follower in term ", leader_term))) {
    return std::nullopt;
  }
  const std::string role = field(*leader, "role");
  const std::string leader_term_now = field(*leader, "term");
  if (!Require(role == "leader" && leader_term_now == leader_term,
               base::Cat("the leader was disturbed: node ", *leader, " is ", role, " in term ",
                         leader_term_now))) {
    return std::nullopt;
  }
  Say(base::Cat("  after ", MillisSince(healed), " ms node ", isolated, " follows in term ",
                leader_term, "; node ", *leader, " still leads term ", leader_term,
                ": the node that rejoined forced no election"));
  return leader;
}

constexpr int kThreeClients = 4;

bool ThreeNodes(const std::string& binary, const std::string& root, bool short_run) {
  std::printf("\n== Three replicas ==\n");
  const std::unique_ptr<Cluster> owned =
      NewCluster({.binary = binary, .root = root + "/three", .size = 3, .spare = 1});
  if (owned == nullptr) return false;
  Cluster& cluster = *owned;
  cluster.StartAll();
  std::optional<int> leader = cluster.WaitForLeader(30);
  if (!Require(leader.has_value(), "no leader elected")) return false;
  Say(base::Cat("elected: ", LeaderText(cluster, *leader)));

  Load load(cluster, kThreeClients);
  const int kills = short_run ? 2 : 5;
  for (int round = 0; round < kills; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(short_run ? 500 : 1000));
    const Clock::time_point killed = Clock::now();
    cluster.replica(*leader).Kill();
    Say(base::Cat("SIGKILL the leader, node ", *leader, " (", load.acknowledged(),
                  " writes acknowledged so far)"));
    const int old = *leader;
    leader = cluster.WaitForLeader(30);
    if (!Require(leader.has_value(), "no new leader after the kill")) return false;
    Say(base::Cat("  new leader after ", MillisSince(killed),
                  " ms: ", LeaderText(cluster, *leader)));
    cluster.Start(old);
    Say(base::Cat("  node ", old, " restarts from its write-ahead log"));
  }

  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  leader = PartitionLeader(cluster, *leader, short_run);
  if (!leader) return false;

  // A follower falls far behind and gets a snapshot. SIGSTOP pauses it, as a long GC pause or a
  // VM migration does: the usual way a follower falls behind, rather than a network fault. What
  // the leader sent it before the pause waits in socket buffers and is read when it resumes, but
  // the leader has a bounded number of appends in flight to it (max_inflight_appends), each with
  // at most one new entry per client (a client waits for its write): once the leader's snapshot
  // is that many entries past the follower's last, only the snapshot can bring it back
  // (replicas snapshot every 500 entries).
  const int lagging = (*leader + 1) % 3;
  const auto field = [&](int id, const std::string& name) {
    return cluster.replica(id).Number(name).value_or(0);
  };
  const uint64_t lagging_last = field(lagging, "last_index");
  cluster.replica(lagging).Freeze();
  Say(base::Cat(
      "freeze follower node ", lagging, " at index ", lagging_last,
      " (SIGSTOP: a paused process, as in a long GC pause) while the others take writes"));
  const uint64_t in_flight =
      uint64_t{raft::ServerOptions().node.max_inflight_appends} * kThreeClients;
  const Clock::time_point compacted_by = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < compacted_by &&
         field(*leader, "snapshot_index") <= lagging_last + in_flight) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Say(base::Cat("  the leader's log now starts after its snapshot at index ",
                field(*leader, "snapshot_index")));
  cluster.replica(lagging).Thaw();
  bool installed = false;
  const Clock::time_point until = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < until && !installed) {
    const auto fields = cluster.replica(lagging).Info();
    installed = fields.count("snapshots_received") && fields.at("snapshots_received") != "0";
    if (!installed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Say(base::Cat("  node ", lagging,
                installed ? " caught up from a snapshot sent in chunks by the leader"
                          : " caught up from the log (the leader had not compacted past it)"));

  // Membership: add node 3, remove one of the founders.
  leader = cluster.WaitForLeader(30);
  if (!Require(leader.has_value(), "no leader before the membership change")) return false;
  cluster.Start(3);  // a spare: it waits to be added
  {
    net::RespClientOptions options;
    options.timeout_ms = 15000;
    auto client = net::RespClient::Connect("127.0.0.1", cluster.replica(*leader).port(), options);
    if (!Require(client.ok(), "cannot reach the leader")) return false;
    auto added = (*client)->Call({"RAFT.ADDNODE", "3", cluster.peer(3)});
    if (!Require(
            added.ok() && added->raw == "+OK\r\n",
            base::Cat("RAFT.ADDNODE 3: ", added.ok() ? added->raw : added.status().ToString()))) {
      return false;
    }
    Say("added node 3: a learner until it caught up, then a voter (RAFT.ADDNODE gave its real "
        "peer address, so the links towards it bypass the proxies)");
    const int removed = (*leader + 1) % 3;
    auto gone = (*client)->Call({"RAFT.REMOVENODE", base::Cat(removed)});
    if (!Require(gone.ok() && gone->raw == "+OK\r\n", "RAFT.REMOVENODE")) return false;
    cluster.replica(removed).Kill();
    std::string voters;
    const Clock::time_point until_voters = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < until_voters) {  // INFO reflects the last tick
      voters = cluster.replica(*leader).Info()["voters"];
      if (voters.find(base::Cat(removed)) == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Say(base::Cat("removed node ", removed, "; voters now ", voters));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  load.Stop();
  Say(base::Cat("load stopped: ", load.acknowledged(), " writes acknowledged, ", load.failed(),
                " refused or timed out (their outcome unknown)"));
  return ReportWrites(cluster, load.writes());
}

constexpr int kFiveClients = 3;

bool FiveNodes(const std::string& binary, const std::string& root) {
  std::printf("\n== Five replicas ==\n");
  const std::unique_ptr<Cluster> owned =
      NewCluster({.binary = binary, .root = root + "/five", .size = 5});
  if (owned == nullptr) return false;
  Cluster& cluster = *owned;
  cluster.StartAll();
  std::optional<int> leader = cluster.WaitForLeader(30);
  if (!Require(leader.has_value(), "no leader elected")) return false;
  Say(base::Cat("elected: ", LeaderText(cluster, *leader)));
  Load load(cluster, kFiveClients);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int first = *leader;
  const int second = (*leader + 1) % 5;
  cluster.replica(first).Kill();
  cluster.replica(second).Kill();
  Say(base::Cat("SIGKILL nodes ", first, " (the leader) and ", second, ": three of five remain"));
  leader = cluster.WaitForLeader(30);
  if (!Require(leader.has_value(), "no leader among three of five")) return false;
  // Clients that were waiting on the dead nodes give up and move on; writes resume.
  const uint64_t before = load.acknowledged();
  const Clock::time_point resumed_by = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < resumed_by && load.acknowledged() < before + 100) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Say(base::Cat("  ", LeaderText(cluster, *leader), "; writes go on (",
                load.acknowledged() - before, " more acknowledged)"));
  if (!Require(load.acknowledged() >= before + 100, "writes did not resume")) return false;
  const int third = (*leader + 1) % 5 == first || (*leader + 1) % 5 == second ? (*leader + 3) % 5
                                                                              : (*leader + 1) % 5;
  cluster.replica(third).Kill();
  // A write committed before the kill may be acknowledged after it, but a client has one write
  // in flight: past one per client, an acknowledgement would be of a write committed without a
  // quorum.
  const uint64_t stalled = load.acknowledged();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Say(base::Cat("SIGKILL node ", third, ": two of five remain, no quorum; ",
                load.acknowledged() - stalled,
                " writes acknowledged in 1.5 s (at most one per client, committed before)"));
  if (!Require(load.acknowledged() - stalled <= kFiveClients,
               "writes acknowledged without a quorum")) {
    return false;
  }
  for (int id : {first, second, third}) cluster.Start(id);
  leader = cluster.WaitForLeader(30);
  if (!Require(leader.has_value(), "no leader after the restarts")) return false;
  Say(base::Cat("restart all three: ", LeaderText(cluster, *leader)));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  load.Stop();
  Say(base::Cat("load stopped: ", load.acknowledged(), " writes acknowledged"));
  return ReportWrites(cluster, load.writes());
}

}  // namespace

int Demo(int argc, char** argv, const char* self) {
  Flags flags("raft_kv demo",
              "Runs raft_kv clusters on loopback and narrates elections, failures, a partition, "
              "a snapshot install and membership changes; checks every acknowledged write.");
  flags.AddBool("short", "fewer leader kills and shorter pauses (for CI)");
  flags.Add("dir", "", "where the replicas keep their data (default: a fresh temporary directory)");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  std::string root = flags.Get("dir");
  if (root.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "raft_kv_demo.XXXXXX").string();
    root = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  std::filesystem::create_directories(root);
  const std::string binary = std::filesystem::canonical("/proc/self/exe").string();
  static_cast<void>(self);
  std::printf("raft_kv demo: replicas keep their data and logs in %s\n", root.c_str());
  const bool ok = ThreeNodes(binary, root, flags.GetBool("short")) && FiveNodes(binary, root);
  if (flags.Get("dir").empty() && ok) std::filesystem::remove_all(root);
  std::printf("\n%s\n", ok ? "raft_kv demo: OK" : "raft_kv demo: FAILED");
  return ok ? 0 : 1;
}

}  // namespace keel::examples::raft_kv
