// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "raft_kv/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::examples::raft_kv {

uint16_t FreePort() {
  static std::mutex mu;
  static std::mt19937 random(static_cast<uint32_t>(::getpid()));
  std::lock_guard lock(mu);
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
  std::fprintf(stderr, "raft_kv: no free loopback port\n");
  std::exit(1);
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// Replica.
// ---------------------------------------------------------------------------------------------

Replica::Replica(int id, std::string binary, std::string dir, std::vector<std::string> extra_args)
    : id_(id),
      binary_(std::move(binary)),
      dir_(std::move(dir)),
      extra_args_(std::move(extra_args)),
      port_(FreePort()) {}

void Replica::Start(const std::string& cluster, bool join) {
  KEEL_ASSERT(!running(), "replica is already running");
  const std::string log = dir_ + ".log";
  std::vector<std::string> args = {binary_, "serve",  "--id",           base::Cat(id_), "--cluster",
                                   cluster, "--port", base::Cat(port_), "--dir",        dir_};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  if (join) args.push_back("--join");
  // Built before the fork: the child of a process with threads may only make async-signal-safe
  // calls until it execs (another thread may have held the allocator's lock at the fork).
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
    // Nothing else of this process's may live on in the replica: Asio opens its sockets without
    // close-on-exec, and a connection that the proxy or a client closes stays open while a
    // replica holds a copy (no FIN is sent, so the other end never learns), as does a listener.
    if (::close_range(STDERR_FILENO + 1, ~0U, 0) != 0) {
      for (long other = STDERR_FILENO + 1; other < max_fd; ++other)
        ::close(static_cast<int>(other));
    }
    ::execv(binary_.c_str(), argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  frozen_ = false;
}

void Replica::Kill() {
  ReapIfEnded();
  const pid_t pid = pid_;
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid_ = -1;
  frozen_ = false;
}

void Replica::ReapIfEnded() {
  const pid_t pid = pid_;
  int status = 0;
  if (pid <= 0 || ::waitpid(pid, &status, WNOHANG) != pid) return;
  ends_.push_back(WIFEXITED(status) ? base::Cat("exited with status ", WEXITSTATUS(status))
                                    : base::Cat("was killed by signal ", WTERMSIG(status)));
  pid_ = -1;
  frozen_ = false;
}

void Replica::Freeze() {
  if (!running()) return;
  ::kill(pid_, SIGSTOP);
  frozen_ = true;
}

void Replica::Thaw() {
  if (!running()) return;
  ::kill(pid_, SIGCONT);
  frozen_ = false;
}

std::map<std::string, std::string> Replica::Info() const {
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
    if (colon != absl::string_view::npos) {
      fields[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
    }
  }
  return fields;
}

std::optional<uint64_t> Replica::Number(const std::string& field) const {
  const auto fields = Info();
  const auto it = fields.find(field);
  uint64_t value = 0;
  if (it == fields.end() || !absl::SimpleAtoi(it->second, &value)) return std::nullopt;
  return value;
}

bool Replica::WaitUntilServing(double seconds) {
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

// ---------------------------------------------------------------------------------------------
// Cluster.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Create(const ClusterOptions& options) {
  std::unique_ptr<Cluster> cluster(new Cluster(options));
  std::filesystem::create_directories(options.root);
  const int count = options.size + options.spare;
  const std::vector<std::string> extra_args = {"--snapshot-every",
                                               base::Cat(options.snapshot_every)};
  std::vector<uint16_t> peer_ports;
  for (int i = 0; i < count; ++i) {
    cluster->replicas_.push_back(std::make_unique<Replica>(
        i, options.binary, base::Cat(options.root, "/node", i), extra_args));
    peer_ports.push_back(FreePort());
    cluster->peers_.push_back(base::Cat("127.0.0.1:", peer_ports.back()));
  }
  std::vector<LinkSpec> links;
  for (int from = 0; from < count; ++from) {
    for (int to = 0; to < count; ++to) {
      if (from != to) links.push_back({.from = from, .to = to, .target_port = peer_ports[to]});
    }
  }
  absl::StatusOr<std::unique_ptr<LinkProxy>> proxy = LinkProxy::Start(links);
  if (!proxy.ok()) return proxy.status();
  cluster->proxy_ = std::move(*proxy);
  return cluster;
}

std::string Cluster::ClusterFlag(int i) const {
  std::string flag;
  const int last = std::max(options_.size - 1, i);
  for (int j = 0; j <= last; ++j) {
    if (!flag.empty()) flag += ",";
    flag += j == i ? peers_[j] : base::Cat("127.0.0.1:", proxy_->port(i, j));
  }
  return flag;
}

void Cluster::Start(int i) { replicas_[i]->Start(ClusterFlag(i), /*join=*/i >= options_.size); }

void Cluster::StartAll() {
  for (int i = 0; i < options_.size; ++i) Start(i);
}

std::vector<int> Cluster::Serving() const {
  std::vector<int> ids;
  for (const auto& replica : replicas_) {
    if (replica->serving()) ids.push_back(replica->id());
  }
  return ids;
}

std::optional<int> Cluster::WaitForLeader(double seconds, uint64_t above_term) const {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<int> leader;
    uint64_t best = above_term;
    for (const auto& replica : replicas_) {
      const auto info = replica->Info();
      uint64_t term = 0;
      if (info.count("role") && info.at("role") == "leader" &&
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

absl::Status Cluster::CheckProcesses() {
  std::string ends;
  for (const auto& replica : replicas_) {
    replica->ReapIfEnded();
    for (const std::string& end : replica->unexpected_ends()) {
      ends += base::Cat(ends.empty() ? "" : "; ", "node ", replica->id(), " ", end,
                        " (its log: ", replica->log_path(), ")");
    }
  }
  if (ends.empty()) return absl::OkStatus();
  return absl::InternalError(base::Cat("replicas ended on their own: ", ends));
}

// ---------------------------------------------------------------------------------------------
// ClientThreads.
// ---------------------------------------------------------------------------------------------

ClientThreads::ClientThreads(const Cluster& cluster, int clients, uint64_t seed, int64_t timeout_ms,
                             Session session)
    : cluster_(cluster), timeout_ms_(timeout_ms), session_(std::move(session)) {
  for (int c = 0; c < clients; ++c) threads_.emplace_back([this, c, seed] { Run(c, seed); });
}

void ClientThreads::Stop() {
  stop_ = true;
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void ClientThreads::Run(int client, uint64_t seed) {
  std::mt19937_64 random(seed + static_cast<uint64_t>(client));
  while (!stop_) {
    const std::vector<int> serving = cluster_.Serving();
    if (serving.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    const int target = serving[random() % serving.size()];
    net::RespClientOptions options;
    options.timeout_ms = timeout_ms_;
    auto connection =
        net::RespClient::Connect("127.0.0.1", cluster_.replica(target).port(), options);
    if (!connection.ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    ClientContext context{.client = client,
                          .replica = target,
                          .connection = **connection,
                          .random = random,
                          .stop = stop_};
    session_(context);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading back.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::vector<TimedReply>> GetAll(uint16_t port, std::span<const std::string> keys,
                                               int64_t timeout_ms) {
  constexpr size_t kBatch = 256;
  net::RespClientOptions options;
  options.timeout_ms = timeout_ms;
  absl::StatusOr<std::unique_ptr<net::RespClient>> client =
      net::RespClient::Connect("127.0.0.1", port, options);
  if (!client.ok()) return client.status();
  std::vector<TimedReply> replies;
  replies.reserve(keys.size());
  for (size_t begin = 0; begin < keys.size(); begin += kBatch) {
    const size_t end = std::min(keys.size(), begin + kBatch);
    const int64_t sent = NowNs();
    for (size_t i = begin; i < end; ++i) {
      if (absl::Status status = (*client)->Send({"GET", keys[i]}); !status.ok()) return status;
    }
    for (size_t i = begin; i < end; ++i) {
      absl::StatusOr<net::RespReply> reply = (*client)->Read();
      if (!reply.ok()) return reply.status();
      replies.push_back({std::move(*reply), sent, NowNs()});
    }
  }
  return replies;
}

absl::Status CheckWrites(const Cluster& cluster, const std::map<std::string, std::string>& writes,
                         size_t* reads) {
  std::vector<std::string> keys;
  keys.reserve(writes.size());
  for (const auto& [key, value] : writes) keys.push_back(key);
  *reads = 0;
  for (int id : cluster.Serving()) {
    absl::StatusOr<std::vector<TimedReply>> replies =
        GetAll(cluster.replica(id).port(), keys, /*timeout_ms=*/10'000);
    if (!replies.ok()) {
      return absl::UnavailableError(
          base::Cat("node ", id, " does not answer: ", replies.status().ToString()));
    }
    size_t i = 0;
    for (const auto& [key, value] : writes) {
      const net::RespReply& reply = (*replies)[i++].reply;
      if (reply.value.type != net::RespValue::Type::kBulkString || reply.value.text != value) {
        return absl::DataLossError(base::Cat("node ", id, " has lost acknowledged write ", key,
                                             " = ", value, " (it answers ", base::Quoted(reply.raw),
                                             ")"));
      }
      ++*reads;
    }
  }
  return absl::OkStatus();
}

}  // namespace keel::examples::raft_kv
