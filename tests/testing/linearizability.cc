// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The search of Wing and Gong with Lowe's cache (see linearizability.h), run on one partition at
// a time.
//
// The history of a partition becomes a doubly linked list of its call and return events in time
// order (calls before returns at equal times: such operations overlap). An operation that never
// returned has only its call in the list. The search walks the list from the front:
//
//   - at a call, it asks the model to apply the operation in the current state. If the model
//     accepts it and (linearized set + this operation, new state) is not in the cache, the
//     operation is linearized: pushed on a stack with the state before it, its call and return
//     lifted out of the list, and the walk restarts at the front;
//   - at a return, the operation returning there was not linearized before its return in any way
//     tried from this configuration, so the search backtracks: it pops the last linearized
//     operation, puts its events back where they were (the removed nodes kept their links,
//     Knuth's dancing links), restores the state and continues after that operation's call.
//
// It succeeds when no return is left in the list: every completed operation is linearized, and
// the operations that never returned and were not linearized are taken as never having happened.
// It fails when it must backtrack with an empty stack.
//
// Two changes to the algorithm as published:
//
//   - An operation that never returned is not linearized where the model says it would leave the
//     state as it is (a read whose outcome is unknown). Such a step is optional and constrains no
//     later operation, so any linearization with it is also one without it; trying both would
//     double the configurations for every such operation still open (see the test "Reads whose
//     outcome is unknown are left out instead of searched").
//   - The cache does not store the whole bitset of linearized operations. Operations are numbered
//     in call order, so the set is nearly always a run of all operations up to a point and a few
//     beyond it, and the cache stores only the words between (LinearizedSet::window). With whole
//     bitsets a search over one key with 10,000 operations used 370 MB; with windows, 29 MB.
//
// The set's hash is kept incrementally (Zobrist hashing: the XOR of a random word per member),
// so a cache probe costs a hash of the state id and, on a hit, a comparison of a word or two.
#include "testing/linearizability.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "keel/base/assert.h"
#include "keel/base/hash.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"

namespace keel::testing {

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLinearizable:
      return "linearizable";
    case Verdict::kNotLinearizable:
      return "not linearizable";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "?";
}

namespace internal {
namespace {

using base::Cat;

// The most operations a history may hold: operations and list nodes are int32_t indices.
constexpr size_t kMaxOperations = size_t{1} << 31;

// Counts search steps against CheckOptions' limits.
class Budget {
 public:
  explicit Budget(const CheckOptions& options)
      : max_steps_(options.max_steps),
        has_deadline_(options.timeout.count() > 0),
        deadline_(std::chrono::steady_clock::now() + options.timeout) {}

  // Takes one step; false (taking none) once the budget is spent.
  bool Spend() {
    if (expired_ || (max_steps_ != 0 && steps_ >= max_steps_)) return false;
    // The clock costs about as much as a step, so it is read once every 1024 steps.
    if (has_deadline_ && steps_ % 1024 == 0 && std::chrono::steady_clock::now() >= deadline_) {
      expired_ = true;
      return false;
    }
    ++steps_;
    return true;
  }

  [[nodiscard]] uint64_t steps() const { return steps_; }
  [[nodiscard]] bool expired() const { return expired_; }

 private:
  uint64_t max_steps_;
  bool has_deadline_;
  std::chrono::steady_clock::time_point deadline_;
  uint64_t steps_ = 0;
  bool expired_ = false;
};

// The set of linearized operations of a partition, numbered in call order, with its hash kept
// as the XOR of a random word per member (Zobrist hashing), so that a flip costs O(1).
//
// The search linearizes operations roughly in call order, so the set is nearly always all the
// operations up to some point and a few beyond it. window() is the part that says which: the
// words from the first that is not full to the last that is not empty. (window_start(),
// window()) identifies the set, and is what the cache stores: a word or two instead of the
// partition's whole bitset, which would make the cache quadratic in the partition's size.
class LinearizedSet {
 public:
  explicit LinearizedSet(size_t size) : words_((size + 63) / 64), zobrist_(size) {
    base::SplitMix64 random(0x6b65656c);
    for (uint64_t& word : zobrist_) word = random.Next();
  }

