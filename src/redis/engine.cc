// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Command dispatch, as Redis 7.0's processCommand and call() do it: find the command (a
// container's subcommand by its second argument), check its arity, run it, and count it.
#include "keel/redis/engine.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "append_only_file.h"
#include "command.h"
#include "engine_impl.h"
#include "keel/base/status.h"
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
  broker = *pubsub::Broker<Message>::Create(
      {.max_subscriptions = size_t{1} << 30, .max_channel_bytes = options.max_string_bytes});
  start_monotonic_ns = monotonic_clock.NowNanos();
  db.set_on_expired([this](std::string_view key) { LogExpired(key); });
  for (auto family :
       {internal::KeyCommands(), internal::StringCommands(), internal::SortedSetReadCommands(),
        internal::SortedSetWriteCommands(), internal::GeoCommands(), internal::PubSubCommands(),
        internal::ServerCommands()}) {
    for (const CommandSpec& spec : family) {
      Register(spec, std::string(spec.name));
      for (const CommandSpec& sub : spec.subcommands) {
        Register(sub, base::Cat(spec.name, "|", sub.name));
      }
    }
  }
}

void Engine::Impl::Register(const CommandSpec& spec, std::string full_name) {
  auto registered = std::make_unique<Registered>(Registered{&spec, full_name, {}});
  const bool added = commands.emplace(std::move(full_name), std::move(registered)).second;
  KEEL_ASSERT(added, "command ", spec.name, " registered twice");
}

size_t Engine::Impl::NameHash::operator()(std::string_view name) const {
  // FNV-1a over the lower-cased bytes: names are short, and not chosen by an attacker who
  // could gain anything (an unknown name is refused after one probe sequence).
  uint64_t h = 0xcbf29ce484222325;
  for (const char c : name) {
    h ^= static_cast<unsigned char>(absl::ascii_tolower(static_cast<unsigned char>(c)));
    h *= 0x100000001b3;
  }
  return static_cast<size_t>(h);
}

bool Engine::Impl::NameEq::operator()(std::string_view a, std::string_view b) const {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  if (!options.dir.empty()) KEEL_RETURN_IF_ERROR(impl->OpenPersistence());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
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

std::string UnknownCommand(Args args) {
  std::string listed;
  for (size_t i = 1; i < args.size() && listed.size() < 128; ++i) {
    listed += base::Cat("'", CString(args[i], 128 - listed.size()), "' ");
  }
  return base::Cat("unknown command '", CString(args[0]), "', with args beginning with: ", listed);
}

}  // namespace

uint64_t Engine::Execute(ClientState& client, net::RespWriter& reply,
                         std::span<const std::string_view> args) {
  std::lock_guard lock(impl_->mu);
  return impl_->Run(client, reply, args);
}

uint64_t Engine::Impl::Run(ClientState& client, net::RespWriter& reply, Args args, bool* known) {
  Impl& impl = *this;
  if (known != nullptr) *known = false;
  reply.set_protocol(client.protocol);
  if (!loading) ++impl.total_commands;

  // Find the command, or the container's subcommand.
  // Subcommands are registered as "container|name"; that is not a name a client may send.
  auto it = args[0].find('|') == std::string_view::npos ? impl.commands.find(args[0])
                                                        : impl.commands.end();
  Impl::Registered* command = it == impl.commands.end() ? nullptr : it->second.get();
  if (command != nullptr && !command->spec->subcommands.empty() && args.size() >= 2) {
    auto sub = impl.commands.find(base::Cat(command->full_name, "|", args[1]));
    if (sub == impl.commands.end()) {
      reply.Error(base::Cat("unknown subcommand '", CString(args[1]), "'. Try ",
                            absl::AsciiStrToUpper(command->full_name), " HELP."));
      return 0;
    }
    command = sub->second.get();
  }
  if (command == nullptr) {
    reply.Error(UnknownCommand(args));
    return 0;
  }
  const CommandSpec* spec = command->spec;
  CommandStats& counts = command->stats;
  const auto argc = static_cast<int>(args.size());
  if ((spec->arity > 0 && spec->arity != argc) || argc < -spec->arity) {
    ++counts.rejected_calls;
    reply.Error(base::Cat("wrong number of arguments for '", command->full_name, "' command"));
    return 0;
  }
  if (known != nullptr) *known = true;
  // A RESP2 connection in subscribed mode carries pushes between replies, so Redis lets it send
  // only the commands that make sense there.
  if (client.subscription_count() > 0 && client.protocol == net::Protocol::kResp2 &&
      (spec->flags & internal::kSubscribedMode) == 0) {
    ++counts.rejected_calls;
    reply.Error(base::Cat("Can't execute '", command->full_name,
                          "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                          "allowed in this context"));
    return 0;
  }
  if (aof != nullptr && !loading && (spec->flags & internal::kWrite) != 0) {
    if (std::string refusal = RefuseWrite(args); !refusal.empty()) {
      ++counts.rejected_calls;
      reply.Error(refusal);
      return 0;
    }
  }

  impl.db.set_now_ms(impl.NowMillis());
  command_token = 0;
  CommandContext ctx(impl, client, reply);
  const uint64_t start = impl.cycle_timer.Now();
  spec->handler(ctx, args);
  const uint64_t elapsed = impl.cycle_timer.Now() - start;
  if (!loading) {
    ++counts.calls;
    counts.cycles += elapsed;
    counts.usec = impl.cycle_timer.Micros(counts.cycles);
    if (ctx.failed()) ++counts.failed_calls;
  }
  impl.dirty += ctx.dirty();
  client.protocol = reply.protocol();
  if (ctx.dirty() > 0 && aof != nullptr && !loading) {
    // The command's log form: what it recorded, or the arguments as sent.
    if (ctx.propagated().empty()) {
      command_token = aof->Queue(args);
    } else {
      for (const std::vector<std::string>& logged : ctx.propagated()) {
        command_token = aof->Queue(logged);
      }
    }
  } else if (aof != nullptr && !loading) {
    // A reply that changed nothing may still show another client's write that is not logged
    // yet (a GET of a key just SET): it waits for that write, as Redis sends no reply before
    // the log's write (and, under always, its fsync) of the same event-loop turn.
    command_token = aof->PendingToken();
  }
  return command_token;
}

bool Engine::DeliverMessages(ClientState& client, net::RespWriter& writer) {
  writer.set_protocol(client.protocol);
  return internal::WritePendingMessages(*impl_, client, writer);
}

void Engine::Disconnect(ClientState& client) {
  for (const auto& [name, id] : client.channels) impl_->broker->Unsubscribe({id});
  for (const auto& [name, id] : client.patterns) impl_->broker->Unsubscribe({id});
  client.channels.clear();
  client.patterns.clear();
}

size_t Engine::ExpireCycle(size_t limit) {
  std::lock_guard lock(impl_->mu);
  impl_->db.set_now_ms(impl_->NowMillis());
  return impl_->db.DeleteExpired(limit);
}

CommandStats Engine::stats(std::string_view command) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->commands.find(command);
  return it == impl_->commands.end() ? CommandStats{} : it->second->stats;
}

void Engine::set_tcp_port(uint16_t port) {
  std::lock_guard lock(impl_->mu);
  impl_->options.tcp_port = port;
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
