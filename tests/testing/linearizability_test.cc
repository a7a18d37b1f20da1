// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "testing/linearizability.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "keel/base/hash.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"
#include "keel/redis/engine.h"
#include "testing/testing.h"

namespace keel::testing {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

KvOperation Op(int64_t client, int64_t call_ns, int64_t return_ns, KvInput input, KvOutput output) {
  return {.client = client,
          .input = std::move(input),
          .output = std::move(output),
          .call_ns = call_ns,
          .return_ns = return_ns};
}

template <typename Model>
LinearizabilityResult CheckWith(const Model& model,
                                const std::vector<ModelOperation<Model>>& history,
                                const CheckOptions& options = {}) {
  absl::StatusOr<LinearizabilityResult> result = CheckLinearizability(model, history, options);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  return *std::move(result);
}

Verdict Check(const std::vector<KvOperation>& history) {
  return CheckWith(KvModel(), history).verdict;
}

// --------------------------------------------------------------------------------------------
// Hand-written histories.
// --------------------------------------------------------------------------------------------

TEST_CASE("An empty history is linearizable") {
  const LinearizabilityResult result = CheckWith(KvModel(), {});
  CHECK(result.verdict == Verdict::kLinearizable);
  CHECK(result.partition_count == 0);
}

TEST_CASE("A sequential history that follows the model is linearizable") {
  CHECK(Check({Op(1, 0, 10, KvInput::Get("x"), KvOutput::Nil()),
               Op(1, 20, 30, KvInput::Set("x", "1"), KvOutput::Ok()),
               Op(2, 40, 50, KvInput::Incr("x"), KvOutput::Integer(2)),
               Op(1, 60, 70, KvInput::Get("x"), KvOutput::String("2")),
               Op(2, 80, 90, KvInput::Del("x"), KvOutput::Integer(1)),
               Op(1, 100, 110, KvInput::Del("x"), KvOutput::Integer(0))}) ==
        Verdict::kLinearizable);
}

TEST_CASE("A read that misses a completed write is not linearizable") {
  const std::vector<KvOperation> history = {
      Op(1, 0, 10, KvInput::Set("x", "1"), KvOutput::Ok()),
      Op(2, 20, 30, KvInput::Get("x"), KvOutput::Nil()),
  };
  const LinearizabilityResult result = CheckWith(KvModel(), history);
  CHECK(result.verdict == Verdict::kNotLinearizable);
  CHECK(result.partition == "\"x\"");
  CHECK(result.operations == std::vector<size_t>{0, 1});
  CHECK(result.longest_prefix == std::vector<size_t>{0});
  CHECK(result.explanation ==
        "not linearizable: key \"x\" (2 operations)\n"
        "operations, by call time:\n"
        "  #0 client 1 [0, 10] SET \"x\" \"1\" -> OK\n"
        "  #1 client 2 [20, 30] GET \"x\" -> nil\n"
        "longest linearizable prefix found (1 of 2 operations), with the state after each:\n"
        "  #0 client 1 [0, 10] SET \"x\" \"1\" -> OK  => \"1\"\n"
        "then #1 must take effect by its return at 30, but none of the operations called by then "
        "can:\n"
        "  #1 client 2 [20, 30] GET \"x\" -> nil  rejected in state \"1\"\n");
}

TEST_CASE("A read concurrent with a write may see the old value or the new one") {
  for (const KvOutput& seen : {KvOutput::Nil(), KvOutput::String("1")}) {
    CHECK(Check({Op(1, 0, 100, KvInput::Set("x", "1"), KvOutput::Ok()),
                 Op(2, 10, 20, KvInput::Get("x"), seen)}) == Verdict::kLinearizable);
  }
}

TEST_CASE("Once a concurrent read saw the new value a later read cannot see the old one") {
  CHECK(Check({Op(1, 0, 100, KvInput::Set("x", "1"), KvOutput::Ok()),
               Op(2, 10, 20, KvInput::Get("x"), KvOutput::String("1")),
               Op(3, 30, 40, KvInput::Get("x"), KvOutput::Nil())}) == Verdict::kNotLinearizable);
}

TEST_CASE("Two readers that see two writes in opposite orders are not linearizable") {
  std::vector<KvOperation> history = {
      Op(1, 0, 100, KvInput::Set("x", "1"), KvOutput::Ok()),
      Op(2, 0, 100, KvInput::Set("x", "2"), KvOutput::Ok()),
      Op(3, 10, 20, KvInput::Get("x"), KvOutput::String("1")),
      Op(3, 30, 40, KvInput::Get("x"), KvOutput::String("2")),
      Op(4, 10, 20, KvInput::Get("x"), KvOutput::String("2")),
      Op(4, 30, 40, KvInput::Get("x"), KvOutput::String("1")),
  };
  CHECK(Check(history) == Verdict::kNotLinearizable);
  // Both readers seeing the same order is fine.
  history[4].output = KvOutput::String("1");
  history[5].output = KvOutput::String("2");
  CHECK(Check(history) == Verdict::kLinearizable);
}

TEST_CASE("Concurrent increments may take effect in either order but not against real time") {
  CHECK(Check({Op(1, 0, 50, KvInput::Incr("n"), KvOutput::Integer(2)),
               Op(2, 10, 60, KvInput::Incr("n"), KvOutput::Integer(1))}) == Verdict::kLinearizable);
  CHECK(Check({Op(1, 0, 10, KvInput::Incr("n"), KvOutput::Integer(2)),
               Op(2, 20, 30, KvInput::Incr("n"), KvOutput::Integer(1))}) ==
        Verdict::kNotLinearizable);
}

TEST_CASE("Operations that end and begin at the same instant overlap") {
  CHECK(Check({Op(1, 0, 10, KvInput::Set("x", "1"), KvOutput::Ok()),
               Op(2, 10, 20, KvInput::Get("x"), KvOutput::Nil())}) == Verdict::kLinearizable);
  CHECK(Check({Op(1, 0, 10, KvInput::Set("x", "1"), KvOutput::Ok()),
               Op(2, 11, 20, KvInput::Get("x"), KvOutput::Nil())}) == Verdict::kNotLinearizable);
}

TEST_CASE("A write whose outcome is unknown may have taken effect or not") {
  const KvOperation lost = Op(1, 0, kNoReturn, KvInput::Set("x", "1"), KvOutput::Unknown());
  CHECK(Check({lost, Op(2, 20, 30, KvInput::Get("x"), KvOutput::String("1"))}) ==
        Verdict::kLinearizable);
  CHECK(Check({lost, Op(2, 20, 30, KvInput::Get("x"), KvOutput::Nil())}) == Verdict::kLinearizable);
  // Late: it may take effect long after its client gave up.
  CHECK(Check({lost, Op(2, 20, 30, KvInput::Get("x"), KvOutput::Nil()),
               Op(2, 1000, 1010, KvInput::Get("x"), KvOutput::String("1"))}) ==
        Verdict::kLinearizable);
  // But once seen it cannot be undone.
  CHECK(Check({lost, Op(2, 20, 30, KvInput::Get("x"), KvOutput::String("1")),
               Op(2, 40, 50, KvInput::Get("x"), KvOutput::Nil())}) == Verdict::kNotLinearizable);
}

TEST_CASE("An operation whose outcome is unknown cannot take effect before its call") {
  CHECK(Check({Op(2, 0, 10, KvInput::Get("x"), KvOutput::String("1")),
               Op(1, 20, kNoReturn, KvInput::Set("x", "1"), KvOutput::Unknown())}) ==
        Verdict::kNotLinearizable);
}

TEST_CASE("An increment whose outcome is unknown counts once or not at all") {
  const KvOperation lost = Op(1, 0, kNoReturn, KvInput::IncrBy("n", 5), KvOutput::Unknown());
  CHECK(Check({lost, Op(2, 10, 20, KvInput::Incr("n"), KvOutput::Integer(6))}) ==
        Verdict::kLinearizable);
  CHECK(Check({lost, Op(2, 10, 20, KvInput::Incr("n"), KvOutput::Integer(1))}) ==
        Verdict::kLinearizable);
  CHECK(Check({lost, Op(2, 10, 20, KvInput::Incr("n"), KvOutput::Integer(11))}) ==
        Verdict::kNotLinearizable);
}

TEST_CASE("An operation that returned with an unknown reply must still fit in its interval") {
  CHECK(Check({Op(1, 0, 10, KvInput::Set("x", "1"), KvOutput::Unknown()),
               Op(2, 20, 30, KvInput::Get("x"), KvOutput::Nil())}) == Verdict::kNotLinearizable);
}

TEST_CASE("The checker reports the key whose history is not linearizable") {
  std::vector<KvOperation> history;
  for (int i = 0; i < 20; ++i) {
    const std::string key = base::Cat("k", i % 5);
    history.push_back(
        Op(i % 3, i * 10, i * 10 + 5, KvInput::Incr(key), KvOutput::Integer(i / 5 + 1)));
  }
  CHECK(Check(history) == Verdict::kLinearizable);
  history[13].output = KvOutput::Integer(7);  // k3's third increment
  const LinearizabilityResult result = CheckWith(KvModel(), history);
  CHECK(result.verdict == Verdict::kNotLinearizable);
  CHECK(result.partition_count == 5);
  CHECK(result.partition == "\"k3\"");
  CHECK(result.operations == std::vector<size_t>{3, 8, 13, 18});
  CHECK(result.longest_prefix == std::vector<size_t>{3, 8});
}

TEST_CASE("An operation that returns before its call is an error") {
  const absl::StatusOr<LinearizabilityResult> result = CheckLinearizability(
      KvModel(), std::vector<KvOperation>{Op(1, 0, 10, KvInput::Get("x"), KvOutput::Nil()),
                                          Op(2, 30, 20, KvInput::Get("y"), KvOutput::Nil())});
  REQUIRE(!result.ok());
  CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(result.status().message(), "operation #1 (client 2, GET \"y\" -> nil)"));
  CHECK(absl::StrContains(result.status().message(), "returns at 20, before its call at 30"));
}

