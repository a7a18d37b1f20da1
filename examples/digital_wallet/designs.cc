// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/designs.h"

#include <algorithm>
#include <utility>

#include "digital_wallet/designs_2pc.h"
#include "digital_wallet/designs_runner.h"
#include "digital_wallet/designs_saga.h"
#include "digital_wallet/designs_sharded.h"
#include "digital_wallet/designs_tcc.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/file_system.h"

namespace keel::examples::wallet::designs {

std::string_view DesignKindName(DesignKind kind) {
  switch (kind) {
    case DesignKind::kSingleNode:
      return "single-node";
    case DesignKind::kSharded:
      return "sharded";
    case DesignKind::kTwoPhaseCommit:
      return "2pc";
    case DesignKind::kTcc:
      return "tcc";
    case DesignKind::kSaga:
      return "saga";
  }
  return "unknown";
}

absl::StatusOr<DesignKind> ParseDesignKind(std::string_view name) {
  std::string names;
  for (DesignKind kind : kAllDesigns) {
    if (DesignKindName(kind) == name) return kind;
    names += base::Cat(names.empty() ? "" : ", ", DesignKindName(kind));
  }
  return absl::InvalidArgumentError(
      base::Cat("unknown design ", base::Quoted(name), " (the designs: ", names, ")"));
}

std::span<const std::string_view> FaultPointsOf(DesignKind kind) {
  switch (kind) {
    case DesignKind::kSingleNode:
      return {};
    case DesignKind::kSharded:
      return ShardedDesign::Points();
    case DesignKind::kTwoPhaseCommit:
      return TwoPcDesign::Points();
    case DesignKind::kTcc:
      return TccDesign::Points();
    case DesignKind::kSaga:
      return SagaDesign::Points();
  }
  return {};
}

absl::StatusOr<std::unique_ptr<Design>> MakeDesign(DesignKind kind, const Workload& workload,
                                                   const RunOptions& options) {
  switch (kind) {
    case DesignKind::kSingleNode:
      return std::make_unique<SingleMapDesign>(workload);
    case DesignKind::kSharded:
      return std::make_unique<ShardedDesign>(workload);
    case DesignKind::kTwoPhaseCommit: {
      std::string dir;
      if (!options.log_dir.empty()) {
        dir = base::Cat(options.log_dir, "/2pc");
        KEEL_RETURN_IF_ERROR(wal::FileSystem::Posix().CreateDir(dir));
      }
      KEEL_ASSIGN_OR_RETURN(std::unique_ptr<TwoPcDesign> design, TwoPcDesign::Make(workload, dir));
      return std::unique_ptr<Design>(std::move(design));
    }
    case DesignKind::kTcc:
      return std::make_unique<TccDesign>(workload);
    case DesignKind::kSaga: {
      KEEL_ASSIGN_OR_RETURN(std::unique_ptr<SagaDesign> design, SagaDesign::Make(workload));
      return std::unique_ptr<Design>(std::move(design));
    }
  }
  return absl::InvalidArgumentError(base::Cat("unknown design kind ", static_cast<int>(kind)));
}

absl::StatusOr<std::vector<Report>> RunAll(const Workload& workload, const Faults& faults,
                                           const RunOptions& options) {
  KEEL_RETURN_IF_ERROR(ValidateFaults(faults));
  for (const std::string& point : faults.points) {
    const bool known = std::any_of(std::begin(kAllDesigns), std::end(kAllDesigns), [&](auto kind) {
      const auto points = FaultPointsOf(kind);
      return std::find(points.begin(), points.end(), point) != points.end();
    });
    if (!known) {
      return absl::InvalidArgumentError(
          base::Cat("no design has the fault point ", base::Quoted(point)));
    }
  }
  std::vector<Report> reports;
  for (DesignKind kind : options.designs) {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Design> design, MakeDesign(kind, workload, options));
    KEEL_ASSIGN_OR_RETURN(Report report, RunDesign(*design, workload, faults));
    reports.push_back(std::move(report));
  }
  return reports;
}

}  // namespace keel::examples::wallet::designs