  void Flip(uint32_t op) {
    const size_t w = op / 64;
    words_[w] ^= uint64_t{1} << (op % 64);
    hash_ ^= zobrist_[op];
    if (words_[w] == ~uint64_t{0}) {
      while (full_ < words_.size() && words_[full_] == ~uint64_t{0}) ++full_;
    } else {
      full_ = std::min(full_, w);
    }
    if (words_[w] != 0) {
      used_ = std::max(used_, w + 1);
    } else {
      while (used_ > 0 && words_[used_ - 1] == 0) --used_;
    }
    KEEL_DCHECK(WindowIsExact(), "window [", full_, ", ", used_, ") after flipping ", op);
  }

  [[nodiscard]] uint64_t hash() const { return hash_; }
  [[nodiscard]] size_t window_start() const { return full_; }
  [[nodiscard]] std::span<const uint64_t> window() const {
    return {words_.data() + full_, used_ > full_ ? used_ - full_ : 0};
  }

  // The window recomputed from scratch, for debug builds: the cache's soundness rests on it
  // (the hash alone would merge two sets only on a collision, which tests would never see).
  [[nodiscard]] bool WindowIsExact() const {
    size_t full = 0;
    while (full < words_.size() && words_[full] == ~uint64_t{0}) ++full;
    size_t used = words_.size();
    while (used > 0 && words_[used - 1] == 0) --used;
    return full == full_ && used == used_;
  }

 private:
  std::vector<uint64_t> words_;
  std::vector<uint64_t> zobrist_;
  uint64_t hash_ = 0;
  size_t full_ = 0;  // words_[0, full_) are all ones, words_[full_] is not
  size_t used_ = 0;  // words_[used_, end) are all zeros, words_[used_ - 1] is not
};

// Lowe's cache: the set of (linearized operations, state) configurations already explored.
class Memo {
 public:
  Memo() : set_(/*bucket_count=*/256, Hash{}, Eq{this}) {}
  Memo(const Memo&) = delete;
  Memo& operator=(const Memo&) = delete;

  // Adds the configuration; false if it was there already.
  bool Insert(const LinearizedSet& linearized, uint32_t state) {
    const std::span<const uint64_t> window = linearized.window();
    const Entry entry{.hash = linearized.hash() ^ base::SplitMix64(state).Next(),
                      .offset = arena_.size(),
                      .start = linearized.window_start(),
                      .length = window.size(),
                      .state = state};
    arena_.insert(arena_.end(), window.begin(), window.end());
    if (set_.insert(entry).second) return true;
    arena_.resize(entry.offset);
    return false;
  }

 private:
  struct Entry {
    uint64_t hash;
    size_t offset;  // the window is arena_[offset, offset + length)
    size_t start;
    size_t length;
    uint32_t state;
  };
  struct Hash {
    size_t operator()(const Entry& entry) const { return entry.hash; }
  };
  struct Eq {
    const Memo* memo;
    bool operator()(const Entry& a, const Entry& b) const {
      if (a.hash != b.hash || a.state != b.state || a.start != b.start || a.length != b.length) {
        return false;
      }
      const auto words = memo->arena_.begin();
      return std::equal(words + static_cast<ptrdiff_t>(a.offset),
                        words + static_cast<ptrdiff_t>(a.offset + a.length),
                        words + static_cast<ptrdiff_t>(b.offset));
    }
  };

  std::vector<uint64_t> arena_;
  absl::flat_hash_set<Entry, Hash, Eq> set_;
};

enum class Outcome { kLinearizable, kNotLinearizable, kOutOfBudget };

// The search over one partition's operations.
class PartitionSearch {
 public:
  // `ops`: the partition's operations (indices into the history).
  PartitionSearch(ErasedModel& model, std::span<const uint32_t> ops)
      : model_(model), linearized_(ops.size()) {
    BuildList(ops);
  }