// --------------------------------------------------------------------------------------------
// The key-value model's semantics.
// --------------------------------------------------------------------------------------------

std::optional<KvState> Step(std::optional<std::string> value, const KvInput& input,
                            const KvOutput& output) {
  return KvModel().Step(KvState{std::move(value)}, input, output);
}

TEST_CASE("INCRBY of a missing key starts from zero") {
  CHECK(Step(std::nullopt, KvInput::Incr("n"), KvOutput::Integer(1)) == KvState{"1"});
  CHECK(Step(std::nullopt, KvInput::IncrBy("n", -5), KvOutput::Integer(-5)) == KvState{"-5"});
  CHECK(!Step(std::nullopt, KvInput::Incr("n"), KvOutput::Integer(2)));
  CHECK(Step(std::nullopt, KvInput::Incr("n"), KvOutput::Unknown()) == KvState{"1"});
}

TEST_CASE("INCRBY of a value in any but Redis's integer form fails and changes nothing") {
  for (const char* text : {"x", "", " 1", "1 ", "+1", "01", "-0", "1.0", "9223372036854775808"}) {
    CAPTURE(text);
    CHECK(Step(text, KvInput::Incr("n"), KvOutput::Error("not an integer")) == KvState{text});
    CHECK(Step(text, KvInput::Incr("n"), KvOutput::Unknown()) == KvState{text});
    CHECK(!Step(text, KvInput::Incr("n"), KvOutput::Integer(2)));
  }
  CHECK(Step("-9223372036854775808", KvInput::Incr("n"), KvOutput::Integer(kMin + 1)) ==
        KvState{"-9223372036854775807"});
}

