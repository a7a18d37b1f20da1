// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The ledger tool against a re-implementation of the rules written plainly here (whole
// file in memory, absl::StrSplit, digit-by-digit 128-bit arithmetic, iostreams), driving
// keel::ledger::Ledger directly: random files, in memory and on a directory (--dir: a second run
// continues the first's state and clock, snapshots, a directory another run holds), and runs
// killed with SIGKILL.
//
// Seeds are fixed and printed (KEEL_TEST_SEED replays one); KEEL_WALLET_LEDGER_FILES sets how
// many random files the test runs, KEEL_WALLET_CRASH_ROUNDS how many runs are killed (small
// defaults for CI).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "digital_wallet/ledger_tool.h"
#include "digital_wallet/ledger_tool_testing.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/ledger/ledger.h"
#include "keel/ledger/results.h"
#include "testing/testing.h"

namespace keel::examples::wallet {
namespace {

using ledger::Uint128;
using tool_testing::kStart;
using tool_testing::kTwoAccounts;
using tool_testing::Run;
using tool_testing::RunOn;

// The rules, written plainly from its text and docs/digital_wallet.md, independently of
// ledger_file.cc and ledger_tool.cc: the whole input in memory, lines and fields cut with
// absl::StrSplit, numbers read digit by digit in 128-bit arithmetic with the width as a bound,
// flags from a map, output through iostreams, the clock as S and k.
class Reference {
 public:
  Reference() : ledger_(ToolLedgerOptions()) {}

  std::string Run(const std::string& input, bool balances) {
    std::ostringstream out;
    std::vector<std::string> lines = absl::StrSplit(input, '\n');
    if (lines.back().empty()) lines.pop_back();  // the text after the last newline, if any
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string line = lines[i];
      const uint64_t number = i + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      Line(line, number, out);
    }
    Apply(out);
    if (balances) {
      out << "#balances\n";
      for (const ledger::Account& a : ledger_.Accounts()) {
        out << a.id << "," << a.debits_pending << "," << a.debits_posted << "," << a.credits_pending
            << "," << a.credits_posted << "\n";
      }
    }
    return out.str();
  }

  uint64_t seconds() const { return seconds_; }
  uint64_t nanos() const { return nanos_; }
  const ledger::Ledger& ledger() const { return ledger_; }

 private:
  static std::optional<Uint128> Number(const std::string& s, int bits) {
    if (s.empty()) return std::nullopt;
    const Uint128 max = bits == 128 ? ledger::kMaxUint128 : (Uint128{1} << bits) - 1;
    Uint128 value = 0;
    for (const char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      const int digit = c - '0';
      if (value > (max - digit) / 10) return std::nullopt;
      value = value * 10 + digit;
    }
    return value;
  }

  static std::optional<uint16_t> Flags(const std::string& s, bool account) {
    static const std::map<std::string, uint16_t> kAccountNames = {
        {"linked", 1},
        {"debits_must_not_exceed_credits", 2},
        {"credits_must_not_exceed_debits", 4},
        {"history", 8},
        {"imported", 16},
        {"closed", 32}};
    static const std::map<std::string, uint16_t> kTransferNames = {{"linked", 1},
                                                                   {"pending", 2},
                                                                   {"post_pending_transfer", 4},
                                                                   {"void_pending_transfer", 8},
                                                                   {"balancing_debit", 16},
                                                                   {"balancing_credit", 32},
                                                                   {"closing_debit", 64},
                                                                   {"closing_credit", 128},
                                                                   {"imported", 256}};
    const auto& names = account ? kAccountNames : kTransferNames;
    if (s == "0") return 0;
    uint16_t flags = 0;
    for (const std::string& name : std::vector<std::string>(absl::StrSplit(s, '|'))) {
      const auto it = names.find(name);
      if (it == names.end()) return std::nullopt;
      flags |= it->second;
    }
    return flags;
  }

