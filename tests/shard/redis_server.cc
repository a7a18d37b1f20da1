// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "keel/base/strings.h"

namespace keel::shard::testing {
namespace {

absl::Status Errno(std::string_view what) {
  return absl::InternalError(base::Cat(what, ": ", std::strerror(errno)));
}

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A port the kernel just handed out on 127.0.0.1 and that nothing holds now. Another process
// could take it before redis-server binds it; Start() then fails, and the test says why.
absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Errno("socket");
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const absl::Status status = Errno("bind 127.0.0.1:0");
    close(fd);
    return status;
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::string Encode(const std::vector<std::vector<std::string>>& commands) {
  std::string out;
  for (const std::vector<std::string>& command : commands) {
    absl::StrAppend(&out, "*", command.size(), "\r\n");
    for (const std::string& argument : command) {
      absl::StrAppend(&out, "$", argument.size(), "\r\n", argument, "\r\n");
    }
  }
  return out;
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
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    bool cluster, const std::vector<std::string>& extra_args) {
  const std::string binary = FindOnPath("redis-server");
  if (binary.empty()) return absl::NotFoundError("redis-server is not on PATH");
  std::unique_ptr<RedisServer> server(new RedisServer());
  absl::StatusOr<int> port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  server->port_ = *port;

  std::vector<std::string> args = {binary,
                                   "--bind",
                                   "127.0.0.1",
                                   "--port",
                                   std::to_string(server->port_),
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   server->dir_.path(),
                                   "--logfile",
                                   server->dir_.path() + "/redis.log"};
  if (cluster) {
    absl::StatusOr<int> bus_port = FreeLoopbackPort();
    while (bus_port.ok() && *bus_port == server->port_) bus_port = FreeLoopbackPort();
    if (!bus_port.ok()) return bus_port.status();
    for (const std::string arg :
         {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port"}) {
      args.push_back(arg);
    }
    args.push_back(std::to_string(*bus_port));
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  server->pid_ = fork();
  if (server->pid_ < 0) return Errno("fork");
  if (server->pid_ == 0) {
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  // Wait up to ten seconds for it to answer PING (it normally takes a few milliseconds). A
  // connection made while it is still starting can be reset; then try again.
  for (int attempt = 0;; ++attempt) {
    if (server->Connect().ok()) {
      absl::StatusOr<std::vector<std::string>> pong = server->Call({{"PING"}});
      if (pong.ok() && (*pong)[0] == "+PONG") break;
      close(server->fd_);
      server->fd_ = -1;
      server->buffer_.clear();
    }
    int status = 0;
    if (waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      return absl::InternalError(base::Cat("redis-server exited at start (status ", status,
                                           "); its log: ", server->Log()));
    }
    if (attempt == 1000) {
      return absl::DeadlineExceededError(
          base::Cat("redis-server did not answer PING; its log: ", server->Log()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return server;
}

std::string RedisServer::Log() const {
  std::ifstream in(dir_.path() + "/redis.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status RedisServer::Connect() {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return Errno("socket");
  const sockaddr_in address = Loopback(port_);
  if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const absl::Status status = Errno("connect");
    close(fd_);
    fd_ = -1;
    return status;
  }
  return absl::OkStatus();
}

RedisServer::~RedisServer() {
  if (fd_ >= 0) close(fd_);
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

absl::StatusOr<std::vector<std::string>> RedisServer::Call(
    const std::vector<std::vector<std::string>>& commands) {
  const std::string request = Encode(commands);
  // Write and read in turns, so that neither side's socket buffer fills while the other waits.
  size_t written = 0;
  std::vector<std::string> replies;
  char chunk[65536];
  while (replies.size() < commands.size()) {
    if (written < request.size()) {
      const ssize_t n = send(fd_, request.data() + written,
                             std::min<size_t>(request.size() - written, 1 << 16), MSG_NOSIGNAL);
      if (n < 0) return Errno("send to redis-server");
      written += static_cast<size_t>(n);
    }
    // Parse every complete reply in the buffer.
    for (;;) {
      if (replies.size() == commands.size()) break;
      const size_t end = buffer_.find("\r\n");
      if (end == std::string::npos) break;
      const char type = buffer_[0];
      const std::string line = buffer_.substr(1, end - 1);
      if (type == ':' || type == '+' || type == '-') {
        replies.push_back(buffer_.substr(0, end));
        buffer_.erase(0, end + 2);
      } else if (type == '$') {
        int64_t length = 0;
        if (!absl::SimpleAtoi(line, &length)) {
          return absl::DataLossError(base::Cat("bad bulk length ", base::Quoted(line)));
        }
        if (length < 0) {
          replies.push_back("$-1");
          buffer_.erase(0, end + 2);
          continue;
        }
        if (buffer_.size() < end + 2 + static_cast<size_t>(length) + 2) break;
        replies.push_back(absl::StrCat(
            "$", absl::string_view(buffer_).substr(end + 2, static_cast<size_t>(length))));
        buffer_.erase(0, end + 2 + static_cast<size_t>(length) + 2);
      } else {
        return absl::UnimplementedError(
            base::Cat("reply type ", base::Quoted(std::string_view(&type, 1)), " not handled"));
      }
    }
    if (replies.size() == commands.size()) break;
    if (written < request.size()) {
      // Read only what is there, so the write side keeps going.
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), MSG_DONTWAIT);
      if (n > 0) buffer_.append(chunk, static_cast<size_t>(n));
      if (n == 0) return absl::UnavailableError("redis-server closed the connection");
      continue;
    }
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0) return Errno("recv from redis-server");
    if (n == 0) return absl::UnavailableError("redis-server closed the connection");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  return replies;
}

}  // namespace keel::shard::testing
