// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The event-sourcing part of `digital_wallet demo`: the chapter's "event sourcing solution with
// reproducibility" on keel::ledger::DurableLedger and ReadModel, narrated.
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_EVENT_SOURCING_DEMO_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_EVENT_SOURCING_DEMO_H_

#include "absl/status/status.h"

namespace keel::examples::wallet {

// Prints, to stdout: commands validated into events on keel's WAL with group commit (durable
// transfers per second), an idempotent retry, a snapshot, recovery from the snapshot and from the
// first event to the same state hash, every wallet's balance reproduced at a past point by the
// read model, and the books checked. `short_run` keeps it to a second or two.
[[nodiscard]] absl::Status RunEventSourcingDemo(bool short_run);

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_EVENT_SOURCING_DEMO_H_
