// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The server's parts: a session per connection over the engine, the durability waiter that
// holds replies until their writes are on the disk, and the active expiry timer.
#include "keel/redis/server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::redis {
namespace {

// Under appendfsync always, a reply must not leave before its write is synced. Sessions hand
// their batch's largest token here and hold their connection's output; this thread waits for
// everything handed over since its last wait at once, so that one fsync covers every connection
// waiting meanwhile (group commit across clients, as Redis's one fsync per event loop
// iteration), then releases each connection's replies. If the write failed, the connection is
// closed without them: the client must not take the writes as done (the engine then refuses
// writes with MISCONF). The I/O threads never block on the disk.
class DurabilityWaiter {
 public:
  explicit DurabilityWaiter(Engine& engine) : engine_(engine), thread_([this] { Run(); }) {}
  ~DurabilityWaiter() { Shutdown(); }

  // Stops the thread: before the network stops, so that nothing posts to a connection while
  // the network is closing them (a connection still held is closed by that stop). Idempotent.
  void Shutdown() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  DurabilityWaiter(const DurabilityWaiter&) = delete;
  DurabilityWaiter& operator=(const DurabilityWaiter&) = delete;

  // On the connection's thread, which has held its output. After Shutdown the connection stays
  // held until the network's stop closes it.
  void Await(uint64_t token, net::ConnectionRef connection) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      waiting_.push_back({token, std::move(connection)});
    }
    wake_.notify_one();
  }

 private:
  struct Waiter {
    uint64_t token;
    net::ConnectionRef connection;
  };

  void Run() {
    std::vector<Waiter> batch;
    std::unique_lock lock(mu_);
    while (true) {
      wake_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
      // Connections still waiting at the stop are being closed by the network's Stop.
      if (stopping_) return;
      batch.swap(waiting_);
      lock.unlock();
      uint64_t token = 0;
      for (const Waiter& w : batch) token = std::max(token, w.token);
      const absl::Status status = engine_.WaitDurable(token);
      for (const Waiter& w : batch) {
        w.connection.Post([ok = status.ok()](net::Connection& c) {
          if (ok) {
            c.ReleaseOutput();
          } else {
            c.Abort();
          }
        });
      }
      batch.clear();
      lock.lock();
    }
  }

  Engine& engine_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Waiter> waiting_;  // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  std::thread thread_;           // last: starts once the rest is built
};

// One connection's command layer: its engine client state, kept in step with the connection.
class RedisSession final : public net::Session {
 public:
  // `waiter` is null unless replies wait for fsyncs (appendfsync always).
  RedisSession(Engine& engine, DurabilityWaiter* waiter, net::Connection& connection)
      : engine_(engine), waiter_(waiter), client_(engine.NewClient()) {
    client_.peer_address = connection.peer_address();
    // Pub/sub messages for this client are written on its connection's thread. A task posted to
    // a connection that has closed meanwhile is dropped unrun, so `this` is alive when it runs.
    client_.wake = [this, ref = connection.ref()] {
      ref.Post([this](net::Connection& c) {
        if (!engine_.DeliverMessages(client_, c.writer())) c.CloseAfterReply();
      });
    };
  }

  void OnCommand(net::Connection& connection, std::span<const std::string_view> args) override {
    token_ = std::max(token_, engine_.Execute(client_, connection.writer(), args));
    if (client_.close_after_reply) connection.CloseAfterReply();
  }

  // The batch's replies leave once its writes are logged: written to the operating system (so
  // that the process dying loses none), and under appendfsync always synced as well.
  void OnBatchEnd(net::Connection& connection) override {
    if (token_ == 0) return;
    const uint64_t token = std::exchange(token_, 0);
    if (waiter_ != nullptr) {
      connection.HoldOutput();
      return waiter_->Await(token, connection.ref());
    }
    // A write to the operating system is short: done here, on the connection's thread.
    if (engine_.WaitDurable(token).ok()) return;
    // Closing destroys this session: not from inside its own call.
    connection.HoldOutput();
    connection.ref().Post([](net::Connection& c) { c.Abort(); });
  }

  void OnClose(net::Connection&) override { engine_.Disconnect(client_); }

 private:
  Engine& engine_;
  DurabilityWaiter* const waiter_;
  ClientState client_;
  uint64_t token_ = 0;  // the largest of the batch so far
};

}  // namespace

struct Server::Impl {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<DurabilityWaiter> waiter;  // under appendfsync always
  std::unique_ptr<net::Server> network;
  ServerOptions options;

  // The active expiry timer.
  std::thread expirer;
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;

  void RunExpiry() {
    std::unique_lock lock(mu);
    while (!stopping) {
      wake.wait_for(lock, std::chrono::milliseconds(options.expire_cycle_ms));
      if (stopping) break;
      lock.unlock();
      // Like Redis's active cycle: keep going while a pass finds a full batch to delete.
      while (engine->ExpireCycle(options.expire_cycle_keys) == options.expire_cycle_keys) {
      }
      lock.lock();
    }
  }
};

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  EngineOptions engine_options = options.engine;
  engine_options.io_threads = options.network.threads;
  KEEL_ASSIGN_OR_RETURN(impl->engine, Engine::Open(engine_options));
  Engine* engine = impl->engine.get();
  if (!options.engine.dir.empty() && options.engine.fsync == FsyncPolicy::kAlways) {
    impl->waiter = std::make_unique<DurabilityWaiter>(*engine);
  }
  DurabilityWaiter* waiter = impl->waiter.get();
  auto network = net::Server::Start(options.network, [engine, waiter](net::Connection& connection) {
    return std::make_unique<RedisSession>(*engine, waiter, connection);
  });
  if (!network.ok()) return network.status();
  impl->network = *std::move(network);
  impl->engine->set_tcp_port(impl->network->port());
  net::Server* server = impl->network.get();
  const size_t max_clients = options.network.max_clients;
  impl->engine->set_info_source([server, max_clients](std::string& out, std::string_view section) {
    const net::ServerStats s = server->stats();
    if (section == "clients") {
      out += base::Cat("connected_clients:", s.connected_clients, "\r\n");
      out += base::Cat("maxclients:", max_clients, "\r\n");
    } else if (section == "stats") {
      out += base::Cat(
          "total_connections_received:", s.total_connections_received, "\r\n",
          "rejected_connections:", s.rejected_connections, "\r\n",
          "total_net_input_bytes:", s.total_net_input_bytes, "\r\n",
          "total_net_output_bytes:", s.total_net_output_bytes, "\r\n",
          "client_output_buffer_limit_disconnections:", s.output_buffer_disconnections, "\r\n",
          "client_query_buffer_limit_disconnections:", s.query_buffer_disconnections, "\r\n");
    }
  });
  Impl* raw = impl.get();
  impl->expirer = std::thread([raw] { raw->RunExpiry(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

uint16_t Server::port() const { return impl_->network->port(); }
Engine& Server::engine() { return *impl_->engine; }
net::ServerStats Server::network_stats() const { return impl_->network->stats(); }

void Server::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->expirer.joinable()) impl_->expirer.join();
  if (impl_->waiter != nullptr) impl_->waiter->Shutdown();
  impl_->network->Stop();
}

}  // namespace keel::redis
