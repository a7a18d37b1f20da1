// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// RespClient: a small blocking Redis client, for tests, tools and examples that talk to a
// keel-server or a redis-server (the leaderboard example's --server HOST:PORT). It sends
// commands as arrays of bulk strings, or any raw bytes (to send malformed requests on purpose),
// and reads replies one at a time with RespReader, keeping each reply's exact bytes. Every
// operation has a deadline, so a test against a server that stops answering fails instead of
// hanging.
//
// Built on Boost.Asio; the header keeps Asio out of the code that includes it.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<keel::net::RespClient> client,
//                         keel::net::RespClient::Connect("127.0.0.1", 6379));
//   KEEL_ASSIGN_OR_RETURN(keel::net::RespReply reply, client->Call({"ZSCORE", "board", "ann"}));
//   // reply.raw == "$2\r\n42\r\n", reply.value.text == "42"
//
// Pipelining: Send several commands, then read as many replies. Not thread-safe.
#ifndef KEEL_NET_RESP_CLIENT_H_
#define KEEL_NET_RESP_CLIENT_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/net/resp_reader.h"

namespace keel::net {

struct RespClientOptions {
  // The longest any one Connect, Send, Read or Call may take.
  int64_t timeout_ms = 10'000;
  RespReaderOptions reader = {};
};

class RespClient {
 public:
  // Connects to host:port (a name or an address). kUnavailable if nothing accepts there,
  // kDeadlineExceeded past the timeout, kInvalidArgument for a host that does not resolve.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RespClient>> Connect(
      std::string_view host, uint16_t port, const RespClientOptions& options = {});
  // "HOST:PORT" (a port alone means 127.0.0.1).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RespClient>> Connect(
      std::string_view host_port, const RespClientOptions& options = {});

  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;
  ~RespClient();

  // Sends a command as an array of bulk strings.
  [[nodiscard]] absl::Status Send(std::span<const std::string_view> args);
  [[nodiscard]] absl::Status Send(std::initializer_list<std::string_view> args) {
    return Send(std::span<const std::string_view>(args.begin(), args.size()));
  }
  // Sends bytes as they are (inline commands, pipelines built by hand, malformed requests).
  [[nodiscard]] absl::Status SendRaw(std::string_view bytes);

  // Reads the next reply. kUnavailable if the server closes the connection first (with the
  // bytes of an incomplete reply in the message), kDeadlineExceeded past the timeout,
  // kInvalidArgument if the server sends something that is not RESP.
  [[nodiscard]] absl::StatusOr<RespReply> Read();

  // Send, then Read.
  [[nodiscard]] absl::StatusOr<RespReply> Call(std::span<const std::string_view> args);
  [[nodiscard]] absl::StatusOr<RespReply> Call(std::initializer_list<std::string_view> args) {
    return Call(std::span<const std::string_view>(args.begin(), args.size()));
  }

  // Reads everything until the server closes the connection, without parsing it: the bytes
  // left over from earlier reads first. For checking what a server sends before it hangs up
  // (a protocol error's reply). kDeadlineExceeded if it does not close in time.
  [[nodiscard]] absl::StatusOr<std::string> ReadUntilClosed();

  // Closes the sending side (the server sees end of input) and keeps the receiving side open.
  void ShutdownSend();

  struct Impl;

 private:
  explicit RespClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::net

#endif  // KEEL_NET_RESP_CLIENT_H_
