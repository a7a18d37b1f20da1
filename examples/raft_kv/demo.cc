// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "raft_kv/demo.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/cli.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"

namespace keel::examples::raft_kv {
namespace {

using Clock = std::chrono::steady_clock;

const Clock::time_point kStart = Clock::now();

void Say(const std::string& text) {
  const double seconds = std::chrono::duration<double>(Clock::now() - kStart).count();
  std::printf("%8.3fs  %s\n", seconds, text.c_str());
  std::fflush(stdout);
}

// A free loopback port below the ephemeral range (32768 and up on Linux), so that a replica
// restarted on its port does not find it taken by some connection's source port meanwhile.
uint16_t FreePort() {
  static std::mt19937 random(static_cast<uint32_t>(::getpid()));
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<uint16_t>(20000 + random() % 12000);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    ::close(fd);
    if (free) return port;
  }
  std::fprintf(stderr, "raft_kv demo: no free loopback port\n");
  std::exit(1);
}

// One raft_kv process.
class Replica {
 public:
  Replica(int id, std::string binary, std::string dir)
      : id_(id), binary_(std::move(binary)), dir_(std::move(dir)), port_(FreePort()) {}
  ~Replica() { Kill(); }

  int id() const { return id_; }
  uint16_t port() const { return port_; }
  bool running() const { return pid_ > 0; }
  bool frozen() const { return frozen_; }
  bool serving() const { return running() && !frozen_; }

  void Start(const std::string& cluster, bool join) {
    const std::string log = dir_ + ".log";
    std::vector<std::string> args = {
        binary_,  "serve",          "--id",  base::Cat(id_), "--cluster",        cluster,
        "--port", base::Cat(port_), "--dir", dir_,           "--snapshot-every", "500"};
    if (join) args.push_back("--join");
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(binary_.c_str(), argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    frozen_ = false;
  }

  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    frozen_ = false;
  }
  void Freeze() {
    ::kill(pid_, SIGSTOP);
    frozen_ = true;
  }
  void Thaw() {
    ::kill(pid_, SIGCONT);
    frozen_ = false;
  }

  // INFO's fields, or nothing when the replica does not answer.
  std::map<std::string, std::string> Info() const {
    std::map<std::string, std::string> fields;
    if (!serving()) return fields;
    net::RespClientOptions options;
    options.timeout_ms = 2000;  // a replica under sanitizers and load answers slowly
    auto client = net::RespClient::Connect("127.0.0.1", port_, options);
    if (!client.ok()) return fields;
    auto reply = (*client)->Call({"INFO"});
    if (!reply.ok() || reply->value.type != net::RespValue::Type::kBulkString) return fields;
    for (absl::string_view line : absl::StrSplit(reply->value.text, "\r\n")) {
      const size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        fields[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
      }
    }
    return fields;
  }

 private:
  int id_;
  std::string binary_;
  std::string dir_;
  uint16_t port_;
  // Read by the load's threads while the narration kills and freezes.
  std::atomic<pid_t> pid_{-1};
  std::atomic<bool> frozen_{false};
};

class Cluster {
 public:
  Cluster(const std::string& binary, const std::string& root, int size, int spare) {
    std::filesystem::create_directories(root);
    for (int i = 0; i < size + spare; ++i) {
      replicas_.push_back(std::make_unique<Replica>(i, binary, base::Cat(root, "/node", i)));
      peers_.push_back(base::Cat("127.0.0.1:", FreePort()));
    }
    size_ = size;
  }

  // --cluster: the founders' peer addresses; a spare that joins later also needs its own.
  std::string ClusterFlag(int through = -1) const {
    std::string flag;
    const int last = through < 0 ? size_ - 1 : through;
    for (int i = 0; i <= last; ++i) flag += (flag.empty() ? "" : ",") + peers_[i];
    return flag;
  }