TEST_CASE("INCRBY that would overflow fails and changes nothing") {
  CHECK(Step("9223372036854775807", KvInput::Incr("n"), KvOutput::Error("overflow")) ==
        KvState{"9223372036854775807"});
  CHECK(Step("-1", KvInput::IncrBy("n", kMin), KvOutput::Error("overflow")) == KvState{"-1"});
  CHECK(Step("-1", KvInput::IncrBy("n", kMax), KvOutput::Integer(kMax - 1)) ==
        KvState{"9223372036854775806"});
  CHECK(!Step("1", KvInput::Incr("n"), KvOutput::Error("overflow")));
}

TEST_CASE("DEL replies how many keys it removed") {
  CHECK(Step("v", KvInput::Del("k"), KvOutput::Integer(1)) == KvState{});
  CHECK(!Step("v", KvInput::Del("k"), KvOutput::Integer(0)));
  CHECK(Step(std::nullopt, KvInput::Del("k"), KvOutput::Integer(0)) == KvState{});
  CHECK(!Step(std::nullopt, KvInput::Del("k"), KvOutput::Integer(1)));
  CHECK(Step("v", KvInput::Del("k"), KvOutput::Unknown()) == KvState{});
}

TEST_CASE("GET tells an empty value from a missing key") {
  CHECK(Step("", KvInput::Get("k"), KvOutput::String("")) == KvState{""});
  CHECK(!Step("", KvInput::Get("k"), KvOutput::Nil()));
  CHECK(!Step(std::nullopt, KvInput::Get("k"), KvOutput::String("")));
  CHECK(KvModel().HashState(KvState{""}) != KvModel().HashState(KvState{}));
}