  Outcome Run(Budget& budget) {
    uint32_t state = ErasedModel::kInitialState;
    size_t unreturned = returns_;  // return events still in the list
    int32_t cursor = nodes_[0].next;
    while (unreturned > 0) {
      // A return is left, and the walk stops at the first one it meets.
      KEEL_ASSERT(cursor > 0, "the walk ran past the last return");
      const Node& node = nodes_[static_cast<size_t>(cursor)];
      if (node.is_call) {
        if (!budget.Spend()) return Outcome::kOutOfBudget;
        const uint32_t next = model_.Step(state, by_call_[node.op]);
        // An operation that never returned and would leave the state as it is (a read whose
        // outcome is unknown) is better left out: it is optional and constrains nothing, so
        // every linearization with it is one without it, and trying both doubles the search.
        const bool pointless = node.match < 0 && next == state;
        if (next != ErasedModel::kRejected && !pointless) {
          linearized_.Flip(node.op);
          if (memo_.Insert(linearized_, next)) {
            stack_.push_back({cursor, state});
            state = next;
            Lift(cursor);
            if (node.match > 0) --unreturned;
            NoteDepth();
            cursor = nodes_[0].next;
            continue;
          }
          linearized_.Flip(node.op);
        }
        cursor = node.next;
      } else {
        if (stack_.empty()) return Outcome::kNotLinearizable;
        const Frame frame = stack_.back();
        stack_.pop_back();
        changed_from_ = std::min(changed_from_, stack_.size());
        state = frame.state_before;
        const Node& call = nodes_[static_cast<size_t>(frame.call)];
        linearized_.Flip(call.op);
        Unlift(frame.call);
        if (call.match > 0) ++unreturned;
        cursor = call.next;
      }
    }
    return Outcome::kLinearizable;
  }

  // The longest linearization found, as indices into the history.
  [[nodiscard]] std::vector<size_t> LongestPrefix() const {
    std::vector<size_t> prefix;
    prefix.reserve(longest_.size());
    for (const uint32_t op : longest_) prefix.push_back(by_call_[op]);
    return prefix;
  }

 private:
  struct Node {
    int32_t prev = -1;
    int32_t next = -1;   // -1: the end of the list
    int32_t match = -1;  // a call's return node (> 0); -1 for a return or a call never returned
    uint32_t op = 0;     // the operation's rank in call order
    bool is_call = false;
  };
  struct Frame {
    int32_t call;  // the node of the linearized call
    uint32_t state_before;
  };

  // Builds the list of events and numbers the operations in call order.
  void BuildList(std::span<const uint32_t> ops) {
    struct Event {
      int64_t time;
      bool is_return;
      uint32_t op;  // in `ops`, then in call order
    };
    std::vector<Event> events;
    events.reserve(2 * ops.size());
    for (uint32_t i = 0; i < ops.size(); ++i) {
      events.push_back({model_.call_ns(ops[i]), false, i});
      const int64_t returned = model_.return_ns(ops[i]);
      if (returned != kNoReturn) events.push_back({returned, true, i});
    }
    // Calls sort before returns at equal times; the index keeps the order deterministic.
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      return std::tie(a.time, a.is_return, a.op) < std::tie(b.time, b.is_return, b.op);
    });
    // An operation's call sorts before its return, even at equal times.
    std::vector<uint32_t> rank(ops.size());
    for (const Event& event : events) {
      if (event.is_return) continue;
      rank[event.op] = static_cast<uint32_t>(by_call_.size());
      by_call_.push_back(ops[event.op]);
    }
    nodes_.resize(events.size() + 1);  // nodes_[0] is the head
    std::vector<int32_t> call_node(ops.size(), -1);
    for (size_t k = 0; k < events.size(); ++k) {
      const auto index = static_cast<int32_t>(k + 1);
      Node& node = nodes_[k + 1];
      node.prev = index - 1;
      node.next = k + 1 < events.size() ? index + 1 : -1;
      node.op = rank[events[k].op];
      node.is_call = !events[k].is_return;
      if (node.is_call) {
        call_node[node.op] = index;
      } else {
        nodes_[static_cast<size_t>(call_node[node.op])].match = index;
        ++returns_;
      }
    }
    nodes_[0].next = events.empty() ? -1 : 1;
  }

