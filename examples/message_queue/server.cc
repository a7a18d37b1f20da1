// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "server.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "connection.h"
#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::examples {

namespace asio = boost::asio;

namespace {

class ServerSession;

}  // namespace

struct Server::Impl {
  Impl(mq::Cluster& c, const ServerOptions& o)
      : cluster(c), options(o), workers(o.worker_threads) {}

  void Closed(size_t max_queued);

  void Accept();
  void Remove(const std::shared_ptr<ServerSession>& session);

  mq::Cluster& cluster;
  const ServerOptions options;
  // Declared first, so destroyed last: a session's strand must go before the pool it runs on,
  // and a handler still queued on the io_context may hold the last reference to a session.
  asio::thread_pool workers;
  // Sockets and timers must go before their io_context.
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work_guard{io.get_executor()};
  asio::ip::tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  std::thread io_thread;
  uint16_t port = 0;

  // The io thread's (and Stop's, once the io thread is joined).
  std::set<std::shared_ptr<ServerSession>> sessions;
  bool stopping = false;

  std::mutex mu;
  std::condition_variable closed_cv;
  size_t live = 0;  // sessions not yet removed
  uint64_t served = 0;
  size_t max_queued = 0;  // the most frames a finished session's connection had queued
  bool stopped = false;
};

namespace {

// One client's connection and session. Its state belongs to the io thread, except the session
// on the cluster, which belongs to the work strand.
class ServerSession : public std::enable_shared_from_this<ServerSession> {
 public:
  ServerSession(Server::Impl& server, asio::ip::tcp::socket socket)
      : server_(server),
        connection_(std::make_shared<FrameConnection>(std::move(socket))),
        work_(asio::make_strand(server.workers)),
        hello_timer_(server.io) {}