TEST_CASE("Replies of the wrong kind for the command are rejected") {
  CHECK(!Step("v", KvInput::Get("k"), KvOutput::Ok()));
  CHECK(!Step("v", KvInput::Set("k", "w"), KvOutput::Integer(1)));
  CHECK(!Step("v", KvInput::Set("k", "w"), KvOutput::Error("x")));
  CHECK(!Step("v", KvInput::Del("k"), KvOutput::Ok()));
  CHECK(!Step("1", KvInput::Incr("k"), KvOutput::String("2")));
}

// --------------------------------------------------------------------------------------------
// A model without a partition key.
// --------------------------------------------------------------------------------------------

// A FIFO queue of ints: enqueue, and dequeue returning the head or nothing.
struct QueueInput {
  bool enqueue = true;
  int value = 0;
};
struct QueueOutput {
  bool unknown = false;
  std::optional<int> value;  // a dequeue's
};
struct QueueModel {
  using State = std::vector<int>;
  using Input = QueueInput;
  using Output = QueueOutput;

  State Init() const { return {}; }
  std::optional<State> Step(const State& state, const Input& input, const Output& output) const {
    State next = state;
    if (input.enqueue) {
      next.push_back(input.value);
      return next;
    }
    const std::optional<int> head = state.empty() ? std::nullopt : std::optional(state.front());
    if (!output.unknown && output.value != head) return std::nullopt;
    if (head) next.erase(next.begin());
    return next;
  }
  uint64_t HashState(const State& state) const {
    uint64_t hash = state.size();
    for (const int v : state) hash = base::HashInt(v, hash);
    return hash;
  }
  std::string DescribeOperation(const Input& input, const Output& output) const {
    if (input.enqueue) return base::Cat("enqueue ", input.value);
    if (output.unknown) return "dequeue -> ?";
    return output.value ? base::Cat("dequeue -> ", *output.value) : "dequeue -> empty";
  }
  std::string DescribeState(const State& state) const {
    return base::Cat("[", absl::StrJoin(state, " "), "]");
  }
};

using QueueOperation = ModelOperation<QueueModel>;

TEST_CASE("A queue model without partition key is checked as one history") {
  std::vector<QueueOperation> history = {
      {.client = 1, .input = {true, 1}, .output = {}, .call_ns = 0, .return_ns = 10},
      {.client = 2, .input = {true, 2}, .output = {}, .call_ns = 20, .return_ns = 30},
      {.client = 3, .input = {false, 0}, .output = {false, 2}, .call_ns = 40, .return_ns = 50},
  };
  LinearizabilityResult result = CheckWith(QueueModel(), history);
  CHECK(result.verdict == Verdict::kNotLinearizable);
  CHECK(result.partition_count == 1);
  CHECK(result.partition.empty());
  CHECK(absl::StrContains(result.explanation, "not linearizable: the history (3 operations)"));
  CHECK(absl::StrContains(result.explanation, "dequeue -> 2  rejected in state [1 2]"));
  // With the two enqueues concurrent, 2 may be first.
  history[0].return_ns = 25;
  CHECK(CheckWith(QueueModel(), history).verdict == Verdict::kLinearizable);
}

// --------------------------------------------------------------------------------------------
// The oracle: every order of the operations that real time allows.
// --------------------------------------------------------------------------------------------

// KvModel over the whole keyspace, without a partition key: the brute force checks a history
// with it as one object, and the checker gives the same verdict with and without partitions.
struct WholeKvModel {
  using State = std::map<std::string, std::string>;
  using Input = KvInput;
  using Output = KvOutput;

