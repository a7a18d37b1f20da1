// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A wallet cluster of real processes on loopback, for the three-process test and the benchmark:
// each replica is a `digital_wallet replica` process with its data directory (and its output in
// DIR.log beside it) under one root directory. Whoever drives it kills a replica with SIGKILL and
// restarts it on the same directory and ports, where it recovers from its Raft log and snapshot.
// The pattern is raft_kv's (examples/raft_kv/cluster.h) without the link proxies.
//
// Ports: the replicas' client and peer ports are free loopback ports below Linux's ephemeral
// range (raft_kv's FreePort), so that a restarted replica finds its ports free.
//
// A replica's process is killed when its ReplicaProcess object goes, and by the kernel when the
// thread that started it dies (PR_SET_PDEATHSIG): a test that fails leaves nothing running.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<LocalCluster> cluster,
//                         LocalCluster::Create({.binary = "build/release/examples/bin/"
//                                                         "digital_wallet",
//                                               .root = "/tmp/wallet"}));
//   cluster->StartAll();
//   std::optional<int> leader = cluster->WaitForLeader(30);
//   cluster->replica(*leader).Kill();
//   cluster->Start(*leader);  // recovers from its directory
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_PROCESSES_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_PROCESSES_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::examples::wallet {

// One `digital_wallet replica` process.
class ReplicaProcess {
 public:
  ReplicaProcess(int id, std::string binary, std::string dir, std::string cluster_flag,
                 std::vector<std::string> extra_args);
  ~ReplicaProcess() { Kill(); }
  ReplicaProcess(const ReplicaProcess&) = delete;
  ReplicaProcess& operator=(const ReplicaProcess&) = delete;

  [[nodiscard]] int id() const { return id_; }
  [[nodiscard]] uint16_t port() const { return port_; }  // the client (RESP) port
  [[nodiscard]] std::string address() const;             // 127.0.0.1:port
  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string log_path() const { return dir_ + ".log"; }

  // Starts the process. REQUIRES: not running.
  void Start();
  // SIGKILL, and waits for the process to end. Nothing when it is not running.
  void Kill();
  // Reaps the process if it ended on its own (a crash, a sanitizer's report, a port taken), and
  // remembers how (unexpected_ends).
  void ReapIfEnded();
  [[nodiscard]] const std::vector<std::string>& unexpected_ends() const { return ends_; }

  // INFO's fields, or nothing when the replica does not answer within 2 s.
  [[nodiscard]] std::map<std::string, std::string> Info() const;
  // Whether it answers INFO within `seconds`; false at once if its process has ended.
  [[nodiscard]] bool WaitUntilServing(double seconds);
  // The user and system CPU time of the process so far, in seconds (/proc/PID/stat).
  [[nodiscard]] double CpuSeconds() const;

 private:
  int id_;
  std::string binary_;
  std::string dir_;
  std::string cluster_flag_;
  std::vector<std::string> extra_args_;
  uint16_t port_;
  pid_t pid_ = -1;
  std::vector<std::string> ends_;
};

struct LocalClusterOptions {
  std::string binary;  // the digital_wallet program
  std::string root;    // replica i keeps its data in ROOT/nodeI (created)
  int size = 3;
  // More flags for every replica (--snapshot-every, --reserve-accounts, ...).
  std::vector<std::string> extra_args = {};
};

class LocalCluster {
 public:
  // Chooses the ports; starts nothing.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LocalCluster>> Create(
      const LocalClusterOptions& options);

  void Start(int i) { replicas_[i]->Start(); }
  void StartAll();
  [[nodiscard]] ReplicaProcess& replica(int i) { return *replicas_[i]; }
  [[nodiscard]] const ReplicaProcess& replica(int i) const { return *replicas_[i]; }
  [[nodiscard]] int size() const { return static_cast<int>(replicas_.size()); }
  // Every replica's client address, in id order (ClientOptions::replicas).
  [[nodiscard]] std::vector<std::string> addresses() const;

  // The running replica that says it leads the highest term, once one does (polling every
  // 20 ms for up to `seconds`).
  [[nodiscard]] std::optional<int> WaitForLeader(double seconds) const;

  // Errors: kInternal naming every replica whose process ended on its own since Create, with
  // the end of its log.
  [[nodiscard]] absl::Status CheckProcesses();

 private:
  LocalCluster() = default;
  std::vector<std::unique_ptr<ReplicaProcess>> replicas_;
};

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_PROCESSES_H_
