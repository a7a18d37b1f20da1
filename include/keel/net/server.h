// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Server: a TCP server speaking RESP, on Boost.Asio: the network half of keel-server, and the
// layer later keel servers build on. It accepts connections, parses each one's requests with
// RespParser, hands every command to that connection's Session (the command layer, which the
// user supplies through a factory), and writes the replies the session produced through its
// RespWriter.
//
// Threads. The server runs `threads` threads, each with its own io_context; every connection is
// assigned to one of them (round robin) when it is accepted and lives there until it closes. All
// of a connection's work (reading, parsing, its session's OnCommand calls, writing) runs on that
// one thread, one step at a time, so a session needs no lock for its own state and replies leave
// in the order the requests came, with no strand and no handoff on the hot path. What sessions
// share (a keyspace) is theirs to protect, or to shard by thread. The listening socket lives on
// the first thread.
//
// Pipelining. After each read, every complete command in the input is executed before anything
// is written, and their replies leave together in one write (as Redis does between two event
// loop iterations); the next read is started at once, without waiting for the write.
//
// Slow readers (Redis's client-output-buffer-limit, "hard" limit). Replies wait in the
// connection's output buffer until the socket takes them. A client that sends requests and does
// not read the replies makes that buffer grow; once a connection's pending output (written by
// sessions, not yet accepted by the kernel) passes its limit, the connection is closed at once,
// without a reply, and counted in stats().output_buffer_disconnections. It never slows anyone
// else: no thread waits on a socket. The limit is max_output_buffer_bytes, and a session can set
// its own connection's (a subscriber gets Redis's pub/sub class limit, say). A request larger
// than max_query_buffer_bytes while still incomplete closes the connection the same way
// (client-query-buffer-limit).
//
// Protocol errors. A request the parser rejects gets "-ERR Protocol error: ..." after the
// replies of the requests before it, and the connection is closed once those are written; the
// server reads nothing more from it (Redis's CLIENT_CLOSE_AFTER_REPLY). So does a session that
// calls CloseAfterReply (QUIT). Before closing, the server shuts its sending side down and
// drains the client's input for up to close_linger_ms, so that the client's kernel receives the
// last reply instead of a reset.
//
// Held replies (durability). A session whose replies must not leave before something else has
// happened (their writes are on the disk) calls HoldOutput in OnBatchEnd: the connection then
// sends nothing and reads nothing more until the session, from a task posted to it, calls
// ReleaseOutput (send them) or Abort (close without sending them). The thread is not blocked
// meanwhile: other connections go on, and their waits can share one fsync.
//
// Messages from other threads (pub/sub delivery). ConnectionRef::Post and Server::Post run a
// task on the connection's thread, where it writes through the connection's writer exactly as a
// session does (so the message is encoded in the connection's protocol); the output is then
// flushed and its limit checked.
//
// Stop closes the listening socket and every connection (each session's OnClose runs on its
// thread) and joins the threads.
//
// Example (an echo server):
//
//   class EchoSession : public keel::net::Session {
//    public:
//     void OnCommand(keel::net::Connection& connection,
//                    std::span<const std::string_view> args) override {
//       connection.writer().BulkString(args.back());
//     }
//   };
//
//   KEEL_ASSIGN_OR_RETURN(
//       std::unique_ptr<keel::net::Server> server,
//       keel::net::Server::Start({.port = 0, .threads = 2},
//                                [](keel::net::Connection&) {
//                                  return std::make_unique<EchoSession>();
//                                }));
//   uint16_t port = server->port();  // the port the system chose
//   ...
//   server->Stop();
#ifndef KEEL_NET_SERVER_H_
#define KEEL_NET_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keel/net/resp_parser.h"
#include "keel/net/resp_writer.h"

namespace keel::net {

struct ServerOptions {
  std::string bind_address = "127.0.0.1";  // bind
  uint16_t port = 0;                       // port; 0: the system chooses (see Server::port())
  size_t threads = 1;                      // io threads, each with its own connections
  size_t max_clients = 10'000;             // maxclients: beyond it, an error reply and a close
  // client-output-buffer-limit (hard): pending output that closes the connection. Redis leaves
  // normal clients unlimited and gives pub/sub clients 32 MiB; keel bounds every connection, at
  // a size no single ordinary reply reaches.
  size_t max_output_buffer_bytes = size_t{256} * 1024 * 1024;
  // client-query-buffer-limit: an incomplete request holding more input closes the connection.
  size_t max_query_buffer_bytes = size_t{1024} * 1024 * 1024;
  size_t read_bytes = 16 * 1024;   // PROTO_IOBUF_LEN: what one read asks the socket for
  int listen_backlog = 511;        // tcp-backlog
  int64_t close_linger_ms = 1000;  // see "Protocol errors" above
  RespParserOptions parser = {};
};

// Counters for INFO (its "clients" and "stats" sections). Read them with Server::stats().
struct ServerStats {
  uint64_t connected_clients = 0;
  uint64_t total_connections_received = 0;
  uint64_t rejected_connections = 0;  // refused past max_clients
  uint64_t total_commands_processed = 0;
  uint64_t protocol_errors = 0;
  uint64_t output_buffer_disconnections = 0;  // closed past their output buffer limit
  uint64_t query_buffer_disconnections = 0;   // closed past max_query_buffer_bytes
  uint64_t total_net_input_bytes = 0;
  uint64_t total_net_output_bytes = 0;
};

class Connection;
class Server;

// A thread-safe handle to a connection, which may outlive it: posting to a closed connection
// does nothing and returns false.
class ConnectionRef {
 public:
  ConnectionRef() = default;

