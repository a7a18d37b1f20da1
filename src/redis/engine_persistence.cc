// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The engine's side of persistence: loading the log at Open, logging keys deleted by expiry,
// the background thread (writes, everysec's fsync, automatic rewrites), and the rewrite's
// snapshot of the keyspace as commands, as Redis's rewriteAppendOnlyFileRio writes it.
#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include "append_only_file.h"
#include "arguments.h"
#include "command.h"
#include "engine_impl.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"

namespace keel::redis {

using internal::AppendOnlyFile;
using internal::BaseImage;

namespace {

// A rewrite writes a sorted set as ZADDs of at most this many members (Redis's
// AOF_REWRITE_ITEMS_PER_CMD), and splits a long string into a SET and APPENDs, so that each
// command stays well inside a record.
constexpr size_t kMembersPerCommand = 64;

class ImageWriter {
 public:
  ImageWriter(BaseImage& image, size_t chunk_bytes) : image_(image), chunk_bytes_(chunk_bytes) {}

  void Add(std::initializer_list<std::string_view> args) {
    std::string record;
    net::AppendCommand(record, std::span<const std::string_view>(args.begin(), args.size()));
    image_.records.push_back(std::move(record));
  }

  void String(std::string_view key, std::string_view value) {
    Add({"SET", key, value.substr(0, chunk_bytes_)});
    for (size_t at = chunk_bytes_; at < value.size(); at += chunk_bytes_) {
      Add({"APPEND", key, value.substr(at, chunk_bytes_)});
    }
  }

  void Zset(std::string_view key, const std::vector<std::pair<std::string, double>>& members) {
    std::vector<std::string> scores;
    std::vector<std::string_view> args;
    auto flush = [&] {
      std::string record;
      net::AppendCommand(record, args);
      image_.records.push_back(std::move(record));
    };
    size_t bytes = 0;
    for (const auto& [member, score] : members) {
      if (args.empty()) {
        scores.clear();
        scores.reserve(kMembersPerCommand);  // args point into it: it must not reallocate
        args = {"ZADD", key};
        bytes = 0;
      }
      scores.push_back(net::FormatDouble(score));
      args.emplace_back(scores.back());
      args.emplace_back(member);
      bytes += scores.back().size() + member.size();
      if (scores.size() == kMembersPerCommand || bytes >= chunk_bytes_) {
        flush();
        args.clear();
      }
    }
    if (!args.empty()) flush();
  }

