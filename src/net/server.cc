// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The server's machinery: one io_context per thread, a listening socket on the first, and a
// ConnectionImpl per client on its assigned thread. A connection's handlers hold a shared_ptr
// to it, so it lives while an operation of its own is pending; the server's registry holds only
// weak references (for Post by id and for Stop).
#include "keel/net/server.h"

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// (the line above must come first)
#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A connection's buffers are released when idle if they grew past this.
constexpr size_t kIdleBufferBytes = 64 * 1024;
// Redis's reply to a connection past maxclients.
constexpr std::string_view kMaxClientsReply = "-ERR max number of clients reached\r\n";

struct Counters {
  std::atomic<uint64_t> connected_clients{0};
  std::atomic<uint64_t> total_connections_received{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<uint64_t> total_commands_processed{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<uint64_t> output_buffer_disconnections{0};
  std::atomic<uint64_t> query_buffer_disconnections{0};
  std::atomic<uint64_t> total_net_input_bytes{0};
  std::atomic<uint64_t> total_net_output_bytes{0};
};

void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

struct Worker {
  // Concurrency hint 1: only this worker's thread runs the context, so Asio can skip locking.
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
      asio::make_work_guard(io)};
  std::thread thread;
};

class ConnectionImpl;

// What the server and its connections share; connections hold it so that it outlives them.
struct Shared {
  Shared(const ServerOptions& server_options, SessionFactory session_factory)
      : options(server_options), factory(std::move(session_factory)) {}

