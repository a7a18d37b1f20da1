// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// `digital_wallet replica`: one replica of the wallet's Raft-replicated event log, serving
// replica_protocol.h's commands over RESP (replica_service.h). main.cc dispatches to it.
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_MAIN_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_MAIN_H_

namespace keel::examples::wallet {

// argv[0] is "replica"; the flags follow (--help lists them). Returns the exit code: 0 after
// SIGINT or SIGTERM, 1 when the replica cannot start, 2 for bad flags.
int ReplicaMain(int argc, char** argv);

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_MAIN_H_
