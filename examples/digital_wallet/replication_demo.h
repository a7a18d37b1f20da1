// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The last part of `digital_wallet demo`: the ledger's log replicated by keel's Raft over three
// `digital_wallet replica` processes on loopback, the leader killed mid-stream, and every
// acknowledged transfer found on every replica (docs/wallet_replication.md).
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_REPLICATION_DEMO_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_REPLICATION_DEMO_H_

#include <string>

#include "absl/status/status.h"

namespace keel::examples::wallet {

// Starts three replicas of `binary` (the digital_wallet program) under a scratch directory and
// narrates the run on stdout. Errors: a cluster that does not form, a lost acknowledged
// transfer, replicas that disagree.
[[nodiscard]] absl::Status RunReplicationDemo(const std::string& binary, bool short_run);

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_REPLICATION_DEMO_H_