  void Start() {
    connection_->OnClosed([self = shared_from_this()] { self->Finish(); });
    hello_timer_.expires_after(std::chrono::milliseconds(server_.options.hello_timeout_ms));
    hello_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (!error && self->state_ == State::kHello) {
        self->Fail(absl::DeadlineExceededError(
            base::Cat("no Hello within ", self->server_.options.hello_timeout_ms, " ms")));
      }
    });
    ReadNext();
  }

  // The owner is leaving: answer what was taken, then Handover, then close.
  void Drain() {
    if (draining_ || finished_) return;
    draining_ = true;
    hello_timer_.cancel();
    OnWork([self = shared_from_this()] {
      if (self->produce_ != nullptr) (void)self->produce_->Flush();
      self->consume_.reset();  // leaves without committing: the client commits what it printed
      self->connection_->Write(wire::Handover{});
      self->connection_->CloseAfterWrites();
    });
  }

  void Close() { connection_->Close(); }

  // On the work strand, once finished: lets go of the session on the cluster.
  void DestroyWork() {
    produce_.reset();
    consume_.reset();
  }

 private:
  enum class State { kHello, kReady, kProducing, kConsuming };

  template <typename F>
  void OnWork(F f) {
    asio::post(work_, std::move(f));
  }
  // From the work strand: continues on the io thread.
  template <typename F>
  void OnIo(F f) {
    asio::post(server_.io, std::move(f));
  }

  void ReadNext() {
    if (draining_ || finished_) return;
    connection_->Read([self = shared_from_this()](absl::StatusOr<wire::Frame> frame) {
      self->OnFrame(std::move(frame));
    });
  }

  // A reply from the work strand; the next request is read once it is written, so that a client
  // that sends requests and never reads the replies holds one reply here, not all of them.
  void ReplyAndRead(wire::Frame reply) {
    connection_->Write(reply, [self = shared_from_this()] { self->ReadNext(); });
  }

  void Fail(const absl::Status& status) {
    failed_ = true;  // the read the close cancels is not the client going away
    connection_->Write(wire::Done{status, 0});
    connection_->CloseAfterWrites();
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    hello_timer_.cancel();
    server_.Closed(connection_->max_queued());
    OnWork([self = shared_from_this()] { self->DestroyWork(); });
    server_.Remove(shared_from_this());
  }

  void OnFrame(absl::StatusOr<wire::Frame> frame) {
    if (finished_ || draining_ || failed_) return;  // the answers are already settled
    if (!frame.ok()) {
      if (absl::IsUnavailable(frame.status())) {
        connection_->Close();  // the client went away
      } else {
        Fail(frame.status());
      }
      return;
    }
    std::visit([this](auto& f) { Handle(f); }, *frame);
  }

  void Unexpected(const wire::Frame& frame) {
    static constexpr const char* kStates[] = {"before Hello", "before a session is open",
                                              "in a produce session", "in a consume session"};
    Fail(absl::InvalidArgumentError(
        base::Cat("a ", wire::FrameName(frame), " frame ", kStates[static_cast<int>(state_)])));
  }

  void Handle(wire::Hello& hello) {
    if (state_ != State::kHello) return Unexpected(hello);
    hello_timer_.cancel();
    if (hello.version != wire::kVersion) {
      return Fail(absl::FailedPreconditionError(base::Cat(
          "protocol version ", hello.version, "; this owner speaks version ", wire::kVersion)));
    }
    if (hello.token != server_.options.token) {
      return Fail(absl::PermissionDeniedError("the token is not this owner's"));
    }
    state_ = State::kReady;
    connection_->Write(wire::Welcome{wire::kVersion, static_cast<uint64_t>(::getpid()),
                                     server_.cluster.options().brokers});
    ReadNext();
  }

  void Handle(wire::ProduceOpen& open) {
    if (state_ != State::kReady) return Unexpected(open);
    state_ = State::kProducing;
    OnWork([self = shared_from_this(), request = std::move(open.request)] {
      std::weak_ptr<ServerSession> weak = self;
      absl::StatusOr<std::unique_ptr<ProduceSession>> session =
          ProduceOn(self->server_.cluster, request,
                    [weak](uint64_t seq, const absl::StatusOr<LineAck>& result) {
                      if (auto s = weak.lock()) s->OnLineResult(seq, result);
                    });
      if (!session.ok()) {
        self->OnIo([self] { self->state_ = State::kReady; });
        self->ReplyAndRead(wire::Done{session.status(), 0});
        return;
      }
      self->produce_ = std::move(*session);
      self->ReplyAndRead(wire::Done{absl::OkStatus(), self->produce_->partitions()});
    });
  }

  void Handle(wire::ProduceLine& line) {
    if (state_ != State::kProducing) return Unexpected(line);
    ++lines_in_flight_;
    OnWork([self = shared_from_this(), seq = line.seq, text = std::move(line.line)]() mutable {
      const absl::Status sent = self->produce_ == nullptr
                                    ? absl::FailedPreconditionError("the produce session failed")
                                    : self->produce_->Send(seq, std::move(text));
      if (!sent.ok()) self->OnLineResult(seq, sent);
    });
    // Reading stops while too many lines wait for their answers: TCP then holds the client back.
    if (lines_in_flight_ < server_.options.max_lines_in_flight) {
      ReadNext();
    } else {
      paused_ = true;
    }
  }

  // Any thread: a line's answer goes out. A line stays in flight until its answer is written,
  // not just queued: a client that sends lines and never reads the answers then stops being read
  // (TCP holds it back) instead of growing the queue of answers without limit.
  void OnLineResult(uint64_t seq, const absl::StatusOr<LineAck>& result) {
    auto written = [self = shared_from_this()] {
      --self->lines_in_flight_;
      if (self->paused_ && self->lines_in_flight_ < self->server_.options.max_lines_in_flight) {
        self->paused_ = false;
        self->ReadNext();
      }
    };
    if (result.ok()) {
      connection_->Write(wire::LineAcked{seq, *result}, std::move(written));
    } else {
      connection_->Write(wire::LineFailed{seq, result.status()}, std::move(written));
    }
  }

  void Handle(wire::ProduceFlush& flush) {
    if (state_ != State::kProducing) return Unexpected(flush);
    OnWork([self = shared_from_this()] {
      const absl::Status flushed = self->produce_ == nullptr
                                       ? absl::FailedPreconditionError("the produce session failed")
                                       : self->produce_->Flush();
      self->ReplyAndRead(wire::Done{flushed, 0});
    });
  }

  void Handle(wire::ConsumeOpen& open) {
    if (state_ != State::kReady) return Unexpected(open);
    state_ = State::kConsuming;
    OnWork([self = shared_from_this(), request = std::move(open.request)] {
      absl::StatusOr<std::unique_ptr<ConsumeSession>> session =
          ConsumeOn(self->server_.cluster, request);
      if (!session.ok()) {
        // kNotFound for a topic that does not exist yet: the client may open again later.
        self->OnIo([self] { self->state_ = State::kReady; });
        self->ReplyAndRead(wire::Done{session.status(), 0});
        return;
      }
      self->consume_ = std::move(*session);
      self->ReplyAndRead(wire::Done{});
    });
  }

  void Handle(wire::ConsumePoll& poll) {
    if (state_ != State::kConsuming) return Unexpected(poll);
    OnWork([self = shared_from_this(), max = poll.max_messages] {
      if (self->consume_ == nullptr) return self->ReplyAndRead(wire::Done{Gone(), 0});
      absl::StatusOr<std::vector<Delivered>> got = self->consume_->Poll(max);
      if (!got.ok()) return self->ReplyAndRead(wire::Done{got.status(), 0});
      // In frames of about kMessagesFrameBytes, the last saying so.
      wire::Messages part;
      size_t bytes = 0;
      for (Delivered& m : *got) {
        if (!part.messages.empty() && bytes + m.value.size() > wire::kMessagesFrameBytes) {
          part.more = true;
          self->connection_->Write(part);
          part.messages.clear();
          bytes = 0;
        }
        bytes += m.value.size();
        part.messages.push_back(std::move(m));
      }
      part.more = false;
      self->ReplyAndRead(std::move(part));
    });
  }

  void Handle(wire::ConsumeCommit& commit) {
    if (state_ != State::kConsuming) return Unexpected(commit);
    OnWork([self = shared_from_this()] {
      self->ReplyAndRead(
          wire::Done{self->consume_ == nullptr ? Gone() : self->consume_->Commit(), 0});
    });
  }

  void Handle(wire::ConsumeClose& close) {
    if (state_ != State::kConsuming) return Unexpected(close);
    state_ = State::kReady;
    OnWork([self = shared_from_this()] {
      const absl::Status closed = self->consume_ == nullptr ? Gone() : self->consume_->Close();
      self->consume_.reset();
      self->ReplyAndRead(wire::Done{closed, 0});
    });
  }

  // Frames only an owner sends.
  template <typename F>
  void Handle(F& frame) {
    Fail(absl::InvalidArgumentError(
        base::Cat("a ", wire::FrameName(wire::Frame(frame)), " frame is not a request")));
  }

  static absl::Status Gone() { return absl::FailedPreconditionError("the consumer is gone"); }

  Server::Impl& server_;
  const std::shared_ptr<FrameConnection> connection_;
  asio::strand<asio::thread_pool::executor_type> work_;
  asio::steady_timer hello_timer_;
  // The io thread's.
  State state_ = State::kHello;
  bool draining_ = false;
  bool finished_ = false;
  bool failed_ = false;
  size_t lines_in_flight_ = 0;
  bool paused_ = false;
  // The work strand's.
  std::unique_ptr<ProduceSession> produce_;
  std::unique_ptr<ConsumeSession> consume_;
};

}  // namespace