  void Line(const std::string& line, uint64_t number, std::ostringstream& out) {
    const std::vector<std::string> f = absl::StrSplit(line, ',');
    bool ok = line.size() <= kMaxLineBytes;
    if (ok && f[0] == "A" && f.size() == 5) {
      const auto id = Number(f[1], 128);
      const auto ledger_id = Number(f[2], 32);
      const auto code = Number(f[3], 16);
      const auto flags = Flags(f[4], true);
      if (id && ledger_id && code && flags) {
        if (!transfers_.empty()) Apply(out);
        ledger::Account a;
        a.id = *id;
        a.ledger = static_cast<uint32_t>(*ledger_id);
        a.code = static_cast<uint16_t>(*code);
        a.flags = *flags;
        accounts_.push_back(a);
        numbers_.push_back(number);
        if (accounts_.size() == ledger::kBatchMax) Apply(out);
        return;
      }
    } else if (ok && f[0] == "T" && f.size() == 10) {
      std::optional<Uint128> v[8];
      for (int j = 0; j < 8; ++j) v[j] = Number(f[j + 1], j < 5 ? 128 : (j == 7 ? 16 : 32));
      const auto flags = Flags(f[9], false);
      if (std::all_of(v, v + 8, [](const auto& x) { return x.has_value(); }) && flags) {
        if (!accounts_.empty()) Apply(out);
        ledger::Transfer t;
        t.id = *v[0];
        t.debit_account_id = *v[1];
        t.credit_account_id = *v[2];
        t.amount = *v[3];
        t.pending_id = *v[4];
        t.timeout = static_cast<uint32_t>(*v[5]);
        t.ledger = static_cast<uint32_t>(*v[6]);
        t.code = static_cast<uint16_t>(*v[7]);
        t.flags = *flags;
        transfers_.push_back(t);
        numbers_.push_back(number);
        if (transfers_.size() == ledger::kBatchMax) Apply(out);
        return;
      }
    } else if (ok && line == "B") {
      Apply(out);
      return;
    } else if (ok && f[0] == "C" && f.size() == 2) {
      const auto s = Number(f[1], 64);
      if (s) {
        Apply(out);
        const Uint128 now = (Uint128{seconds_} + *s) * kNanosPerSecond + nanos_;
        if (now <= ledger::kTimestampMax) {
          seconds_ += static_cast<uint64_t>(*s);
          while (true) {
            const absl::StatusOr<uint32_t> expired =
                ledger_.ExpirePendingTransfers(static_cast<uint64_t>(now));
            REQUIRE(expired.ok());
            if (*expired != ledger::kExpiryBatchMax) break;
          }
          return;
        }
        out << number << ",-,malformed\n";  // beyond what the clock can hold
        return;
      }
    }
    Apply(out);
    out << number << ",-,malformed\n";
  }

  void Apply(std::ostringstream& out) {
    const size_t n = accounts_.size() + transfers_.size();
    if (n == 0) return;
    REQUIRE(nanos_ + n < kNanosPerSecond);
    const uint64_t timestamp = seconds_ * kNanosPerSecond + nanos_ + n;
    nanos_ += n;
    if (!accounts_.empty()) {
      std::vector<ledger::CreateAccountsResult> results;
      REQUIRE(ledger_.CreateAccounts(accounts_, timestamp, results).ok());
      std::map<uint32_t, ledger::CreateAccountResult> failed;
      for (const auto& r : results) failed[r.index] = r.result;
      for (uint32_t i = 0; i < accounts_.size(); ++i) {
        out << numbers_[i] << "," << accounts_[i].id << ","
            << ledger::ResultName(failed.count(i) ? failed[i] : ledger::CreateAccountResult::kOk)
            << "\n";
      }
    } else {
      std::vector<ledger::CreateTransfersResult> results;
      REQUIRE(ledger_.CreateTransfers(transfers_, timestamp, results).ok());
      std::map<uint32_t, ledger::CreateTransferResult> failed;
      for (const auto& r : results) failed[r.index] = r.result;
      for (uint32_t i = 0; i < transfers_.size(); ++i) {
        out << numbers_[i] << "," << transfers_[i].id << ","
            << ledger::ResultName(failed.count(i) ? failed[i] : ledger::CreateTransferResult::kOk)
            << "\n";
      }
    }
    accounts_.clear();
    transfers_.clear();
    numbers_.clear();
  }

