// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The message_queue tool's serving: an owner's Server running clients' sessions on its cluster
// (server.h, client.h), the hand-over when it stops, its defences against malformed frames, and
// Access (access.h) choosing between owning a directory and being a client of its owner. The
// oracle for what a session did is the cluster's own log, read with a fresh consumer group.
#include <utility>
// (Boost 1.74's Asio needs <utility> first.)
#include <doctest/doctest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "access.h"
#include "client.h"
#include "connection.h"
#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/wal/atomic_file.h"
#include "server.h"
#include "testing/testing.h"

namespace keel::examples {
namespace {

namespace asio = boost::asio;
using Position = std::pair<uint32_t, uint64_t>;  // partition, offset

constexpr uint64_t kToken = 0x5eed'0000'0000'0001;

mq::ClusterOptions SmallCluster() {
  mq::ClusterOptions o;
  o.brokers = 1;
  o.background = true;
  return o;
}

ProduceRequest ProduceTo(const std::string& topic, uint32_t partitions = 0) {
  ProduceRequest r;
  r.topic = topic;
  r.partitions = partitions;
  r.replication = 1;
  r.linger_ms = 0;
  return r;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// A cluster this test opened, and a server on it.
struct Owned {
  explicit Owned(ServerOptions options = {}) {
    absl::StatusOr<std::unique_ptr<mq::Cluster>> opened =
        mq::Cluster::Open(dir.path(), SmallCluster());
    REQUIRE(opened.ok());
    cluster = std::move(*opened);
    options.token = kToken;
    absl::StatusOr<std::unique_ptr<Server>> started = Server::Start(*cluster, options);
    REQUIRE(started.ok());
    server = std::move(*started);
  }
  ~Owned() {
    server->Stop();
    CHECK(cluster->Close().ok());
  }

  std::shared_ptr<Client> Connect() const {
    absl::StatusOr<std::shared_ptr<Client>> client = Client::Connect(server->port(), kToken, 5000);
    REQUIRE(client.ok());
    return *client;
  }

  testing::TempDir dir;
  std::unique_ptr<mq::Cluster> cluster;
  std::unique_ptr<Server> server;
};

// The answers to a produce session's lines, from whatever thread gives them.
struct Answers {
  LineCallback Callback() {
    return [this](uint64_t seq, const absl::StatusOr<LineAck>& result) {
      std::lock_guard lock(mu);
      if (!got.emplace(seq, result).second) ++repeated;
    };
  }
  std::map<uint64_t, absl::StatusOr<LineAck>> Got() {
    std::lock_guard lock(mu);
    return got;
  }

  std::mutex mu;
  std::map<uint64_t, absl::StatusOr<LineAck>> got;
  int repeated = 0;
};

std::string Line(uint64_t seq) { return base::Cat("line-", seq); }

// Polls until a poll comes back empty; every message, in the order polled.
std::vector<Delivered> Drain(ConsumeSession& session) {
  std::vector<Delivered> all;
  for (;;) {
    absl::StatusOr<std::vector<Delivered>> got = session.Poll(kMaxPollMessages);
    REQUIRE(got.ok());
    if (got->empty()) return all;
    REQUIRE(session.Commit().ok());
    all.insert(all.end(), got->begin(), got->end());
  }
}

// The oracle: everything in `topic`, read from the cluster itself by a group of its own.
std::map<Position, std::string> Log(mq::Cluster& cluster, const std::string& topic) {
  static std::atomic<int> groups{0};
  absl::StatusOr<std::unique_ptr<ConsumeSession>> session = ConsumeOn(
      cluster, {.topic = topic, .group = base::Cat("oracle-", groups++), .from_beginning = true});
  REQUIRE(session.ok());
  std::map<Position, std::string> log;
  for (const Delivered& m : Drain(**session)) {
    REQUIRE(log.emplace(Position{m.partition, m.offset}, m.value).second);
  }
  return log;
}

// A connection that speaks raw bytes, for what a Client never sends.
struct Raw {
  explicit Raw(uint16_t port) {
    socket.connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port));
  }
  void Send(std::string_view bytes) {
    asio::write(socket, asio::buffer(bytes.data(), bytes.size()));
  }
  void Send(const wire::Frame& frame) { Send(wire::EncodeFrame(frame)); }
  void SayHello(uint64_t token = kToken) {
    Send(wire::Hello{wire::kVersion, token});
    const absl::StatusOr<wire::Frame> answer = Read();
    REQUIRE(answer.ok());
    REQUIRE(std::holds_alternative<wire::Welcome>(*answer));
  }
  // Hello, then a produce session on topic t.
  void OpenProduce() {
    SayHello();
    Send(wire::ProduceOpen{ProduceTo("t")});
    const absl::StatusOr<wire::Frame> answer = Read();
    REQUIRE(answer.ok());
    REQUIRE(std::get<wire::Done>(*answer).status.ok());
  }
  // The next frame; kUnavailable once the owner closed the connection.
  absl::StatusOr<wire::Frame> Read() {
    std::string header(wire::kFrameHeaderBytes, '\0');
    boost::system::error_code error;
    asio::read(socket, asio::buffer(header.data(), header.size()), error);
    if (error) return absl::UnavailableError(error.message());
    absl::StatusOr<uint32_t> length = wire::DecodeFrameLength(header);
    if (!length.ok()) return length.status();
    std::string body(*length, '\0');
    asio::read(socket, asio::buffer(body.data(), body.size()), error);
    if (error) return absl::UnavailableError(error.message());
    return wire::DecodeFrame(body);
  }
  // The error the owner answered with, after which it closed the connection.
  std::string Refusal() {
    const absl::StatusOr<wire::Frame> answer = Read();
    REQUIRE(answer.ok());
    const auto* done = std::get_if<wire::Done>(&*answer);
    REQUIRE(done != nullptr);
    CHECK_FALSE(done->status.ok());
    CHECK(absl::IsUnavailable(Read().status()));  // then closed
    return Message(done->status);
  }

