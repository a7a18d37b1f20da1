// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "redis_server.h"

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
#include <thread>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"

namespace keel::net::testing {
namespace {

bool OnPath(const char* name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string_view rest(path);
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    if (!dir.empty() && ::access(base::Cat(dir, "/", name).c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return false;
}

bool Answers(uint16_t port) {
  absl::StatusOr<std::unique_ptr<RespClient>> client =
      RespClient::Connect("127.0.0.1", port, {.timeout_ms = 500});
  if (!client.ok()) return false;
  absl::StatusOr<RespReply> reply = (*client)->Call({"PING"});
  return reply.ok() && reply->raw == "+PONG\r\n";
}

}  // namespace

uint16_t FreePort() {
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

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start() {
  if (!OnPath("redis-server")) return nullptr;
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const uint16_t port = FreePort();
    const std::string port_text = std::to_string(port);
    const pid_t pid = ::fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 1);
      ::dup2(null, 2);
      const std::string dir = std::filesystem::temp_directory_path().string();
      ::execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", port_text.c_str(),
               "--save", "", "--appendonly", "no", "--databases", "1", "--dir", dir.c_str(),
               nullptr);
      ::_exit(127);
    }
    auto server = std::unique_ptr<RedisServer>(new RedisServer(pid, port));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Answers(port)) return server;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        server->pid_ = -1;  // exited (the port was taken, say): try another
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    last = absl::UnavailableError(base::Cat("redis-server did not answer on port ", port));
  }
  return last;
}

RedisServer::~RedisServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

absl::StatusOr<std::string> Exchange(uint16_t port, std::string_view bytes) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<RespClient> client,
                        RespClient::Connect("127.0.0.1", port, {.timeout_ms = 5000}));
  KEEL_RETURN_IF_ERROR(client->SendRaw(bytes));
  client->ShutdownSend();
  return client->ReadUntilClosed();
}

void ReplyAsRedis(RespWriter& writer, std::span<const std::string_view> args, bool& quit) {
  std::string name(args[0]);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto arity = [&] {
    writer.Error(base::Cat("wrong number of arguments for '", name, "' command"));
  };
  if (name == "ping") {
    if (args.size() > 2) return arity();
    if (args.size() == 2) return writer.BulkString(args[1]);
    return writer.SimpleString("PONG");
  }
  if (name == "echo") {
    if (args.size() != 2) return arity();
    return writer.BulkString(args[1]);
  }
  if (name == "quit") {
    quit = true;
    return writer.SimpleString("OK");
  }
  if (name == "hello" && args.size() == 2 && (args[1] == "2" || args[1] == "3")) {
    writer.set_protocol(args[1] == "2" ? Protocol::kResp2 : Protocol::kResp3);
    writer.MapHeader(1);
    writer.BulkString("proto");
    writer.Integer(args[1] == "2" ? 2 : 3);
    return;
  }
  // server.c processCommand: the name and the first arguments, up to 128 bytes of them, each
  // printed with %.*s (so a NUL ends it), and line breaks made spaces by the error writer.
  std::string listed;
  for (size_t i = 1; i < args.size() && listed.size() < 128; ++i) {
    std::string_view arg = args[i].substr(0, 128 - listed.size());
    arg = arg.substr(0, arg.find('\0'));
    listed += base::Cat("'", arg, "' ");
  }
  std::string_view shown_name = std::string_view(args[0]).substr(0, 128);
  shown_name = shown_name.substr(0, shown_name.find('\0'));
  writer.Error(base::Cat("unknown command '", shown_name, "', with args beginning with: ", listed));
}

void EchoSession::OnCommand(Connection& connection, std::span<const std::string_view> args) {
  bool quit = false;
  ReplyAsRedis(connection.writer(), args, quit);
  if (quit) connection.CloseAfterReply();
}

}  // namespace keel::net::testing
