// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "redis_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"

namespace keel::testing {
namespace {

bool Answers(uint16_t port) {
  auto client = net::RespClient::Connect("127.0.0.1", port, {.timeout_ms = 500});
  if (!client.ok()) return false;
  auto reply = (*client)->Call({"PING"});
  return reply.ok() && reply->raw == "+PONG\r\n";
}

}  // namespace

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "";
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

uint16_t FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  KEEL_ASSERT(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  KEEL_ASSERT(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  KEEL_ASSERT(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

absl::StatusOr<std::unique_ptr<RedisProcess>> RedisProcess::Start(
    const RedisProcessOptions& options) {
  const std::string binary = FindOnPath("redis-server");
  if (binary.empty()) return absl::NotFoundError("redis-server is not on PATH");
  return Launch(binary, [&](uint16_t port, const std::string& dir) {
    std::vector<std::string> args = {"--bind",       "127.0.0.1",
                                     "--port",       base::Cat(port),
                                     "--save",       "",
                                     "--appendonly", "no",
                                     "--databases",  "1",
                                     "--dir",        dir,
                                     "--logfile",    dir + "/redis.log"};
    if (options.cluster) {
      uint16_t bus = FreeLoopbackPort();
      while (bus == port) bus = FreeLoopbackPort();
      args.insert(args.end(), {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                               "--cluster-port", base::Cat(bus)});
    }
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
    return args;
  });
}

absl::StatusOr<std::unique_ptr<RedisProcess>> RedisProcess::StartKeelServer(
    const std::string& binary, const std::vector<std::string>& extra_args) {
  return Launch(binary, [&](uint16_t port, const std::string&) {
    std::vector<std::string> args = {"--bind", "127.0.0.1", "--port", base::Cat(port)};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return args;
  });
}

absl::StatusOr<std::unique_ptr<RedisProcess>> RedisProcess::Launch(
    const std::string& binary,
    const std::function<std::vector<std::string>(uint16_t port, const std::string& dir)>&
        args_for) {
  absl::Status last;
  // A port found free can be taken before the server binds it: then try another.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string dir = (std::filesystem::temp_directory_path() / "keel-redis-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) return absl::InternalError("mkdtemp failed");
    const uint16_t port = FreeLoopbackPort();
    std::vector<std::string> args = args_for(port, dir);
    args.insert(args.begin(), binary);
    const std::string log = dir + "/redis.log";
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      // What the server prints goes to the log (redis-server writes its own there instead).
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (out >= 0) {
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
      }
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
    auto server = std::unique_ptr<RedisProcess>(new RedisProcess(dir, pid, port));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Answers(port)) return server;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        server->pid_ = -1;  // it exited (the port was taken, say): try another
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    last = absl::UnavailableError(
        base::Cat(binary, " did not answer on port ", port, "; its log: ", server->Log()));
  }
  return last;
}

void RedisProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

RedisProcess::~RedisProcess() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisProcess::Log() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace keel::testing
