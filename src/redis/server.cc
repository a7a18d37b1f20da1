// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/redis/server.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "keel/base/strings.h"

namespace keel::redis {
namespace {

// One connection's command layer: its engine client state, kept in step with the connection.
class RedisSession final : public net::Session {
 public:
  RedisSession(Engine& engine, net::Connection& connection)
      : engine_(engine), client_(engine.NewClient()) {
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
    engine_.Execute(client_, connection.writer(), args);
    if (client_.close_after_reply) connection.CloseAfterReply();
  }

  void OnClose(net::Connection&) override { engine_.Disconnect(client_); }

 private:
  Engine& engine_;
  ClientState client_;
};

}  // namespace

struct Server::Impl {
  std::unique_ptr<Engine> engine;
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
  impl->engine = Engine::Create(engine_options);
  Engine* engine = impl->engine.get();
  auto network = net::Server::Start(options.network, [engine](net::Connection& connection) {
    return std::make_unique<RedisSession>(*engine, connection);
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
  impl_->network->Stop();
}

}  // namespace keel::redis
