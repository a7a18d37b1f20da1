// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Orchestrator: runs sagas (keel/saga/definition.h) to the end, through failures, timeouts and
// restarts of its own process.
//
// A saga runs its steps' actions in order, each until it succeeds or gives up under its retry
// policy (keel/saga/retry_policy.h). If an action gives up before the pivot has succeeded, the
// saga compensates: each earlier step whose action may have taken effect gets its compensation,
// last step first, and the saga ends compensated. After the pivot it never compensates. Outcomes:
//
//   kCompleted     every action succeeded.
//   kCompensated   an action gave up, and every step it might have changed is undone.
//   kStuck         a compensation gave up, or a step after the pivot failed non-retryably: the
//                  saga is half done and needs a person. It keeps its place among the live
//                  sagas (and in the log) until Dismiss(); SagaInfo::last_error says what failed,
//                  OrchestratorOptions::on_finished and stats().stuck report it.
//
// Which steps are compensated. A step's action "may have taken effect" if it succeeded, or if
// any attempt of it timed out: a participant that did the work but whose answer was lost looks
// exactly like one that never got the request, so the orchestrator must assume the worse. Its
// compensation carries the step's compensation key, and a participant must treat undoing
// something it never did as done (and remember the key, so that the action, should it arrive
// late, is refused). A step whose every attempt failed with an answer did nothing and is not
// compensated. docs/saga.md argues this with a timeline.
//
// Durability. With a directory, every transition (a saga started, an attempt failed and what
// follows, an action or compensation succeeded) is appended to a keel::wal::Log before anything
// acts on it: a participant is called only once the transition that calls for it is durable, so
// a restart never goes back on something a participant saw. Transitions found in one Poll are
// appended as one batch (one fsync). Open() replays the log and resumes every live saga, calling
// again each step that was in flight, with the same attempt number and idempotency key; killed at
// any moment and restarted, a saga reaches the outcome it would have reached. The log is kept
// short by checkpoints: every checkpoint_interval_records records, the state of the live and the
// retained finished sagas is written atomically to the file "checkpoint" and the log segments
// before it are dropped, so the directory holds at most one checkpoint (bounded by the saga
// limits) plus checkpoint_interval_records records and a segment. docs/saga.md gives the format.
// Without a directory everything is in memory, for tests and for measuring the machinery.
//
// Time and threads. Timeouts and retry waits are the orchestrator's own timers on the injected
// clock, so a test with a ManualClock decides when each fires and replays a run exactly for its
// seed. Nothing runs by itself: Poll() takes the answers that came in and the timers that are due,
// logs the transitions, and calls the participants that are due. A program either calls Poll from
// its own loop (NextDeadlineNs and WaitForWork tell when) or starts a Driver
// (keel/saga/driver.h), a thread that does it. Start, Inspect, Dismiss and stats may be called
// from any thread; Polls are serialized; participants are called from the polling thread without
// the orchestrator's lock held.
//
// Limits. max_live_sagas (running and stuck; Start refuses more with kResourceExhausted),
// max_finished_sagas (the oldest finished saga is forgotten when another finishes),
// history_length transitions kept per saga for Inspect, and bounds on ids, inputs, outputs and
// messages. A saga id is unique among the live and retained sagas; a participant sees the keys
// derived from it, so ids should never be reused at all.
//
// Example:
//
//   keel::saga::OrchestratorOptions options;
//   options.dir = "/var/lib/hotel/sagas";
//   options.on_finished = [&](const keel::saga::SagaInfo& info) { Report(info); };
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<keel::saga::Orchestrator> sagas,
//                         keel::saga::Orchestrator::Open(options, {booking}));
//   keel::saga::Driver driver(*sagas);  // polls on its own thread
//   KEEL_RETURN_IF_ERROR(sagas->Start("reservation-7781", "booking", encoded_request));
//   ...
//   KEEL_ASSIGN_OR_RETURN(keel::saga::SagaInfo info, sagas->Inspect("reservation-7781"));
//   if (info.outcome == keel::saga::Outcome::kCompensated) { ... the charge failed ... }
#ifndef KEEL_SAGA_ORCHESTRATOR_H_
#define KEEL_SAGA_ORCHESTRATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/clock.h"
#include "keel/saga/definition.h"
#include "keel/wal/log.h"

