// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/replica_processes.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "digital_wallet/replica_client.h"
#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "raft_kv/cluster.h"

namespace keel::examples::wallet {

ReplicaProcess::ReplicaProcess(int id, std::string binary, std::string dir,
                               std::string cluster_flag, std::vector<std::string> extra_args)
    : id_(id),
      binary_(std::move(binary)),
      dir_(std::move(dir)),
      cluster_flag_(std::move(cluster_flag)),
      extra_args_(std::move(extra_args)),
      port_(raft_kv::FreePort()) {}

std::string ReplicaProcess::address() const { return base::Cat("127.0.0.1:", port_); }

void ReplicaProcess::Start() {
  KEEL_ASSERT(!running(), "replica is already running");
  const std::string log = log_path();
  std::vector<std::string> args = {binary_,     "replica",     "--id",   base::Cat(id_),
                                   "--cluster", cluster_flag_, "--port", base::Cat(port_),
                                   "--dir",     dir_};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  // Built before the fork: the child of a threaded process may only make async-signal-safe
  // calls until it execs.
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const long max_fd = ::sysconf(_SC_OPEN_MAX);
  const pid_t pid = ::fork();
  KEEL_ASSERT(pid >= 0, "fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    // No socket of the parent's may live on in the replica (Asio's have no close-on-exec): a
    // connection the parent closes would stay open while the replica holds a copy.
    if (::close_range(STDERR_FILENO + 1, ~0U, 0) != 0) {
      for (long other = STDERR_FILENO + 1; other < max_fd; ++other) {
        ::close(static_cast<int>(other));
      }
    }
    ::execv(binary_.c_str(), argv.data());
    ::_exit(127);
  }
  pid_ = pid;
}

void ReplicaProcess::Kill() {
  ReapIfEnded();
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void ReplicaProcess::ReapIfEnded() {
  int status = 0;
  if (pid_ <= 0 || ::waitpid(pid_, &status, WNOHANG) != pid_) return;
  ends_.push_back(WIFEXITED(status) ? base::Cat("exited with status ", WEXITSTATUS(status))
                                    : base::Cat("was killed by signal ", WTERMSIG(status)));
  pid_ = -1;
}

std::map<std::string, std::string> ReplicaProcess::Info() const {
  if (!running()) return {};
  auto connection = ReplicaConnection::Connect(address(), /*timeout_ms=*/2000);
  if (!connection.ok()) return {};
  auto info = (*connection)->Info();
  if (!info.ok()) return {};
  return *info;
}

bool ReplicaProcess::WaitUntilServing(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    ReapIfEnded();
    if (!running()) return false;
    if (!Info().empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

double ReplicaProcess::CpuSeconds() const {
  if (!running()) return 0;
  std::ifstream file(base::Cat("/proc/", pid_, "/stat"));
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // Fields after the command name, which ends at the last ')': utime is the 14th field of the
  // line, stime the 15th; the name is the 2nd, so they are the 12th and 13th after it.
  const size_t end = text.rfind(')');
  if (end == std::string::npos) return 0;
  std::istringstream rest(text.substr(end + 2));
  std::string field;
  uint64_t utime = 0;
  uint64_t stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 && !absl::SimpleAtoi(field, &utime)) return 0;
    if (i == 15 && !absl::SimpleAtoi(field, &stime)) return 0;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Create(
    const LocalClusterOptions& options) {
  if (options.size < 1 || options.binary.empty() || options.root.empty()) {
    return absl::InvalidArgumentError(base::Cat("a cluster of ", options.size, " replicas of ",
                                                base::Quoted(options.binary), " in ",
                                                base::Quoted(options.root), " cannot start"));
  }
  std::error_code error;
  std::filesystem::create_directories(options.root, error);
  if (error) {
    return absl::UnavailableError(base::Cat("cannot create ", options.root, ": ", error.message()));
  }
  std::string cluster_flag;
  for (int i = 0; i < options.size; ++i) {
    cluster_flag += base::Cat(i == 0 ? "" : ",", "127.0.0.1:", raft_kv::FreePort());
  }
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  for (int i = 0; i < options.size; ++i) {
    cluster->replicas_.push_back(std::make_unique<ReplicaProcess>(
        i, options.binary, base::Cat(options.root, "/node", i), cluster_flag, options.extra_args));
  }
  return cluster;
}

void LocalCluster::StartAll() {
  for (auto& replica : replicas_) replica->Start();
}

std::vector<std::string> LocalCluster::addresses() const {
  std::vector<std::string> out;
  for (const auto& replica : replicas_) out.push_back(replica->address());
  return out;
}

std::optional<int> LocalCluster::WaitForLeader(double seconds) const {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<int> leader;
    uint64_t best = 0;
    for (const auto& replica : replicas_) {
      const auto info = replica->Info();
      uint64_t term = 0;
      if (info.count("role") && info.at("role") == "leader" && info.count("term") &&
          absl::SimpleAtoi(info.at("term"), &term) && term > best) {
        leader = replica->id();
        best = term;
      }
    }
    if (leader) return leader;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

absl::Status LocalCluster::CheckProcesses() {
  std::string ends;
  for (const auto& replica : replicas_) {
    replica->ReapIfEnded();
    for (const std::string& end : replica->unexpected_ends()) {
      std::ifstream file(replica->log_path());
      const std::string log((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
      ends += base::Cat(ends.empty() ? "" : "\n", "node ", replica->id(), " ", end,
                        "; the end of its log (", replica->log_path(), "):\n",
                        log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
    }
  }
  if (ends.empty()) return absl::OkStatus();
  return absl::InternalError(base::Cat("replicas ended on their own: ", ends));
}

}  // namespace keel::examples::wallet
