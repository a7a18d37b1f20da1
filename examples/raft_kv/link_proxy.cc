// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Each accepted connection is a Pipe: forwarded (two pumps, one per direction: read some, write
// it all, read again) or black-holed (read and discard). Everything below runs on the proxy's
// thread, except Start, Stop and what the public methods hand over to it. Pipes are held by
// shared_ptr: the handler of each pending operation holds one, so a pipe closed while an
// operation is in flight lives until that operation's handler has run.
#include "raft_kv/link_proxy.h"

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// (the line above must come first)
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::examples::raft_kv {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class Pipe;

struct Link {
  Link(asio::io_context& io, const LinkSpec& link_spec)
      : spec(link_spec),
        acceptor(io),
        retry(io),
        target(asio::ip::address_v4::loopback(), link_spec.target_port) {}

  const LinkSpec spec;
  tcp::acceptor acceptor;
  asio::steady_timer retry;  // after an accept error
  const tcp::endpoint target;
  bool cut = false;
  std::set<std::shared_ptr<Pipe>> pipes;
};

class Pipe : public std::enable_shared_from_this<Pipe> {
 public:
  static constexpr size_t kBufferBytes = 64 * 1024;

  Pipe(Link& link, tcp::socket client, std::atomic<uint64_t>& blackholed)
      : link_(link),
        client_(std::move(client)),
        server_(client_.get_executor()),
        blackholed_bytes_(blackholed),
        upstream_(kBufferBytes),
        downstream_(kBufferBytes) {}

  [[nodiscard]] bool blackholed() const { return blackholed_; }

  void Start(bool blackhole) {
    boost::system::error_code ignored;
    // Raft's small frames must not wait for Nagle's algorithm here either.
    client_.set_option(tcp::no_delay(true), ignored);
    if (blackhole) {
      blackholed_ = true;
      return Discard();
    }
    server_.async_connect(link_.target,
                          [self = shared_from_this()](const boost::system::error_code& error) {
                            if (self->closed_) return;
                            // The target is down: its caller sees the connection end.
                            if (error) return self->Close();
                            boost::system::error_code no_delay_error;
                            self->server_.set_option(tcp::no_delay(true), no_delay_error);
                            self->Pump(self->client_, self->server_, self->upstream_);
                            self->Pump(self->server_, self->client_, self->downstream_);
                          });
  }

  // Closes both sockets and leaves the link's set. Idempotent.
  void Close() {
    if (closed_) return;
    closed_ = true;
    const std::shared_ptr<Pipe> self = shared_from_this();  // the set may hold the last one
    boost::system::error_code ignored;
    client_.close(ignored);
    server_.close(ignored);
    link_.pipes.erase(self);
  }

 private:
  void Pump(tcp::socket& from, tcp::socket& to, std::vector<char>& buffer) {
    from.async_read_some(
        asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                  const boost::system::error_code& error, size_t n) {
          if (self->closed_) return;
          if (error) return self->Close();
          asio::async_write(
              to, asio::buffer(buffer.data(), n),
              [self, &from, &to, &buffer](const boost::system::error_code& write_error, size_t) {
                if (self->closed_) return;
                if (write_error) return self->Close();
                self->Pump(from, to, buffer);
              });
        });
  }

  void Discard() {
    client_.async_read_some(
        asio::buffer(upstream_),
        [self = shared_from_this()](const boost::system::error_code& error, size_t n) {
          if (self->closed_) return;
          if (error) return self->Close();
          self->blackholed_bytes_.fetch_add(n, std::memory_order_relaxed);
          self->Discard();
        });
  }

  Link& link_;
  tcp::socket client_;  // the connection the sender dialled
  tcp::socket server_;  // ours, to the target
  std::atomic<uint64_t>& blackholed_bytes_;
  std::vector<char> upstream_;    // client to server
  std::vector<char> downstream_;  // server to client
  bool blackholed_ = false;
  bool closed_ = false;
};

}  // namespace

struct LinkProxy::Impl {
  // Runs `task` on the proxy's thread and waits for it.
  template <typename F>
  void RunAndWait(F task) {
    KEEL_ASSERT(thread.get_id() != std::this_thread::get_id(),
                "LinkProxy's methods are not for its own thread");
    std::promise<void> done;
    asio::post(io, [&] {
      task();
      done.set_value();
    });
    done.get_future().wait();
  }

