// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Engine: the Redis-compatible command engine behind keel-server. It owns the keyspace
// (keel/redis/database.h), executes commands as Redis 7.0 does, with byte-identical replies
// (errors included), keeps the statistics INFO reports, and hands every change to persistence.
//
// Clients: each connection has a ClientState (its id, name, protocol, and the flags a command can
// set for the connection, such as QUIT's close). The engine does not know about sockets; keel's
// network layer (keel/redis/session.h) feeds it parsed commands and sends what it writes. Tests
// call Execute directly and compare the bytes with a real redis-server's.
//
// Concurrency: Execute may be called from any thread; commands run one at a time under the
// engine's lock, so that every command is atomic, as in Redis. Parsing, encoding and socket work
// stay on the connections' threads, outside the lock (the design of Redis 6's I/O threads).
//
// Persistence (docs/redis_persistence.md): with EngineOptions::dir set, every command that
// changes the keyspace is logged, in the form Redis writes to its append-only file, through
// keel's write-ahead log (keel/wal/log.h), and Open restores the keyspace from it. Execute only
// queues the command's record; the caller must not send the reply before WaitDurable(token)
// returns, which writes the queued records (and, under FsyncPolicy::kAlways, syncs them),
// sharing one write and one fsync among every client waiting at the time. The log is compacted
// by rewriting the keyspace as commands (Redis's BGREWRITEAOF) when it doubles in size.
//
// Example:
//
//   keel::redis::EngineOptions options;
//   options.dir = "/var/lib/keel";                       // empty: memory only
//   options.fsync = keel::redis::FsyncPolicy::kAlways;
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<keel::redis::Engine> engine,
//                         keel::redis::Engine::Open(options));
//   keel::redis::ClientState client = engine->NewClient();
//   std::string out;
//   keel::net::RespWriter writer(out);
//   std::vector<std::string_view> args = {"ZADD", "board", "10", "alice"};
//   const uint64_t token = engine->Execute(client, writer, args);   // out == ":1\r\n"
//   KEEL_RETURN_IF_ERROR(engine->WaitDurable(token));   // now the reply may go out
#ifndef KEEL_REDIS_ENGINE_H_
#define KEEL_REDIS_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/clock.h"
#include "keel/net/resp_writer.h"
#include "keel/redis/database.h"

namespace keel::wal {
class FileSystem;
}  // namespace keel::wal

namespace keel::redis {

class Engine;

// When the log is synced to the disk (Redis's appendfsync). Under every policy a command's record
// is written to the operating system before WaitDurable returns, so a crash of the process alone
// (SIGKILL) loses no acknowledged write; the policy decides what a power cut or a kernel crash
// may lose.
enum class FsyncPolicy {
  kAlways,    // fsync before WaitDurable returns: nothing acknowledged is lost
  kEverySec,  // fsync once a second in the background: up to about a second is lost
  kNo,        // never fsync explicitly; the operating system writes back when it likes
};

// What the engine knows of one client connection.
struct ClientState {
  uint64_t id = 0;
  std::string name;  // CLIENT SETNAME
  net::Protocol protocol = net::Protocol::kResp2;
  std::string peer_address;        // for CLIENT INFO/LIST
  bool close_after_reply = false;  // set by QUIT

  // Pub/sub. The channels and patterns subscribed to, in the order they were, each with its
  // subscription in the engine's broker (keel/pubsub/broker.h).
  std::vector<std::pair<std::string, uint64_t>> channels;
  std::vector<std::pair<std::string, uint64_t>> patterns;
  // How the engine wakes the client's connection when messages wait for it: the session posts
  // a task to its connection that calls Engine::DeliverMessages. Called from any thread, under
  // the broker's lock, so it must only schedule work. Unset: messages wait until the next
  // DeliverMessages call.
  std::function<void()> wake;

  [[nodiscard]] size_t subscription_count() const { return channels.size() + patterns.size(); }
};

// Statistics of one command, for INFO commandstats.
struct CommandStats {
  uint64_t calls = 0;
  uint64_t usec = 0;
  uint64_t rejected_calls = 0;  // refused before running (arity)
  uint64_t failed_calls = 0;    // ran and replied with an error
  uint64_t cycles = 0;          // the time-stamp counter's ticks, from which usec is derived
};

struct EngineOptions {
  // Wall-clock time for expiry (TTL) and INFO; a test may pass a ManualClock. nullptr: the
  // system clock. Must outlive the engine.
  const base::Clock* clock = nullptr;
  // What INFO server reports.
  uint16_t tcp_port = 0;
  size_t io_threads = 1;
  // Largest string value (proto-max-bulk-len): SET/APPEND beyond it fail.
  size_t max_string_bytes = size_t{512} * 1024 * 1024;
  // Pub/sub messages waiting for one subscription before its client is disconnected (Redis's
  // client-output-buffer-limit for pub/sub clients, which Redis counts in bytes: 32 MiB).
  size_t max_pending_messages = 256 * 1024;