  State Init() const { return {}; }
  std::optional<State> Step(const State& state, const Input& input, const Output& output) const {
    const auto it = state.find(input.key);
    const std::optional<KvState> next = KvModel().Step(
        KvState{it == state.end() ? std::nullopt : std::optional(it->second)}, input, output);
    if (!next) return std::nullopt;
    State after = state;
    if (next->value) {
      after[input.key] = *next->value;
    } else {
      after.erase(input.key);
    }
    return after;
  }
  uint64_t HashState(const State& state) const {
    uint64_t hash = 0;
    for (const auto& [key, value] : state) hash = base::Hash64(value, base::Hash64(key, hash));
    return hash;
  }
  std::string DescribeOperation(const Input& input, const Output& output) const {
    return KvModel().DescribeOperation(input, output);
  }
  std::string DescribeState(const State& state) const { return base::Cat(state.size(), " keys"); }
};

// Tries every total order of the operations in which no operation comes before one that
// returned before its call, leaving out any subset of those that never returned, and applies
// each order to the model until one explains every output. Orders that reach a configuration
// (operations placed, state) known to lead nowhere are cut short, which keeps histories of a few
// dozen operations by a few clients tractable; it shares nothing with the checker's machinery.
template <typename Model>
bool BruteForceLinearizable(const Model& model, const std::vector<ModelOperation<Model>>& history) {
  using State = typename Model::State;
  const size_t n = history.size();
  // after[j]: the operations called after j returned; waiting[i]: how many unplaced operations
  // returned before i was called (i may be placed when none).
  std::vector<std::vector<size_t>> after(n);
  std::vector<size_t> waiting(n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (history[j].return_ns < history[i].call_ns) {
        after[j].push_back(i);
        ++waiting[i];
      }
    }
  }
  std::vector<bool> placed(n, false);
  std::set<std::pair<std::vector<bool>, State>> dead_ends;
  size_t completed = 0;
  for (const auto& op : history) completed += op.return_ns != kNoReturn;
  auto search = [&](auto& self, const State& state, size_t left) -> bool {
    if (left == 0) return true;
    if (dead_ends.contains({placed, state})) return false;
    for (size_t i = 0; i < n; ++i) {
      if (placed[i] || waiting[i] > 0) continue;
      const std::optional<State> next = model.Step(state, history[i].input, history[i].output);
      if (!next) continue;
      placed[i] = true;
      for (const size_t k : after[i]) --waiting[k];
      if (self(self, *next, left - (history[i].return_ns != kNoReturn))) return true;
      for (const size_t k : after[i]) ++waiting[k];
      placed[i] = false;
    }
    dead_ends.insert({placed, state});
    return false;
  };
  return search(search, model.Init(), completed);
}

// Runs commands on keel's Redis engine, the sequential store the histories are executed on.
class Store {
 public:
  Store() : engine_(*redis::Engine::Open({})), client_(engine_->NewClient()) {}

  void Flush() { Run({"FLUSHALL"}); }

  KvOutput Apply(const KvInput& input) {
    switch (input.command) {
      case KvCommand::kGet:
        return Run({"GET", input.key});
      case KvCommand::kSet:
        return Run({"SET", input.key, input.value});
      case KvCommand::kDel:
        return Run({"DEL", input.key});
      case KvCommand::kIncrBy: {
        if (input.increment == 1) return Run({"INCR", input.key});
        const std::string increment = base::Cat(input.increment);
        return Run({"INCRBY", input.key, increment});
      }
    }
    return KvOutput::Unknown();
  }

 private:
  // The reply, in RESP2, as the model's output.
  KvOutput Run(std::vector<std::string_view> args) {
    std::string out;
    net::RespWriter writer(out);
    engine_->Execute(client_, writer, args);
    REQUIRE(out.size() >= 3);
    const std::string_view body(out.data() + 1, out.size() - 3);  // without the type and \r\n
    switch (out[0]) {
      case '+':
        REQUIRE(body == "OK");
        return KvOutput::Ok();
      case '-':
        return KvOutput::Error(std::string(body));
      case ':': {
        int64_t value = 0;
        REQUIRE(absl::SimpleAtoi(absl::string_view(body.data(), body.size()), &value));
        return KvOutput::Integer(value);
      }
      case '$': {
        if (body == "-1") return KvOutput::Nil();
        const size_t header_end = body.find("\r\n");
        REQUIRE(header_end != std::string_view::npos);
        return KvOutput::String(std::string(body.substr(header_end + 2)));
      }
    }
    FAIL("unexpected reply " << out);
    return KvOutput::Unknown();
  }

