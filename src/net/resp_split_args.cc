// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "resp_split_args.h"

namespace keel::net::internal {
namespace {

// isspace() in the C locale, which sdssplitargs uses to skip blanks and to check what follows a
// closing quote. A word ends at fewer bytes (IsWordEnd): \v and \f inside a word are kept.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool IsWordEnd(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char Unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;
  }
}

// A line as sdssplitargs sees it: a C string, so reading past the end yields NUL.
class Cursor {
 public:
  explicit Cursor(std::string_view line) : line_(line) {}
  [[nodiscard]] bool at_end() const { return i_ >= line_.size(); }
  [[nodiscard]] char peek(size_t ahead = 0) const {
    return i_ + ahead < line_.size() ? line_[i_ + ahead] : '\0';
  }
  void advance(size_t n = 1) { i_ += n; }

 private:
  std::string_view line_;
  size_t i_ = 0;
};

enum class Quote { kNone, kDouble, kSingle };

// A closing quote must be followed by a blank or the end of the line.
bool CloseQuote(Cursor& in) {
  if (!in.at_end() && in.peek(1) != '\0' && !IsSpace(in.peek(1))) return false;
  in.advance();
  return true;
}

// Reads one word at `in` (not at a blank) into `bytes`; false on unbalanced quotes.
bool ReadWord(Cursor& in, std::string& bytes) {
  Quote quote = Quote::kNone;
  for (;;) {
    if (in.at_end()) return quote == Quote::kNone;
    const char c = in.peek();
    if (quote == Quote::kDouble) {
      int high = 0, low = 0;
      if (c == '\\' && in.peek(1) == 'x' && (high = HexValue(in.peek(2))) >= 0 &&
          (low = HexValue(in.peek(3))) >= 0) {
        bytes.push_back(static_cast<char>(high * 16 + low));
        in.advance(4);
      } else if (c == '\\' && in.peek(1) != '\0') {
        bytes.push_back(Unescape(in.peek(1)));
        in.advance(2);
      } else if (c == '"') {
        return CloseQuote(in);
      } else {
        bytes.push_back(c);
        in.advance();
      }
    } else if (quote == Quote::kSingle) {
      if (c == '\\' && in.peek(1) == '\'') {
        bytes.push_back('\'');
        in.advance(2);
      } else if (c == '\'') {
        return CloseQuote(in);
      } else {
        bytes.push_back(c);
        in.advance();
      }
    } else if (IsWordEnd(c)) {
      in.advance();
      return true;
    } else {
      if (c == '"') {
        quote = Quote::kDouble;
      } else if (c == '\'') {
        quote = Quote::kSingle;
      } else {
        bytes.push_back(c);
      }
      in.advance();
    }
  }
}

}  // namespace

bool SplitArgs(std::string_view line, std::string& bytes,
               std::vector<std::pair<size_t, size_t>>& spans) {
  Cursor in(line);
  for (;;) {
    while (!in.at_end() && IsSpace(in.peek())) in.advance();
    if (in.at_end()) return true;
    const size_t start = bytes.size();
    if (!ReadWord(in, bytes)) return false;
    spans.emplace_back(start, bytes.size() - start);
  }
}

}  // namespace keel::net::internal
