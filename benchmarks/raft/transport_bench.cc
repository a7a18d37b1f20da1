// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::raft::Transport between two transports on loopback, against a plain blocking socket
// loop moving the same frames, in the same run.
//
//   BM_Transport                 node 0 sends kBatch frames of state.range(0) bytes to node 1
//                                from its transport thread (as a Raft loop sends a Ready's
//                                messages); an iteration ends when node 1's Receive has had
//                                them all.
//   BM_BlockingSocketBaseline    the same frames in the same wire format over one TCP
//                                connection (TCP_NODELAY, as the transport's): a sender thread
//                                that send()s each frame, prefix and bytes in one call, and a
//                                receiver thread that recv()s 64 KiB at a time and cuts frames.
//   BM_BlockingSocketBatchedBaseline
//                                the same, but the sender send()s the whole batch at once, from
//                                one buffer prepared before timing: the ceiling for gathered
//                                writes on this machine (no queueing, no copying, no handoff).
//
// Items are frames; bytes are frame payload bytes.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "keel/base/coding.h"
#include "keel/raft/transport.h"

namespace keel::raft {
namespace {

constexpr int kBatch = 1'000;

// Counts frames received and wakes the benchmark thread when a batch is in.
class Counter {
 public:
  void Add(uint64_t n) {
    std::lock_guard lock(mutex_);
    count_ += n;
    if (count_ >= target_) done_.notify_one();
  }
  void WaitFor(uint64_t target) {
    std::unique_lock lock(mutex_);
    target_ = target;
    done_.wait(lock, [&] { return count_ >= target_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  uint64_t count_ = 0;
  uint64_t target_ = 0;
};

void BM_Transport(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  Counter received;
  TransportOptions receiver_options;
  receiver_options.id = 1;
  auto receiver = Transport::Start(
      receiver_options, [&](NodeId, std::string_view) { received.Add(1); }, nullptr);
  if (!receiver.ok()) return state.SkipWithError("cannot start the receiver");
  TransportOptions options;
  options.id = 0;
  options.peers = {{1, "127.0.0.1:" + std::to_string((*receiver)->port())}};
  auto sender = Transport::Start(
      options, [](NodeId, std::string_view) {}, nullptr);
  if (!sender.ok()) return state.SkipWithError("cannot start the sender");
  Transport* transport = sender->get();
  const std::string payload(size, 'x');
  uint64_t sent = 0;
  for (auto _ : state) {
    transport->Post([transport, &payload] {
      for (int i = 0; i < kBatch; ++i) static_cast<void>(transport->Send(1, payload));
    });
    sent += kBatch;
    received.WaitFor(sent);
  }
  if ((*sender)->stats().frames_dropped != 0) state.SkipWithError("frames were dropped");
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBatch * size));
}
BENCHMARK(BM_Transport)->Arg(100)->Arg(4096)->UseRealTime();

// A connected pair of loopback TCP sockets, or {-1, -1}.
std::pair<int, int> ConnectedPair() {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listener);
    return {-1, -1};
  }
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(client);
    ::close(listener);
    return {-1, -1};
  }
  const int server = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  return {client, server};
}

// Sends kBatch frames of state.range(0) bytes per iteration, one send() per frame or (batched)
// one for all of them.
void BlockingSocketBenchmark(benchmark::State& state, bool batched) {
  const size_t size = static_cast<size_t>(state.range(0));
  const auto [client, server] = ConnectedPair();
  if (client < 0 || server < 0) return state.SkipWithError("cannot connect");
  Counter received;
  std::thread reader([&received, server = server] {
    std::vector<char> buffer(64 * 1024 + 4 + 1'000'000);
    size_t begin = 0;
    size_t end = 0;
    while (true) {
      if (buffer.size() - end < 64 * 1024) {
        std::memmove(buffer.data(), buffer.data() + begin, end - begin);
        end -= begin;
        begin = 0;
      }
      const ssize_t n = ::recv(server, buffer.data() + end, buffer.size() - end, 0);
      if (n <= 0) return;
      end += static_cast<size_t>(n);
      uint64_t frames = 0;
      while (end - begin >= 4) {
        const uint32_t length = base::DecodeFixed32(buffer.data() + begin);
        if (end - begin < 4 + length) break;
        begin += 4 + length;
        ++frames;
      }
      received.Add(frames);
    }
  });
  std::string frame;
  base::PutFixed32(frame, static_cast<uint32_t>(size));
  frame.append(size, 'x');
  std::string batch;
  for (int i = 0; i < kBatch; ++i) batch += frame;
  const auto send_all = [client = client](std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(client, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  };
  uint64_t sent = 0;
  for (auto _ : state) {
    if (batched) {
      send_all(batch);
    } else {
      for (int i = 0; i < kBatch; ++i) send_all(frame);
    }
    sent += kBatch;
    received.WaitFor(sent);
  }
  ::shutdown(client, SHUT_WR);
  reader.join();
  ::close(client);
  ::close(server);
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBatch * size));
}
void BM_BlockingSocketBaseline(benchmark::State& state) { BlockingSocketBenchmark(state, false); }
BENCHMARK(BM_BlockingSocketBaseline)->Arg(100)->Arg(4096)->UseRealTime();

void BM_BlockingSocketBatchedBaseline(benchmark::State& state) {
  BlockingSocketBenchmark(state, true);
}
BENCHMARK(BM_BlockingSocketBatchedBaseline)->Arg(100)->Arg(4096)->UseRealTime();

}  // namespace
}  // namespace keel::raft