  std::unique_ptr<redis::Engine> engine_;
  redis::ClientState client_;
};

struct HistoryShape {
  size_t operations = 8;
  size_t keys = 2;
  size_t clients = 3;
  double unknown_probability = 0.1;  // the client never learns the outcome
  int64_t max_gap_ns = 20;           // between a client's operations
  int64_t max_duration_ns = 50;
};

KvInput RandomInput(base::Random& random, size_t keys) {
  static constexpr std::string_view kValues[] = {
      "0", "1", "7", "-3", "x", "", "01", "9223372036854775807", "-9223372036854775808"};
  std::string key = base::Cat("k", random.Uniform(keys));
  const uint64_t pick = random.Uniform(100);
  if (pick < 35) return KvInput::Get(std::move(key));
  if (pick < 60) {
    const std::string_view value = kValues[random.Uniform(std::size(kValues))];
    return KvInput::Set(std::move(key), std::string(value));
  }
  if (pick < 70) return KvInput::Del(std::move(key));
  if (pick < 85) return KvInput::Incr(std::move(key));
  const int64_t increment =
      random.Bernoulli(0.1) ? (random.Bernoulli(0.5) ? kMax : kMin) : random.UniformInRange(-3, 5);
  return KvInput::IncrBy(std::move(key), increment);
}

// A linearizable history: each client runs operations one after another, each at a random
// instant within its interval, in the order of those instants on the store. An operation whose
// outcome is unknown took effect or not at random.
std::vector<KvOperation> LinearizableHistory(base::Random& random, Store& store,
                                             const HistoryShape& shape) {
  store.Flush();
  std::vector<int64_t> clock(shape.clients, 0);
  std::vector<KvOperation> history;
  std::vector<std::pair<int64_t, size_t>> instants;  // (when it takes effect, operation)
  for (size_t i = 0; i < shape.operations; ++i) {
    const size_t client = random.Uniform(shape.clients);
    const int64_t call_ns = clock[client] + random.UniformInRange(0, shape.max_gap_ns);
    const int64_t return_ns = call_ns + random.UniformInRange(0, shape.max_duration_ns);
    clock[client] = return_ns + 1;
    const bool unknown = random.Bernoulli(shape.unknown_probability);
    history.push_back(Op(static_cast<int64_t>(client), call_ns, unknown ? kNoReturn : return_ns,
                         RandomInput(random, shape.keys), KvOutput::Unknown()));
    if (!unknown || random.Bernoulli(0.5)) {
      instants.emplace_back(random.UniformInRange(call_ns, return_ns), i);
    }
  }
  std::sort(instants.begin(), instants.end());
  for (const auto& [when, i] : instants) {
    KvOutput output = store.Apply(history[i].input);
    if (history[i].return_ns != kNoReturn) history[i].output = std::move(output);
  }
  return history;
}

// Changes one operation's output or interval, which may or may not break linearizability.
void Mutate(base::Random& random, std::vector<KvOperation>& history) {
  KvOperation& op = history[random.Uniform(history.size())];
  if (random.Bernoulli(0.3)) {
    op.call_ns = random.UniformInRange(0, 100);
    if (op.return_ns != kNoReturn) op.return_ns = op.call_ns + random.UniformInRange(0, 50);
    return;
  }
  switch (random.Uniform(5)) {
    case 0:
      op.output = KvOutput::Nil();
      break;
    case 1:
      op.output = KvOutput::String(random.Bernoulli(0.5) ? "1" : "x");
      break;
    case 2:
      op.output = KvOutput::Integer(op.output.integer ^ 1);  // one more or one less
      break;
    case 3:
      op.output = KvOutput::Integer(random.UniformInRange(0, 2));
      break;
    default:
      op.output = random.Bernoulli(0.5) ? KvOutput::Ok() : KvOutput::Error("ERR");
      break;
  }
}