  const ServerOptions options;
  const SessionFactory factory;
  Counters counters;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_id{1};
  std::mutex mutex;
  absl::flat_hash_map<uint64_t, std::weak_ptr<ConnectionImpl>> connections;  // guarded by mutex
};

class ConnectionImpl final : public Connection,
                             public std::enable_shared_from_this<ConnectionImpl> {
 public:
  ConnectionImpl(std::shared_ptr<Shared> shared, std::shared_ptr<Worker> worker, tcp::socket socket,
                 uint64_t id, size_t thread_index, std::string peer)
      : Connection(id, thread_index, std::move(peer), shared->options.max_output_buffer_bytes),
        shared_(std::move(shared)),
        worker_(std::move(worker)),
        socket_(std::move(socket)),
        linger_timer_(worker_->io),
        parser_(shared_->options.parser) {}

  // On the connection's thread, first.
  void Start() {
    self_ = std::weak_ptr<Connection>(shared_from_this());
    if (shared_->stopping.load()) return CloseNow();
    session_ = shared_->factory(*this);
    if (session_ == nullptr) return CloseNow();
    Read();
  }

  // On the connection's thread: closes now, dropping unsent output. Idempotent.
  void CloseNow() {
    if (closed_) return;
    closed_ = true;
    // Released when this returns: it may be the last reference.
    const std::shared_ptr<ConnectionImpl> held = std::move(held_self_);
    open_.store(false);
    boost::system::error_code ignored;
    socket_.close(ignored);
    linger_timer_.cancel();
    {
      std::lock_guard lock(shared_->mutex);
      shared_->connections.erase(id());
    }
    shared_->counters.connected_clients.fetch_sub(1, std::memory_order_relaxed);
    if (session_ != nullptr) {
      session_->OnClose(*this);
      session_.reset();
    }
    output_.clear();
  }

 private:
  bool Dispatch(std::function<void(Connection&)> task) override {
    if (!open_.load() || shared_->stopping.load()) return false;
    asio::post(worker_->io, [self = shared_from_this(), task = std::move(task)] {
      if (self->closed_) return;
      task(*self);
      self->AfterOutput();
    });
    return true;
  }

  void Read() {
    if (reading_ || closed_) return;
    reading_ = true;
    const std::span<char> space = parser_.PrepareAppend(shared_->options.read_bytes);
    socket_.async_read_some(asio::buffer(space.data(), space.size()),
                            [self = shared_from_this()](const boost::system::error_code& error,
                                                        size_t n) { self->OnRead(error, n); });
  }

  void OnRead(const boost::system::error_code& error, size_t n) {
    reading_ = false;
    if (closed_) return;
    if (error) return CloseNow();  // end of input, a reset, or a cancel
    Add(shared_->counters.total_net_input_bytes, n);
    parser_.CommitAppend(n);
    if (lingering_) {
      // Closing: what the client still sends is read only so that the close is not a reset.
      parser_.Reset();
      return Read();
    }
    Process();
  }

  // Executes every complete command read so far, then sends their replies together.
  void Process() {
    while (!close_after_reply_) {
      const RespParser::Result result = parser_.Next();
      if (result == RespParser::Result::kNeedMore) break;
      if (result == RespParser::Result::kError) {
        Add(shared_->counters.protocol_errors, 1);
        writer_.Error(parser_.error());
        close_after_reply_ = true;
        break;
      }
      Add(shared_->counters.total_commands_processed, 1);
      session_->OnCommand(*this, parser_.args());
      if (OverOutputLimit()) return;
    }
    if (parser_.buffered_bytes() > shared_->options.max_query_buffer_bytes) {
      Add(shared_->counters.query_buffer_disconnections, 1);
      return CloseNow();
    }
    parser_.ShrinkIfIdle(kIdleBufferBytes);
    session_->OnBatchEnd(*this);
    if (closed_) return;  // the session aborted
    Flush();
    if (!close_after_reply_ && !output_held_) Read();
  }

  void HoldOutput() override {
    if (closed_) return;
    output_held_ = true;
    // With no read or write pending, nothing else would keep the connection alive.
    held_self_ = shared_from_this();
  }

  void ReleaseOutput() override {
    if (!output_held_ || closed_) return;
    output_held_ = false;
    const std::shared_ptr<ConnectionImpl> self = std::move(held_self_);
    Flush();
    if (!close_after_reply_) Read();
  }

  void Abort() override { CloseNow(); }

  // After a posted task wrote (or not).
  void AfterOutput() {
    if (OverOutputLimit()) return;
    Flush();
  }

  // Closes the connection if its pending output passed its limit.
  bool OverOutputLimit() {
    if (pending_output_bytes() <= output_buffer_limit()) return false;
    Add(shared_->counters.output_buffer_disconnections, 1);
    CloseNow();
    return true;
  }

  void Flush() {
    if (closed_ || writing_ || output_held_) return;
    if (output_.empty()) {
      if (close_after_reply_ && !lingering_) Linger();
      return;
    }
    KEEL_ASSERT(writer_.open_deferred() == 0, "a session left a deferred length open");
    sending_.swap(output_);
    output_.clear();
    sending_bytes_ = sending_.size();
    writing_ = true;
    asio::async_write(socket_, asio::buffer(sending_),
                      [self = shared_from_this()](const boost::system::error_code& error,
                                                  size_t n) { self->OnWritten(error, n); });
  }

  void OnWritten(const boost::system::error_code& error, size_t n) {
    writing_ = false;
    sending_bytes_ = 0;
    Add(shared_->counters.total_net_output_bytes, n);
    if (closed_) return;
    if (error) return CloseNow();
    sending_.clear();
    if (sending_.capacity() > kIdleBufferBytes) std::string().swap(sending_);
    Flush();
  }

  // Everything is sent and the connection is to close: shut the sending side, then read (and
  // drop) until the client closes or close_linger_ms passes.
  void Linger() {
    lingering_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    parser_.Reset();
    linger_timer_.expires_after(std::chrono::milliseconds(shared_->options.close_linger_ms));
    linger_timer_.async_wait(
        [self = shared_from_this()](const boost::system::error_code&) { self->CloseNow(); });
    Read();
  }

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Worker> worker_;
  tcp::socket socket_;
  asio::steady_timer linger_timer_;
  RespParser parser_;
  std::string sending_;  // the bytes of the write in flight
  std::unique_ptr<Session> session_;
  std::shared_ptr<ConnectionImpl> held_self_;  // while the output is held
  std::atomic<bool> open_{true};               // read by Dispatch on other threads
  bool reading_ = false;
  bool writing_ = false;
  bool lingering_ = false;
  bool closed_ = false;
};

std::string PeerAddress(const tcp::socket& socket) {
  boost::system::error_code error;
  const tcp::endpoint endpoint = socket.remote_endpoint(error);
  if (error) return "?";
  return base::Cat(endpoint.address().to_string(), ":", endpoint.port());
}

}  // namespace