  void Unlink(int32_t index) {
    const Node& node = nodes_[static_cast<size_t>(index)];
    nodes_[static_cast<size_t>(node.prev)].next = node.next;
    if (node.next >= 0) nodes_[static_cast<size_t>(node.next)].prev = node.prev;
  }
  void Relink(int32_t index) {
    const Node& node = nodes_[static_cast<size_t>(index)];
    nodes_[static_cast<size_t>(node.prev)].next = index;
    if (node.next >= 0) nodes_[static_cast<size_t>(node.next)].prev = index;
  }
  // Removes a call and its return from the list; Unlift undoes it, in the reverse order.
  void Lift(int32_t call) {
    Unlink(call);
    const int32_t match = nodes_[static_cast<size_t>(call)].match;
    if (match > 0) Unlink(match);
  }
  void Unlift(int32_t call) {
    const Node& node = nodes_[static_cast<size_t>(call)];
    if (node.match > 0) Relink(node.match);
    Relink(call);
  }

  // Keeps longest_ equal to the deepest stack seen. Only the part of the stack below
  // changed_from_ still matches it, so a new record copies only what changed since the last:
  // each push and pop is copied at most once.
  void NoteDepth() {
    if (stack_.size() <= longest_.size()) return;
    longest_.resize(changed_from_);
    for (size_t i = changed_from_; i < stack_.size(); ++i) {
      longest_.push_back(nodes_[static_cast<size_t>(stack_[i].call)].op);
    }
    changed_from_ = stack_.size();
  }

  ErasedModel& model_;
  std::vector<uint32_t> by_call_;  // the partition's operations (indices into the history)
  std::vector<Node> nodes_;
  size_t returns_ = 0;
  LinearizedSet linearized_;
  Memo memo_;
  std::vector<Frame> stack_;
  std::vector<uint32_t> longest_;  // ranks in call order
  size_t changed_from_ = 0;        // longest_[0, changed_from_) matches the stack
};

struct Partition {
  std::string_view key;
  std::vector<uint32_t> ops;  // indices into the history, in history order
};

std::vector<Partition> SplitHistory(const ErasedModel& model) {
  std::vector<Partition> parts;
  if (!model.partitioned()) {
    parts.emplace_back();
    for (size_t i = 0; i < model.size(); ++i) parts[0].ops.push_back(static_cast<uint32_t>(i));
    return parts;
  }
  absl::flat_hash_map<std::string_view, size_t, base::Hasher, std::equal_to<>> index;
  for (size_t i = 0; i < model.size(); ++i) {
    const std::string_view key = model.PartitionKey(i);
    const auto [it, inserted] = index.try_emplace(key, parts.size());
    if (inserted) parts.push_back({key, {}});
    parts[it->second].ops.push_back(static_cast<uint32_t>(i));
  }
  return parts;
}

// The report: everything a person needs to see why a partition failed.

std::string Time(int64_t ns) { return ns == kNoReturn ? std::string("never") : Cat(ns); }

std::string DescribeLine(const ErasedModel& model, size_t op) {
  return Cat("  #", op, " client ", model.client(op), " [", model.call_ns(op), ", ",
             Time(model.return_ns(op)), "] ", model.DescribeOperation(op));
}

std::string PartitionName(const ErasedModel& model, const Partition& part) {
  return model.partitioned() ? base::Quoted(part.key) : std::string();
}

std::vector<size_t> ByCallTime(const ErasedModel& model, const Partition& part) {
  std::vector<size_t> ops(part.ops.begin(), part.ops.end());
  std::stable_sort(ops.begin(), ops.end(),
                   [&](size_t a, size_t b) { return model.call_ns(a) < model.call_ns(b); });
  return ops;
}

// The most operations each part of a violation's explanation lists; the result's fields hold
// them all. A person reads the end of the prefix and what could not follow it.
constexpr size_t kExplainedOperations = 24;

