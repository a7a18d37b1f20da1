// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// GlobMatch: glob-style matching of names against patterns, with Redis's rules, as PSUBSCRIBE,
// PUBSUB CHANNELS and KEYS use them (https://redis.io/docs/latest/commands/keys/):
//
//   *        any run of bytes, the empty one included
//   ?        any one byte
//   [abc]    one of the bytes listed; [^abc] any byte not listed; [a-z] a range (either way
//            round: [z-a] is the same), compared as signed chars as Redis does
//   \x       the byte x itself (also inside brackets)
//
// An unclosed bracket ends at the end of the pattern. Matching is on bytes; names and patterns
// may hold any byte, NUL included.
//
// Example:
//
//   keel::pubsub::GlobMatch("user:*:location", "user:42:location");  // true
//   keel::pubsub::GlobMatch("h[^e]llo", "hello");                     // false
#ifndef KEEL_PUBSUB_GLOB_H_
#define KEEL_PUBSUB_GLOB_H_

#include <string_view>

namespace keel::pubsub {

[[nodiscard]] bool GlobMatch(std::string_view pattern, std::string_view name);

}  // namespace keel::pubsub

#endif  // KEEL_PUBSUB_GLOB_H_