bool ConnectionRef::Post(std::function<void(Connection&)> task) const {
  const std::shared_ptr<Connection> connection = connection_.lock();
  return connection != nullptr && connection->Dispatch(std::move(task));
}

struct Server::Impl {
  explicit Impl(std::shared_ptr<Shared> state)
      : shared(std::move(state)),
        workers(MakeWorkers(this->shared->options.threads)),
        acceptor(workers[0]->io),
        retry_timer(workers[0]->io) {}

  static std::vector<std::shared_ptr<Worker>> MakeWorkers(size_t n) {
    std::vector<std::shared_ptr<Worker>> workers;
    for (size_t i = 0; i < n; ++i) workers.push_back(std::make_shared<Worker>());
    return workers;
  }

  absl::Status Listen() {
    const ServerOptions& options = shared->options;
    const std::string where = base::Cat(options.bind_address, ":", options.port);
    boost::system::error_code error;
    const asio::ip::address address = asio::ip::make_address(options.bind_address, error);
    if (error) {
      return absl::InvalidArgumentError(base::Cat(
          "bad bind address ", base::Quoted(options.bind_address), ": ", error.message()));
    }
    const tcp::endpoint endpoint(address, options.port);
    acceptor.open(endpoint.protocol(), error);
    if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
    if (!error) acceptor.bind(endpoint, error);
    if (!error) acceptor.listen(options.listen_backlog, error);
    if (error) {
      return absl::UnavailableError(base::Cat("cannot listen on ", where, ": ", error.message()));
    }
    port = acceptor.local_endpoint(error).port();
    return absl::OkStatus();
  }

  // On the first worker's thread.
  void Accept() {
    const size_t index = next_worker++ % workers.size();
    acceptor.async_accept(workers[index]->io, [this, index](const boost::system::error_code& error,
                                                            tcp::socket socket) {
      if (error == asio::error::operation_aborted || shared->stopping.load()) return;
      if (error) {
        // Out of descriptors, say: try again shortly rather than spin.
        retry_timer.expires_after(std::chrono::milliseconds(10));
        retry_timer.async_wait([this](const boost::system::error_code& wait_error) {
          if (!wait_error) Accept();
        });
        return;
      }
      Accepted(index, std::move(socket));
      Accept();
    });
  }

  void Accepted(size_t index, tcp::socket socket) {
    Counters& counters = shared->counters;
    Add(counters.total_connections_received, 1);
    boost::system::error_code ignored;
    if (counters.connected_clients.load() >= shared->options.max_clients) {
      // A fresh socket's send buffer is empty: this short write does not block.
      asio::write(socket, asio::buffer(kMaxClientsReply), ignored);
      Add(counters.rejected_connections, 1);
      Add(counters.total_net_output_bytes, kMaxClientsReply.size());
      socket.close(ignored);
      return;
    }
    socket.set_option(tcp::no_delay(true), ignored);
    const uint64_t id = shared->next_id.fetch_add(1);
    std::string peer = PeerAddress(socket);
    auto connection = std::make_shared<ConnectionImpl>(shared, workers[index], std::move(socket),
                                                       id, index, std::move(peer));
    {
      std::lock_guard lock(shared->mutex);
      shared->connections.emplace(id, connection);
    }
    Add(counters.connected_clients, 1);
    asio::post(workers[index]->io, [connection] { connection->Start(); });
  }