// The longest prefix a violation reports must be a linearization of its operations: accepted by
// the model in order, each after every operation that returned before its call.
void CheckPrefix(const std::vector<KvOperation>& history, const LinearizabilityResult& result) {
  KvState state;
  std::vector<bool> placed(history.size(), false);
  for (const size_t op : result.longest_prefix) {
    REQUIRE(std::find(result.operations.begin(), result.operations.end(), op) !=
            result.operations.end());
    const std::optional<KvState> next =
        KvModel().Step(state, history[op].input, history[op].output);
    REQUIRE(next);
    state = *next;
    for (const size_t other : result.operations) {
      if (history[other].return_ns < history[op].call_ns) REQUIRE(placed[other]);
    }
    placed[op] = true;
  }
}

// Generates `rounds` histories of shapes drawn by random_shape, mutates most of them, and
// requires the checker's verdicts, with partitions and without, to be the brute force's.
template <typename RandomShape>
void CompareWithBruteForce(uint64_t seed, uint64_t rounds, RandomShape random_shape) {
  CAPTURE(seed);
  base::Random random(seed);
  Store store;
  uint64_t linearizable = 0;
  for (uint64_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    std::vector<KvOperation> history = LinearizableHistory(random, store, random_shape(random));
    const bool mutated = random.Bernoulli(0.6);
    for (uint64_t m = random.Uniform(3) + 1; mutated && m > 0; --m) Mutate(random, history);
    const bool expected = BruteForceLinearizable(WholeKvModel(), history);
    if (!mutated) REQUIRE(expected);  // the generator's histories are linearizable
    const LinearizabilityResult partitioned = CheckWith(KvModel(), history);
    const LinearizabilityResult whole = CheckWith(WholeKvModel(), history);
    CAPTURE(partitioned.explanation);
    REQUIRE(partitioned.verdict == (expected ? Verdict::kLinearizable : Verdict::kNotLinearizable));
    REQUIRE(whole.verdict == partitioned.verdict);
    if (!expected) CheckPrefix(history, partitioned);
    linearizable += expected;
  }
  // Both verdicts are well represented, so neither half of the comparison is vacuous.
  CHECK(linearizable > rounds / 4);
  CHECK(rounds - linearizable > rounds / 4);
}

TEST_CASE("The checker agrees with the brute force on thousands of small random histories") {
  CompareWithBruteForce(TestSeed(20260413), TestRounds("KEEL_LINEARIZABILITY_ROUNDS", 4000),
                        [](base::Random& random) {
                          return HistoryShape{
                              .operations = 1 + random.Uniform(8),
                              .keys = 1 + random.Uniform(3),
                              .clients = 1 + random.Uniform(4),
                              .unknown_probability = random.Bernoulli(0.5) ? 0.0 : 0.2};
                        });
}

// Longer histories by fewer clients: partitions of more than 64 operations, whose linearized sets
// span several words.
TEST_CASE(
    "The checker agrees with the brute force on random histories of up to a hundred and fifty "
    "operations") {
  CompareWithBruteForce(TestSeed(20260414), TestRounds("KEEL_LINEARIZABILITY_ROUNDS", 4000) / 16,
                        [](base::Random& random) {
                          return HistoryShape{
                              .operations = 50 + random.Uniform(100),
                              .keys = 1 + random.Uniform(2),
                              .clients = 2 + random.Uniform(3),
                              .unknown_probability = random.Bernoulli(0.5) ? 0.0 : 0.02,
                              .max_gap_ns = 10};
                        });
}

TEST_CASE("A budget that runs out gives unknown and never a wrong verdict") {
  const uint64_t seed = TestSeed(7);
  CAPTURE(seed);
  base::Random random(seed);
  Store store;
  uint64_t unknown = 0;
  for (int round = 0; round < 1000; ++round) {
    CAPTURE(round);
    std::vector<KvOperation> history =
        LinearizableHistory(random, store, {.operations = 1 + random.Uniform(8), .keys = 2});
    if (random.Bernoulli(0.5)) Mutate(random, history);
    const Verdict expected = BruteForceLinearizable(WholeKvModel(), history)
                                 ? Verdict::kLinearizable
                                 : Verdict::kNotLinearizable;
    const uint64_t max_steps = 1 + random.Uniform(12);
    const LinearizabilityResult result = CheckWith(KvModel(), history, {.max_steps = max_steps});
    CAPTURE(result.explanation);
    REQUIRE((result.verdict == expected || result.verdict == Verdict::kUnknown));
    REQUIRE(result.steps <= max_steps);
    unknown += result.verdict == Verdict::kUnknown;
  }
  CHECK(unknown > 100);
}

