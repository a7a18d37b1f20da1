// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A program outside keel that uses keel as a user would: built by the package test against an
// installed keel (find_package), against keel's source tree (add_subdirectory), and with the
// flags pkg-config gives. It exits non-zero if anything it computes is wrong.
#include <cstdio>
#include <string>

#include "keel/base/coding.h"
#include "keel/base/crc32c.h"
#include "keel/base/hash.h"
#include "keel/base/random.h"

int main() {
  int failures = 0;
  auto expect = [&failures](bool ok, const char* what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += ok ? 0 : 1;
  };

  expect(keel::base::Crc32c("123456789") == 0xE3069283u, "crc32c check value");
  expect(keel::base::Hash64("abc") == 0x78af5f94892f3950u, "xxh3 of \"abc\"");

  std::string record;
  keel::base::PutVarint64(record, 300);
  keel::base::PutLengthPrefixed(record, "payload");
  keel::base::Reader in(record);
  const auto offset = in.ReadVarint64();
  const auto payload = in.ReadLengthPrefixed();
  expect(
      offset.ok() && *offset == 300 && payload.ok() && *payload == "payload" && in.ExpectEnd().ok(),
      "varint and length-prefixed round trip");

  keel::base::Random rng(42);
  expect(rng.Next() == 0x15780b2e0c2ec716u, "xoshiro256** first output for seed 42");
  return failures == 0 ? 0 : 1;
}