  asio::io_context io;
  asio::ip::tcp::socket socket{io};
};

// ---------------------------------------------------------------------------------------------
// Sessions through an owner.
// ---------------------------------------------------------------------------------------------

TEST_CASE("Lines sent through the owner are acknowledged where its log has them") {
  Owned owned;
  Answers answers;
  absl::StatusOr<std::unique_ptr<ProduceSession>> session =
      ProduceVia(owned.Connect(), ProduceTo("t", 3), answers.Callback());
  REQUIRE(session.ok());
  CHECK((*session)->partitions() == 3);
  constexpr uint64_t kLines = 300;
  for (uint64_t seq = 1; seq <= kLines; ++seq) REQUIRE((*session)->Send(seq, Line(seq)).ok());
  REQUIRE((*session)->Flush().ok());
  const std::map<uint64_t, absl::StatusOr<LineAck>> got = answers.Got();
  REQUIRE(got.size() == kLines);  // every answer before Flush returned
  CHECK(answers.repeated == 0);

  const std::map<Position, std::string> log = Log(*owned.cluster, "t");
  CHECK(log.size() == kLines);
  std::set<uint32_t> partitions;
  for (const auto& [seq, ack] : got) {
    REQUIRE(ack.ok());
    REQUIRE(ack->offset.has_value());
    CHECK(log.at({ack->partition, *ack->offset}) == Line(seq));
    partitions.insert(ack->partition);
  }
  CHECK(partitions.size() == 3);  // round-robin

  // A consumer through the owner reads exactly the log.
  absl::StatusOr<std::unique_ptr<ConsumeSession>> consumer =
      ConsumeVia(owned.Connect(), {.topic = "t", .group = "g", .from_beginning = true});
  REQUIRE(consumer.ok());
  std::map<Position, std::string> read;
  for (const Delivered& m : Drain(**consumer))
    read.emplace(Position{m.partition, m.offset}, m.value);
  CHECK(read == log);
  CHECK((*consumer)->Close().ok());
  // Committed: the group gets nothing more.
  absl::StatusOr<std::unique_ptr<ConsumeSession>> again =
      ConsumeVia(owned.Connect(), {.topic = "t", .group = "g", .from_beginning = true});
  REQUIRE(again.ok());
  CHECK(Drain(**again).empty());
}

TEST_CASE("Sessions through the owner fail as they would on the cluster") {
  Owned owned;
  Answers answers;
  REQUIRE(ProduceOn(*owned.cluster, ProduceTo("t", 2), answers.Callback()).ok());
  absl::StatusOr<std::unique_ptr<ProduceSession>> mismatch =
      ProduceVia(owned.Connect(), ProduceTo("t", 4), answers.Callback());
  CHECK(absl::IsFailedPrecondition(mismatch.status()));
  CHECK(Message(mismatch.status()) == "topic t has 2 partitions, not 4");
  CHECK(absl::IsInvalidArgument(
      ProduceVia(owned.Connect(), ProduceTo("__x"), answers.Callback()).status()));

  // A topic that does not exist yet: kNotFound, and the same connection may open again later.
  std::shared_ptr<Client> client = owned.Connect();
  const ConsumeRequest later{.topic = "later", .group = "g", .from_beginning = true};
  CHECK(absl::IsNotFound(ConsumeVia(client, later).status()));
  REQUIRE(ProduceOn(*owned.cluster, ProduceTo("later"), answers.Callback()).ok());
  CHECK(ConsumeVia(client, later).ok());
}

TEST_CASE("Two groups and a producer through one owner at once each see every message once") {
  const uint64_t seed = testing::TestSeed(31);
  CAPTURE(seed);
  Owned owned;
  constexpr uint64_t kLines = 400;
  Answers answers;
  absl::StatusOr<std::unique_ptr<ProduceSession>> producer =
      ProduceVia(owned.Connect(), ProduceTo("t", 2), answers.Callback());
  REQUIRE(producer.ok());
  std::atomic<bool> produced{false};
  std::thread produce([&] {
    base::Random random(seed);
    for (uint64_t seq = 1; seq <= kLines; ++seq) {
      if (!(*producer)->Send(seq, Line(seq)).ok()) return;
      if (random.Bernoulli(0.02)) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    produced = (*producer)->Flush().ok();
  });
  std::map<std::string, std::map<Position, std::string>> seen;
  std::mutex seen_mu;
  auto consume = [&](std::shared_ptr<Client> client, const std::string& group) {
    absl::StatusOr<std::unique_ptr<ConsumeSession>> consumer =
        ConsumeVia(client, {.topic = "t", .group = group, .from_beginning = true});
    if (!consumer.ok()) return;
    std::map<Position, std::string> mine;
    int duplicates = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (mine.size() < kLines && std::chrono::steady_clock::now() < deadline) {
      absl::StatusOr<std::vector<Delivered>> got = (*consumer)->Poll(50);
      if (!got.ok() || !(*consumer)->Commit().ok()) break;
      for (const Delivered& m : *got) {
        if (!mine.emplace(Position{m.partition, m.offset}, m.value).second) ++duplicates;
      }
      if (got->empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CHECK((*consumer)->Close().ok());
    std::lock_guard lock(seen_mu);
    CHECK(duplicates == 0);
    seen[group] = std::move(mine);
  };
  std::thread a(consume, owned.Connect(), "a");
  std::thread b(consume, owned.Connect(), "b");
  produce.join();
  a.join();
  b.join();
  REQUIRE(produced);
  const std::map<Position, std::string> log = Log(*owned.cluster, "t");
  CHECK(log.size() == kLines);
  CHECK(seen["a"] == log);
  CHECK(seen["b"] == log);
}

TEST_CASE("A producer that outruns the owner is held back without losing a line") {
  ServerOptions options;
  options.max_lines_in_flight = 2;
  Owned owned(options);
  Answers answers;
  absl::StatusOr<std::unique_ptr<ProduceSession>> session =
      ProduceVia(owned.Connect(), ProduceTo("t"), answers.Callback());
  REQUIRE(session.ok());
  for (uint64_t seq = 1; seq <= 500; ++seq) REQUIRE((*session)->Send(seq, Line(seq)).ok());
  REQUIRE((*session)->Flush().ok());
  CHECK(answers.Got().size() == 500);
  CHECK(Log(*owned.cluster, "t").size() == 500);
}

TEST_CASE("A client that goes away leaves its group") {
  Owned owned;
  Answers answers;
  REQUIRE(ProduceOn(*owned.cluster, ProduceTo("t"), answers.Callback()).ok());
  {
    absl::StatusOr<std::unique_ptr<ConsumeSession>> consumer =
        ConsumeVia(owned.Connect(), {.topic = "t", .group = "g"});
    REQUIRE(consumer.ok());
    CHECK(owned.cluster->DescribeGroup("g")->members.size() == 1);
  }  // closed without ConsumeClose
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!owned.cluster->DescribeGroup("g")->members.empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(owned.cluster->DescribeGroup("g")->members.empty());
}

// ---------------------------------------------------------------------------------------------
// The hand-over.
// ---------------------------------------------------------------------------------------------

TEST_CASE("Stopping answers every line the owner took and no other reaches the log") {
  Owned owned;
  Answers answers;
  absl::StatusOr<std::unique_ptr<ProduceSession>> session =
      ProduceVia(owned.Connect(), ProduceTo("t", 2), answers.Callback());
  REQUIRE(session.ok());
  uint64_t seq = 0;
  while (seq < 100) {
    ++seq;
    REQUIRE((*session)->Send(seq, Line(seq)).ok());
  }
  REQUIRE((*session)->Flush().ok());
  std::thread stop([&] { owned.server->Stop(); });
  // Lines keep coming while the owner leaves: those it took are answered, the rest ignored.
  absl::Status sent;
  while (sent.ok() && seq < 200'000) {
    ++seq;
    sent = (*session)->Send(seq, Line(seq));
  }
  stop.join();
  CHECK(IsOwnerLost(sent));
  CHECK(IsOwnerLost((*session)->Health()));
  CHECK(IsOwnerLost((*session)->Flush()));
  session->reset();  // no answer comes after this

  const std::map<uint64_t, absl::StatusOr<LineAck>> got = answers.Got();
  const std::map<Position, std::string> log = Log(*owned.cluster, "t");
  CHECK(answers.repeated == 0);
  CHECK(got.size() >= 100);
  CHECK(log.size() == got.size());  // nothing unanswered was appended, nothing answered lost
  for (const auto& [line, ack] : got) {
    REQUIRE(ack.ok());
    CHECK(log.at({ack->partition, *ack->offset}) == Line(line));
  }
}

TEST_CASE("Stopping leaves a consumer's unconfirmed batch to the group's next member") {
  Owned owned;
  Answers answers;
  absl::StatusOr<std::unique_ptr<ProduceSession>> producer =
      ProduceOn(*owned.cluster, ProduceTo("t"), answers.Callback());
  REQUIRE(producer.ok());
  for (uint64_t seq = 1; seq <= 10; ++seq) REQUIRE((*producer)->Send(seq, Line(seq)).ok());
  REQUIRE((*producer)->Flush().ok());

  absl::StatusOr<std::unique_ptr<ConsumeSession>> remote =
      ConsumeVia(owned.Connect(), {.topic = "t", .group = "g", .from_beginning = true});
  REQUIRE(remote.ok());
  absl::StatusOr<std::vector<Delivered>> first = (*remote)->Poll(4);
  REQUIRE(first.ok());
  REQUIRE(first->size() == 4);
  REQUIRE((*remote)->Commit().ok());
  absl::StatusOr<std::vector<Delivered>> second = (*remote)->Poll(3);
  REQUIRE(second.ok());
  REQUIRE(second->size() == 3);  // offsets 4 to 6, printed but not confirmed
  owned.server->Stop();
  CHECK(IsOwnerLost((*remote)->Commit()));
  remote->reset();

  // The group's next member starts after what was committed: 4 to 6 again, never 0 to 3.
  absl::StatusOr<std::unique_ptr<ConsumeSession>> next =
      ConsumeOn(*owned.cluster, {.topic = "t", .group = "g", .from_beginning = true});
  REQUIRE(next.ok());
  const std::vector<Delivered> rest = Drain(**next);
  REQUIRE(rest.size() == 6);
  CHECK(rest.front().offset == 4);
  CHECK(rest.back().offset == 9);
}

TEST_CASE("Stopping past the drain timeout closes a client that does not close its end") {
  ServerOptions options;
  options.drain_timeout_ms = 50;
  Owned owned(options);
  Raw raw(owned.server->port());
  raw.OpenProduce();
  // The owner sends Handover and then waits (up to FrameConnection::kLingerMs) for this client
  // to close its end, which it never does: the drain timeout closes the connection instead.
  const auto start = std::chrono::steady_clock::now();
  owned.server->Stop();
  CHECK(std::chrono::steady_clock::now() - start <
        std::chrono::milliseconds(FrameConnection::kLingerMs));
  const absl::StatusOr<wire::Frame> handover = raw.Read();
  REQUIRE(handover.ok());
  CHECK(std::holds_alternative<wire::Handover>(*handover));
  CHECK(absl::IsUnavailable(raw.Read().status()));  // closed by the owner
}

TEST_CASE("A client that sends lines and never reads the answers is held back") {
  ServerOptions options;
  options.max_lines_in_flight = 4;
  Owned owned(options);
  Raw raw(owned.server->port());
  raw.OpenProduce();
  // A small receive buffer, so that the answers back up at the owner soon.
  raw.socket.set_option(asio::socket_base::receive_buffer_size(4096));
  std::string lines;
  for (uint64_t seq = 1; seq <= 40'000; ++seq)
    lines += wire::EncodeFrame(wire::ProduceLine{seq, "x"});
  std::atomic<bool> sent{false};
  std::thread send([&] {
    boost::system::error_code error;  // once the socket is shut down below
    asio::write(raw.socket, asio::buffer(lines), error);
    sent = true;
  });
  // The owner takes lines while their answers can be written; then it stops reading, and this
  // client's writes block.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!sent && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  boost::system::error_code ignored;
  raw.socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  send.join();
  owned.server->Stop();
  // The answers waiting at the owner: those of the lines in flight, and a reply or a Handover.
  CAPTURE(owned.server->max_queued_frames());
  CHECK(owned.server->max_queued_frames() <= options.max_lines_in_flight + 2);
}

TEST_CASE("The owner listens on the loopback address only") {
  Owned owned;
  // /proc/net/tcp lists each IPv4 socket as "sl local_address rem_address st ...", addresses in
  // hexadecimal (the IPv4 address in the host's byte order), st 0A for a listening socket.
  std::FILE* table = std::fopen("/proc/net/tcp", "r");
  REQUIRE(table != nullptr);
  char line[512];
  int listening = 0;
  while (std::fgets(line, sizeof line, table) != nullptr) {
    unsigned address = 0, port = 0, state = 0;
    if (std::sscanf(line, " %*d: %8X:%4X %*8X:%*4X %2X", &address, &port, &state) != 3) continue;
    if (port != owned.server->port() || state != 0x0A) continue;
    ++listening;
    CHECK(address == 0x0100007Fu);  // 127.0.0.1
  }
  std::fclose(table);
  CHECK(listening == 1);
}

// ---------------------------------------------------------------------------------------------
// Bad input over the wire.
// ---------------------------------------------------------------------------------------------

TEST_CASE("Malformed frames get an error naming them and the owner serves on") {
  ServerOptions options;
  options.hello_timeout_ms = 100;
  Owned owned(options);
  const uint16_t port = owned.server->port();
  {
    Raw raw(port);
    raw.Send(std::string("\xff\xff\xff\xffwhatever", 12));
    CHECK(raw.Refusal() == "a frame of 4294967295 bytes: want 1 to 4194304");
  }
  {
    Raw raw(port);
    raw.Send(std::string("\0\0\0\0", 4));
    CHECK(raw.Refusal() == "a frame of 0 bytes: want 1 to 4194304");
  }
  {
    Raw raw(port);
    raw.SayHello();
    raw.Send(std::string("\3\0\0\0\x63xy", 7));
    CHECK(raw.Refusal() == "frame type 99 is unknown");
  }
  {
    Raw raw(port);
    raw.SayHello();
    raw.Send(std::string("\x0a\0\0\0\x0b\x01\x02", 7));  // 10 bytes announced, 3 sent
    raw.socket.shutdown(asio::ip::tcp::socket::shutdown_send);
    CHECK(raw.Refusal() == "the connection ended inside a frame's body: 3 of 10 bytes");
  }
  {
    Raw raw(port);
    raw.Send(std::string("\x02\0", 2));
    raw.socket.shutdown(asio::ip::tcp::socket::shutdown_send);
    CHECK(raw.Refusal() == "the connection ended inside a frame's header: 2 of 4 bytes");
  }
  {
    Raw raw(port);
    raw.SayHello();
    raw.Send(std::string("\x02\0\0\0\x0b\xff", 6));  // a ConsumePoll with a cut varint
    CHECK(raw.Refusal().starts_with("a ConsumePoll frame: "));
  }
  {
    Raw raw(port);
    raw.Send(wire::ConsumePoll{10});
    CHECK(raw.Refusal() == "a ConsumePoll frame before Hello");
  }
  {
    Raw raw(port);
    raw.Send(wire::Hello{wire::kVersion, kToken + 1});
    CHECK(raw.Refusal() == "the token is not this owner's");
  }
  {
    Raw raw(port);
    raw.Send(wire::Hello{wire::kVersion + 1, kToken});
    CHECK(raw.Refusal() == "protocol version 2; this owner speaks version 1");
  }
  {
    Raw raw(port);
    raw.SayHello();
    raw.Send(wire::ConsumePoll{10});
    CHECK(raw.Refusal() == "a ConsumePoll frame before a session is open");
  }
  {
    Raw raw(port);
    raw.SayHello();
    raw.Send(wire::ProduceOpen{ProduceTo("t")});
    REQUIRE(raw.Read().ok());
    raw.Send(wire::ConsumeCommit{});
    CHECK(raw.Refusal() == "a ConsumeCommit frame in a produce session");
  }
  {
    Raw raw(port);
    raw.SayHello();
    raw.Send(wire::Welcome{});
    CHECK(raw.Refusal() == "a Welcome frame is not a request");
  }
  {
    Raw raw(port);  // says nothing
    CHECK(raw.Refusal() == "no Hello within 100 ms");
  }
  {
    // A request the cluster refuses is answered, and the session may try again.
    Raw raw(port);
    raw.SayHello();
    raw.Send(wire::ConsumeOpen{{.topic = "__delayed", .group = "g"}});
    absl::StatusOr<wire::Frame> answer = raw.Read();
    REQUIRE(answer.ok());
    CHECK(Message(std::get<wire::Done>(*answer).status).find("is internal") != std::string::npos);
    raw.Send(wire::ConsumeOpen{{.topic = "t", .group = "g"}});
    answer = raw.Read();
    REQUIRE(answer.ok());
    CHECK(std::get<wire::Done>(*answer).status.ok());
    raw.Send(wire::ConsumePoll{0});  // out of range, answered
    answer = raw.Read();
    REQUIRE(answer.ok());
    CHECK(Message(std::get<wire::Done>(*answer).status) == "a poll of 0 messages: want 1 to 500");
  }
  // After all that, a well-behaved client is served.
  Answers answers;
  absl::StatusOr<std::unique_ptr<ProduceSession>> session =
      ProduceVia(owned.Connect(), ProduceTo("t"), answers.Callback());
  REQUIRE(session.ok());
  REQUIRE((*session)->Send(1, "fine").ok());
  REQUIRE((*session)->Flush().ok());
  CHECK(answers.Got().at(1).ok());
}

TEST_CASE("An owner at its session limit refuses more clients until one leaves") {
  ServerOptions options;
  options.max_sessions = 1;
  Owned owned(options);
  std::shared_ptr<Client> first = owned.Connect();
  absl::StatusOr<std::shared_ptr<Client>> second =
      Client::Connect(owned.server->port(), kToken, 5000);
  CHECK(IsOwnerLost(second.status()));
  CHECK(Message(second.status()).find("this owner serves 1 sessions") != std::string::npos);
  first.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    second = Client::Connect(owned.server->port(), kToken, 5000);
  } while (!second.ok() && std::chrono::steady_clock::now() < deadline);
  CHECK(second.ok());
}

// ---------------------------------------------------------------------------------------------
// Access: owning the directory, or being a client of its owner.
// ---------------------------------------------------------------------------------------------

AccessOptions Options(const std::string& dir) {
  AccessOptions o;
  o.dir = dir;
  o.cluster = SmallCluster();
  o.wait_ms = 5000;
  return o;
}

TEST_CASE("The first run owns the directory and the next is its client until it leaves") {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<Access>> first = Access::Acquire(Options(dir.path()));
  REQUIRE(first.ok());
  CHECK((*first)->owner());
  absl::StatusOr<OwnerRecord> record = ReadOwnerFile(dir.path());
  REQUIRE(record.ok());
  CHECK(record->port == (*first)->port());

  absl::StatusOr<std::unique_ptr<Access>> second = Access::Acquire(Options(dir.path()));
  REQUIRE(second.ok());
  CHECK_FALSE((*second)->owner());
  CHECK((*second)->port() == 0);
  CHECK((*second)->description().find("serves it") != std::string::npos);
  Answers answers;
  absl::StatusOr<std::unique_ptr<ProduceSession>> session =
      (*second)->Produce(ProduceTo("t"), answers.Callback());
  REQUIRE(session.ok());
  for (uint64_t seq = 1; seq <= 10; ++seq) REQUIRE((*session)->Send(seq, Line(seq)).ok());
  REQUIRE((*session)->Flush().ok());

  // The owner leaves: its client is handed over, and its advertisement goes.
  REQUIRE((*first)->Close().ok());
  CHECK(absl::IsNotFound(ReadOwnerFile(dir.path()).status()));
  CHECK(IsOwnerLost((*session)->Flush()));
  session->reset();
  CHECK((*second)->Close().ok());

  absl::StatusOr<std::unique_ptr<Access>> third = Access::Acquire(Options(dir.path()));
  REQUIRE(third.ok());
  CHECK((*third)->owner());
  absl::StatusOr<std::unique_ptr<ConsumeSession>> consumer =
      (*third)->Consume({.topic = "t", .group = "g", .from_beginning = true});
  REQUIRE(consumer.ok());
  CHECK(Drain(**consumer).size() == 10);
  consumer->reset();
  CHECK((*third)->Close().ok());
}

TEST_CASE("A client's broker count must be its owner's") {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<Access>> owner = Access::Acquire(Options(dir.path()));
  REQUIRE(owner.ok());
  AccessOptions other = Options(dir.path());
  other.cluster.brokers = 3;
  absl::StatusOr<std::unique_ptr<Access>> client = Access::Acquire(other);
  CHECK(absl::IsInvalidArgument(client.status()));
  CHECK(Message(client.status()).ends_with(" has 1 brokers, not 3"));
}

// Writes an OWNER file naming `port`.
void Advertise(const std::string& dir, uint16_t port, uint64_t token = kToken) {
  REQUIRE(wal::WriteFileAtomically(wal::FileSystem::Posix(), dir, kOwnerFile,
                                   EncodeOwnerRecord({port, 4242, token}))
              .ok());
}

TEST_CASE("A stale advertisement does not stand in for an owner") {
  testing::TempDir dir;
  // The directory is locked by a process that serves no one.
  absl::StatusOr<std::unique_ptr<mq::Cluster>> holder =
      mq::Cluster::Open(dir.path(), SmallCluster());
  REQUIRE(holder.ok());
  AccessOptions options = Options(dir.path());
  options.wait_ms = 150;
  options.hello_timeout_ms = 100;
  auto refused = [&](const char* what) {
    CAPTURE(what);
    const auto start = std::chrono::steady_clock::now();
    const absl::StatusOr<std::unique_ptr<Access>> access = Access::Acquire(options);
    CHECK(absl::IsUnavailable(access.status()));
    CHECK(Message(access.status()).find("serves no one") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  };
  asio::io_context io;
  const asio::ip::tcp::endpoint loopback(asio::ip::address_v4::loopback(), 0);

  refused("no OWNER at all");
  {
    asio::ip::tcp::acceptor closed(io, loopback);
    Advertise(dir.path(), closed.local_endpoint().port());
  }
  refused("a port nothing listens on");
  {
    asio::ip::tcp::acceptor silent(io, loopback);  // connections wait in its backlog, unanswered
    Advertise(dir.path(), silent.local_endpoint().port());
    refused("a listener that never answers");
  }
  {
    asio::ip::tcp::acceptor http(io, loopback);
    Advertise(dir.path(), http.local_endpoint().port());
    std::thread answer([&] {
      for (int i = 0; i < 2; ++i) {
        boost::system::error_code error;
        asio::ip::tcp::socket s(io);
        http.accept(s, error);
        if (error) return;
        asio::write(s, asio::buffer(std::string_view("HTTP/1.0 400 Bad Request\r\n\r\n")), error);
      }
    });
    options.wait_ms = 0;  // one try each, so that the thread above answers exactly them
    refused("a listener that answers something else");
    refused("a listener that answers something else, again");
    answer.join();
    options.wait_ms = 150;
  }
  {
    Owned other;  // a real owner of another directory, with another token
    Advertise(dir.path(), other.server->port(), kToken + 1);
    refused("an owner that does not hold the advertised token");
  }
  REQUIRE(
      wal::WriteFileAtomically(wal::FileSystem::Posix(), dir.path(), kOwnerFile, "garbage").ok());
  refused("a damaged OWNER");

  // Once the lock is free, the next run owns the directory and advertises itself.
  REQUIRE((*holder)->Close().ok());
  holder->reset();
  absl::StatusOr<std::unique_ptr<Access>> owner = Access::Acquire(options);
  REQUIRE(owner.ok());
  CHECK((*owner)->owner());
  CHECK(ReadOwnerFile(dir.path())->port == (*owner)->port());
}

TEST_CASE("Owner records round-trip and anything else is refused") {
  const uint64_t seed = testing::TestSeed(5);
  CAPTURE(seed);
  base::Random random(seed);
  for (int round = 0; round < 200; ++round) {
    const OwnerRecord record{static_cast<uint16_t>(1 + random.Uniform(65535)),
                             random.Next() >> random.Uniform(64), random.Next()};
    const std::string bytes = EncodeOwnerRecord(record);
    absl::StatusOr<OwnerRecord> decoded = DecodeOwnerRecord(bytes);
    REQUIRE(decoded.ok());
    CHECK(*decoded == record);
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      CHECK(absl::IsDataLoss(DecodeOwnerRecord(bytes.substr(0, cut)).status()));
    }
    CHECK(absl::IsDataLoss(DecodeOwnerRecord(bytes + "x").status()));
  }
  std::string port_zero = EncodeOwnerRecord({1, 2, 3});
  port_zero[std::string_view("keel-mq-owner").size() + 1] = '\0';
  CHECK(Message(DecodeOwnerRecord(port_zero).status()) == "not an owner record: port 0");
  CHECK(Message(DecodeOwnerRecord("keel-mq-ownre\1").status()) ==
        "not an owner record: no owner magic");
}

}  // namespace
}  // namespace keel::examples
