// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Command dispatch, as Redis 7.0's processCommand and call() do it: find the command (a
// container's subcommand by its second argument), check its arity, run it, and count it.
#include "keel/redis/engine.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "command.h"
#include "engine_impl.h"
#include "keel/base/strings.h"
#include "zset_commands.h"

namespace keel::redis {

using internal::Args;
using internal::CommandContext;
using internal::CommandSpec;

Engine::Impl::Impl(const EngineOptions& o)
    : options(o), clock(o.clock), rng(static_cast<uint64_t>(base::MonotonicClock().NowNanos())) {
  if (clock == nullptr) clock = &system_clock;
  start_time_ms = NowMillis();
  start_monotonic_ns = monotonic_clock.NowNanos();
  for (auto family :
       {internal::KeyCommands(), internal::StringCommands(), internal::SortedSetReadCommands(),
        internal::SortedSetWriteCommands(), internal::GeoCommands(), internal::ServerCommands()}) {
    for (const CommandSpec& spec : family) {
      commands.emplace(std::string(spec.name), &spec);
      for (const CommandSpec& sub : spec.subcommands) {
        commands.emplace(base::Cat(spec.name, "|", sub.name), &sub);
      }
    }
  }
}

std::unique_ptr<Engine> Engine::Create(const EngineOptions& options) {
  return std::unique_ptr<Engine>(new Engine(std::make_unique<Impl>(options)));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

ClientState Engine::NewClient() {
  std::lock_guard lock(impl_->mu);
  ClientState client;
  client.id = impl_->next_client_id++;
  return client;
}

namespace {

// Redis formats user text with "%.128s": up to 128 bytes, and no further than a NUL.
std::string_view CString(std::string_view text, size_t max = 128) {
  text = text.substr(0, std::min(text.find('\0'), text.size()));
  return text.substr(0, std::min(text.size(), max));
}

std::string Lower(std::string_view text) {
  return absl::AsciiStrToLower(absl::string_view(text.data(), text.size()));
}

std::string UnknownCommand(Args args) {
  std::string listed;
  for (size_t i = 1; i < args.size() && listed.size() < 128; ++i) {
    listed += base::Cat("'", CString(args[i], 128 - listed.size()), "' ");
  }
  return base::Cat("unknown command '", CString(args[0]), "', with args beginning with: ", listed);
}

}  // namespace

void Engine::Execute(ClientState& client, net::RespWriter& reply,
                     std::span<const std::string_view> args) {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.mu);
  reply.set_protocol(client.protocol);
  ++impl.total_commands;

  // Find the command, or the container's subcommand.
  const std::string name = Lower(args[0]);
  auto it = impl.commands.find(name);
  const CommandSpec* spec = it == impl.commands.end() ? nullptr : it->second;
  std::string full_name = name;
  if (spec != nullptr && !spec->subcommands.empty() && args.size() >= 2) {
    full_name = base::Cat(name, "|", Lower(args[1]));
    auto sub = impl.commands.find(full_name);
    if (sub == impl.commands.end()) {
      reply.Error(base::Cat("unknown subcommand '", CString(args[1]), "'. Try ",
                            absl::AsciiStrToUpper(absl::string_view(name)), " HELP."));
      return;
    }
    spec = sub->second;
  }
  if (spec == nullptr) {
    reply.Error(UnknownCommand(args));
    return;
  }
  CommandStats& stats = impl.stats[full_name];
  const auto argc = static_cast<int>(args.size());
  if ((spec->arity > 0 && spec->arity != argc) || argc < -spec->arity) {
    ++stats.rejected_calls;
    reply.Error(base::Cat("wrong number of arguments for '", full_name, "' command"));
    return;
  }

  impl.db.set_now_ms(impl.NowMillis());
  CommandContext ctx(impl, client, reply);
  const int64_t start_ns = impl.monotonic_clock.NowNanos();
  spec->handler(ctx, args);
  const int64_t elapsed_ns = impl.monotonic_clock.NowNanos() - start_ns;
  ++stats.calls;
  stats.usec += static_cast<uint64_t>(elapsed_ns / 1000);
  if (ctx.failed()) ++stats.failed_calls;
  impl.dirty += ctx.dirty();
  client.protocol = reply.protocol();
}

size_t Engine::ExpireCycle(size_t limit) {
  std::lock_guard lock(impl_->mu);
  impl_->db.set_now_ms(impl_->NowMillis());
  return impl_->db.DeleteExpired(limit);
}

CommandStats Engine::stats(std::string_view command) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->stats.find(Lower(command));
  return it == impl_->stats.end() ? CommandStats{} : it->second;
}

void Engine::set_info_source(std::function<void(std::string&, std::string_view)> source) {
  std::lock_guard lock(impl_->mu);
  impl_->info_source = std::move(source);
}

namespace internal {

Value* LookupTyped(CommandContext& ctx, std::string_view key, ValueType type, bool* wrong_type) {
  *wrong_type = false;
  Value* value = ctx.db().Find(key);
  if (value == nullptr) return nullptr;
  if (value->type() != type) {
    *wrong_type = true;
    ctx.Error(kWrongType);
    return nullptr;
  }
  return value;
}

void ReplyArity(CommandContext& ctx, std::string_view name) {
  ctx.Error(base::Cat("wrong number of arguments for '", name, "' command"));
}

}  // namespace internal
}  // namespace keel::redis
