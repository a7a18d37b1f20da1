// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Client: the side of the message_queue tool's loopback protocol (wire.h) that a process runs
// when another process owns the data directory: one connection to the owner (server.h), on which
// ProduceVia or ConsumeVia opens one session that the owner runs on its cluster.
//
// A Boost.Asio io thread reads the owner's frames: answers to requests wait in a queue for the
// thread that asked (requests are answered in order, one at a time), and LineAcked and
// LineFailed go straight to the produce session's callback, on the io thread. Once the owner
// closes the connection or sends Handover, every call returns an IsOwnerLost error (answers
// already received are still handed out first), and no callback runs after that.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(std::shared_ptr<Client> client, Client::Connect(port, token, 1000));
//   KEEL_ASSIGN_OR_RETURN(auto session, ConsumeVia(client, {.topic = "t", .group = "g"}));
//   KEEL_ASSIGN_OR_RETURN(std::vector<Delivered> got, session->Poll(100));
#ifndef KEEL_EXAMPLES_MESSAGE_QUEUE_CLIENT_H_
#define KEEL_EXAMPLES_MESSAGE_QUEUE_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "sessions.h"
#include "wire.h"

namespace keel::examples {

class Client {
 public:
  // Connects to 127.0.0.1:`port` and says Hello with `token`. Errors: kUnavailable (IsOwnerLost)
  // when nothing listens there or what does is not the owner that advertised `token` (it answers
  // otherwise, or not within `timeout_ms`): a stale advertisement.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<Client>> Connect(uint16_t port,
                                                                       uint64_t token,
                                                                       int64_t timeout_ms);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  // Closes the connection and joins the io thread: no callback runs after this returns.
  ~Client();

  [[nodiscard]] const wire::Welcome& welcome() const { return welcome_; }

  // Where LineAcked and LineFailed go. Set it before the first ProduceLine.
  void OnLine(LineCallback callback);

  // Queues a frame for the owner. Errors: the IsOwnerLost error once the owner is gone.
  [[nodiscard]] absl::Status Post(const wire::Frame& frame);
  // The next answer (Welcome, Done or Messages), waiting for it until `deadline` (none: for as
  // long as it takes). Errors: IsOwnerLost, once the answers received are used up; a frame
  // that is not an answer ends the connection with kInternal.
  [[nodiscard]] absl::StatusOr<wire::Frame> Await(
      std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
  // Post, then Await.
  [[nodiscard]] absl::StatusOr<wire::Frame> Call(const wire::Frame& request);

  // OK, or the IsOwnerLost error once the owner is gone.
  [[nodiscard]] absl::Status Health() const;

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  wire::Welcome welcome_;
};

// Opens a session on the owner's cluster, as ProduceOn and ConsumeOn do on a local one (the
// same errors, carried over). A client carries one produce session; a consume session may be
// opened again after a failed open (a topic that did not exist yet).
[[nodiscard]] absl::StatusOr<std::unique_ptr<ProduceSession>> ProduceVia(
    std::shared_ptr<Client> client, const ProduceRequest& request, LineCallback callback);
[[nodiscard]] absl::StatusOr<std::unique_ptr<ConsumeSession>> ConsumeVia(
    std::shared_ptr<Client> client, const ConsumeRequest& request);

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_MESSAGE_QUEUE_CLIENT_H_