  ledger::Ledger ledger_;
  uint64_t seconds_ = kClockStartSeconds;
  uint64_t nanos_ = 0;
  std::vector<ledger::Account> accounts_;
  std::vector<ledger::Transfer> transfers_;
  std::vector<uint64_t> numbers_;
};

// Random files over small id spaces, so that ids collide, chains break and pending transfers get
// posted, voided and expired; some numbers at and past their widths, leading zeros, every flag
// name, malformed lines of many shapes, CRLF, and no final newline. A `big` file holds long runs
// of transfers, so that batches are cut at 8,189 with chains across the cut.
class FileGenerator {
 public:
  explicit FileGenerator(uint64_t seed) : rng_(seed) {}

  // `lines`: how many (0: 20,000 for a big file, else up to 400).
  std::string File(bool big, uint64_t lines = 0) {
    std::string file;
    const bool crlf = rng_.Bernoulli(0.2);
    if (lines == 0) lines = big ? 20000 : 1 + rng_.Uniform(400);
    for (uint64_t i = 0; i < lines; ++i) {
      std::string line;
      if (big) {
        line = i < 12 ? Account() : (rng_.Bernoulli(0.0002) ? "C,1" : Transfer());
      } else {
        const uint64_t what = rng_.Uniform(100);
        line = what < 18   ? Account()
               : what < 75 ? Transfer()
               : what < 84 ? "B"
               : what < 93 ? "C," + Num(rng_.Uniform(4))
                           : Malformed();
      }
      file += line;
      if (crlf || rng_.Bernoulli(0.02)) file += "\r";
      file += "\n";
    }
    if (rng_.Bernoulli(0.3)) {
      // No final newline (and perhaps a last line that is only a CR).
      file.pop_back();
      if (!file.empty() && file.back() == '\r' && rng_.Bernoulli(0.5)) file.pop_back();
    }
    return file;
  }

 private:
  // A number in decimal, sometimes with leading zeros.
  std::string Num(Uint128 value) {
    std::ostringstream out;
    out << std::string(rng_.Bernoulli(0.05) ? rng_.Uniform(3) + 1 : 0, '0') << value;
    return out.str();
  }

  Uint128 Pick(std::initializer_list<Uint128> values) {
    return values.begin()[rng_.Uniform(values.size())];
  }

  Uint128 AccountId() {
    if (rng_.Bernoulli(0.05)) {
      return Pick({0, absl::MakeUint128(1, 0), absl::MakeUint128(1, 3), ledger::kMaxUint128,
                   ledger::kMaxUint128 - 1});
    }
    return Uint128{1 + rng_.Uniform(8)};
  }

  std::string Flags(const std::vector<std::string>& names, const std::vector<double>& odds) {
    std::vector<std::string> chosen;
    for (size_t i = 0; i < names.size(); ++i) {
      if (rng_.Bernoulli(odds[i])) chosen.push_back(names[i]);
    }
    if (chosen.empty()) return "0";
    rng_.Shuffle(chosen);
    if (rng_.Bernoulli(0.05)) chosen.push_back(chosen[0]);  // a repeat
    std::string out;
    for (const std::string& name : chosen) out += (out.empty() ? "" : "|") + name;
    return out;
  }

  std::string Account() {
    const std::string flags =
        Flags({"linked", "debits_must_not_exceed_credits", "credits_must_not_exceed_debits",
               "history", "imported", "closed"},
              {0.12, 0.2, 0.1, 0.1, 0.01, 0.01});
    return "A," + Num(AccountId()) + "," + Num(Mostly(1, 2)) + "," + Num(Mostly(1, 0)) + "," +
           flags;
  }

  // `usual` most of the time, else `other`.
  uint64_t Mostly(uint64_t usual, uint64_t other) { return rng_.Bernoulli(0.93) ? usual : other; }