  void StartAll() {
    for (int i = 0; i < size_; ++i) replicas_[i]->Start(ClusterFlag(), /*join=*/false);
  }
  Replica& replica(int i) { return *replicas_[i]; }
  int size() const { return static_cast<int>(replicas_.size()); }
  const std::string& peer(int i) const { return peers_[i]; }

  // The serving replica that says it leads the highest term, once one does.
  std::optional<int> WaitForLeader(double seconds) {
    const Clock::time_point deadline =
        Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    while (Clock::now() < deadline) {
      std::optional<int> leader;
      uint64_t best = 0;
      for (auto& replica : replicas_) {
        const auto info = replica->Info();
        uint64_t term = 0;
        if (info.count("role") && info.at("role") == "leader" &&
            absl::SimpleAtoi(info.at("term"), &term) && (!leader || term > best)) {
          leader = replica->id();
          best = term;
        }
      }
      if (leader) return leader;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  std::vector<int> Serving() const {
    std::vector<int> ids;
    for (const auto& replica : replicas_) {
      if (replica->serving()) ids.push_back(replica->id());
    }
    return ids;
  }

 private:
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<std::string> peers_;
  int size_ = 0;
};

// Clients writing unique keys through every serving replica; the acknowledged ones are kept to
// be checked at the end.
class Load {
 public:
  Load(Cluster& cluster, int clients) : cluster_(cluster) {
    for (int c = 0; c < clients; ++c) threads_.emplace_back([this, c] { Run(c); });
  }
  ~Load() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  uint64_t acknowledged() const { return acknowledged_; }
  uint64_t failed() const { return failed_; }
  std::map<std::string, std::string> writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }

 private:
  void Run(int c) {
    std::mt19937_64 random(static_cast<uint64_t>(c) + 1);
    uint64_t sequence = 0;
    while (!stop_) {
      const std::vector<int> serving = cluster_.Serving();
      if (serving.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      const int target = serving[random() % serving.size()];
      // Short enough that a client stuck on a frozen replica moves on soon; a write that times
      // out counts as refused (its outcome unknown), and is not checked at the end.
      net::RespClientOptions options;
      options.timeout_ms = 1500;
      auto client = net::RespClient::Connect("127.0.0.1", cluster_.replica(target).port(), options);
      if (!client.ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      // A few writes per connection, then another replica.
      for (int k = 0; k < 20 && !stop_; ++k) {
        const std::string key = base::Cat("c", c, ":", ++sequence);
        const std::string value = base::Cat("v", sequence);
        auto reply = (*client)->Call({"SET", key, value});
        if (!reply.ok()) {
          ++failed_;
          break;  // the replica died or froze: go elsewhere
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
  }

  Cluster& cluster_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<uint64_t> failed_{0};
  mutable std::mutex mu_;
  std::map<std::string, std::string> writes_;
  std::vector<std::thread> threads_;
};

// Every acknowledged write, read back (linearizably) from every serving replica.
bool CheckWrites(Cluster& cluster, const std::map<std::string, std::string>& writes) {
  size_t checked = 0;
  for (int id : cluster.Serving()) {
    net::RespClientOptions options;
    options.timeout_ms = 7000;
    auto client = net::RespClient::Connect("127.0.0.1", cluster.replica(id).port(), options);
    if (!client.ok()) {
      Say(base::Cat("FAILED: node ", id, " does not answer"));
      return false;
    }
    for (const auto& [key, value] : writes) {
      auto reply = (*client)->Call({"GET", key});
      if (!reply.ok() || reply->value.type != net::RespValue::Type::kBulkString ||
          reply->value.text != value) {
        Say(base::Cat("FAILED: node ", id, " has lost acknowledged write ", key, " = ", value,
                      reply.ok() ? base::Cat(" (it answers ", base::Quoted(reply->raw), ")")
                                 : base::Cat(" (", reply.status().ToString(), ")")));
        return false;
      }
      ++checked;
    }
  }
  Say(base::Cat("checked ", writes.size(), " acknowledged writes on every live node (", checked,
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

bool ThreeNodes(const std::string& binary, const std::string& root, bool short_run) {
  std::printf("\n== Three replicas ==\n");
  Cluster cluster(binary, root + "/three", 3, /*spare=*/1);
  cluster.StartAll();
  std::optional<int> leader = cluster.WaitForLeader(30);
  if (!Require(leader.has_value(), "no leader elected")) return false;
  Say(base::Cat("elected: ", LeaderText(cluster, *leader)));

  Load load(cluster, 4);
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
    Say(base::Cat(
        "  new leader after ",
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count(),
        " ms: ", LeaderText(cluster, *leader)));
    cluster.replica(old).Start(cluster.ClusterFlag(), /*join=*/false);
    Say(base::Cat("  node ", old, " restarts from its write-ahead log"));
  }

  // A partition: the leader frozen (unreachable), then back.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int isolated = *leader;
  cluster.replica(isolated).Freeze();
  Say(base::Cat("cut the leader, node ", isolated, ", off (SIGSTOP)"));
  leader = cluster.WaitForLeader(30);
  if (!Require(leader.has_value() && *leader != isolated, "no leader among the others")) {
    return false;
  }
  Say(base::Cat("  the others elect: ", LeaderText(cluster, *leader)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  cluster.replica(isolated).Thaw();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto info = cluster.replica(isolated).Info();
  Say(base::Cat("  healed: node ", isolated, " is ", info.count("role") ? info.at("role") : "?",
                " in term ", info.count("term") ? info.at("term") : "?", "; the leader stays node ",
                *cluster.WaitForLeader(5)));

  // A follower falls far behind and gets a snapshot: frozen until the leader has compacted its
  // log past the follower's last entry (replicas snapshot every 500 entries).
  const int lagging = (*leader + 1) % 3;
  uint64_t lagging_last = 0;
  const auto field = [&](int id, const std::string& name) {
    uint64_t value = 0;
    const auto fields = cluster.replica(id).Info();
    if (fields.count(name)) (void)absl::SimpleAtoi(fields.at(name), &value);
    return value;
  };
  lagging_last = field(lagging, "last_index");
  cluster.replica(lagging).Freeze();
  Say(base::Cat("freeze follower node ", lagging, " at index ", lagging_last,
                " while the others take writes"));
  const Clock::time_point compacted_by = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < compacted_by && field(*leader, "snapshot_index") <= lagging_last) {
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
  cluster.replica(3).Start(cluster.ClusterFlag(3), /*join=*/true);
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
    Say("added node 3: a learner until it caught up, then a voter");
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
  return CheckWrites(cluster, load.writes());
}

bool FiveNodes(const std::string& binary, const std::string& root) {
  std::printf("\n== Five replicas ==\n");
  Cluster cluster(binary, root + "/five", 5, /*spare=*/0);
  cluster.StartAll();
  std::optional<int> leader = cluster.WaitForLeader(30);
  if (!Require(leader.has_value(), "no leader elected")) return false;
  Say(base::Cat("elected: ", LeaderText(cluster, *leader)));
  Load load(cluster, 3);
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
  const uint64_t stalled = load.acknowledged();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Say(base::Cat("SIGKILL node ", third, ": two of five remain, no quorum; ",
                load.acknowledged() - stalled, " writes acknowledged in 1.5 s"));
  if (!Require(load.acknowledged() - stalled <= 1, "writes acknowledged without a quorum")) {
    return false;
  }
  for (int id : {first, second, third}) cluster.replica(id).Start(cluster.ClusterFlag(), false);
  leader = cluster.WaitForLeader(30);
  if (!Require(leader.has_value(), "no leader after the restarts")) return false;
  Say(base::Cat("restart all three: ", LeaderText(cluster, *leader)));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  load.Stop();
  Say(base::Cat("load stopped: ", load.acknowledged(), " writes acknowledged"));
  return CheckWrites(cluster, load.writes());
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
