// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "redis_server.h"

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"

namespace keel::net::testing {

absl::StatusOr<std::string> Exchange(uint16_t port, std::string_view bytes) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<RespClient> client,
                        RespClient::Connect("127.0.0.1", port, {.timeout_ms = 5000}));
  KEEL_RETURN_IF_ERROR(client->SendRaw(bytes));
  client->ShutdownSend();
  return client->ReadUntilClosed();
}

void ReplyAsRedis(RespWriter& writer, std::span<const std::string_view> args, bool& quit) {
  std::string name(args[0]);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto arity = [&] {
    writer.Error(base::Cat("wrong number of arguments for '", name, "' command"));
  };
  if (name == "ping") {
    if (args.size() > 2) return arity();
    if (args.size() == 2) return writer.BulkString(args[1]);
    return writer.SimpleString("PONG");
  }
  if (name == "echo") {
    if (args.size() != 2) return arity();
    return writer.BulkString(args[1]);
  }
  if (name == "quit") {
    quit = true;
    return writer.SimpleString("OK");
  }
  if (name == "hello" && args.size() == 2 && (args[1] == "2" || args[1] == "3")) {
    writer.set_protocol(args[1] == "2" ? Protocol::kResp2 : Protocol::kResp3);
    writer.MapHeader(1);
    writer.BulkString("proto");
    writer.Integer(args[1] == "2" ? 2 : 3);
    return;
  }
  // server.c processCommand: the name and the first arguments, up to 128 bytes of them, each
  // printed with %.*s (so a NUL ends it), and line breaks made spaces by the error writer.
  std::string listed;
  for (size_t i = 1; i < args.size() && listed.size() < 128; ++i) {
    std::string_view arg = args[i].substr(0, 128 - listed.size());
    arg = arg.substr(0, arg.find('\0'));
    listed += base::Cat("'", arg, "' ");
  }
  std::string_view shown_name = std::string_view(args[0]).substr(0, 128);
  shown_name = shown_name.substr(0, shown_name.find('\0'));
  writer.Error(base::Cat("unknown command '", shown_name, "', with args beginning with: ", listed));
}

void EchoSession::OnCommand(Connection& connection, std::span<const std::string_view> args) {
  bool quit = false;
  ReplyAsRedis(connection.writer(), args, quit);
  if (quit) connection.CloseAfterReply();
}

}  // namespace keel::net::testing