  // A transfer of one of a few shapes: plain, pending, a post or void of an earlier pending
  // transfer, balancing, or any flags at all; linked or not; its id mostly fresh.
  std::string Transfer() {
    const uint64_t shape = rng_.Uniform(100);
    std::string flags;
    Uint128 pending_id = 0;
    uint64_t timeout = 0;
    Uint128 amount = rng_.Uniform(40);
    bool zero_accounts = false;
    if (shape < 45) {
      flags = "0";
    } else if (shape < 65) {
      flags = "pending";
      timeout = rng_.Bernoulli(0.8) ? 1 + rng_.Uniform(4) : 0;
    } else if (shape < 85 && !pending_.empty()) {
      flags = shape < 77 ? "post_pending_transfer" : "void_pending_transfer";
      pending_id = pending_[rng_.Uniform(pending_.size())];
      zero_accounts = rng_.Bernoulli(0.7);
      amount = rng_.Bernoulli(0.5)   ? Uint128{0}
               : rng_.Bernoulli(0.5) ? ledger::kMaxUint128
                                     : amount;
    } else if (shape < 92) {
      flags = rng_.Bernoulli(0.5) ? "balancing_debit" : "balancing_credit|pending";
      amount = rng_.Bernoulli(0.5) ? ledger::kMaxUint128 : amount;
    } else {
      flags = Flags(
          {"linked", "pending", "post_pending_transfer", "void_pending_transfer", "balancing_debit",
           "balancing_credit", "closing_debit", "closing_credit", "imported"},
          {0.2, 0.3, 0.15, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05});
      pending_id = rng_.Bernoulli(0.5) ? Uint128{rng_.Uniform(next_id_ + 1)} : Uint128{0};
      timeout = rng_.Uniform(4);
      amount = rng_.Bernoulli(0.2) ? Pick({ledger::kMaxUint128, Uint128{1} << 127}) : amount;
    }
    if (rng_.Bernoulli(0.2)) flags = flags == "0" ? "linked" : flags + "|linked";
    Uint128 id = rng_.Bernoulli(0.75) ? Uint128{next_id_++} : Uint128{1 + rng_.Uniform(next_id_)};
    if (rng_.Bernoulli(0.01)) id = Pick({0, ledger::kMaxUint128, absl::MakeUint128(7, 7)});
    if (flags.find("pending") == 0) {
      pending_.push_back(id);
      if (pending_.size() > 16) pending_.erase(pending_.begin());
    }
    return "T," + Num(id) + "," + Num(zero_accounts ? 0 : AccountId()) + "," +
           Num(zero_accounts ? 0 : AccountId()) + "," + Num(amount) + "," + Num(pending_id) + "," +
           Num(timeout) + "," + Num(Mostly(1, 2)) + "," + Num(Mostly(1, 0)) + "," + flags;
  }

  std::string Malformed() {
    switch (rng_.Uniform(14)) {
      case 0:
        return "";
      case 1:
        return "B,";
      case 2:
        return "C,";
      case 3:
        return "C,18446744073709551615";  // parses, but the clock cannot hold it
      case 4:
        return "C,18446744073709551616";
      case 5:
        return "A,1,4294967296,1,0";
      case 6:
        return "A,1,1,65536,0";
      case 7:
        return "T,1,1,2,1,0,4294967296,1,1,pending";
      case 8:
        return "T,340282366920938463463374607431768211456,1,2,1,0,0,1,1,0";
      case 9:
        return Account() + ",0";
      case 10:
        return Transfer().substr(0, 12);
      case 11:
        return "A,1,1,1,0|linked";
      case 12:
        return "T,1,1,2,1,0,0,1,1,1";
      default:
        return "x";
    }
  }

