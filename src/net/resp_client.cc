// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Blocking calls with deadlines on Boost.Asio: each call starts one asynchronous operation and
// runs the client's private io_context until the operation completes or the deadline passes;
// past the deadline it cancels the operation and runs the context until the cancelled handler
// has run, so that no handler outlives the call that started it.
#include "keel/net/resp_client.h"

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// (the line above must come first)
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <chrono>
#include <optional>

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"

namespace keel::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct RespClient::Impl {
  Impl(const RespClientOptions& client_options, std::string peer_name)
      : options(client_options),
        socket(io),
        reader(client_options.reader),
        peer(std::move(peer_name)) {}

  [[nodiscard]] Clock::time_point Deadline() const {
    return Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  }

  // Starts an operation with `start(handler)` and waits for it until `deadline`: its error
  // code, or nullopt if the deadline passed (the operation is then cancelled).
  template <typename Start>
  std::optional<boost::system::error_code> Wait(Start start, Clock::time_point deadline,
                                                size_t* transferred = nullptr) {
    std::optional<boost::system::error_code> result;
    start([&](const boost::system::error_code& error, auto&&... rest) {
      result = error;
      if constexpr (sizeof...(rest) == 1) {
        if (transferred != nullptr) *transferred = static_cast<size_t>((rest, ...));
      }
    });
    io.restart();
    io.run_until(deadline);
    if (result.has_value()) return result;
    boost::system::error_code ignored;
    socket.cancel(ignored);
    io.restart();
    io.run();
    return std::nullopt;
  }

  absl::Status Timeout(std::string_view what) const {
    return absl::DeadlineExceededError(
        base::Cat(what, " ", peer, " took longer than ", options.timeout_ms, " ms"));
  }

  absl::Status Write(std::string_view bytes) {
    if (bytes.empty()) return absl::OkStatus();
    const auto error = Wait(
        [&](auto handler) { asio::async_write(socket, asio::buffer(bytes), std::move(handler)); },
        Deadline());
    if (!error.has_value()) return Timeout("sending to");
    if (*error) {
      return absl::UnavailableError(base::Cat("sending to ", peer, ": ", error->message()));
    }
    return absl::OkStatus();
  }

  // Reads what is available into the reader: false at end of input.
  absl::StatusOr<bool> ReadSome(Clock::time_point deadline) {
    // The end of input (or a reset) is reported once by the socket (edge-triggered): a read
    // after it would wait out its deadline.
    if (input_ended) return false;
    std::span<char> space = reader.PrepareAppend(16 * 1024);
    size_t got = 0;
    const auto error = Wait(
        [&](auto handler) {
          socket.async_read_some(asio::buffer(space.data(), space.size()), std::move(handler));
        },
        deadline, &got);
    if (!error.has_value()) return Timeout("reading from");
    if (*error == asio::error::eof) {
      input_ended = true;
      return false;
    }
    if (*error) {
      input_ended = true;  // a reset: nothing more will come either
      return absl::UnavailableError(base::Cat("reading from ", peer, ": ", error->message()));
    }
    reader.CommitAppend(got);
    return true;
  }

  RespClientOptions options;
  asio::io_context io;
  tcp::socket socket;
  RespReader reader;
  std::string peer;  // "host:port", for messages
  std::string scratch;
  bool input_ended = false;  // the peer closed its side, or reset the connection
};

absl::StatusOr<std::unique_ptr<RespClient>> RespClient::Connect(std::string_view host,
                                                                uint16_t port,
                                                                const RespClientOptions& options) {
  auto impl = std::make_unique<Impl>(options, base::Cat(host, ":", port));
  const Clock::time_point deadline = impl->Deadline();
  tcp::resolver resolver(impl->io);
  tcp::resolver::results_type endpoints;
  const auto resolved = impl->Wait(
      [&](auto handler) {
        resolver.async_resolve(std::string(host), std::to_string(port),
                               [&endpoints, handler = std::move(handler)](
                                   const boost::system::error_code& error,
                                   tcp::resolver::results_type results) mutable {
                                 endpoints = std::move(results);
                                 handler(error);
                               });
      },
      deadline);
  if (!resolved.has_value()) {
    resolver.cancel();
    return impl->Timeout("resolving");
  }
  if (*resolved) {
    return absl::InvalidArgumentError(
        base::Cat("cannot resolve ", base::Quoted(host), ": ", resolved->message()));
  }
  const auto connected = impl->Wait(
      [&](auto handler) {
        asio::async_connect(
            impl->socket, endpoints,
            [handler = std::move(handler)](const boost::system::error_code& error,
                                           const tcp::endpoint&) mutable { handler(error); });
      },
      deadline);
  if (!connected.has_value()) return impl->Timeout("connecting to");
  if (*connected) {
    return absl::UnavailableError(
        base::Cat("cannot connect to ", impl->peer, ": ", connected->message()));
  }
  boost::system::error_code ignored;
  impl->socket.set_option(tcp::no_delay(true), ignored);
  return std::unique_ptr<RespClient>(new RespClient(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<RespClient>> RespClient::Connect(std::string_view host_port,
                                                                const RespClientOptions& options) {
  const size_t colon = host_port.rfind(':');
  const std::string_view host =
      colon == std::string_view::npos ? std::string_view("127.0.0.1") : host_port.substr(0, colon);
  const std::string_view port_text =
      colon == std::string_view::npos ? host_port : host_port.substr(colon + 1);
  uint32_t port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        base::Cat("bad server address ", base::Quoted(host_port), ": want HOST:PORT"));
  }
  return Connect(host, static_cast<uint16_t>(port), options);
}

RespClient::RespClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RespClient::~RespClient() {
  boost::system::error_code ignored;
  impl_->socket.close(ignored);
}

absl::Status RespClient::Send(std::span<const std::string_view> args) {
  impl_->scratch.clear();
  AppendCommand(impl_->scratch, args);
  return impl_->Write(impl_->scratch);
}

absl::Status RespClient::SendRaw(std::string_view bytes) { return impl_->Write(bytes); }

absl::StatusOr<RespReply> RespClient::Read() {
  const Clock::time_point deadline = impl_->Deadline();
  for (;;) {
    KEEL_ASSIGN_OR_RETURN(std::optional<RespReply> reply, impl_->reader.Next());
    if (reply.has_value()) return *std::move(reply);
    KEEL_ASSIGN_OR_RETURN(const bool more, impl_->ReadSome(deadline));
    if (!more) {
      return absl::UnavailableError(base::Cat(
          impl_->peer, " closed the connection",
          impl_->reader.buffered().empty() ? "" : " inside a reply: ",
          impl_->reader.buffered().empty() ? "" : base::Quoted(impl_->reader.buffered())));
    }
  }
}

absl::StatusOr<RespReply> RespClient::Call(std::span<const std::string_view> args) {
  KEEL_RETURN_IF_ERROR(Send(args));
  return Read();
}

absl::StatusOr<std::string> RespClient::ReadUntilClosed() {
  const Clock::time_point deadline = impl_->Deadline();
  for (;;) {
    absl::StatusOr<bool> more = impl_->ReadSome(deadline);
    if (!more.ok() && more.status().code() == absl::StatusCode::kUnavailable) {
      break;  // a reset after the server's last bytes ends the input as a close does
    }
    KEEL_RETURN_IF_ERROR(more.status());
    if (!*more) break;
  }
  std::string bytes(impl_->reader.buffered());
  impl_->reader.Reset();
  return bytes;
}

void RespClient::ShutdownSend() {
  boost::system::error_code ignored;
  impl_->socket.shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace keel::net
