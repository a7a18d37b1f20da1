// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Connection and server commands: PING, ECHO, QUIT, HELLO, CLIENT, COMMAND, INFO, CONFIG GET.
//
// keel-server answers as Redis 7.0.15 (HELLO's "server" and "version", INFO's redis_version),
// because clients choose features by that version; INFO's keel_version says what it really is.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "append_only_file.h"
#include "arguments.h"
#include "command.h"
#include "keel/base/internal/arena.h"
#include "keel/base/strings.h"

namespace keel::redis::internal {
namespace {

constexpr std::string_view kRedisVersion = "7.0.15";
constexpr std::string_view kKeelVersion = "0.1.0";

void Ping(CommandContext& ctx, Args args) {
  if (args.size() > 2) {
    ReplyArity(ctx, "ping");
    return;
  }
  if (ctx.client().subscription_count() > 0 && ctx.client().protocol == net::Protocol::kResp2) {
    ctx.reply().ArrayHeader(2);
    ctx.reply().BulkString("pong");
    ctx.reply().BulkString(args.size() == 1 ? std::string_view() : args[1]);
    return;
  }
  if (args.size() == 1) {
    ctx.reply().SimpleString("PONG");
  } else {
    ctx.reply().BulkString(args[1]);
  }
}

void Echo(CommandContext& ctx, Args args) { ctx.reply().BulkString(args[1]); }

void Quit(CommandContext& ctx, Args) {
  ctx.client().close_after_reply = true;
  ctx.reply().SimpleString("OK");
}

// clientSetName: printable ASCII without spaces, or empty to clear.
bool SetName(CommandContext& ctx, std::string_view name) {
  for (const char c : name) {
    if (c < '!' || c > '~') {
      ctx.Error("Client names cannot contain spaces, newlines or special characters.");
      return false;
    }
  }
  ctx.client().name = std::string(name);
  return true;
}

void Hello(CommandContext& ctx, Args args) {
  int64_t version = 0;
  size_t next = 1;
  if (args.size() >= 2) {
    const std::optional<int64_t> parsed = ParseInteger(args[next++]);
    if (!parsed) {
      ctx.Error("Protocol version is not an integer or out of range");
      return;
    }
    version = *parsed;
    if (version < 2 || version > 3) {
      ctx.Error("-NOPROTO unsupported protocol version");
      return;
    }
  }
  for (size_t j = next; j < args.size(); ++j) {
    const size_t more = args.size() - 1 - j;
    if (IsOption(args[j], "AUTH") && more >= 2) {
      // keel-server has no users beyond Redis's "default" with no password ("nopass"), which
      // accepts any password.
      if (args[j + 1] != "default") {
        ctx.Error("-WRONGPASS invalid username-password pair or user is disabled.");
        return;
      }
      j += 2;
    } else if (IsOption(args[j], "SETNAME") && more >= 1) {
      if (!SetName(ctx, args[j + 1])) return;
      ++j;
    } else {
      const std::string_view opt = args[j].substr(0, std::min(args[j].find('\0'), args[j].size()));
      ctx.Error(base::Cat("Syntax error in HELLO option '", opt, "'"));
      return;
    }
  }
  if (version != 0) {
    ctx.client().protocol = static_cast<net::Protocol>(version);
    ctx.reply().set_protocol(ctx.client().protocol);
  }
  net::RespWriter& r = ctx.reply();
  r.MapHeader(7);
  r.BulkString("server");
  r.BulkString("redis");
  r.BulkString("version");
  r.BulkString(kRedisVersion);
  r.BulkString("proto");
  r.Integer(static_cast<int64_t>(ctx.client().protocol));
  r.BulkString("id");
  r.Integer(static_cast<int64_t>(ctx.client().id));
  r.BulkString("mode");
  r.BulkString("standalone");
  r.BulkString("role");
  r.BulkString("master");
  r.BulkString("modules");
  r.ArrayHeader(0);
}

// ---------------------------------------------------------------------------------------------
// CLIENT
// ---------------------------------------------------------------------------------------------
void ClientId(CommandContext& ctx, Args) {
  ctx.reply().Integer(static_cast<int64_t>(ctx.client().id));
}

void ClientSetName(CommandContext& ctx, Args args) {
  if (SetName(ctx, args[2])) ctx.reply().SimpleString("OK");
}

void ClientGetName(CommandContext& ctx, Args) {
  if (ctx.client().name.empty()) {
    ctx.reply().Null();
  } else {
    ctx.reply().BulkString(ctx.client().name);
  }
}

std::string ClientLine(const ClientState& c) {
  return base::Cat("id=", c.id, " addr=", c.peer_address, " name=", c.name,
                   " db=0 sub=", c.channels.size(), " psub=", c.patterns.size(),
                   " resp=", static_cast<int>(c.protocol), "\n");
}

void ClientInfo(CommandContext& ctx, Args) { ctx.reply().Verbatim(ClientLine(ctx.client())); }

void ClientHelp(CommandContext& ctx, Args) {
  const std::vector<std::string_view> lines = {
      "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GETNAME",
      "    Return the name of the current connection.",
      "ID",
      "    Return the ID of the current connection.",
      "INFO",
      "    Return information about the current client connection.",
      "SETNAME <name>",
      "    Assign the name <name> to the current connection.",
      "HELP",
      "    Print this help."};
  ctx.reply().ArrayHeader(lines.size());
  for (std::string_view line : lines) ctx.reply().SimpleString(line);
}

constexpr CommandSpec kClientSubcommands[] = {
    {"id", 2, kConnection | kFast, 0, 0, 0, ClientId, "connection",
     "Returns the client ID for the current connection", "5.0.0", "O(1)"},
    {"setname", 3, kConnection | kFast, 0, 0, 0, ClientSetName, "connection",
     "Set the current connection name", "2.6.9", "O(1)"},
    {"getname", 2, kConnection | kFast, 0, 0, 0, ClientGetName, "connection",
     "Get the current connection name", "2.6.9", "O(1)"},
    {"info", 2, kConnection, 0, 0, 0, ClientInfo, "connection",
     "Returns information about the current client connection.", "6.2.0", "O(1)"},
    {"help", 2, kConnection, 0, 0, 0, ClientHelp, "connection",
     "Show helpful text about the "
     "different subcommands",
     "5.0.0", "O(1)"},
};

// ---------------------------------------------------------------------------------------------
// COMMAND
// ---------------------------------------------------------------------------------------------
std::vector<const CommandSpec*> AllCommands(CommandContext& ctx) {
  std::vector<const CommandSpec*> all;
  for (const auto& [name, command] : ctx.engine().commands) {
    if (name.find('|') == std::string::npos) all.push_back(command->spec);
  }
  std::sort(all.begin(), all.end(),
            [](const CommandSpec* a, const CommandSpec* b) { return a->name < b->name; });
  return all;
}

void ReplyFlags(net::RespWriter& r, uint32_t flags) {
  std::vector<std::string_view> names;
  if (flags & kWrite) names.push_back("write");
  if (flags & kReadOnly) names.push_back("readonly");
  if (flags & kFast) names.push_back("fast");
  if (flags & kPubSub) names.push_back("pubsub");
  if (flags & kLoading) names.push_back("loading");
  if (flags & kStale) names.push_back("stale");
  r.SetHeader(names.size());
  for (std::string_view n : names) r.SimpleString(n);
}

void ReplyInfo(net::RespWriter& r, const CommandSpec& spec, std::string_view full_name) {
  r.ArrayHeader(10);
  r.BulkString(full_name);
  r.Integer(spec.arity);
  ReplyFlags(r, spec.flags);
  r.Integer(spec.first_key);
  r.Integer(spec.last_key);
  r.Integer(spec.key_step);
  r.SetHeader(0);    // ACL categories
  r.ArrayHeader(0);  // tips
  r.ArrayHeader(0);  // key specifications
  r.ArrayHeader(spec.subcommands.size());
  for (const CommandSpec& sub : spec.subcommands) {
    ReplyInfo(r, sub, base::Cat(spec.name, "|", sub.name));
  }
}

void ReplyDocs(net::RespWriter& r, const CommandSpec& spec) {
  r.MapHeader(spec.subcommands.empty() ? 4 : 5);
  r.BulkString("summary");
  r.BulkString(spec.summary);
  r.BulkString("since");
  r.BulkString(spec.since);
  r.BulkString("group");
  r.BulkString(spec.group);
  r.BulkString("complexity");
  r.BulkString(spec.complexity);
  if (!spec.subcommands.empty()) {
    r.BulkString("subcommands");
    r.MapHeader(spec.subcommands.size());
    for (const CommandSpec& sub : spec.subcommands) {
      r.BulkString(base::Cat(spec.name, "|", sub.name));
      ReplyDocs(r, sub);
    }
  }
}

void Command(CommandContext& ctx, Args) {
  const std::vector<const CommandSpec*> all = AllCommands(ctx);
  ctx.reply().ArrayHeader(all.size());
  for (const CommandSpec* spec : all) ReplyInfo(ctx.reply(), *spec, spec->name);
}

void CommandCount(CommandContext& ctx, Args) {
  ctx.reply().Integer(static_cast<int64_t>(AllCommands(ctx).size()));
}

void CommandList(CommandContext& ctx, Args args) {
  if (args.size() > 2) {
    ctx.Error(kSyntaxError);
    return;
  }
  const std::vector<const CommandSpec*> all = AllCommands(ctx);
  ctx.reply().ArrayHeader(all.size());
  for (const CommandSpec* spec : all) ctx.reply().BulkString(spec->name);
}

const CommandSpec* FindCommand(CommandContext& ctx, std::string_view name) {
  auto it = ctx.engine().commands.find(name);
  return it == ctx.engine().commands.end() ? nullptr : it->second->spec;
}

void CommandInfo(CommandContext& ctx, Args args) {
  if (args.size() == 2) {
    Command(ctx, args);
    return;
  }
  ctx.reply().ArrayHeader(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i) {
    const CommandSpec* spec = FindCommand(ctx, args[i]);
    if (spec == nullptr) {
      ctx.reply().NullArray();
    } else {
      ReplyInfo(ctx.reply(), *spec,
                absl::AsciiStrToLower(absl::string_view(args[i].data(), args[i].size())));
    }
  }
}

void CommandDocs(CommandContext& ctx, Args args) {
  std::vector<const CommandSpec*> wanted;
  if (args.size() == 2) {
    wanted = AllCommands(ctx);
  } else {
    for (size_t i = 2; i < args.size(); ++i) {
      if (const CommandSpec* spec = FindCommand(ctx, args[i])) wanted.push_back(spec);
    }
  }
  ctx.reply().MapHeader(wanted.size());
  for (const CommandSpec* spec : wanted) {
    ctx.reply().BulkString(spec->name);
    ReplyDocs(ctx.reply(), *spec);
  }
}

constexpr CommandSpec kCommandSubcommands[] = {
    {"count", 2, kLoading | kStale, 0, 0, 0, CommandCount, "server",
     "Get total number of Redis commands", "2.8.13", "O(1)"},
    {"list", -2, kLoading | kStale, 0, 0, 0, CommandList, "server",
     "Get an array of Redis command names", "7.0.0",
     "O(N) where N is the total number of Redis commands"},
    {"info", -2, kLoading | kStale, 0, 0, 0, CommandInfo, "server",
     "Get array of specific Redis command details, or all when no argument is given.", "2.8.13",
     "O(N) where N is the number of commands to look up"},
    {"docs", -2, kLoading | kStale, 0, 0, 0, CommandDocs, "server",
     "Get array of specific Redis command documentation", "7.0.0",
     "O(N) where N is the number of commands to look up"},
};

// ---------------------------------------------------------------------------------------------
// INFO and CONFIG GET
// ---------------------------------------------------------------------------------------------
size_t ResidentBytes() {
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

void Line(std::string& out, std::string_view name, const auto& value) {
  out += base::Cat(name, ":", value, "\r\n");
}

// Redis 7.0's fields, in its order, with keel's figures (keel has no RDB snapshots and no forked
// children, so those fields stay at their idle values), and keel's aof_last_rewrite_pause_usec:
// how long the last rewrite held the keyspace.
void PersistenceInfo(CommandContext& ctx, std::string& out) {
  Engine::Impl& e = ctx.engine();
  PersistenceStats p;
  if (e.aof != nullptr) e.aof->FillStats(&p);
  Line(out, "loading", e.loading ? 1 : 0);
  Line(out, "async_loading", 0);
  Line(out, "rdb_changes_since_last_save", e.dirty);
  Line(out, "rdb_bgsave_in_progress", 0);
  Line(out, "aof_enabled", p.enabled ? 1 : 0);
  Line(out, "aof_rewrite_in_progress", p.rewrite_in_progress ? 1 : 0);
  bool scheduled;
  {
    std::lock_guard lock(e.background_mu);
    scheduled = e.rewrite_requested;
  }
  Line(out, "aof_rewrite_scheduled", scheduled ? 1 : 0);
  Line(out, "aof_last_rewrite_time_sec",
       p.last_rewrite_time_ms < 0 ? -1 : (p.last_rewrite_time_ms + 500) / 1000);
  Line(out, "aof_last_rewrite_pause_usec", p.last_rewrite_pause_us);
  Line(out, "aof_last_bgrewrite_status", p.last_rewrite_ok ? "ok" : "err");
  Line(out, "aof_rewrites", p.rewrites);
  Line(out, "aof_last_write_status", p.last_write_ok ? "ok" : "err");
  if (p.enabled) {
    Line(out, "aof_current_size", p.current_size);
    Line(out, "aof_base_size", p.base_size);
    Line(out, "aof_pending_rewrite", scheduled ? 1 : 0);
    Line(out, "aof_buffer_length", p.pending_bytes);
    Line(out, "aof_pending_bio_fsync", 0);
    Line(out, "aof_delayed_fsync", 0);
  }
}

void InfoSection(CommandContext& ctx, std::string& out, std::string_view section) {
  Engine::Impl& e = ctx.engine();
  if (section == "server") {
    out += "# Server\r\n";
    Line(out, "redis_version", kRedisVersion);
    Line(out, "keel_version", kKeelVersion);
    Line(out, "redis_mode", "standalone");
    Line(out, "os", "Linux");
    Line(out, "arch_bits", 64);
    Line(out, "multiplexing_api", "asio");
    Line(out, "process_id", getpid());
    Line(out, "tcp_port", e.options.tcp_port);
    Line(out, "io_threads_active", e.options.io_threads > 1 ? 1 : 0);
    const int64_t uptime_s = (e.monotonic_clock.NowNanos() - e.start_monotonic_ns) / 1'000'000'000;
    Line(out, "uptime_in_seconds", uptime_s);
    Line(out, "uptime_in_days", uptime_s / 86400);
  } else if (section == "clients") {
    out += "# Clients\r\n";
    if (e.info_source) e.info_source(out, section);
  } else if (section == "memory") {
    out += "# Memory\r\n";
    // malloc's allocated bytes, the blocks it mapped itself, and the sorted sets' arenas (which
    // map their 2 MiB chunks directly): what Redis's used_memory counts, its allocator's total.
    const struct mallinfo2 heap = mallinfo2();
    const size_t used = heap.uordblks + heap.hblkhd + base::internal::Arena::ProcessMappedBytes();
    Line(out, "used_memory", used);
    Line(out, "used_memory_rss", ResidentBytes());
    Line(out, "mem_allocator", "libc");
  } else if (section == "persistence") {
    out += "# Persistence\r\n";
    PersistenceInfo(ctx, out);
  } else if (section == "stats") {
    out += "# Stats\r\n";
    Line(out, "total_commands_processed", e.total_commands);
    Line(out, "expired_keys", ctx.db().expired());
    Line(out, "keyspace_hits", ctx.db().hits());
    Line(out, "keyspace_misses", ctx.db().misses());
    if (e.info_source) e.info_source(out, section);
  } else if (section == "commandstats") {
    out += "# Commandstats\r\n";
    std::vector<std::pair<std::string, CommandStats>> sorted;
    for (const auto& [name, command] : e.commands) sorted.emplace_back(name, command->stats);
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [name, s] : sorted) {
      if (s.calls == 0 && s.rejected_calls == 0 && s.failed_calls == 0) continue;
      char per_call[32];
      std::snprintf(
          per_call, sizeof per_call, "%.2f",
          s.calls == 0 ? 0.0 : static_cast<double>(s.usec) / static_cast<double>(s.calls));
      out += base::Cat("cmdstat_", name, ":calls=", s.calls, ",usec=", s.usec,
                       ",usec_per_call=", per_call, ",rejected_calls=", s.rejected_calls,
                       ",failed_calls=", s.failed_calls, "\r\n");
    }
  } else if (section == "keyspace") {
    out += "# Keyspace\r\n";
    if (ctx.db().size() > 0) {
      out += base::Cat("db0:keys=", ctx.db().size(), ",expires=", ctx.db().volatile_size(),
                       ",avg_ttl=0\r\n");
    }
  }
}

void Info(CommandContext& ctx, Args args) {
  static constexpr std::string_view kDefault[] = {"server",      "clients", "memory",
                                                  "persistence", "stats",   "keyspace"};
  std::vector<std::string> sections;
  if (args.size() == 1) {
    sections.assign(std::begin(kDefault), std::end(kDefault));
  }
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string s = absl::AsciiStrToLower(absl::string_view(args[i].data(), args[i].size()));
    if (s == "all" || s == "everything" || s == "default") {
      sections.assign(std::begin(kDefault), std::end(kDefault));
      if (s != "default") sections.emplace_back("commandstats");
    } else {
      sections.push_back(s);
    }
  }
  std::string out;
  for (const std::string& section : sections) {
    const size_t before = out.size();
    if (before > 0) out += "\r\n";
    InfoSection(ctx, out, section);
    if (out.size() == before + (before > 0 ? 2 : 0)) out.resize(before);  // unknown section
  }
  ctx.reply().Verbatim(out);
}

std::string_view FsyncName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kEverySec:
      return "everysec";
    case FsyncPolicy::kNo:
      return "no";
  }
  return "everysec";
}

