// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A linearizability checker for the histories that keel's randomized tests record. Not installed.
//
// A replicated store (Raft and the key-value store on it) is correct if every history its
// clients can observe is linearizable (M. Herlihy and J. Wing, "Linearizability: A Correctness
// Condition for Concurrent Objects", TOPLAS 1990): each operation seems to take effect at one
// instant between its call and its return, and the results are those of a sequential object
// (the model) that applied the operations in the order of those instants. A test records each
// client's operations with their call and return times and asks whether such an order exists.
//
// The search is the algorithm of J. M. Wing and C. Gong ("Testing and Verifying Concurrent
// Objects", JPDC 1993) with the memoization of G. Lowe ("Testing for linearizability",
// Concurrency and Computation: Practice and Experience, 2017), as Porcupine
// (github.com/anishathalye/porcupine) runs it: the calls and returns form a list in time order;
// the search linearizes a call whose operation the model accepts, lifts it (and its return) out
// of the list and starts again from the front, and backtracks when it meets a return whose
// operation is still unlinearized; a cache of (set of linearized operations, model state) pairs
// skips every configuration already explored. It is exponential in the worst case (the problem
// is NP-complete), fast on the histories real systems produce. Histories are first split by the
// model's partition key and each part is checked alone: a history of independent objects (the
// keys of a key-value store) is linearizable if and only if each object's history is
// (P-compositionality: A. Horn and D. Kroening, "Faster linearizability checking via
// P-compositionality", FORTE 2015).
//
// Real time: operation A precedes B when A returned strictly before B was called; equal times
// count as overlapping. An operation whose outcome the client never learned (it timed out, or
// its server crashed) has return time kNoReturn and usually KvOutput::Unknown(): it may have
// taken effect at any instant after its call, or never, so the search may linearize it anywhere
// after its call or leave it out. An operation that definitely failed without effect (refused
// by a follower) should not be recorded at all.
//
// Cost: operations whose outcome is unknown are the expensive part. Each stays open to the end of
// the history, and a key with many open writes has exponentially many orders to rule out before
// a violation can be reported (the budget then answers kUnknown). Reads with an unknown outcome
// cost nothing (the search leaves them out, as they constrain nothing). Measured in Release on
// 10,000 operations by 10 clients over 300 keys: about 3 ms, linearizable or not; all on one key,
// about 40 ms.
//
// Example:
//
//   std::vector<keel::testing::KvOperation> history;
//   history.push_back({.client = 1, .input = KvInput::Set("x", "1"), .output = KvOutput::Ok(),
//                      .call_ns = 0, .return_ns = 10});
//   history.push_back({.client = 2, .input = KvInput::Get("x"), .output = KvOutput::Nil(),
//                      .call_ns = 20, .return_ns = 30});                // a stale read
//   absl::StatusOr<LinearizabilityResult> result =
//       keel::testing::CheckLinearizability(keel::testing::KvModel(), history);
//   // result->verdict == Verdict::kNotLinearizable; result->explanation names key "x", lists
//   // its operations, the longest linearizable prefix found and the operations that could not
//   // come next.
//
// A model (see LinearizabilityModel below) is a sequential specification written as a class;
// KvModel is the one for keel's key-value store. Memory grows with the explored configurations
// (at most one cache entry per search step), which CheckOptions::max_steps bounds.
#ifndef KEEL_TESTS_TESTING_LINEARIZABILITY_H_
#define KEEL_TESTS_TESTING_LINEARIZABILITY_H_

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "keel/base/assert.h"