void Server::Impl::Accept() {
  acceptor.async_accept(
      [this](const boost::system::error_code& error, asio::ip::tcp::socket socket) {
        if (stopping) return;
        if (error) {
          // Out of descriptors, say: try again a little later rather than spin.
          accept_retry.expires_after(std::chrono::milliseconds(100));
          accept_retry.async_wait([this](const boost::system::error_code& e) {
            if (!e && !stopping) Accept();
          });
          return;
        }
        if (sessions.size() >= options.max_sessions) {
          auto refused = std::make_shared<FrameConnection>(std::move(socket));
          refused->Write(wire::Done{absl::ResourceExhaustedError(base::Cat(
                                        "this owner serves ", options.max_sessions, " sessions")),
                                    0});
          refused->CloseAfterWrites();
        } else {
          auto session = std::make_shared<ServerSession>(*this, std::move(socket));
          sessions.insert(session);
          {
            std::lock_guard lock(mu);
            ++live;
            ++served;
          }
          session->Start();
        }
        Accept();
      });
}

void Server::Impl::Closed(size_t queued) {
  std::lock_guard lock(mu);
  max_queued = std::max(max_queued, queued);
}

void Server::Impl::Remove(const std::shared_ptr<ServerSession>& session) {
  sessions.erase(session);
  std::lock_guard lock(mu);
  --live;
  closed_cv.notify_all();
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(mq::Cluster& cluster,
                                                      const ServerOptions& options) {
  if (options.worker_threads < 1 || options.max_sessions < 1 || options.max_lines_in_flight < 1 ||
      options.hello_timeout_ms < 1 || options.drain_timeout_ms < 0) {
    return absl::InvalidArgumentError(
        "server options: want at least one worker, session and "
        "line in flight, and positive timeouts");
  }
  auto impl = std::make_unique<Impl>(cluster, options);
  boost::system::error_code error;
  const asio::ip::tcp::endpoint loopback(asio::ip::address_v4::loopback(), 0);
  impl->acceptor.open(loopback.protocol(), error);
  if (!error) impl->acceptor.bind(loopback, error);
  if (!error) impl->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return absl::UnavailableError(base::Cat("cannot listen on 127.0.0.1: ", error.message()));
  }
  impl->port = impl->acceptor.local_endpoint(error).port();
  if (error) return absl::UnavailableError(base::Cat("cannot read the port: ", error.message()));
  impl->Accept();
  Impl* raw = impl.get();
  impl->io_thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port; }