  void Accept(Link& link) {
    link.acceptor.async_accept(
        [this, &link](const boost::system::error_code& error, tcp::socket socket) {
          if (stopping || error == asio::error::operation_aborted) return;
          if (error) {
            // Out of descriptors, say: try again shortly rather than spin.
            link.retry.expires_after(std::chrono::milliseconds(10));
            link.retry.async_wait([this, &link](const boost::system::error_code& retry_error) {
              if (!retry_error && !stopping) Accept(link);
            });
            return;
          }
          auto pipe = std::make_shared<Pipe>(link, std::move(socket), blackholed);
          link.pipes.insert(pipe);
          pipe->Start(/*blackhole=*/link.cut);
          Accept(link);
        });
  }

  // Closes the link's pipes that `which` selects.
  template <typename Which>
  static void ClosePipes(Link& link, Which which) {
    std::vector<std::shared_ptr<Pipe>> closing;
    for (const std::shared_ptr<Pipe>& pipe : link.pipes) {
      if (which(*pipe)) closing.push_back(pipe);
    }
    for (const std::shared_ptr<Pipe>& pipe : closing) pipe->Close();
  }

  // Declared first among the Asio objects, so destroyed after every object that uses it.
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
      asio::make_work_guard(io)};
  std::vector<std::unique_ptr<Link>> links;
  std::map<std::pair<int, int>, uint16_t> ports;  // set before the thread starts
  std::atomic<uint64_t> blackholed{0};
  bool stopping = false;  // the proxy thread's
  bool stopped = false;   // Stop's caller's
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<LinkProxy>> LinkProxy::Start(const std::vector<LinkSpec>& links) {
  auto impl = std::make_unique<Impl>();
  for (const LinkSpec& spec : links) {
    if (spec.from == spec.to || impl->ports.count({spec.from, spec.to})) {
      return absl::InvalidArgumentError(
          base::Cat("link ", spec.from, " -> ", spec.to, " is to itself or given twice"));
    }
    auto link = std::make_unique<Link>(impl->io, spec);
    boost::system::error_code error;
    const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
    link->acceptor.open(endpoint.protocol(), error);
    if (!error) link->acceptor.bind(endpoint, error);
    if (!error) link->acceptor.listen(tcp::acceptor::max_listen_connections, error);
    uint16_t port = 0;
    if (!error) port = link->acceptor.local_endpoint(error).port();
    if (error) {
      return absl::UnavailableError(
          base::Cat("cannot listen for link ", spec.from, " -> ", spec.to, ": ", error.message()));
    }
    impl->ports[{spec.from, spec.to}] = port;
    impl->links.push_back(std::move(link));
  }
  for (const auto& link : impl->links) impl->Accept(*link);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<LinkProxy>(new LinkProxy(std::move(impl)));
}

LinkProxy::LinkProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LinkProxy::~LinkProxy() { Stop(); }

uint16_t LinkProxy::port(int from, int to) const {
  const auto it = impl_->ports.find({from, to});
  return it == impl_->ports.end() ? 0 : it->second;
}

void LinkProxy::Isolate(int node) {
  impl_->RunAndWait([this, node] {
    for (const auto& link : impl_->links) {
      if (link->spec.from != node && link->spec.to != node) continue;
      link->cut = true;
      Impl::ClosePipes(*link, [](const Pipe&) { return true; });
    }
  });
}

void LinkProxy::Heal() {
  impl_->RunAndWait([this] {
    for (const auto& link : impl_->links) {
      link->cut = false;
      Impl::ClosePipes(*link, [](const Pipe& pipe) { return pipe.blackholed(); });
    }
  });
}

uint64_t LinkProxy::blackholed_bytes() const {
  return impl_->blackholed.load(std::memory_order_relaxed);
}

void LinkProxy::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->RunAndWait([this] {
    impl_->stopping = true;
    for (const auto& link : impl_->links) {
      boost::system::error_code ignored;
      link->acceptor.close(ignored);
      link->retry.cancel();
      Impl::ClosePipes(*link, [](const Pipe&) { return true; });
    }
  });
  // With nothing left to wait for, run() returns once the aborted handlers have run.
  impl_->guard.reset();
  impl_->thread.join();
}

}  // namespace keel::examples::raft_kv