namespace keel::testing {

// The return time of an operation whose outcome is unknown.
inline constexpr int64_t kNoReturn = std::numeric_limits<int64_t>::max();

// One operation of a history. REQUIRES (checked, as kInvalidArgument): call_ns <= return_ns.
template <typename Input, typename Output>
struct Operation {
  int64_t client = 0;  // for the report only: the search does not need it
  Input input;
  Output output;
  int64_t call_ns = 0;
  int64_t return_ns = kNoReturn;
};

// A sequential specification. The model is const and shared by the whole search; its State is a
// value (copied, compared and hashed by the checker), best kept small: with a partition key,
// the state of one partition's object.
//
//   State Init()                              the object's initial state
//   std::optional<State> Step(state, input, output)
//                                             the state after applying `input` to `state` if the
//                                             object could have replied `output`, else nullopt.
//                                             An unknown output must be accepted whenever
//                                             applying the input is possible.
//   uint64_t HashState(state)                 equal states hash equally (for Lowe's cache)
//   state == state
//   std::string DescribeOperation(input, output), DescribeState(state)
//                                             one line each, for the report
//
// Optional: std::string_view PartitionKey(input) names the independent object the operation
// acts on (its key); the history is then checked one key at a time.
template <typename M>
concept LinearizabilityModel = requires(const M& model, const typename M::State& state,
                                        const typename M::Input& input,
                                        const typename M::Output& output) {
  { model.Init() } -> std::convertible_to<typename M::State>;
  { model.Step(state, input, output) } -> std::same_as<std::optional<typename M::State>>;
  { model.HashState(state) } -> std::convertible_to<uint64_t>;
  { state == state } -> std::convertible_to<bool>;
  { model.DescribeOperation(input, output) } -> std::convertible_to<std::string>;
  { model.DescribeState(state) } -> std::convertible_to<std::string>;
};

template <typename M>
concept PartitionedModel = LinearizabilityModel<M> &&
    requires(const M& model, const typename M::Input& input) {
  { model.PartitionKey(input) } -> std::convertible_to<std::string_view>;
};

template <LinearizabilityModel Model>
using ModelOperation = Operation<typename Model::Input, typename Model::Output>;

enum class Verdict {
  kLinearizable,
  kNotLinearizable,
  kUnknown,  // the budget ran out before the search decided
};

// "linearizable", "not linearizable", "unknown".
[[nodiscard]] std::string_view VerdictName(Verdict verdict);

struct CheckOptions {
  // The most search steps (attempts to linearize one operation), over all partitions together.
  // Bounds both the time and the cache's memory. 0: no limit.
  uint64_t max_steps = 20'000'000;
  // Wall-clock limit, 0: none. It makes the verdict depend on the machine's speed, so tests
  // that must replay prefer max_steps.
  std::chrono::nanoseconds timeout{0};
};

struct LinearizabilityResult {
  Verdict verdict = Verdict::kUnknown;
  uint64_t steps = 0;          // search steps taken
  size_t partition_count = 0;  // parts the history was split into (1 without a partition key)

  // kNotLinearizable: the part found not linearizable; kUnknown: the part the budget ran out in.
  std::string partition;           // its key, quoted; empty for a model without partition key
  std::vector<size_t> operations;  // its operations (indices into the history), by call time
  // kNotLinearizable: the longest linearization the search found of some of those operations
  // (indices into the history, in linearization order). The violation is at or after its end.
  std::vector<size_t> longest_prefix;

  // The verdict and the above for a person: operations with clients, times and the states the
  // model went through, each list cut to its last two dozen operations.
  std::string explanation;
};

// Checks `history` against `model`. Errors: kInvalidArgument for an operation returning before
// its call, or a history of more than 2^31 operations. The verdict is deterministic for a given
// history and max_steps (unless options.timeout is set).
template <LinearizabilityModel Model>
[[nodiscard]] absl::StatusOr<LinearizabilityResult> CheckLinearizability(
    const Model& model, std::span<const ModelOperation<Model>> history,
    const CheckOptions& options = {});

// -------------------------------------------------------------------------------------------------
// KvModel: keel's key-value store (raft_kv), with Redis's semantics for the commands it serves.
//
//   GET k        the value, or nil
//   SET k v      OK
//   DEL k        1 if k existed, else 0 (one key per DEL)
//   INCRBY k n   the new value, an integer; a missing key counts as 0 (so INCR of a missing key
//                returns 1). An error, changing nothing, when the value is not an integer in
//                Redis's form ("-0", "+1", "01" and " 1" are not) or the result would overflow
//                int64. INCR k is INCRBY k 1.
//
// Every output may be KvOutput::Unknown(): GET then accepts any value, SET, DEL and INCRBY take
// effect (with the search free to leave an operation with kNoReturn out, that covers "may or may
// not have happened"). An error output is accepted only for an INCRBY that fails; its text is
// not compared. Each key is a partition; a state is one key's value.
// -------------------------------------------------------------------------------------------------

enum class KvCommand : uint8_t { kGet, kSet, kDel, kIncrBy };

struct KvInput {
  KvCommand command = KvCommand::kGet;
  std::string key;
  std::string value;      // SET's
  int64_t increment = 0;  // INCRBY's