 private:
  BaseImage& image_;
  const size_t chunk_bytes_;
};

// A live key as a rewrite copies it under the engine's lock.
struct KeyCopy {
  std::string key;
  bool zset = false;
  std::string string;
  std::vector<std::pair<std::string, double>> members;  // in the set's order
  int64_t expiry_ms = Database::kNoExpiry;
};

std::vector<KeyCopy> CopyKeyspace(const Database& db, int64_t now_ms) {
  std::vector<KeyCopy> keys;
  keys.reserve(db.size());
  db.ForEach([&](std::string_view key, const Value& value, int64_t expiry_ms) {
    // A key whose time has come is left out, as Redis's rewrite does; its DEL, when it comes,
    // finds nothing to delete.
    if (expiry_ms != Database::kNoExpiry && expiry_ms <= now_ms) return;
    KeyCopy& copy = keys.emplace_back();
    copy.key = std::string(key);
    copy.expiry_ms = expiry_ms;
    if (value.type() == ValueType::kString) {
      copy.string = value.string();
      return;
    }
    copy.zset = true;
    copy.members.reserve(value.zset().size());
    for (auto c = value.zset().CursorAt(0); c.valid(); c.Next()) {
      copy.members.emplace_back(std::string(c.member()), c.score());
    }
  });
  return keys;
}

}  // namespace

absl::Status Engine::Impl::OpenPersistence() {
  KEEL_ASSIGN_OR_RETURN(aof, AppendOnlyFile::Open(options));
  {
    std::lock_guard lock(mu);
    // Replaying: nothing expires and nothing is logged, so that the log's commands rebuild the
    // keyspace they recorded whatever the time now (Redis suspends expiry while loading too).
    loading = true;
    db.set_loading(true);
    ClientState loader;
    std::string sink;
    absl::Status status = aof->Load([&](std::span<const std::string_view> args) -> absl::Status {
      sink.clear();
      net::RespWriter writer(sink);
      bool known = false;
      Run(loader, writer, args, &known);
      if (!known) {
        return absl::DataLossError(base::Cat("not a command keel knows: ", base::Quoted(sink)));
      }
      return absl::OkStatus();
    });
    loading = false;
    db.set_loading(false);
    KEEL_RETURN_IF_ERROR(status);
    // Keys whose time passed while the server was down go now, each logged as a DEL.
    db.set_now_ms(NowMillis());
    db.DeleteExpired(std::numeric_limits<size_t>::max());
  }
  KEEL_RETURN_IF_ERROR(aof->Sync());
  background = std::thread([this] { BackgroundLoop(); });
  return absl::OkStatus();
}

Engine::Impl::~Impl() { StopBackground(); }

void Engine::Impl::StopBackground() {
  if (!background.joinable()) return;
  {
    std::lock_guard lock(background_mu);
    stopping = true;
  }
  background_cv.notify_all();
  background.join();
  // A clean shutdown keeps everything (an error here has been recorded for INFO already).
  (void)aof->Sync();
}

void Engine::Impl::BackgroundLoop() {
  const auto interval = std::chrono::milliseconds(options.background_interval_ms);
  auto last_sync = std::chrono::steady_clock::now();
  std::unique_lock lock(background_mu);
  while (!stopping) {
    background_cv.wait_for(lock, interval, [&] { return stopping || rewrite_requested; });
    if (stopping) break;
    const bool requested = rewrite_requested;
    lock.unlock();
    // Errors are recorded by the file (INFO's aof_last_write_status, and writes are refused).
    (void)aof->Flush();
    const auto now = std::chrono::steady_clock::now();
    if (options.fsync == FsyncPolicy::kEverySec && now - last_sync >= std::chrono::seconds(1)) {
      (void)aof->Sync();
      last_sync = now;
    }
    if (requested || aof->RewriteDue()) (void)RewriteNow();
    lock.lock();
    if (requested) rewrite_requested = false;
  }
}

absl::Status Engine::Impl::RewriteNow() {
  return aof->Rewrite([this] {
    BaseImage image;
    std::vector<KeyCopy> keys;
    {
      // Only the copy stops commands; formatting the records (the larger part: every score
      // printed with %.17g) happens after the lock is released.
      std::lock_guard lock(mu);
      const auto start = std::chrono::steady_clock::now();
      image.covered = aof->next_offset();
      keys = CopyKeyspace(db, NowMillis());
      image.pause_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    }
    ImageWriter writer(image, std::min<uint64_t>(1 << 20, aof->max_command_bytes() / 4));
    for (const KeyCopy& key : keys) {
      if (key.zset) {
        writer.Zset(key.key, key.members);
      } else {
        writer.String(key.key, key.string);
      }
      if (key.expiry_ms != Database::kNoExpiry) {
        writer.Add({"PEXPIREAT", key.key, internal::IntegerText(key.expiry_ms)});
      }
    }
    return image;
  });
}

void Engine::Impl::LogExpired(std::string_view key) {
  if (aof == nullptr || loading) return;
  const std::string_view args[] = {"DEL", key};
  command_token = aof->Queue(args);
}

std::string Engine::Impl::RefuseWrite(std::span<const std::string_view> args) const {
  if (aof->write_failed()) {
    return base::Cat("-MISCONF Errors writing to the AOF file: ", aof->write_error());
  }
  uint64_t bytes = 0;
  for (std::string_view arg : args) bytes += arg.size() + 32;  // with RESP's framing
  if (bytes > aof->max_command_bytes()) {
    return base::Cat("command of ", bytes, " bytes is too large for the append-only log (at most ",
                     aof->max_command_bytes(), ")");
  }
  return "";
}

absl::Status Engine::WaitDurable(uint64_t token) {
  if (token == 0 || impl_->aof == nullptr) return absl::OkStatus();
  return impl_->aof->WaitDurable(token);
}

absl::Status Engine::Rewrite() {
  if (impl_->aof == nullptr) {
    return absl::FailedPreconditionError("a memory-only engine has no log to rewrite");
  }
  return impl_->RewriteNow();
}

PersistenceStats Engine::persistence_stats() const {
  PersistenceStats stats;
  if (impl_->aof != nullptr) impl_->aof->FillStats(&stats);
  return stats;
}

}  // namespace keel::redis
