// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// digital_wallet: the "digital wallet" case study (keel::ledger).
//
//   digital_wallet replica --id I --cluster HOST:PORT,... --port P --dir DIR
//       One replica of the Raft-replicated ledger (replica_main.h).
//   digital_wallet demo [--short]
//       The case study narrated (demo.h).
//   digital_wallet ledger --in FILE [--dir DIR] [--balances]
//       Applies a file of account and transfer events to a double-entry ledger with TigerBeetle's
//       semantics and prints one line per event, "<line>,<id>,<result>"; with --dir the ledger
//       is durable in DIR and a later run continues from its state; with --balances a line
//       "#balances" follows, then every account's balances in id order. docs/digital_wallet.md
//       ("The ledger tool") has the format and the rules; ledger_tool.h the engine.
//
// Errors (a missing --in, a file that cannot be read, an unknown flag) go to stderr, exit 1.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "digital_wallet/demo.h"
#include "digital_wallet/ledger_store.h"
#include "digital_wallet/ledger_tool.h"
#include "digital_wallet/replica_main.h"

namespace {

using keel::examples::wallet::LedgerFileOptions;
using keel::examples::wallet::LedgerStore;

constexpr const char* kLedgerUsage =
    "  ledger --in FILE [--dir DIR] [--balances]\n"
    "      Applies the events in FILE to a ledger (TigerBeetle 0.16's semantics) and prints one\n"
    "      line per A and T line, \"<line>,<id>,<result>\" (TigerBeetle's result names, ok for\n"
    "      created; \"<line>,-,malformed\" for a line that cannot be parsed).\n"
    "        --in FILE    the events, one per line:\n"
    "                       A,<id>,<ledger>,<code>,<flags>\n"
    "                       T,<id>,<debit_account_id>,<credit_account_id>,<amount>,<pending_id>,\n"
    "                         <timeout>,<ledger>,<code>,<flags>\n"
    "                       B            ends a batch\n"
    "                       C,<seconds>  ends a batch and advances the clock\n"
    "                     <flags>: 0, or TigerBeetle's flag names joined by |, e.g. "
    "pending|linked\n"
    "        --dir DIR    keep the ledger durable in DIR; a later run continues from its state\n"
    "                     and its clock\n"
    "        --balances   then print \"#balances\" and every account,\n"
    "                     \"<account_id>,<debits_pending>,<debits_posted>,<credits_pending>,\n"
    "                     <credits_posted>\", in id order\n";

void Usage(FILE* out) {
  std::fprintf(
      out,
      "digital_wallet: the digital wallet case study (keel::ledger)\n\n"
      "Commands:\n%s"
      "\n  replica --id I --cluster HOST:PORT,... --port P --dir DIR\n"
      "      One replica of the wallet's Raft-replicated ledger, serving RESP on loopback\n"
      "      (LEDGER.EXECUTE, LEDGER.ACCOUNT, LEDGER.TRANSFER, LEDGER.HASH, INFO);\n"
      "      docs/wallet_replication.md. --help lists its flags.\n\n"
      "  demo [--short]\n"
      "      A narrated run of the case study: the chapter's designs side by side\n"
      "      (sharded balances, 2PC, TC/C, a saga) with failures injected, then event\n"
      "      sourcing with snapshots and past balances, then the log replicated by Raft\n"
      "      over three replica processes with the leader killed.\n\n"
      "docs/digital_wallet.md has the rules (batches, the clock, the output).\n",
      kLedgerUsage);
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "digital_wallet ledger: %s\n", message.c_str());
  return 1;
}

int Ledger(int argc, char** argv) {
  std::string in;
  std::string dir;
  LedgerFileOptions options;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("digital_wallet ledger: apply a file of ledger events\n\n%s", kLedgerUsage);
      return 0;
    }
    if (arg == "--balances") {
      options.balances = true;
      continue;
    }
    std::string* target = nullptr;
    std::string_view name = arg.substr(0, arg.find('='));
    if (name == "--in") target = &in;
    if (name == "--dir") target = &dir;
    if (target == nullptr) {
      return Fail(std::string("unknown argument \"") + std::string(arg) + "\" (see --help)");
    }
    if (name.size() < arg.size()) {
      *target = std::string(arg.substr(name.size() + 1));
    } else if (i + 1 < argc) {
      *target = argv[++i];
    } else {
      return Fail(std::string(name) + " needs a value");
    }
    if (target->empty()) return Fail(std::string(name) + " needs a value");
  }
  if (in.empty()) return Fail("--in FILE is required (see --help)");
  auto store = keel::examples::wallet::OpenLedgerStore(dir);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  const absl::Status status =
      keel::examples::wallet::RunLedgerFile(in, **store, options, STDOUT_FILENO);
  if (!status.ok()) return Fail(std::string(status.message()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage(stderr);
    return 1;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    Usage(stdout);
    return 0;
  }
  if (command == "ledger") return Ledger(argc, argv);
  if (command == "replica") return keel::examples::wallet::ReplicaMain(argc - 1, argv + 1);
  if (command == "demo") {
    const bool short_run = argc > 2 && std::string_view(argv[2]) == "--short";
    if (argc > 3 || (argc == 3 && !short_run)) {
      std::fprintf(stderr, "digital_wallet demo: the only option is --short\n");
      return 1;
    }
    // The replicas are this program: its path, as the kernel knows it.
    std::error_code error;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
    return keel::examples::wallet::RunDemo(error ? std::string(argv[0]) : self.string(), short_run);
  }
  std::fprintf(stderr, "digital_wallet: unknown command \"%s\"\n\n", argv[1]);
  Usage(stderr);
  return 1;
}
