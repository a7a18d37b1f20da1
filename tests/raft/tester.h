// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The harness of MIT 6.5840's Raft lab (its raft_test.go and test.go, spring 2025), rebuilt on
// keel's deterministic simulator so that the lab's whole test battery runs against keel::raft
// with its thresholds, in virtual time. Each helper does what the lab's helper of the same name
// does; sleeps are virtual. Failures are reported with doctest's FAIL, so a test stops at the
// first one, as the lab's t.Fatalf does.
//
// Commands are decimal strings of the lab's integers. Indexes are command indexes (the n-th
// command in the log), which is what the lab's indexes count; see simulator.h.
#ifndef KEEL_TESTS_RAFT_TESTER_H_
#define KEEL_TESTS_RAFT_TESTER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "raft/simulator.h"

namespace keel::raft::testing {

// 6.5840's RaftElectionTimeout: the time the tester allows an election.
inline constexpr int64_t kElectionTimeout = 1000 * kMillis;
// 6.5840's SnapShotInterval and MAXLOGSIZE.
inline constexpr uint64_t kSnapshotInterval = 10;
inline constexpr uint64_t kMaxLogSize = 2000;

class Tester {
 public:
  Tester(int servers, bool reliable, bool snapshot, uint64_t seed);
  // A tester over a simulation with other options (membership, leases, chunk sizes).
  explicit Tester(const SimOptions& options);
  ~Tester();

  Simulator& sim() { return *sim_; }
  int servers() const { return servers_; }
  // The lab's rand.Int(), from the seeded generator.
  uint64_t RandInt() { return sim_->random().Next() >> 1; }
  std::string RandCommand() { return std::to_string(RandInt()); }

  int CheckOneLeader();
  uint64_t CheckTerms();
  void CheckNoLeader();
  // How many servers have applied a command at `index`, and which (they must agree).
  std::pair<int, std::optional<std::string>> NCommitted(uint64_t index);
  // A complete agreement on `command` by at least `expected` servers; returns its index. Fails the
  // test if none is reached within 10 seconds (or, without retry, on the first attempt).
  uint64_t One(const std::string& command, int expected, bool retry);
  // The same, as a concurrent client: `done` gets the index (0 on failure) when it finishes.
  void OneAsync(std::string command, int expected, bool retry, std::function<void(uint64_t)> done);
  // Waits for at least n servers to commit `index`; nullopt if some server moved past
  // `start_term` (>= 0) first.
  std::optional<std::string> Wait(uint64_t index, int n, int64_t start_term);
  void CheckNoAgreement(uint64_t index);

  void Sleep(int64_t ns) { sim_->RunFor(ns); }
  void DisconnectAll(int i) { sim_->Disconnect(i); }
  void ConnectOne(int i) { sim_->Connect(i); }
  bool IsConnected(int i) const { return sim_->IsConnected(i); }
  void ShutdownServer(int i) { sim_->Crash(i); }
  void Restart(int i);
  void ShutdownAll();
  void StartAll();
  StartResult Start(int i, const std::string& command) { return sim_->Start(i, command); }
  uint64_t RpcCount(int i) const { return sim_->RpcCount(i); }
  uint64_t RpcTotal() const;

  // Each node's state, for failure messages.
  std::string Describe();

  // Fails the test on any safety violation or apply error seen so far.
  void CheckSafety();

 private:
  class OneClient;

  int servers_;
  std::unique_ptr<Simulator> sim_;
  int starts_ = 0;
};

}  // namespace keel::raft::testing

#endif  // KEEL_TESTS_RAFT_TESTER_H_
