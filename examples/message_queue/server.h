// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Server: the side of the message_queue tool's loopback protocol (wire.h) that the process owning
// a data directory runs, so that the other processes started on the directory have their
// produce and consume carried out on its open cluster instead of each opening (and recovering)
// the cluster in turn.
//
// It listens on 127.0.0.1 only, on a port the system chooses. Each connection is one client's
// session (sessions.h: ProduceOn or ConsumeOn on the owner's cluster); the Boost.Asio io thread
// reads and writes every connection, and the sessions' cluster calls (which block: a flush waits
// for acknowledgements, a commit for a sync) run on a small pool of worker threads, each
// session's in order on its own strand. A client that sends lines faster than the cluster
// acknowledges them stops being read while max_lines_in_flight of its lines are unanswered.
//
// Stop hands the clients over: each produce session is flushed, so that every line it took is
// answered, then every client is sent Handover and its connection closed; a consume session
// leaves its group without committing (its client committed what it printed). The clients then
// reach the directory again (access.h): its next owner, or the directory itself.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto server, Server::Start(*cluster, {.token = token}));
//   ... advertise server->port() and token ...
//   server->Stop();  // before the cluster closes
#ifndef KEEL_EXAMPLES_MESSAGE_QUEUE_SERVER_H_
#define KEEL_EXAMPLES_MESSAGE_QUEUE_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "keel/mq/cluster.h"

namespace keel::examples {

struct ServerOptions {
  uint64_t token = 0;  // a client's Hello must carry it
  size_t max_sessions = 64;
  size_t max_lines_in_flight = 4096;  // per produce session
  uint32_t worker_threads = 4;
  int64_t hello_timeout_ms = 10'000;  // a connection that sends no Hello by then is closed
  int64_t drain_timeout_ms = 30'000;  // Stop closes what has not finished by then
};

class Server {
 public:
  // Listens and serves until Stop. `cluster` must outlive the server.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Start(mq::Cluster& cluster,
                                                                     const ServerOptions& options);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();  // Stop()

  [[nodiscard]] uint16_t port() const;

  // Stops accepting, hands every client over (see above) and returns once every connection has
  // closed (at most drain_timeout_ms, then the rest are closed as they are) and no session is
  // left on the cluster. Idempotent.
  void Stop();

  // Sessions served so far (for tests and --verbose).
  [[nodiscard]] uint64_t sessions_served() const;
  // The most frames one finished session's connection ever had waiting to be written (for tests:
  // a client that sends and never reads holds at most max_lines_in_flight answers there, or one
  // reply).
  [[nodiscard]] size_t max_queued_frames() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_MESSAGE_QUEUE_SERVER_H_
