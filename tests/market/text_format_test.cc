// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/text_format.h"

#include <doctest/doctest.h>

#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::market {
namespace {

TEST_CASE("ParseCommand reads the three commands of the replay format") {
  std::string error;
  Command c = ParseCommand("N,42,7,ACME,S,L,IOC,10100,25", &error);
  CHECK(error.empty());
  CHECK(c.kind == CommandKind::kNew);
  CHECK(c.order.id == 42);
  CHECK(c.order.client == 7);
  CHECK(c.symbol == "ACME");
  CHECK(c.order.side == Side::kSell);
  CHECK(c.order.type == OrderType::kLimit);
  CHECK(c.order.tif == TimeInForce::kImmediateOrCancel);
  CHECK(c.order.price == 10100);
  CHECK(c.order.quantity == 25);

  c = ParseCommand("N,1,2,X,B,M,FOK,ignored,3\r", &error);
  CHECK(error.empty());
  CHECK(c.order.type == OrderType::kMarket);
  CHECK(c.order.tif == TimeInForce::kFillOrKill);
  CHECK(c.order.quantity == 3);
  CHECK(ParseCommand("N,1,2,X,B,L,PO,5,3", &error).order.tif == TimeInForce::kPostOnly);
  CHECK(ParseCommand("N,1,2,X,B,L,GTC,5,3", &error).order.tif == TimeInForce::kGoodTillCancel);

  c = ParseCommand("C,18446744073709551615", &error);
  CHECK(c.kind == CommandKind::kCancel);
  CHECK(c.order.id == UINT64_MAX);

  c = ParseCommand("R,9,-5,0", &error);  // read as given; the engine rejects them
  CHECK(c.kind == CommandKind::kModify);
  CHECK(c.order.price == -5);
  CHECK(c.order.quantity == 0);
}

TEST_CASE("ParseCommand names what is wrong with a malformed line") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "unknown command"},
      {"X,1", "unknown command"},
      {"n,1,2,X,B,L,GTC,5,3", "unknown command"},
      {"C", "C has 1 fields; want 2"},
      {"C,1,2", "C has 3 fields; want 2"},
      {"C,", "bad order id"},
      {"C,-1", "bad order id"},
      {"C,+1", "bad order id"},
      {"C, 1", "bad order id"},
      {"C,18446744073709551616", "bad order id"},
      {"R,1,2", "R has 3 fields"},
      {"R,1,x,2", "bad price"},
      {"R,1,2,9223372036854775808", "bad quantity"},
      {"N,1,2,X,B,L,GTC,5", "N has 8 fields"},
      {"N,1,-2,X,B,L,GTC,5,3", "bad client id"},
      {"N,1,2,X,Buy,L,GTC,5,3", "bad side"},
      {"N,1,2,X,B,Limit,GTC,5,3", "bad order type"},
      {"N,1,2,X,B,L,DAY,5,3", "bad time in force"},
      {"N,1,2,X,B,L,GTC,5.5,3", "bad price"},
      {"N,1,2,X,B,L,GTC,5,", "bad quantity"},
  };
  for (const auto& [line, want] : cases) {
    CAPTURE(line);
    std::string error;
    const Command c = ParseCommand(line, &error);
    CHECK(c.kind == CommandKind::kInvalid);
    CHECK_MESSAGE(absl::StrContains(error, want), error);
  }
  // Lines too long, or with far too many fields, are malformed (and cost no memory per field).
  std::string long_error;
  CHECK(ParseCommand(std::string(kMaxLineBytes + 1, 'N'), &long_error).kind ==
        CommandKind::kInvalid);
  CHECK(long_error == "a line longer than 4096 bytes (the limit)");
  CHECK(ParseCommand("N" + std::string(kMaxLineBytes - 1, ','), &long_error).kind ==
        CommandKind::kInvalid);
  CHECK(absl::StrContains(long_error, "too many fields"));
  CHECK(ParseCommand("C," + std::string(kMaxLineBytes - 2, '1'), &long_error).kind ==
        CommandKind::kInvalid);
  // Random bytes never crash it, and a line is either a command or has an error.
  base::Random rng(keel::testing::TestSeed(508));
  for (int i = 0; i < 20000; ++i) {
    std::string line(rng.Uniform(30), '\0');
    const char alphabet[] = "NCR,0123456789-BSLMGTCIOFKP\r ";
    for (char& ch : line) ch = alphabet[rng.Uniform(sizeof(alphabet) - 1)];
    std::string error;
    const Command c = ParseCommand(line, &error);
    CHECK((c.kind == CommandKind::kInvalid) == !error.empty());
  }
}

