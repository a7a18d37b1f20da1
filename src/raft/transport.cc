// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Transport's options, public methods, listening socket and Stop (transport_impl.h has the
// plan of the sources).
#include "keel/raft/transport.h"

#include <algorithm>
#include <charconv>

#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "transport_impl.h"

namespace keel::raft {

namespace internal {

std::string EncodeHandshake(NodeId from, NodeId to) {
  std::string bytes(kHandshakeMagic);
  base::PutFixed32(bytes, kWireVersion);
  base::PutFixed64(bytes, from);
  base::PutFixed64(bytes, to);
  KEEL_ASSERT(bytes.size() == kHandshakeBytes);
  return bytes;
}

absl::StatusOr<HostPort> ParseHostPort(std::string_view address, bool allow_port_zero) {
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        base::Cat("bad address ", base::Quoted(address), ": ", why, " (want host:port)"));
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 host must be in brackets");
  }
  if (host.empty()) return bad("no host");
  uint16_t port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size()) {
    return bad("the port is not a number from 0 to 65535");
  }
  if (port == 0 && !allow_port_zero) return bad("port 0");
  return HostPort{.host = std::string(host), .port = port};
}

}  // namespace internal

namespace {

using internal::asio::ip::tcp;
namespace asio = internal::asio;

// What one read may ask for: the read buffer is at least this big.
constexpr size_t kMaxReadBytes = size_t{64} << 20;

absl::Status CheckOptions(const TransportOptions& options) {
  const auto bad = [](std::string_view field, auto value, std::string_view want) {
    return absl::InvalidArgumentError(
        base::Cat("TransportOptions.", field, " is ", value, "; it must be ", want));
  };
  // Durations in milliseconds from 1 to a day: a timer's deadline (now plus the duration, in
  // nanoseconds) must not overflow.
  const auto check_ms = [&](std::string_view field, int64_t value, int64_t at_least) {
    if (value >= at_least && value <= Transport::kMaxPeriodNs / 1'000'000) {
      return absl::OkStatus();
    }
    return bad(field, value,
               base::Cat("from ", at_least, " to ", Transport::kMaxPeriodNs / 1'000'000));
  };
  if (options.id == kNoNode) return absl::InvalidArgumentError("TransportOptions.id is kNoNode");
  if (options.max_pending_bytes_per_peer == 0) {
    return bad("max_pending_bytes_per_peer", 0, "at least 1");
  }
  if (options.max_frame_bytes == 0) return bad("max_frame_bytes", 0, "at least 1");
  KEEL_RETURN_IF_ERROR(check_ms("reconnect_delay_ms", options.reconnect_delay_ms, 1));
  KEEL_RETURN_IF_ERROR(check_ms("max_reconnect_delay_ms", options.max_reconnect_delay_ms,
                                options.reconnect_delay_ms));
  KEEL_RETURN_IF_ERROR(check_ms("connect_timeout_ms", options.connect_timeout_ms, 1));
  KEEL_RETURN_IF_ERROR(check_ms("handshake_timeout_ms", options.handshake_timeout_ms, 1));
  if (options.max_inbound_connections == 0) return bad("max_inbound_connections", 0, "at least 1");
  if (options.read_bytes == 0 || options.read_bytes > kMaxReadBytes) {
    return bad("read_bytes", options.read_bytes, base::Cat("from 1 to ", kMaxReadBytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<internal::HostPort> CheckPeer(NodeId self, NodeId id, std::string_view address) {
  if (id == kNoNode) return absl::InvalidArgumentError("a peer's id is kNoNode");
  if (id == self) {
    return absl::InvalidArgumentError(base::Cat("peer ", id, " is this node"));
  }
  absl::StatusOr<internal::HostPort> parsed = internal::ParseHostPort(address, false);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(base::Cat("peer ", id, ": ", parsed.status().message()));
  }
  return parsed;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Impl: listening, accepting, peers, tickers, Shutdown.
// ---------------------------------------------------------------------------------------------

Transport::Impl::Impl(const TransportOptions& transport_options, Receive receive_frame,
                      Unreachable report_unreachable)
    : options(transport_options),
      receive(std::move(receive_frame)),
      unreachable(std::move(report_unreachable)) {}

absl::Status Transport::Impl::Listen() {
  KEEL_ASSIGN_OR_RETURN(const internal::HostPort where,
                        internal::ParseHostPort(options.listen_address, true));
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(where.host, error);
  if (error) {
    return absl::InvalidArgumentError(base::Cat("bad listen address ",
                                                base::Quoted(options.listen_address),
                                                ": the host must be a numeric address"));
  }
  const tcp::endpoint endpoint(address, where.port);
  acceptor.open(endpoint.protocol(), error);
  // A restarted node takes its port back while connections of its previous run linger.
  if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(tcp::acceptor::max_listen_connections, error);
  if (error) {
    return absl::UnavailableError(
        base::Cat("cannot listen on ", options.listen_address, ": ", error.message()));
  }
  port = acceptor.local_endpoint(error).port();
  return absl::OkStatus();
}

void Transport::Impl::Accept() {
  acceptor.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
    if (closed || error == asio::error::operation_aborted) return;
    if (error) {
      // Out of descriptors, say: try again shortly rather than spin.
      accept_retry.expires_after(std::chrono::milliseconds(10));
      accept_retry.async_wait([this](const boost::system::error_code& wait_error) {
        if (!wait_error && !closed) Accept();
      });
      return;
    }
    Accepted(std::move(socket));
    Accept();
  });
}

void Transport::Impl::Accepted(tcp::socket socket) {
  if (inbound.size() >= options.max_inbound_connections) {
    internal::Add(counters.rejected_connections, 1);
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  const uint64_t id = next_inbound_id++;
  auto connection = std::make_shared<internal::InboundConnection>(*this, std::move(socket), id);
  inbound.emplace(id, connection);
  connection->Start();
}

void Transport::Impl::Identified(internal::InboundConnection& connection) {
  const auto [it, inserted] = inbound_by_peer.try_emplace(connection.from(), connection.id());
  if (inserted) return;
  // Connections are numbered in accept order, and a peer dials its next connection only after
  // giving up the last: the one accepted later is the live one.
  if (it->second > connection.id()) {
    connection.Close();
    return;
  }
  const auto older = inbound.find(it->second);
  it->second = connection.id();
  if (older == inbound.end()) return;
  // Held here: Close removes it from `inbound`.
  const std::shared_ptr<internal::InboundConnection> replaced = older->second;
  replaced->Close();
}

void Transport::Impl::InboundClosed(const internal::InboundConnection& connection) {
  inbound.erase(connection.id());
  const auto it = inbound_by_peer.find(connection.from());
  if (it != inbound_by_peer.end() && it->second == connection.id()) inbound_by_peer.erase(it);
}

void Transport::Impl::Dropped(NodeId peer, uint64_t frames, bool report) {
  if (frames == 0) return;
  internal::Add(counters.frames_dropped, frames);
  if (!report || closed || unreachable == nullptr) return;
  // Called later, never from inside Send: the caller is typically the Raft loop, in the middle
  // of sending a Ready's messages.
  if (!unreachable_pending.insert(peer).second) return;
  asio::post(io, [this, peer] {
    unreachable_pending.erase(peer);
    if (!closed) unreachable(peer);
  });
}

void Transport::Impl::SendNow(NodeId to, std::string frame) {
  const auto it = peers.find(to);
  if (it == peers.end()) return Dropped(to, 1, true);
  it->second->Send(std::move(frame));
}

void Transport::Impl::SetPeerNow(NodeId id, internal::HostPort address) {
  const auto it = peers.find(id);
  if (it != peers.end()) {
    const internal::HostPort& old = it->second->address();
    if (old.host == address.host && old.port == address.port) return;
    it->second->Close();
    peers.erase(it);
  }
  peers.emplace(id, std::make_shared<internal::OutgoingPeer>(*this, id, std::move(address)));
}

void Transport::Impl::RemovePeerNow(NodeId id) {
  const auto it = peers.find(id);
  if (it == peers.end()) return;
  it->second->Close();
  peers.erase(it);
}

void Transport::Impl::StartTicker(int64_t period_ns, std::function<void()> tick) {
  tickers.push_back(std::make_unique<Ticker>(io, period_ns, std::move(tick)));
  Ticker& ticker = *tickers.back();
  ticker.next = std::chrono::steady_clock::now() + std::chrono::nanoseconds(period_ns);
  ScheduleTick(ticker);
}

void Transport::Impl::ScheduleTick(Ticker& ticker) {
  ticker.timer.expires_at(ticker.next);
  ticker.timer.async_wait([this, &ticker](const boost::system::error_code& error) {
    if (error || closed) return;
    ticker.tick();
    const auto now = std::chrono::steady_clock::now();
    ticker.next += std::chrono::nanoseconds(ticker.period_ns);
    if (ticker.next <= now) ticker.next = now + std::chrono::nanoseconds(ticker.period_ns);
    ScheduleTick(ticker);
  });
}

void Transport::Impl::Shutdown() {
  closed = true;
  boost::system::error_code ignored;
  acceptor.close(ignored);
  accept_retry.cancel();
  for (auto& [id, peer] : std::exchange(peers, {})) peer->Close();
  // Close() unregisters each connection from `inbound`: iterate over a copy.
  for (auto& [id, connection] : std::exchange(inbound, {})) connection->Close();
  for (const std::unique_ptr<Ticker>& ticker : tickers) ticker->timer.cancel();
}

// ---------------------------------------------------------------------------------------------
// Transport.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Transport>> Transport::Start(const TransportOptions& options,
                                                            Receive receive,
                                                            Unreachable unreachable) {
  KEEL_RETURN_IF_ERROR(CheckOptions(options));
  if (receive == nullptr) return absl::InvalidArgumentError("no Receive callback");
  std::vector<std::pair<NodeId, internal::HostPort>> peers;
  for (const auto& [id, address] : options.peers) {
    KEEL_ASSIGN_OR_RETURN(internal::HostPort parsed, CheckPeer(options.id, id, address));
    peers.emplace_back(id, std::move(parsed));
  }
  auto impl = std::make_unique<Impl>(options, std::move(receive), std::move(unreachable));
  KEEL_RETURN_IF_ERROR(impl->Listen());
  for (auto& [id, address] : peers) impl->SetPeerNow(id, std::move(address));
  Impl* raw = impl.get();
  asio::post(raw->io, [raw] { raw->Accept(); });
  raw->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<Transport>(new Transport(std::move(impl)));
}

Transport::Transport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Transport::~Transport() { Stop(); }

uint16_t Transport::port() const { return impl_->port; }

absl::Status Transport::Send(NodeId to, std::string frame) {
  if (frame.size() > impl_->options.max_frame_bytes) {
    return absl::InvalidArgumentError(base::Cat("a frame of ", frame.size(), " bytes for node ", to,
                                                " is larger than max_frame_bytes (",
                                                impl_->options.max_frame_bytes, ")"));
  }
  if (to == impl_->options.id || to == kNoNode) {
    return absl::InvalidArgumentError(base::Cat("cannot send to node ", to));
  }
  Impl* impl = impl_.get();
  if (!impl->Run([impl, to, frame = std::move(frame)]() mutable {
        impl->SendNow(to, std::move(frame));
      })) {
    return absl::FailedPreconditionError("the transport is stopped");
  }
  return absl::OkStatus();
}

absl::Status Transport::SetPeer(NodeId id, std::string address) {
  KEEL_ASSIGN_OR_RETURN(internal::HostPort parsed, CheckPeer(impl_->options.id, id, address));
  Impl* impl = impl_.get();
  if (!impl->Run([impl, id, parsed = std::move(parsed)]() mutable {
        impl->SetPeerNow(id, std::move(parsed));
      })) {
    return absl::FailedPreconditionError("the transport is stopped");
  }
  return absl::OkStatus();
}

void Transport::RemovePeer(NodeId id) {
  Impl* impl = impl_.get();
  static_cast<void>(impl->Run([impl, id] { impl->RemovePeerNow(id); }));
}

bool Transport::Post(std::function<void()> task) {
  std::lock_guard lock(impl_->post_mutex);
  if (impl_->stopping.load()) return false;
  asio::post(impl_->io, std::move(task));
  return true;
}

absl::Status Transport::Every(int64_t period_ns, std::function<void()> tick) {
  if (period_ns <= 0 || period_ns > kMaxPeriodNs) {
    return absl::InvalidArgumentError(
        base::Cat("Every: period_ns is ", period_ns, "; it must be from 1 to ", kMaxPeriodNs));
  }
  if (tick == nullptr) return absl::InvalidArgumentError("Every: no tick function");
  Impl* impl = impl_.get();
  if (!impl->Run([impl, period_ns, tick = std::move(tick)]() mutable {
        impl->StartTicker(period_ns, std::move(tick));
      })) {
    return absl::FailedPreconditionError("the transport is stopped");
  }
  return absl::OkStatus();
}

TransportStats Transport::stats() const {
  const internal::Counters& counters = impl_->counters;
  const auto get = [](const std::atomic<uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  };
  return TransportStats{
      .frames_sent = get(counters.frames_sent),
      .bytes_sent = get(counters.bytes_sent),
      .frames_received = get(counters.frames_received),
      .bytes_received = get(counters.bytes_received),
      .frames_dropped = get(counters.frames_dropped),
      .connects = get(counters.connects),
      .connect_failures = get(counters.connect_failures),
      .disconnects = get(counters.disconnects),
      .accepts = get(counters.accepts),
      .handshake_failures = get(counters.handshake_failures),
      .oversized_frames = get(counters.oversized_frames),
      .rejected_connections = get(counters.rejected_connections),
      .pending_bytes = get(counters.pending_bytes),
  };
}

void Transport::Stop() {
  Impl& impl = *impl_;
  KEEL_ASSERT(!impl.io.get_executor().running_in_this_thread(),
              "Transport::Stop called on the transport thread");
  std::lock_guard stop_lock(impl.stop_mutex);
  if (impl.stopped) return;
  {
    // Every task accepted so far is queued; Shutdown runs after them.
    std::lock_guard lock(impl.post_mutex);
    impl.stopping.store(true);
    asio::post(impl.io, [&impl] { impl.Shutdown(); });
  }
  // With every socket closed and every timer cancelled, run() returns once the handlers of the
  // aborted operations have run.
  impl.guard.reset();
  impl.thread.join();
  impl.stopped = true;
}

}  // namespace keel::raft
