// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The narrated run (demo.h): the chapter's designs on one transfer workload (designs.h), event
// sourcing on keel's ledger (event_sourcing_demo.h), and its log replicated by Raft
// (replication_demo.h).
#include "digital_wallet/demo.h"

#include <cstdio>
#include <string>
#include <vector>

#include "digital_wallet/designs.h"
#include "digital_wallet/event_sourcing_demo.h"
#include "digital_wallet/replication_demo.h"

namespace keel::examples::wallet {
namespace {

void Heading(const char* title) {
  std::printf("\n%s\n", title);
  for (const char* c = title; *c != '\0'; ++c) std::putchar('-');
  std::printf("\n\n");
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "digital_wallet demo: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int RunDemo(const std::string& binary, bool short_run) {
  std::printf(
      "The digital wallet: a million balance transfers a second, no money created or lost, and\n"
      "every balance reproducible at any point in history. The chapter's designs, in order.\n");

  Heading("1-3. Sharded balances, and transfers between shards by 2PC, TC/C and a saga");
  std::printf(
      "Every design runs the same seeded workload: wallets in shards by Redis's hash slots,\n"
      "transfers of which some would overdraw (refused) and 10%% cross shards. Faults are\n"
      "injected on 1%% of the cross-shard transfers between each design's phases (a coordinator\n"
      "crash, a lost or repeated message, a refusal), and every invariant is checked after each\n"
      "recovery. Single thread; transfers/s is the design's own cost, without the network.\n\n");
  designs::WorkloadOptions workload_options;
  workload_options.wallets = short_run ? 5'000 : 100'000;
  workload_options.transfers = short_run ? 50'000 : 1'000'000;
  absl::StatusOr<designs::Workload> workload = designs::MakeWorkload(workload_options);
  if (!workload.ok()) return Fail(workload.status());
  absl::StatusOr<std::vector<designs::Report>> reports =
      designs::RunAll(*workload, {.rate = 0.01, .seed = 2026});
  if (!reports.ok()) return Fail(reports.status());
  std::fputs(designs::FormatReports(*reports).c_str(), stdout);
  bool kept = true;
  for (const designs::Report& report : *reports) kept = kept && report.ok();
  std::printf(
      "\nThe plain sharded store loses or creates money when a crash or a retry falls between\n"
      "its two updates: the chapter's reason for distributed transactions. 2PC holds locks\n"
      "while its coordinator is down (the blocked transfers); TC/C and the saga hold no locks\n"
      "but show intermediate states (money in flight) and need compensations.\n");

  Heading("4. Event sourcing: commands, events, snapshots and reproducibility");
  if (const absl::Status status = RunEventSourcingDemo(short_run); !status.ok()) {
    return Fail(status);
  }

  Heading("5. The event log replicated by Raft over three processes");
  if (const absl::Status status = RunReplicationDemo(binary, short_run); !status.ok()) {
    return Fail(status);
  }

  if (!kept) {
    std::fprintf(stderr, "digital_wallet demo: a design broke a promise it makes (above)\n");
    return 1;
  }
  return 0;
}

}  // namespace keel::examples::wallet