TEST_CASE("AppendEvent writes each kind of event in the documented form") {
  MatchingEngine engine({});
  std::vector<EngineEvent> events;
  std::string error;
  const std::vector<std::string> lines = {
      "N,1,1,AAA,S,L,GTC,105,10", "N,2,2,AAA,B,L,GTC,106,4", "R,1,105,5", "C,1", "C,1", "bad",
  };
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    events.clear();
    engine.Apply(ParseCommand(lines[i], &error), events);
    for (const EngineEvent& e : events) AppendEvent(e, engine, i + 1, error, out);
  }
  CHECK(out ==
        "1,A,AAA,1,S,105,10\n"
        "2,B,AAA,0,0,105,10\n"
        "3,A,AAA,2,B,106,4\n"
        "4,T,AAA,1,2,105,4\n"
        "5,D,AAA,2\n"
        "6,B,AAA,0,0,105,6\n"
        "7,M,AAA,1,105,5\n"
        "8,B,AAA,0,0,105,5\n"
        "9,X,AAA,1,5,requested\n"
        "10,B,AAA,0,0,0,0\n"
        "11,J,5,1,unknown_order\n"
        "12,J,6,,malformed: unknown command \"bad\" (want N, C or R)\n");
  // A reduction (self-trade prevention's decrement, which the replay format cannot ask for).
  EngineEvent reduced;
  reduced.sequence = 13;
  reduced.symbol = engine.FindSymbol("AAA");
  reduced.event.kind = EventKind::kReduced;
  reduced.event.cancel = CancelReason::kSelfTrade;
  reduced.event.order_id = 7;
  reduced.event.quantity = 3;
  out.clear();
  AppendEvent(reduced, engine, 9, "", out);
  CHECK(out == "13,P,AAA,7,3,self_trade\n");
}

// The lines of `text` as LineReader returns them, reading `read_bytes` at a time; a line cut for
// being too long is marked with a trailing '!'.
std::vector<std::string> ReadLines(const std::string& text, size_t read_bytes) {
  std::istringstream in(text);
  LineReader reader(in, read_bytes);
  std::vector<std::string> lines;
  while (const std::optional<LineReader::Line> line = reader.Next()) {
    REQUIRE(line->number == lines.size() + 1);
    CHECK(line->text.size() <= kMaxLineBytes + 1);
    lines.emplace_back(line->text);
    if (line->too_long) lines.back() += "!";
  }
  return lines;
}

// What LineReader must return: split on '\n', no line after a final '\n', lines over the limit
// cut to kMaxLineBytes + 1 bytes and marked.
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.size() > kMaxLineBytes) line = line.substr(0, kMaxLineBytes + 1) + "!";
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

TEST_CASE("LineReader splits lines as a brute-force split does at every read size") {
  const uint64_t seed = keel::testing::TestSeed(509);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int round = 0; round < 300; ++round) {
    CAPTURE(round);
    // Short lines, lines right at the limit and over it, empty lines, CRLF, no final newline.
    std::string text;
    const uint64_t count = rng.Uniform(8);
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t kind = rng.Uniform(6);
      const size_t length = kind == 0   ? 0
                            : kind == 1 ? kMaxLineBytes - 1 + rng.Uniform(3)
                            : kind == 2 ? kMaxLineBytes + rng.Uniform(3 * kMaxLineBytes)
                                        : rng.Uniform(20);
      for (size_t j = 0; j < length; ++j) text += static_cast<char>('a' + rng.Uniform(26));
      if (rng.Uniform(5) == 0) text += '\r';
      if (i + 1 < count || rng.Uniform(2) == 0) text += '\n';
    }
    const std::vector<std::string> want = SplitLines(text);
    for (const size_t read_bytes :
         {size_t{1}, kMaxLineBytes + 1, kMaxLineBytes + 7, size_t{65536}}) {
      CAPTURE(read_bytes);
      CHECK(ReadLines(text, read_bytes) == want);
    }
  }
  CHECK(ReadLines("", 1).empty());
  CHECK(ReadLines("\n", 1) == std::vector<std::string>{""});
  CHECK(ReadLines("a\n\nb", 1) == std::vector<std::string>{"a", "", "b"});
}

// An endless line of 'x', counting what was read from it.
class EndlessLine : public std::streambuf {
 public:
  EndlessLine() { std::fill(std::begin(chunk_), std::end(chunk_), 'x'); }
  uint64_t consumed() const { return consumed_; }

 protected:
  int_type underflow() override {
    consumed_ += sizeof(chunk_);
    setg(chunk_, chunk_, chunk_ + sizeof(chunk_));
    return traits_type::to_int_type('x');
  }

 private:
  char chunk_[1024];
  uint64_t consumed_ = 0;
};

TEST_CASE("LineReader rejects a line at the limit before reading the rest of it") {
  EndlessLine endless;
  std::istream in(&endless);
  LineReader reader(in, 8192);
  const std::optional<LineReader::Line> line = reader.Next();
  REQUIRE(line.has_value());
  CHECK(line->too_long);
  CHECK(line->number == 1);
  CHECK(line->text == std::string(kMaxLineBytes + 1, 'x'));
  CHECK(endless.consumed() <= 8192 + 1024);  // one read, not the endless rest
  std::string error;
  CHECK(ParseCommand(line->text, &error).kind == CommandKind::kInvalid);
  CHECK(error == "a line longer than 4096 bytes (the limit)");
}

TEST_CASE("LineReader skips the rest of a long line without holding it and reads on") {
  const std::string huge(10 * kMaxLineBytes + 3, 'y');
  const std::string text = "C,1\n" + huge + "\nC,2\n" + huge;
  std::istringstream in(text);
  LineReader reader(in, kMaxLineBytes + 1);
  std::vector<std::pair<uint64_t, bool>> seen;
  std::vector<std::string> texts;
  while (const std::optional<LineReader::Line> line = reader.Next()) {
    seen.emplace_back(line->number, line->too_long);
    texts.emplace_back(line->text);
  }
  CHECK(seen ==
        std::vector<std::pair<uint64_t, bool>>{{1, false}, {2, true}, {3, false}, {4, true}});
  CHECK(texts[0] == "C,1");
  CHECK(texts[2] == "C,2");
  CHECK(!in.bad());
}

}  // namespace
}  // namespace keel::market