void ConfigGet(CommandContext& ctx, Args args) {
  const std::vector<std::pair<std::string_view, std::string>> known = {
      {"save", ""},
      {"appendonly", ctx.engine().aof != nullptr ? "yes" : "no"},
      {"appendfsync", std::string(FsyncName(ctx.engine().options.fsync))},
      {"auto-aof-rewrite-percentage", base::Cat(ctx.engine().options.rewrite_percentage)},
      {"auto-aof-rewrite-min-size", base::Cat(ctx.engine().options.rewrite_min_bytes)},
      {"dir", ctx.engine().options.dir},
      {"databases", "1"},
      {"port", base::Cat(ctx.engine().options.tcp_port)},
      {"io-threads", base::Cat(ctx.engine().options.io_threads)},
      {"proto-max-bulk-len", base::Cat(ctx.engine().options.max_string_bytes)},
  };
  std::vector<std::pair<std::string_view, std::string_view>> matched;
  for (const auto& [name, value] : known) {
    for (size_t i = 2; i < args.size(); ++i) {
      if (absl::EqualsIgnoreCase(absl::string_view(args[i].data(), args[i].size()),
                                 absl::string_view(name.data(), name.size()))) {
        matched.emplace_back(name, value);
        break;
      }
    }
  }
  ctx.reply().MapHeader(matched.size());
  for (const auto& [name, value] : matched) {
    ctx.reply().BulkString(name);
    ctx.reply().BulkString(value);
  }
}

