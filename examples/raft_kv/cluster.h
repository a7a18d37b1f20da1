// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A raft_kv cluster of real processes on loopback, for the demo and the tests. Each replica is a
// `raft_kv serve` process, started from the raft_kv binary with its data directory (and a log
// file beside it, DIR.log) under one root directory. Whoever drives the cluster kills a replica
// with SIGKILL, freezes it with SIGSTOP, restarts it from its directory, and cuts it off from
// its peers while it keeps running (Partition); ClientThreads talk to whichever replicas serve
// and move on when one dies.
//
// The peer network. Every link between founding members, and from a spare to the others, goes
// through a LinkProxy (raft_kv/link_proxy.h) that the cluster owns: replica i's --cluster flag
// lists its own peer address at position i and, at each other position j, the proxy's listener
// for the link i -> j, which forwards to j's peer port. Partition(i) cuts every link into and
// out of i. A member added at runtime is announced with its real address (RAFT.ADDNODE
// id peer(id)), so the links towards it bypass the proxy, and partitioning it cuts only the
// links it dials.
//
// Ports. Every replica's client and peer ports are free loopback ports below Linux's ephemeral
// range (32768 and up), so that a replica restarted on its ports does not find one taken
// meanwhile as some connection's source port. The proxy's listeners live as long as the cluster
// and take whatever port the system gives.
//
// Processes. A replica's process is killed (SIGKILL) when its Replica object goes, and by the
// kernel when the thread that started it dies (PR_SET_PDEATHSIG), so a test that fails, or
// aborts, leaves no replica running.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(
//       std::unique_ptr<Cluster> cluster,
//       Cluster::Create({.binary = "build/release/examples/bin/raft_kv", .root = "/tmp/kv"}));
//   cluster->StartAll();
//   std::optional<int> leader = cluster->WaitForLeader(30);
//   cluster->replica(*leader).Kill();
//   std::optional<int> next = cluster->WaitForLeader(30);
//   cluster->Start(*leader);  // recovers from its write-ahead log
//   cluster->Partition(*next);
//   ...
//   cluster->Heal();
#ifndef KEEL_EXAMPLES_RAFT_KV_CLUSTER_H_
#define KEEL_EXAMPLES_RAFT_KV_CLUSTER_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/net/resp_client.h"
#include "raft_kv/link_proxy.h"

namespace keel::examples::raft_kv {

// A loopback port nothing listens on now, below the ephemeral range. Stops the program when
// there is none (after a thousand tries).
[[nodiscard]] uint16_t FreePort();

// Nanoseconds on the steady clock: the times of client histories.
[[nodiscard]] int64_t NowNs();

// One raft_kv process.
class Replica {
 public:
  Replica(int id, std::string binary, std::string dir, std::vector<std::string> extra_args);
  ~Replica() { Kill(); }
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  [[nodiscard]] int id() const { return id_; }
  [[nodiscard]] uint16_t port() const { return port_; }  // the client (RESP) port
  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] bool frozen() const { return frozen_; }
  [[nodiscard]] bool serving() const { return running() && !frozen_; }

  // Starts `raft_kv serve` with `cluster` as its --cluster flag. REQUIRES: not running.
  void Start(const std::string& cluster, bool join);
  // SIGKILL, and waits for the process to end. Nothing when it is not running.
  void Kill();
  // Reaps the process if it ended on its own (not by Kill): a crash, a failed assertion, a
  // sanitizer's report, a port it could not listen on. Such ends are kept for CheckProcesses.
  void ReapIfEnded();
  // How the process ended on its own each time it did ("exited with status 66"), with the log's
  // path.
  [[nodiscard]] const std::vector<std::string>& unexpected_ends() const { return ends_; }
  [[nodiscard]] std::string log_path() const { return dir_ + ".log"; }
  void Freeze();  // SIGSTOP
  void Thaw();    // SIGCONT

  // INFO's fields, or nothing when the replica does not answer (within 2 s).
  [[nodiscard]] std::map<std::string, std::string> Info() const;
  // One of INFO's fields as a number; nullopt when the replica does not answer.
  [[nodiscard]] std::optional<uint64_t> Number(const std::string& field) const;
  // Whether it answers INFO within `seconds`; false at once when its process has ended.
  [[nodiscard]] bool WaitUntilServing(double seconds);

 private:
  int id_;
  std::string binary_;
  std::string dir_;
  std::vector<std::string> extra_args_;
  uint16_t port_;
  // Read by client threads while the driver kills and freezes.
  std::atomic<pid_t> pid_{-1};
  std::atomic<bool> frozen_{false};
  std::vector<std::string> ends_;  // the driver's thread's
};