// Replays the longest prefix, then shows the operation whose return the search could not get
// past and what the model said of each operation that could have come before it.
std::string ExplainViolation(ErasedModel& model, const LinearizabilityResult& result) {
  std::string out = Cat("not linearizable: ",
                        result.partition.empty() ? "the history" : Cat("key ", result.partition),
                        " (", result.operations.size(), " operations)\n");
  if (result.operations.size() <= kExplainedOperations) {
    absl::StrAppend(&out, "operations, by call time:\n");
    for (const size_t op : result.operations) absl::StrAppend(&out, DescribeLine(model, op), "\n");
  }
  const size_t prefix = result.longest_prefix.size();
  const size_t skipped = prefix > kExplainedOperations ? prefix - kExplainedOperations : 0;
  absl::StrAppend(&out, "longest linearizable prefix found (", prefix, " of ",
                  result.operations.size(), " operations), with the state after each:\n");
  if (skipped > 0) absl::StrAppend(&out, "  ... ", skipped, " operations before these\n");
  uint32_t state = ErasedModel::kInitialState;
  std::vector<bool> done(model.size(), false);
  for (size_t i = 0; i < prefix; ++i) {
    const size_t op = result.longest_prefix[i];
    state = model.Step(state, op);
    KEEL_ASSERT(state != ErasedModel::kRejected, "the model rejects a prefix it accepted");
    done[op] = true;
    if (i >= skipped) {
      absl::StrAppend(&out, DescribeLine(model, op), "  => ", model.DescribeState(state), "\n");
    }
  }
  // The first return left, which the search met at the end of its walk.
  size_t blocking = model.size();
  for (const size_t op : result.operations) {
    if (done[op] || model.return_ns(op) == kNoReturn) continue;
    if (blocking == model.size() || model.return_ns(op) < model.return_ns(blocking)) {
      blocking = op;
    }
  }
  if (blocking == model.size()) return out;
  absl::StrAppend(&out, "then #", blocking, " must take effect by its return at ",
                  model.return_ns(blocking), ", but none of the operations called by then can:\n");
  size_t shown = 0;
  size_t candidates = 0;
  for (const size_t op : result.operations) {
    if (done[op] || model.call_ns(op) > model.return_ns(blocking)) continue;
    if (++candidates > kExplainedOperations) continue;
    ++shown;
    const uint32_t next = model.Step(state, op);
    std::string verdict;
    if (next == ErasedModel::kRejected) {
      verdict = Cat("rejected in state ", model.DescribeState(state));
    } else if (next == state && model.return_ns(op) == kNoReturn) {
      verdict = "changes nothing and never returned, so it is left out";
    } else {
      verdict = Cat("=> ", model.DescribeState(next), ", from which nothing completes");
    }
    absl::StrAppend(&out, DescribeLine(model, op), "  ", verdict, "\n");
  }
  if (candidates > shown) absl::StrAppend(&out, "  ... and ", candidates - shown, " more\n");
  return out;
}

