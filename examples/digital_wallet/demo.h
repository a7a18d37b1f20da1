// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// `digital_wallet demo`: the case study narrated, in the chapter's order. Each design runs on the
// same kind of transfer workload and prints what it measured and what it guarantees.
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_DEMO_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_DEMO_H_

#include <string>

namespace keel::examples::wallet {

// Runs the narrated demo; returns the process's exit code (0 when every design kept the promises
// it makes, 1 otherwise or on an error). `binary` is the digital_wallet program, which the
// replication part starts as replicas. `short_run` keeps it to a few seconds (the smoke test).
int RunDemo(const std::string& binary, bool short_run);

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_DEMO_H_