// Twelve writes at once and a read of a value none of them wrote: before it can say no, the
// search must try every subset of the writes with each of them last (12 * 2^11 configurations).
std::vector<KvOperation> HardHistory() {
  std::vector<KvOperation> history;
  for (int64_t i = 0; i < 12; ++i) {
    history.push_back(Op(i, 0, 100, KvInput::Set("x", base::Cat(i)), KvOutput::Ok()));
  }
  history.push_back(Op(12, 0, 100, KvInput::Get("x"), KvOutput::String("never written")));
  return history;
}

TEST_CASE("Running out of steps or time on a hard history gives unknown") {
  const std::vector<KvOperation> history = HardHistory();
  const LinearizabilityResult full = CheckWith(KvModel(), history, {.max_steps = 0});
  CHECK(full.verdict == Verdict::kNotLinearizable);
  CHECK(full.steps > 10'000);

  const LinearizabilityResult steps = CheckWith(KvModel(), history, {.max_steps = 1000});
  CHECK(steps.verdict == Verdict::kUnknown);
  CHECK(steps.steps == 1000);
  CHECK(steps.partition == "\"x\"");
  CHECK(absl::StrContains(steps.explanation, "the budget of 1000 steps ran out in key \"x\""));

  const LinearizabilityResult time =
      CheckWith(KvModel(), history, {.max_steps = 0, .timeout = std::chrono::nanoseconds(1)});
  CHECK(time.verdict == Verdict::kUnknown);
  CHECK(absl::StrContains(time.explanation, "the time limit of 1 ns ran out"));
}

TEST_CASE("Reads whose outcome is unknown are left out instead of searched") {
  // Each of the thirty reads could be linearized or not: 2^30 configurations if the search tried
  // both, a few steps as it leaves them out.
  std::vector<KvOperation> history = {Op(0, 0, 10, KvInput::Set("x", "1"), KvOutput::Ok())};
  for (int64_t i = 0; i < 30; ++i) {
    history.push_back(Op(i + 1, 20 + i, kNoReturn, KvInput::Get("x"), KvOutput::Unknown()));
  }
  history.push_back(Op(31, 100, 110, KvInput::Get("x"), KvOutput::String("2")));
  const LinearizabilityResult result = CheckWith(KvModel(), history, {.max_steps = 10'000});
  CHECK(result.verdict == Verdict::kNotLinearizable);
  CHECK(absl::StrContains(result.explanation,
                          "#1 client 1 [20, never] GET \"x\" -> ? (unknown)  changes nothing and "
                          "never returned, so it is left out"));
  CHECK(absl::StrContains(result.explanation, "... and 7 more"));
}

TEST_CASE("A long generated history is linearizable and one corrupted read breaks it") {
  const uint64_t seed = TestSeed(99);
  CAPTURE(seed);
  base::Random random(seed);
  Store store;
  std::vector<KvOperation> history = LinearizableHistory(
      random, store, {.operations = 5000, .keys = 200, .clients = 10, .unknown_probability = 0.02});
  const LinearizabilityResult result = CheckWith(KvModel(), history);
  CAPTURE(result.explanation);
  CHECK(result.verdict == Verdict::kLinearizable);
  CHECK(result.partition_count == 200);

  // A completed read of a value no one wrote.
  size_t read = random.Uniform(history.size());
  while (history[read].input.command != KvCommand::kGet || history[read].return_ns == kNoReturn) {
    read = (read + 1) % history.size();
  }
  history[read].output = KvOutput::String("never written");
  const LinearizabilityResult broken = CheckWith(KvModel(), history);
  CHECK(broken.verdict == Verdict::kNotLinearizable);
  CHECK(broken.partition == base::Quoted(history[read].input.key));
  CHECK(std::find(broken.operations.begin(), broken.operations.end(), read) !=
        broken.operations.end());
  CheckPrefix(history, broken);
}

}  // namespace
}  // namespace keel::testing