absl::Status Validate(const ErasedModel& model) {
  if (model.size() > kMaxOperations) {
    return absl::InvalidArgumentError(
        Cat("a history of ", model.size(), " operations is over the limit of ", kMaxOperations));
  }
  for (size_t op = 0; op < model.size(); ++op) {
    if (model.return_ns(op) < model.call_ns(op)) {
      return absl::InvalidArgumentError(
          Cat("operation #", op, " (client ", model.client(op), ", ", model.DescribeOperation(op),
              ") returns at ", model.return_ns(op), ", before its call at ", model.call_ns(op)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LinearizabilityResult> Check(ErasedModel& model, const CheckOptions& options) {
  if (absl::Status status = Validate(model); !status.ok()) return status;
  const std::vector<Partition> parts = SplitHistory(model);
  LinearizabilityResult result;
  result.partition_count = parts.size();
  Budget budget(options);
  for (size_t p = 0; p < parts.size(); ++p) {
    PartitionSearch search(model, parts[p].ops);
    const Outcome outcome = search.Run(budget);
    if (outcome == Outcome::kLinearizable) continue;
    result.steps = budget.steps();
    result.partition = PartitionName(model, parts[p]);
    result.operations = ByCallTime(model, parts[p]);
    const std::string where =
        result.partition.empty() ? "the history" : Cat("key ", result.partition);
    if (outcome == Outcome::kOutOfBudget) {
      result.verdict = Verdict::kUnknown;
      result.explanation =
          Cat("unknown: ",
              budget.expired() ? Cat("the time limit of ", options.timeout.count(), " ns")
                               : Cat("the budget of ", options.max_steps, " steps"),
              " ran out in ", where, " (", parts[p].ops.size(), " operations); ", p, " of ",
              parts.size(), " partitions were checked and linearizable\n");
      return result;
    }
    result.verdict = Verdict::kNotLinearizable;
    result.longest_prefix = search.LongestPrefix();
    result.explanation = ExplainViolation(model, result);
    return result;
  }
  result.verdict = Verdict::kLinearizable;
  result.steps = budget.steps();
  result.explanation = Cat("linearizable: ", model.size(), " operations in ", parts.size(),
                           " partitions, ", budget.steps(), " search steps\n");
  return result;
}

}  // namespace internal

// -------------------------------------------------------------------------------------------------
// KvModel
// -------------------------------------------------------------------------------------------------

namespace {

// Redis accepts exactly the canonical decimal form of an int64 (its string2ll): no sign but a
// leading '-', no leading zeros, no spaces, no "-0". So a text is an integer if printing the
// number it parses to gives the text back.
std::optional<int64_t> ParseRedisInteger(const std::string& text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || absl::StrCat(value) != text) return std::nullopt;
  return value;
}

}  // namespace

std::optional<KvState> KvModel::Step(const KvState& state, const KvInput& input,
                                     const KvOutput& output) const {
  using Kind = KvOutput::Kind;
  const bool unknown = output.kind == Kind::kUnknown;
  switch (input.command) {
    case KvCommand::kGet:
      if (unknown) return state;
      if (output.kind == Kind::kNil && !state.value) return state;
      if (output.kind == Kind::kString && state.value == output.text) return state;
      return std::nullopt;
    case KvCommand::kSet:
      if (unknown || output.kind == Kind::kOk) return KvState{input.value};
      return std::nullopt;
    case KvCommand::kDel:
      if (unknown || (output.kind == Kind::kInteger && output.integer == (state.value ? 1 : 0))) {
        return KvState{};
      }
      return std::nullopt;
    case KvCommand::kIncrBy: {
      const std::optional<int64_t> current =
          state.value ? ParseRedisInteger(*state.value) : int64_t{0};
      int64_t updated = 0;
      if (!current || __builtin_add_overflow(*current, input.increment, &updated)) {
        if (unknown || output.kind == Kind::kError) return state;
        return std::nullopt;
      }
      if (unknown || (output.kind == Kind::kInteger && output.integer == updated)) {
        return KvState{absl::StrCat(updated)};
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

uint64_t KvModel::HashState(const KvState& state) const {
  // Seeds keep an absent key apart from an empty value.
  return state.value ? base::Hash64(*state.value, 1) : base::HashInt(0, 2);
}

std::string KvModel::DescribeOperation(const KvInput& input, const KvOutput& output) const {
  std::string text;
  switch (input.command) {
    case KvCommand::kGet:
      text = base::Cat("GET ", base::Quoted(input.key));
      break;
    case KvCommand::kSet:
      text = base::Cat("SET ", base::Quoted(input.key), " ", base::Quoted(input.value));
      break;
    case KvCommand::kDel:
      text = base::Cat("DEL ", base::Quoted(input.key));
      break;
    case KvCommand::kIncrBy:
      text = base::Cat("INCRBY ", base::Quoted(input.key), " ", input.increment);
      break;
  }
  switch (output.kind) {
    case KvOutput::Kind::kUnknown:
      return base::Cat(text, " -> ? (unknown)");
    case KvOutput::Kind::kNil:
      return base::Cat(text, " -> nil");
    case KvOutput::Kind::kString:
      return base::Cat(text, " -> ", base::Quoted(output.text));
    case KvOutput::Kind::kOk:
      return base::Cat(text, " -> OK");
    case KvOutput::Kind::kInteger:
      return base::Cat(text, " -> ", output.integer);
    case KvOutput::Kind::kError:
      return base::Cat(text, " -> error ", base::Quoted(output.text));
  }
  return text;
}

std::string KvModel::DescribeState(const KvState& state) const {
  return state.value ? base::Quoted(*state.value) : std::string("(no key)");
}

}  // namespace keel::testing
