// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// digital_wallet: the digital wallet case study (docs/wallet_replication.md for the replicated
// log).
//
//   digital_wallet replica --id I --cluster HOST:PORT,... --port P --dir DIR
//       one replica of the wallet's Raft-replicated ledger (replica_main.cc)
#include <cstdio>
#include <string_view>

#include "digital_wallet/replica_main.h"

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode == "replica") {
    return keel::examples::digital_wallet::ReplicaMain(argc - 1, argv + 1);
  }
  std::fprintf(stderr,
               "usage: digital_wallet replica --id I --cluster HOST:PORT,... --port P --dir DIR\n"
               "Each mode explains its flags with --help.\n");
  return mode == "--help" || mode == "-h" ? 0 : 2;
}