  // Persistence. The directory holding the log (created if missing); empty: memory only.
  std::string dir{};
  FsyncPolicy fsync = FsyncPolicy::kEverySec;
  // Rewrite the log when it holds at least rewrite_min_bytes and has grown by
  // rewrite_percentage percent since the last rewrite (Redis's auto-aof-rewrite-min-size and
  // auto-aof-rewrite-percentage). 0 percent: only BGREWRITEAOF (or Rewrite()) rewrites.
  uint64_t rewrite_min_bytes = uint64_t{64} << 20;
  uint32_t rewrite_percentage = 100;
  // The log's segment size (keel/wal/log.h). A logged command must fit in a segment, so a write
  // command larger than about this is refused. At least 64 KiB.
  uint64_t log_segment_bytes = uint64_t{64} << 20;
  // Under kAlways the log writes zeros ahead of its records this many bytes at a time, which
  // makes each fsync cheaper (keel/wal/log.h, LogOptions::preallocate_bytes). 0: none.
  uint64_t log_preallocate_bytes = uint64_t{1} << 20;
  // Where the files live; the operating system's when null (tests pass a MemoryFileSystem or a
  // CrashExplorer's). Must outlive the engine.
  wal::FileSystem* file_system = nullptr;
  // How often the background thread writes queued records and checks whether a rewrite is due.
  int64_t background_interval_ms = 100;
};

// What INFO persistence reports, for tests and monitoring.
struct PersistenceStats {
  bool enabled = false;
  uint64_t current_size = 0;  // bytes of the base and the log
  uint64_t base_size = 0;     // current_size just after the last rewrite (or at Open)
  uint64_t rewrites = 0;
  bool rewrite_in_progress = false;
  int64_t last_rewrite_time_ms = -1;   // how long the last rewrite took
  int64_t last_rewrite_pause_us = -1;  // of which the keyspace was locked (serialising it)
  bool last_rewrite_ok = true;
  bool last_write_ok = true;
  uint64_t pending_bytes = 0;    // queued, not yet written
  uint64_t logged_records = 0;   // records appended since Open
  uint64_t log_fsyncs = 0;       // fsyncs the log made since Open (keel::wal::LogStats::syncs)
  uint64_t loaded_commands = 0;  // commands replayed by Open
};

class Engine {
 public:
  // A memory-only engine when options.dir is empty; otherwise the keyspace the directory's log
  // holds, replayed (keys whose time has passed are then deleted, and the deletions logged).
  // Errors: kInvalidArgument for bad options; kUnavailable while another engine has the directory
  // open; kDataLoss for damage that a crash does not explain (naming the file and the offset or
  // position), or a record that is not a command keel knows; I/O errors. A torn tail (the last
  // records of an interrupted write) is cut off, as keel's log defines.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  // Stops the background thread, writes what is queued and syncs it (a clean shutdown).
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // A new client's state, with a fresh id (CLIENT ID counts from 1).
  [[nodiscard]] ClientState NewClient();

  // Runs one command (args[0] is its name) for `client` and writes its reply to `reply`, in
  // the client's protocol. Returns 0 when the reply depends on nothing unlogged, else a token to
  // pass to WaitDurable before the reply is sent. Thread-safe.
  uint64_t Execute(ClientState& client, net::RespWriter& reply,
                   std::span<const std::string_view> args);

  // Returns once every record up to `token` (from Execute; 0 or a smaller token returns at once)
  // is written to the operating system, and under FsyncPolicy::kAlways synced. Callers waiting
  // at the same time share one write and one fsync, so a session should call it once per batch
  // of replies, with the largest token of the batch. Errors: the log's write or sync error (the
  // write may or may not survive); after one, the engine refuses writes (-MISCONF) until
  // reopened. Thread-safe.
  [[nodiscard]] absl::Status WaitDurable(uint64_t token);

  // Rewrites the log now and waits for it (BGREWRITEAOF starts the same in the background).
  // Errors: kFailedPrecondition for a memory-only engine; I/O errors.
  [[nodiscard]] absl::Status Rewrite();

  [[nodiscard]] PersistenceStats persistence_stats() const;

  // Writes the pub/sub messages waiting for `client`, as Redis's "message" and "pmessage"
  // pushes. Returns false if one of its subscriptions was dropped for falling behind (more than
  // EngineOptions::max_pending_messages waiting): the connection should be closed, as Redis
  // closes a pub/sub client past its output buffer limit. Call it on the client's own thread.
  bool DeliverMessages(ClientState& client, net::RespWriter& writer);

  // Releases everything the client holds (its subscriptions); call when its connection closes.
  void Disconnect(ClientState& client);

  // Deletes keys whose time has come, a bounded number per call (Redis's active expiry cycle).
  // A server calls it every 100 ms or so. Returns how many went. Thread-safe.
  size_t ExpireCycle(size_t limit = 200);

  // A command's statistics, by lower-case name (INFO commandstats); zero for unknown names.
  [[nodiscard]] CommandStats stats(std::string_view command) const;

  // The port INFO reports (once the server knows it).
  void set_tcp_port(uint16_t port);

  // Supplies figures for INFO that belong to the server around the engine (connected clients,
  // network bytes). Called under the engine's lock; must not call back into the engine.
  void set_info_source(std::function<void(std::string& section, std::string_view name)> source);

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::redis

#endif  // KEEL_REDIS_ENGINE_H_
