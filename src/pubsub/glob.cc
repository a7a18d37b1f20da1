// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The matcher walks pattern and name together. A '*' tries the rest of the pattern at every
// position of the rest of the name; once such a try has failed at every position, no earlier
// '*' can help either (a longer match for it only leaves less of the name for the same rest),
// so the whole match fails at once. That cut keeps patterns like "*a*a*a*b" linear in practice
// instead of exponential, and is the same cut Redis makes, so the verdicts agree.
#include "keel/pubsub/glob.h"

#include <cstddef>

namespace keel::pubsub {
namespace {

// Whether byte `c` matches the bracket expression starting after '[' at pattern[p]; on return,
// `p` is at its closing ']' (or at the pattern's end if it has none).
bool MatchBracket(std::string_view pattern, size_t& p, char c) {
  const bool negated = p < pattern.size() && pattern[p] == '^';
  if (negated) ++p;
  bool matched = false;
  while (p < pattern.size() && pattern[p] != ']') {
    if (pattern[p] == '\\' && p + 1 < pattern.size()) {
      ++p;
      matched |= pattern[p] == c;
    } else if (p + 2 < pattern.size() && pattern[p + 1] == '-') {
      // Ranges compare signed chars, as Redis's C does.
      int lo = static_cast<signed char>(pattern[p]);
      int hi = static_cast<signed char>(pattern[p + 2]);
      if (lo > hi) std::swap(lo, hi);
      const int v = static_cast<signed char>(c);
      matched |= v >= lo && v <= hi;
      p += 2;
    } else {
      matched |= pattern[p] == c;
    }
    ++p;
  }
  return matched != negated;
}

enum class Verdict { kMatch, kNoMatch, kNoMatchAnywhere };

Verdict Match(std::string_view pattern, std::string_view name) {
  size_t p = 0;
  size_t n = 0;
  while (p < pattern.size() && n < name.size()) {
    switch (pattern[p]) {
      case '*': {
        while (p + 1 < pattern.size() && pattern[p + 1] == '*') ++p;
        if (p + 1 == pattern.size()) return Verdict::kMatch;
        for (; n < name.size(); ++n) {
          const Verdict rest = Match(pattern.substr(p + 1), name.substr(n));
          if (rest == Verdict::kMatch) return Verdict::kMatch;
          if (rest == Verdict::kNoMatchAnywhere) return Verdict::kNoMatchAnywhere;
        }
        return Verdict::kNoMatchAnywhere;
      }
      case '?':
        ++n;
        break;
      case '[':
        ++p;
        if (!MatchBracket(pattern, p, name[n])) return Verdict::kNoMatch;
        if (p == pattern.size()) --p;  // an unclosed bracket: the step below ends the pattern
        ++n;
        break;
      case '\\':
        if (p + 1 < pattern.size()) ++p;
        [[fallthrough]];
      default:
        if (pattern[p] != name[n]) return Verdict::kNoMatch;
        ++n;
        break;
    }
    ++p;
    if (n == name.size()) {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      break;
    }
  }
  return p == pattern.size() && n == name.size() ? Verdict::kMatch : Verdict::kNoMatch;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view name) {
  return Match(pattern, name) == Verdict::kMatch;
}

}  // namespace keel::pubsub