struct ClusterOptions {
  std::string binary;  // the raft_kv program
  std::string root;    // replica i keeps its data in ROOT/nodeI (created)
  int size = 3;        // founding members: ids 0 .. size - 1
  int spare = 0;       // more replicas (ids from size) that join later (RAFT.ADDNODE)
  // Entries each replica applies between snapshots (raft_kv serve --snapshot-every).
  uint64_t snapshot_every = 500;
};

class Cluster {
 public:
  // Chooses the replicas' ports and starts the proxy; starts no replica. Errors: the proxy's
  // (LinkProxy::Start).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Cluster>> Create(
      const ClusterOptions& options);
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Starts replica i: a founder, or (i >= size) a spare that waits to be added. Restarting a
  // killed replica recovers it from its directory.
  void Start(int i);
  void StartAll();  // the founders

  // Replica i's --cluster flag, for ids 0 .. max(size - 1, i): its own peer address, and the
  // proxy's for its links to the others.
  [[nodiscard]] std::string ClusterFlag(int i) const;
  // Replica i's real peer address (what RAFT.ADDNODE is given).
  [[nodiscard]] const std::string& peer(int i) const { return peers_[i]; }

  // Cuts every proxied link into and out of replica i (LinkProxy::Isolate); it keeps running.
  void Partition(int i) { proxy_->Isolate(i); }
  // Mends every link.
  void Heal() { proxy_->Heal(); }
  // Bytes sent into cut links, since Create.
  [[nodiscard]] uint64_t blackholed_bytes() const { return proxy_->blackholed_bytes(); }

  [[nodiscard]] Replica& replica(int i) { return *replicas_[i]; }
  [[nodiscard]] const Replica& replica(int i) const { return *replicas_[i]; }
  [[nodiscard]] int size() const { return static_cast<int>(replicas_.size()); }  // spares too
  [[nodiscard]] std::vector<int> Serving() const;

  // The serving replica that says it leads the highest term above `above_term`, once one does
  // (polling every 20 ms for up to `seconds`).
  [[nodiscard]] std::optional<int> WaitForLeader(double seconds, uint64_t above_term = 0) const;

  // Errors: kInternal naming every replica whose process ended on its own (Replica::ReapIfEnded)
  // since Create, and its log.
  [[nodiscard]] absl::Status CheckProcesses();

 private:
  explicit Cluster(const ClusterOptions& options) : options_(options) {}

  ClusterOptions options_;
  std::unique_ptr<LinkProxy> proxy_;
  std::vector<std::string> peers_;
  std::vector<std::unique_ptr<Replica>> replicas_;  // killed before the proxy stops
};

// What a client thread's session is given: its connection to one replica.
struct ClientContext {
  int client = 0;   // the thread's number, from 0
  int replica = 0;  // the replica connected to
  net::RespClient& connection;
  std::mt19937_64& random;        // the thread's own
  const std::atomic<bool>& stop;  // set by Stop: return soon
};

// Client threads against a cluster. Each picks a serving replica at random, connects to it
// (every call on the connection may take up to timeout_ms), and runs `session` on the
// connection until the session returns: when the connection failed, or when it has done enough
// there. Then it picks again, until Stop. A replica that does not accept is passed over after a
// 10 ms pause. Thread c's generator is seeded with seed + c.
class ClientThreads {
 public:
  using Session = std::function<void(ClientContext& context)>;

  ClientThreads(const Cluster& cluster, int clients, uint64_t seed, int64_t timeout_ms,
                Session session);
  ~ClientThreads() { Stop(); }
  ClientThreads(const ClientThreads&) = delete;
  ClientThreads& operator=(const ClientThreads&) = delete;

  // Tells the sessions to return and joins the threads. Idempotent.
  void Stop();

 private:
  void Run(int client, uint64_t seed);

  const Cluster& cluster_;
  const int64_t timeout_ms_;
  const Session session_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// A GET's reply and the times between which the read took effect: when its batch was sent and
// when the reply was read.
struct TimedReply {
  net::RespReply reply;
  int64_t call_ns = 0;
  int64_t return_ns = 0;
};

// GET of every key from the replica at `port`, pipelined in batches of 256, in order. Errors:
// the connection's (kUnavailable, kDeadlineExceeded after timeout_ms on one batch).
[[nodiscard]] absl::StatusOr<std::vector<TimedReply>> GetAll(uint16_t port,
                                                             std::span<const std::string> keys,
                                                             int64_t timeout_ms);

// Reads every write (key -> value) back from every serving replica. Errors: kDataLoss naming the
// replica and the first write it has lost (and what it answered instead), kUnavailable for a
// replica that does not answer. *reads counts the reads made.
[[nodiscard]] absl::Status CheckWrites(const Cluster& cluster,
                                       const std::map<std::string, std::string>& writes,
                                       size_t* reads);

}  // namespace keel::examples::raft_kv

#endif  // KEEL_EXAMPLES_RAFT_KV_CLUSTER_H_