namespace keel::saga {

enum class Outcome : uint8_t { kRunning = 0, kCompleted = 1, kCompensated = 2, kStuck = 3 };

// "running", "completed", "compensated" or "stuck".
[[nodiscard]] std::string_view OutcomeName(Outcome outcome);

// One entry of a saga's history.
enum class Event : uint8_t {
  kStarted = 0,
  kSucceeded = 1,  // the step's action or compensation succeeded
  kRetrying = 2,   // an attempt failed (or timed out) and will be retried
  kGaveUp = 3,     // an attempt failed (or timed out) and is the last
  kDismissed = 4,  // a person took a stuck saga over
};

[[nodiscard]] std::string_view EventName(Event event);

struct Transition {
  int64_t time_ns = 0;  // by the orchestrator's clock when it was decided (kept in the log)
  Event event = Event::kStarted;
  uint32_t step = 0;
  Phase phase = Phase::kAction;
  uint32_t attempt = 0;
  bool timed_out = false;  // kRetrying and kGaveUp: the attempt timed out
};

// The failure that decided a saga's fate, or the last one seen.
struct StepError {
  uint32_t step = 0;
  Phase phase = Phase::kAction;
  uint32_t attempt = 0;
  bool timed_out = false;
  std::string type;
  std::string message;
};

struct SagaInfo {
  std::string id;
  std::string definition;
  Outcome outcome = Outcome::kRunning;
  bool dismissed = false;     // a stuck saga that a person took over
  bool compensating = false;  // the saga is (or was) undoing its steps
  bool pivot_passed = false;
  uint32_t step = 0;                 // the step running now (or that ended the saga)
  uint32_t attempt = 0;              // its attempt
  std::vector<bool> maybe_applied;   // per step: its action may have taken effect
  std::vector<bool> compensated;     // per step: its compensation succeeded
  std::vector<std::string> outputs;  // per step: its action's output
  std::optional<StepError> last_error;
  std::vector<Transition> history;  // the last history_length transitions, oldest first
};

struct OrchestratorOptions {
  // Where the log and checkpoint live; empty: in memory, nothing survives the object.
  std::string dir;
  // The log's options (its file system, sync policy, clock); kEveryAppend by default, so that a
  // transition is durable before anything acts on it. Under a weaker policy a crash may lose
  // transitions that participants already acted on; their idempotency keys still make the
  // repeats harmless, but the saga may then take another path than it would have.
  wal::LogOptions log;
  // Timers' time; MonotonicClock::Default() when null. Must outlive the orchestrator.
  const base::Clock* clock = nullptr;
  // Seeds the retry jitter.
  uint64_t seed = 1;
  size_t max_live_sagas = 100'000;     // running and stuck
  size_t max_finished_sagas = 10'000;  // kept for Inspect and for duplicate ids; oldest go first
  uint32_t history_length = 16;        // at least 1
  DefinitionLimits definition_limits;
  uint32_t max_saga_id_bytes = 256;
  uint32_t max_input_bytes = 64 << 10;
  uint32_t max_output_bytes = 16 << 10;  // a larger output is a non-retryable failure
  uint32_t max_message_bytes = 1024;     // longer error types and messages are cut
  // Records between checkpoints; at least 1. 0 never checkpoints (the log then grows).
  uint64_t checkpoint_interval_records = 1 << 16;
  // Called from Poll's thread, without the lock, when a saga completes, is compensated or gets
  // stuck (once per saga and process: a saga recovered already finished is not reported again).
  std::function<void(const SagaInfo&)> on_finished;
};

// What Open() found.
struct SagaRecoveryReport {
  wal::RecoveryReport log;
  bool checkpoint_found = false;
  uint64_t replayed_from = 0;  // the log offset replay started at
  uint64_t records_replayed = 0;
  size_t live_sagas = 0;
  size_t finished_sagas = 0;
};

struct OrchestratorStats {
  uint64_t transitions = 0;    // records applied (started, failed attempts, successes)
  uint64_t invocations = 0;    // callbacks called
  uint64_t stale_answers = 0;  // answers ignored: late, repeated, or for a finished saga
  uint64_t timeouts = 0;
  uint64_t checkpoints = 0;
  size_t live = 0;
  size_t stuck = 0;
  size_t finished = 0;
  uint64_t completed = 0;  // outcomes in this process's life
  uint64_t compensated = 0;
};

namespace internal {
class OrchestratorImpl;
}  // namespace internal

class Orchestrator {
 public:
  // Opens the orchestrator with the definitions it can run, recovering the sagas in options.dir.
  // Errors: kInvalidArgument for bad options or definitions (naming them) or two with one name;
  // kFailedPrecondition when a recovered saga names a definition not given, or one whose number
  // of steps changed; kDataLoss for a damaged checkpoint or log (the log's torn tail is cut, as
  // keel::wal::Log does), or records that do not fit the sagas they name; the log's errors.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Orchestrator>> Open(
      const OrchestratorOptions& options, std::vector<SagaDefinition> definitions,
      SagaRecoveryReport* report = nullptr);

  ~Orchestrator();
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  // Starts a saga of `definition` with `input`, durably (with a directory) before it returns;
  // its first step is called by the next Poll. Errors: kInvalidArgument for an empty or too long
  // id or input; kNotFound for an unknown definition; kAlreadyExists for an id that is live or
  // retained; kResourceExhausted at max_live_sagas; kFailedPrecondition after a log error; the
  // log's errors.
  [[nodiscard]] absl::Status Start(std::string_view saga_id, std::string_view definition,
                                   std::string_view input);

  // Takes the answers that came in and the timers that are due, logs what they change, and calls
  // the participants that are due, until nothing more is to be done right now. Returns the
  // number of transitions. Errors: the log's, after which the orchestrator refuses everything
  // (kFailedPrecondition) and must be reopened, as after a crash.
  [[nodiscard]] absl::StatusOr<uint64_t> Poll();

  // When the earliest timer is due (a timeout or a retry), if any.
  [[nodiscard]] std::optional<int64_t> NextDeadlineNs() const;

  // Blocks until an answer comes in or a saga is started (true), or `timeout_ns` of real time
  // passes (false). For a loop that calls Poll.
  bool WaitForWork(int64_t timeout_ns) const;

  // Makes a WaitForWork under way (or the next one) return at once: a Driver stopping.
  void WakeWaiters() const;

  // The saga's state and recent history. Errors: kNotFound for an id neither live nor retained.
  [[nodiscard]] absl::StatusOr<SagaInfo> Inspect(std::string_view saga_id) const;

  // Ends a stuck saga, durably: a person resolved it by hand. It moves to the finished sagas.
  // Errors: kNotFound; kFailedPrecondition for a saga that is not stuck; the log's errors.
  [[nodiscard]] absl::Status Dismiss(std::string_view saga_id);

  [[nodiscard]] OrchestratorStats stats() const;

 private:
  explicit Orchestrator(std::unique_ptr<internal::OrchestratorImpl> impl);

  std::unique_ptr<internal::OrchestratorImpl> impl_;
};

}  // namespace keel::saga

#endif  // KEEL_SAGA_ORCHESTRATOR_H_