  // Runs `task` on the connection's thread, then flushes its output (see Server above). False
  // if the connection has closed (the task is dropped, unrun). May be called from any thread,
  // until the Server is destroyed.
  bool Post(std::function<void(Connection&)> task) const;

  [[nodiscard]] uint64_t id() const { return id_; }

 private:
  friend class Connection;
  ConnectionRef(std::weak_ptr<Connection> connection, uint64_t id)
      : connection_(std::move(connection)), id_(id) {}
  std::weak_ptr<Connection> connection_;
  uint64_t id_ = 0;
};

// One client's connection, as its session sees it. Every method must be called on the
// connection's own thread (in OnCommand, OnClose, or a posted task), except ref().
class Connection {
 public:
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  virtual ~Connection() = default;

  // Unique for the server's lifetime, from 1 (CLIENT ID).
  [[nodiscard]] uint64_t id() const { return id_; }
  // "127.0.0.1:53124"
  [[nodiscard]] const std::string& peer_address() const { return peer_address_; }
  // Which of the server's threads the connection lives on, from 0.
  [[nodiscard]] size_t thread_index() const { return thread_index_; }

  // Replies go here; set_protocol on it switches the connection's protocol (HELLO).
  [[nodiscard]] RespWriter& writer() { return writer_; }

  // Reads nothing more; closes once everything written so far has been sent (QUIT).
  void CloseAfterReply() { close_after_reply_ = true; }
  [[nodiscard]] bool closing() const { return close_after_reply_; }

  // Keeps everything written so far, and after, from being sent, and stops reading, until
  // ReleaseOutput (see "Held replies" above). The output buffer limit still applies.
  virtual void HoldOutput() = 0;
  [[nodiscard]] bool output_held() const { return output_held_; }
  // Sends what was held and reads on.
  virtual void ReleaseOutput() = 0;
  // Closes now without sending anything still unsent; the session's OnClose runs and the
  // session is destroyed before it returns, so call it from a posted task (ConnectionRef::Post),
  // never from the session's own OnCommand or OnBatchEnd. The connection must not be used after.
  virtual void Abort() = 0;

  [[nodiscard]] size_t output_buffer_limit() const { return output_buffer_limit_; }
  void set_output_buffer_limit(size_t bytes) { output_buffer_limit_ = bytes; }
  // Replies written and not yet taken by the socket.
  [[nodiscard]] size_t pending_output_bytes() const { return output_.size() + sending_bytes_; }

  // A handle other threads can post to.
  [[nodiscard]] ConnectionRef ref() const { return ConnectionRef(self_, id_); }

 protected:
  Connection(uint64_t id, size_t thread_index, std::string peer_address, size_t output_limit)
      : id_(id),
        thread_index_(thread_index),
        peer_address_(std::move(peer_address)),
        output_buffer_limit_(output_limit) {}

  // Runs a task on the connection's thread (ConnectionRef::Post).
  virtual bool Dispatch(std::function<void(Connection&)> task) = 0;

  std::weak_ptr<Connection> self_;
  std::string output_;
  RespWriter writer_{output_};
  size_t sending_bytes_ = 0;
  bool close_after_reply_ = false;
  bool output_held_ = false;

 private:
  friend class ConnectionRef;
  uint64_t id_;
  size_t thread_index_;
  std::string peer_address_;
  size_t output_buffer_limit_;
};

// The command layer of one connection, created when the connection is accepted and destroyed
// on its thread when it closes.
class Session {
 public:
  virtual ~Session() = default;
  // One command (args is never empty; args[0] is its name as the client sent it). Write its
  // reply, or replies, through connection.writer(). The views are valid only during the call.
  virtual void OnCommand(Connection& connection, std::span<const std::string_view> args) = 0;
  // The commands of one read have all run; their replies are sent after this returns, unless
  // it holds them (Connection::HoldOutput).
  virtual void OnBatchEnd(Connection& connection) { static_cast<void>(connection); }
  // The connection has closed, for whatever reason; nothing written now is sent.
  virtual void OnClose(Connection& connection) { static_cast<void>(connection); }
};

// Called on the connection's thread for each accepted connection.
using SessionFactory = std::function<std::unique_ptr<Session>(Connection&)>;

class Server {
 public:
  // Binds, listens and starts the threads. kInvalidArgument for a bad bind address or option,
  // kUnavailable when the address cannot be bound (in use, not local), naming it.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                                     SessionFactory factory);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();  // Stop()

  // The port listened on (the system's choice when options.port was 0).
  [[nodiscard]] uint16_t port() const;

  // Runs `task` on connection `id`'s thread (see ConnectionRef::Post); false if there is no
  // open connection with that id. Any thread.
  bool Post(uint64_t id, std::function<void(Connection&)> task);

  // A snapshot of the counters; any thread.
  [[nodiscard]] ServerStats stats() const;

  // Stops accepting, closes every connection, and joins the threads. Idempotent; any thread
  // but the server's own.
  void Stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::net

#endif  // KEEL_NET_SERVER_H_