uint64_t Server::sessions_served() const {
  std::lock_guard lock(impl_->mu);
  return impl_->served;
}

size_t Server::max_queued_frames() const {
  std::lock_guard lock(impl_->mu);
  return impl_->max_queued;
}

void Server::Stop() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.stopped) return;
    s.stopped = true;
  }
  asio::post(s.io, [&s] {
    s.stopping = true;
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
    s.accept_retry.cancel();
    for (const std::shared_ptr<ServerSession>& session : s.sessions) session->Drain();
  });
  {
    std::unique_lock lock(s.mu);
    const auto drained = [&s] { return s.live == 0; };
    if (!s.closed_cv.wait_for(lock, std::chrono::milliseconds(s.options.drain_timeout_ms),
                              drained)) {
      asio::post(s.io, [&s] {
        for (const std::shared_ptr<ServerSession>& session : s.sessions) session->Close();
      });
      // Closing is immediate on the io thread, which never waits for the cluster: each session
      // finishes, which queues the release of its session on the cluster on its strand.
      s.closed_cv.wait(lock, drained);
    }
  }
  // Every session has finished: no handler posts cluster work any more, and the joins below
  // run what is still queued instead of dropping it. The io thread is not stopped but left to
  // run out of work (every socket closed, every timer cancelled), so that no handler is dropped
  // still holding a session, whose connection and strand would then outlive the thread pool.
  s.workers.join();  // every session's cluster calls have returned and its sessions are gone
  s.work_guard.reset();
  s.io_thread.join();
  KEEL_ASSERT(s.sessions.empty(), s.sessions.size(), " sessions left after Stop");
}

}  // namespace keel::examples