  static KvInput Get(std::string key) { return {KvCommand::kGet, std::move(key), {}, 0}; }
  static KvInput Set(std::string key, std::string value) {
    return {KvCommand::kSet, std::move(key), std::move(value), 0};
  }
  static KvInput Del(std::string key) { return {KvCommand::kDel, std::move(key), {}, 0}; }
  static KvInput IncrBy(std::string key, int64_t increment) {
    return {KvCommand::kIncrBy, std::move(key), {}, increment};
  }
  static KvInput Incr(std::string key) { return IncrBy(std::move(key), 1); }
};

struct KvOutput {
  enum class Kind : uint8_t {
    kUnknown,  // the client never learned the reply
    kNil,      // GET of a missing key
    kString,   // GET's value
    kOk,       // SET
    kInteger,  // DEL's count, INCRBY's new value
    kError,    // INCRBY of a non-integer or an overflow
  };
  Kind kind = Kind::kUnknown;
  std::string text;     // kString: the value; kError: the message (for the report only)
  int64_t integer = 0;  // kInteger

  static KvOutput Unknown() { return {}; }
  static KvOutput Nil() { return {Kind::kNil, {}, 0}; }
  static KvOutput String(std::string value) { return {Kind::kString, std::move(value), 0}; }
  static KvOutput Ok() { return {Kind::kOk, {}, 0}; }
  static KvOutput Integer(int64_t value) { return {Kind::kInteger, {}, value}; }
  static KvOutput Error(std::string message) { return {Kind::kError, std::move(message), 0}; }
};

// One key's value, or its absence.
struct KvState {
  std::optional<std::string> value;
  friend bool operator==(const KvState&, const KvState&) = default;
};

class KvModel {
 public:
  using State = KvState;
  using Input = KvInput;
  using Output = KvOutput;

  [[nodiscard]] State Init() const { return {}; }
  [[nodiscard]] std::optional<State> Step(const State& state, const Input& input,
                                          const Output& output) const;
  [[nodiscard]] uint64_t HashState(const State& state) const;
  [[nodiscard]] std::string_view PartitionKey(const Input& input) const { return input.key; }
  [[nodiscard]] std::string DescribeOperation(const Input& input, const Output& output) const;
  [[nodiscard]] std::string DescribeState(const State& state) const;
};

using KvOperation = Operation<KvInput, KvOutput>;

// -------------------------------------------------------------------------------------------------
// Implementation details.
// -------------------------------------------------------------------------------------------------
namespace internal {

// The search works on operation indices and interned states, so that it is compiled once
// (linearizability.cc); ModelAdapter below binds it to a model and a history.
class ErasedModel {
 public:
  static constexpr uint32_t kRejected = std::numeric_limits<uint32_t>::max();
  static constexpr uint32_t kInitialState = 0;

