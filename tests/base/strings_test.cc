// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/strings.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace keel::base {
namespace {

TEST_CASE("Cat joins std::string_view pieces with numbers and strings") {
  const std::string_view view = "view";
  const std::string owned = "owned";
  CHECK(Cat() == "");
  CHECK(Cat(view) == "view");
  CHECK(Cat("a", view, 1, "-", owned, 2.5, absl::Hex(255)) == "aview1-owned2.5ff");
  CHECK(Cat(uint64_t{18446744073709551615u}, int64_t{-9}) == "18446744073709551615-9");
}

TEST_CASE("Quoted escapes quotes backslashes and non-printable bytes") {
  CHECK(Quoted("") == "\"\"");
  CHECK(Quoted("ez$42") == "\"ez$42\"");
  CHECK(Quoted("say \"hi\"\n") == "\"say \\\"hi\\\"\\n\"");
  CHECK(Quoted(std::string_view("\x01\x00\xff", 3)) == "\"\\x01\\x00\\xff\"");
  CHECK(Quoted("back\\slash") == "\"back\\\\slash\"");
}

TEST_CASE("Quoted cuts long input and says how long it was") {
  const std::string long_input(1000, 'a');
  const std::string quoted = Quoted(long_input);
  CHECK(quoted == "\"" + std::string(kQuotedMaxBytes, 'a') + "\"... (1000 bytes in all)");
  CHECK(Quoted("abcdef", 3) == "\"abc\"... (6 bytes in all)");
  CHECK(Quoted("abc", 3) == "\"abc\"");
}

}  // namespace
}  // namespace keel::base