  base::Random rng_;
  uint64_t next_id_ = 1;
  std::vector<Uint128> pending_;  // recent pending transfers' ids
};

TEST_CASE("Random files give the output of the plain re-implementation, cut and continued") {
  const uint64_t files = testing::TestRounds("KEEL_WALLET_LEDGER_FILES", 300);
  const uint64_t base_seed = testing::TestSeed(15'000);
  std::map<std::string, uint64_t> seen;  // how often each result came out, over all files
  for (uint64_t f = 0; f < files; ++f) {
    const uint64_t seed = base_seed + f;
    CAPTURE(seed);
    FileGenerator generator(seed);
    base::Random rng(seed, /*stream=*/1);
    const bool big = f % 25 == 7;
    const std::string file = generator.File(big);

    // One run, the input cut at random.
    Reference reference;
    const std::string want = reference.Run(file, true);
    MemoryLedgerStore store;
    std::string got;
    LedgerTool tool(store, [&](std::string_view bytes) {
      got.append(bytes);
      return absl::OkStatus();
    });
    for (size_t at = 0; at < file.size();) {
      const size_t piece = 1 + rng.Uniform(rng.Bernoulli(0.5) ? 16 : 4096);
      REQUIRE(tool.Feed(std::string_view(file).substr(at, piece)).ok());
      if (rng.Bernoulli(0.3)) REQUIRE(tool.Flush().ok());
      at += piece;
    }
    REQUIRE(tool.Finish().ok());
    REQUIRE(tool.WriteBalances().ok());
    REQUIRE(got == want);
    for (const absl::string_view line : absl::StrSplit(got, '\n')) {
      if (line == "#balances") break;
      const size_t comma = line.rfind(',');
      if (line.find(',') != comma) ++seen[std::string(line.substr(comma + 1))];
    }
    CHECK(tool.clock_seconds() == reference.seconds());
    CHECK(tool.clock_nanos_used() == reference.nanos());
    REQUIRE(store.ledger().CheckInvariants().ok());

    // The same file as two runs on one ledger, cut at a line: the second run recovers the clock
    // from the ledger, as a run with --dir does.
    const size_t cut = file.find('\n', rng.Uniform(file.size() + 1));
    if (cut == std::string::npos) continue;
    const std::string first = file.substr(0, cut + 1);
    const std::string second = file.substr(cut + 1);
    Reference continued;
    const std::string want_first = continued.Run(first, false);
    const std::string want_second = continued.Run(second, true);
    if (f % 5 == 0) {
      // On a durable ledger, opened again for the second run as a second process would.
      testing::TempDir dir;
      {
        auto durable = OpenLedgerStore(dir.path());
        REQUIRE(durable.ok());
        CHECK(RunOn(**durable, first) == want_first);
      }
      auto durable = OpenLedgerStore(dir.path());
      REQUIRE(durable.ok());
      CHECK(RunOn(**durable, second, true) == want_second);
      CHECK((*durable)->ledger().StateHash() == continued.ledger().StateHash());
    } else {
      MemoryLedgerStore shared;
      CHECK(RunOn(shared, first) == want_first);
      CHECK(RunOn(shared, second, true) == want_second);
    }
  }
  // The files reach the corners they are made for (with the default count or more).
  if (files >= 300 && base_seed == 15'000) {
    for (const char* result :
         {"ok", "malformed", "exists", "exists_with_different_flags", "linked_event_failed",
          "linked_event_chain_open", "id_already_failed", "reserved_flag", "exceeds_credits",
          "pending_transfer_expired", "pending_transfer_already_posted",
          "pending_transfer_already_voided", "pending_transfer_not_found", "id_must_not_be_int_max",
          "flags_are_mutually_exclusive"}) {
      CAPTURE(result);
      CHECK(seen[result] > 0);
    }
  }
  std::string summary;
  for (const auto& [result, count] : seen) summary += result + "=" + std::to_string(count) + " ";
  INFO(summary);
  CHECK(!seen.empty());
}

// ---------------------------------------------------------------------------------------------
// The durable store (--dir).

TEST_CASE("With a directory, a second run continues the first's state and clock") {
  testing::TempDir dir;
  const std::string first = std::string(kTwoAccounts) +
                            "T,10,1,2,100,0,5,1,1,pending\nT,11,1,2,100,0,9,1,1,pending\nC,4\n";
  const std::string second =
      "A,1,1,1,0\nC,1\nT,12,0,0,100,10,0,1,1,post_pending_transfer\n"
      "T,13,0,0,100,11,0,1,1,post_pending_transfer\n";
  {
    auto store = OpenLedgerStore(dir.path());
    REQUIRE(store.ok());
    CHECK(RunOn(**store, first) == "1,1,ok\n2,2,ok\n3,10,ok\n4,11,ok\n");
  }
  {
    // Only a C: its expiry is an event too, so the clock it moved survives.
    auto store = OpenLedgerStore(dir.path());
    REQUIRE(store.ok());
    CHECK(RunOn(**store, "C,0\n").empty());
  }
  auto store = OpenLedgerStore(dir.path());
  REQUIRE(store.ok());
  CHECK((*store)->ledger().stats().last_timestamp == kStart + 4 * kNanosPerSecond + 4);
  CHECK(RunOn(**store, second, true) ==
        "1,1,exists\n3,12,pending_transfer_expired\n4,13,ok\n#balances\n1,0,100,0,0\n"
        "2,0,0,0,100\n");
  // The same two files in memory, one after the other on one ledger.
  MemoryLedgerStore memory;
  RunOn(memory, first);
  RunOn(memory, second);
  CHECK((*store)->ledger().StateHash() == memory.ledger().StateHash());
}

TEST_CASE("A run ends with a snapshot past the threshold; the next run starts from it") {
  testing::TempDir dir;
  std::string in = kTwoAccounts;
  for (int i = 1; i <= 50; ++i) in += "T," + std::to_string(i) + ",1,2,1,0,3,1,1,pending\n";
  in += "C,2\n";
  {
    auto store = OpenLedgerStore(dir.path(), /*snapshot_after_events=*/40);
    REQUIRE(store.ok());
    std::string out;
    LedgerTool tool(**store, [&](std::string_view bytes) {
      out.append(bytes);
      return absl::OkStatus();
    });
    REQUIRE(tool.Feed(in).ok());
    REQUIRE(tool.Finish().ok());
    REQUIRE((*store)->Finish().ok());
  }
  CHECK(std::ifstream(dir.path() + "/snapshot").good());
  auto store = OpenLedgerStore(dir.path());
  REQUIRE(store.ok());
  CHECK(RunOn(**store, "C,1\nT,51,0,0,0,1,0,1,1,void_pending_transfer\n", true) ==
        "2,51,pending_transfer_expired\n#balances\n1,0,0,0,0\n2,0,0,0,0\n");
}

TEST_CASE("A directory another run holds open is an error naming it") {
  testing::TempDir dir;
  auto held = OpenLedgerStore(dir.path());
  REQUIRE(held.ok());
  const auto second = OpenLedgerStore(dir.path());
  CHECK_FALSE(second.ok());
  CHECK(std::string(second.status().message()).find(dir.path()) != std::string::npos);
}

// The clock (S, k) after each line of `file` with the batch ended there: index j is after line j
// (0: before the first). It moves only with valid A and T lines (k) and C lines the clock can
// hold (S).
std::vector<std::pair<uint64_t, uint64_t>> ClockAfterEachLine(const std::string& file) {
  std::vector<std::pair<uint64_t, uint64_t>> clock = {{kClockStartSeconds, 0}};
  std::vector<std::string> lines = absl::StrSplit(file, '\n');
  if (lines.back().empty()) lines.pop_back();
  for (std::string& line : lines) {
    auto [s, k] = clock.back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    ParsedLine parsed;
    const LineKind kind = ParseLine(line, parsed);
    if (kind == LineKind::kAccount || kind == LineKind::kTransfer) ++k;
    if (kind == LineKind::kClock &&
        (Uint128{s} + parsed.seconds) * kNanosPerSecond + k <= ledger::kTimestampMax) {
      s += parsed.seconds;
    }
    clock.emplace_back(s, k);
  }
  return clock;
}

// Lines of `text` whose numbers (the first field) are above `after`, renumbered from 1.
std::string LinesAfter(const std::string& text, uint64_t after) {
  std::string out;
  for (const absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const size_t comma = line.find(',');
    uint64_t number = 0;
    REQUIRE(absl::SimpleAtoi(line.substr(0, comma), &number));
    if (number > after) {
      out += std::to_string(number - after);
      out.append(line.data() + comma, line.size() - comma);
      out += "\n";
    }
  }
  return out;
}

TEST_CASE("A run killed with SIGKILL leaves a prefix of batches, and every line it printed") {
  // Each round: a file run on a durable ledger in a child process killed at a random moment.
  // What it printed must be a prefix of an uninterrupted run's output; the ledger it left must be
  // exactly the state after some line j at which a batch ended, at or after every line printed
  // (found by its clock, confirmed by the state hash); and the lines after j, run on that ledger,
  // must print what the uninterrupted run printed for them and end in the same state.
  const uint64_t rounds = testing::TestRounds("KEEL_WALLET_CRASH_ROUNDS", 6);
  const uint64_t base_seed = testing::TestSeed(1515'000);
  uint64_t delay_max_us = 100'000;
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t seed = base_seed + round;
    CAPTURE(seed);
    FileGenerator generator(seed);
    base::Random rng(seed, /*stream=*/2);
    const std::string file = generator.File(false, 60000);
    Reference whole;
    const std::string want = whole.Run(file, false);

    testing::TempDir dir;
    const std::string in_path = dir.path() + "/in.txt";
    const std::string out_path = dir.path() + "/out.txt";
    const std::string ledger_dir = dir.path() + "/ledger";
    std::ofstream(in_path) << file;
    const auto run = [&](int) {
      const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      auto store = OpenLedgerStore(ledger_dir);
      if (out_fd < 0 || !store.ok()) _exit(3);
      _exit(RunLedgerFile(in_path, **store, {}, out_fd).ok() ? 0 : 4);
    };
    const testing::KilledChild child =
        testing::KillChildAfter(run, static_cast<int64_t>(rng.Uniform(delay_max_us)));
    CHECK((child.killed || child.exit_code == 0));
    // Aim the kills inside the run, however fast this build is.
    delay_max_us = child.killed ? delay_max_us * 5 / 4 : std::max<uint64_t>(delay_max_us / 2, 1000);
    std::stringstream printed_stream;
    printed_stream << std::ifstream(out_path).rdbuf();
    std::string printed = printed_stream.str();
    printed.erase(printed.find_last_of('\n') + 1);  // a line the kill cut short
    REQUIRE(want.compare(0, printed.size(), printed) == 0);

    auto store = OpenLedgerStore(ledger_dir);
    REQUIRE(store.ok());
    const uint64_t last = (*store)->ledger().stats().last_timestamp;
    const std::pair<uint64_t, uint64_t> durable =
        last == 0 ? std::pair<uint64_t, uint64_t>{kClockStartSeconds, 0}
                  : std::pair<uint64_t, uint64_t>{last / kNanosPerSecond, last % kNanosPerSecond};
    const auto clock = ClockAfterEachLine(file);
    // The lines after which the ledger has this clock: a run of lines that change nothing (B,
    // malformed, C,0) after the batch that set it. The ledger is the state after any of them,
    // and the last line printed must be one of them or before.
    const auto first = std::find(clock.begin(), clock.end(), durable);
    REQUIRE(first != clock.end());
    const auto lo = static_cast<uint64_t>(first - clock.begin());
    uint64_t hi = lo;
    while (hi + 1 < clock.size() && clock[hi + 1] == durable) ++hi;
    uint64_t printed_through = 0;
    for (const absl::string_view line : absl::StrSplit(printed, '\n', absl::SkipEmpty())) {
      REQUIRE(absl::SimpleAtoi(line.substr(0, line.find(',')), &printed_through));
    }
    CHECK(printed_through <= hi);  // every printed line is durable
    const uint64_t j = std::max(lo, printed_through);
    INFO(base::Cat("killed: ", child.killed, ", printed through line ", printed_through,
                   ", durable through line ", lo, " of ", clock.size() - 1));
    // The state is the one after line j.
    std::vector<std::string> lines = absl::StrSplit(file, '\n');
    std::string prefix;
    for (uint64_t i = 0; i < j; ++i) prefix += lines[i] + "\n";
    Reference upto;
    upto.Run(prefix, false);
    REQUIRE((*store)->ledger().StateHash() == upto.ledger().StateHash());
    // The rest, run on it, continues as the uninterrupted run did.
    const std::string rest = file.substr(std::min(prefix.size(), file.size()));
    CHECK(RunOn(**store, rest) == LinesAfter(want, j));
    CHECK((*store)->ledger().StateHash() == whole.ledger().StateHash());
  }
}

}  // namespace
}  // namespace keel::examples::wallet