  std::shared_ptr<Shared> shared;
  std::vector<std::shared_ptr<Worker>> workers;
  tcp::acceptor acceptor;          // first worker's thread
  asio::steady_timer retry_timer;  // first worker's thread
  size_t next_worker = 0;          // first worker's thread
  uint16_t port = 0;
  std::mutex stop_mutex;
  bool stopped = false;  // guarded by stop_mutex
};

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      SessionFactory factory) {
  if (options.threads == 0) return absl::InvalidArgumentError("ServerOptions.threads is 0");
  if (factory == nullptr) return absl::InvalidArgumentError("no session factory");
  auto impl = std::make_unique<Impl>(std::make_shared<Shared>(options, std::move(factory)));
  KEEL_RETURN_IF_ERROR(impl->Listen());
  Impl* raw = impl.get();
  asio::post(raw->workers[0]->io, [raw] { raw->Accept(); });
  for (const std::shared_ptr<Worker>& worker : raw->workers) {
    worker->thread = std::thread([io = &worker->io] { io->run(); });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

uint16_t Server::port() const { return impl_->port; }

bool Server::Post(uint64_t id, std::function<void(Connection&)> task) {
  std::shared_ptr<ConnectionImpl> connection;
  {
    std::lock_guard lock(impl_->shared->mutex);
    const auto it = impl_->shared->connections.find(id);
    if (it != impl_->shared->connections.end()) connection = it->second.lock();
  }
  return connection != nullptr && connection->ref().Post(std::move(task));
}

ServerStats Server::stats() const {
  const Counters& counters = impl_->shared->counters;
  const auto get = [](const std::atomic<uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  };
  return ServerStats{
      .connected_clients = get(counters.connected_clients),
      .total_connections_received = get(counters.total_connections_received),
      .rejected_connections = get(counters.rejected_connections),
      .total_commands_processed = get(counters.total_commands_processed),
      .protocol_errors = get(counters.protocol_errors),
      .output_buffer_disconnections = get(counters.output_buffer_disconnections),
      .query_buffer_disconnections = get(counters.query_buffer_disconnections),
      .total_net_input_bytes = get(counters.total_net_input_bytes),
      .total_net_output_bytes = get(counters.total_net_output_bytes),
  };
}

void Server::Stop() {
  std::lock_guard stop_lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  Impl& impl = *impl_;
  impl.shared->stopping.store(true);
  asio::post(impl.workers[0]->io, [&impl] {
    boost::system::error_code ignored;
    impl.acceptor.close(ignored);
    impl.retry_timer.cancel();
  });
  std::vector<std::shared_ptr<ConnectionImpl>> open;
  {
    std::lock_guard lock(impl.shared->mutex);
    for (const auto& [id, weak] : impl.shared->connections) {
      if (std::shared_ptr<ConnectionImpl> connection = weak.lock()) open.push_back(connection);
    }
  }
  for (const std::shared_ptr<ConnectionImpl>& connection : open) {
    asio::post(impl.workers[connection->thread_index()]->io,
               [connection] { connection->CloseNow(); });
  }
  open.clear();
  // With nothing left to do (every socket closed, so no operation pending), each context's run()
  // returns and its thread ends.
  for (const std::shared_ptr<Worker>& worker : impl.workers) worker->guard.reset();
  for (const std::shared_ptr<Worker>& worker : impl.workers) worker->thread.join();
  // A task posted while Stop ran may still be queued: run it (its connection is closed, so it
  // does nothing) so that it releases what it holds.
  for (const std::shared_ptr<Worker>& worker : impl.workers) {
    worker->io.restart();
    worker->io.poll();
  }
}

}  // namespace keel::net