  virtual ~ErasedModel() = default;
  [[nodiscard]] virtual size_t size() const = 0;  // operations in the history
  [[nodiscard]] virtual int64_t client(size_t op) const = 0;
  [[nodiscard]] virtual int64_t call_ns(size_t op) const = 0;
  [[nodiscard]] virtual int64_t return_ns(size_t op) const = 0;
  [[nodiscard]] virtual bool partitioned() const = 0;
  [[nodiscard]] virtual std::string_view PartitionKey(size_t op) const = 0;
  // The id of the state after applying operation `op` in state `state`, or kRejected.
  [[nodiscard]] virtual uint32_t Step(uint32_t state, size_t op) = 0;
  [[nodiscard]] virtual std::string DescribeOperation(size_t op) const = 0;
  [[nodiscard]] virtual std::string DescribeState(uint32_t state) const = 0;
};

[[nodiscard]] absl::StatusOr<LinearizabilityResult> Check(ErasedModel& model,
                                                          const CheckOptions& options);

template <LinearizabilityModel Model>
class ModelAdapter final : public ErasedModel {
 public:
  using State = typename Model::State;

  ModelAdapter(const Model& model, std::span<const ModelOperation<Model>> history)
      : model_(model), history_(history), ids_(/*bucket_count=*/64, IdHash{this}, IdEq{this}) {
    Intern(model_.Init());
  }

  size_t size() const override { return history_.size(); }
  int64_t client(size_t op) const override { return history_[op].client; }
  int64_t call_ns(size_t op) const override { return history_[op].call_ns; }
  int64_t return_ns(size_t op) const override { return history_[op].return_ns; }
  bool partitioned() const override { return PartitionedModel<Model>; }
  std::string_view PartitionKey(size_t op) const override {
    if constexpr (PartitionedModel<Model>) {
      return model_.PartitionKey(history_[op].input);
    } else {
      return {};
    }
  }
  uint32_t Step(uint32_t state, size_t op) override {
    std::optional<State> next =
        model_.Step(states_[state], history_[op].input, history_[op].output);
    return next ? Intern(std::move(*next)) : kRejected;
  }
  std::string DescribeOperation(size_t op) const override {
    return model_.DescribeOperation(history_[op].input, history_[op].output);
  }
  std::string DescribeState(uint32_t state) const override {
    return model_.DescribeState(states_[state]);
  }

 private:
  // The interned states are held in states_ and looked up by value through ids_, a set of their
  // indices whose hash and equality read states_ (heterogeneous lookup by a State).
  struct IdHash {
    using is_transparent = void;
    const ModelAdapter* self;
    size_t operator()(uint32_t id) const { return self->hashes_[id]; }
    size_t operator()(const std::pair<const State*, uint64_t>& probe) const { return probe.second; }
  };
  struct IdEq {
    using is_transparent = void;
    const ModelAdapter* self;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t id, const std::pair<const State*, uint64_t>& probe) const {
      return self->states_[id] == *probe.first;
    }
    bool operator()(const std::pair<const State*, uint64_t>& probe, uint32_t id) const {
      return (*this)(id, probe);
    }
  };

  uint32_t Intern(State state) {
    const uint64_t hash = model_.HashState(state);
    const auto found = ids_.find(std::pair<const State*, uint64_t>(&state, hash));
    if (found != ids_.end()) return *found;
    KEEL_ASSERT(states_.size() < kRejected, "more than 2^32 - 1 distinct model states");
    const auto id = static_cast<uint32_t>(states_.size());
    states_.push_back(std::move(state));
    hashes_.push_back(hash);
    ids_.insert(id);
    return id;
  }

  const Model& model_;
  std::span<const ModelOperation<Model>> history_;
  std::vector<State> states_;
  std::vector<uint64_t> hashes_;
  absl::flat_hash_set<uint32_t, IdHash, IdEq> ids_;
};

}  // namespace internal

template <LinearizabilityModel Model>
absl::StatusOr<LinearizabilityResult> CheckLinearizability(
    const Model& model, std::span<const ModelOperation<Model>> history,
    const CheckOptions& options) {
  internal::ModelAdapter<Model> adapter(model, history);
  return internal::Check(adapter, options);
}

}  // namespace keel::testing

#endif  // KEEL_TESTS_TESTING_LINEARIZABILITY_H_