// BGREWRITEAOF: the engine's background thread rewrites the log (engine_persistence.cc).
void BgRewriteAof(CommandContext& ctx, Args) {
  Engine::Impl& e = ctx.engine();
  if (e.aof == nullptr) {
    // Redis would write a new file; keel-server without --dir has nowhere to write it.
    ctx.Error("keel-server runs without --dir: there is no append-only file to rewrite");
    return;
  }
  {
    std::lock_guard lock(e.background_mu);
    if (e.rewrite_requested || e.aof->rewrite_in_progress()) {
      ctx.Error("Background append only file rewriting already in progress");
      return;
    }
    e.rewrite_requested = true;
  }
  e.background_cv.notify_all();
  ctx.reply().SimpleString("Background append only file rewriting started");
}

constexpr CommandSpec kConfigSubcommands[] = {
    {"get", -3, kLoading | kStale, 0, 0, 0, ConfigGet, "server",
     "Get the values of configuration parameters", "2.0.0",
     "O(N) when N is the number of configuration parameters provided"},
};

constexpr CommandSpec kCommands[] = {
    {"ping", -1, kFast | kSubscribedMode | kStale, 0, 0, 0, Ping, "connection", "Ping the server",
     "1.0.0", "O(1)"},
    {"echo", 2, kFast, 0, 0, 0, Echo, "connection", "Echo the given string", "1.0.0", "O(1)"},
    {"quit", -1, kConnection | kSubscribedMode | kLoading | kStale | kFast, 0, 0, 0, Quit,
     "connection", "Close the connection", "1.0.0", "O(1)"},
    {"hello", -1, kConnection | kLoading | kStale | kFast, 0, 0, 0, Hello, "connection",
     "Handshake with Redis", "6.0.0", "O(1)"},
    {"client", -2, kConnection, 0, 0, 0, nullptr, "connection",
     "A container for client connection commands", "2.4.0", "Depends on subcommand.",
     kClientSubcommands},
    {"command", -1, kLoading | kStale, 0, 0, 0, Command, "server",
     "Get array of Redis command details", "2.8.13",
     "O(N) where N is the total number of Redis commands", kCommandSubcommands},
    {"config", -2, 0, 0, 0, 0, nullptr, "server", "A container for server configuration commands",
     "2.0.0", "Depends on subcommand.", kConfigSubcommands},
    {"info", -1, kLoading | kStale, 0, 0, 0, Info, "server",
     "Get information and statistics about the server", "1.0.0", "O(1)"},
    {"bgrewriteaof", 1, kNoPropagate, 0, 0, 0, BgRewriteAof, "server",
     "Asynchronously rewrite the append-only file", "1.0.0", "O(1)"},
};

}  // namespace

std::span<const CommandSpec> ServerCommands() { return kCommands; }

}  // namespace keel::redis::internal
