// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/format.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "keel/base/coding.h"

namespace keel::wal {
namespace {

TEST_CASE("The format's magic numbers spell KEELWAL1 and KEELIDX1 on disk") {
  char bytes[8];
  base::EncodeFixed64(bytes, kSegmentMagic);
  CHECK(std::string(bytes, 8) == "KEELWAL1");
  base::EncodeFixed64(bytes, kIndexMagic);
  CHECK(std::string(bytes, 8) == "KEELIDX1");
}

TEST_CASE("The format's sizes and limits are the documented ones") {
  CHECK(kSegmentHeaderBytes == 32);
  CHECK(kRecordHeaderBytes == 4 + 4 + 1 + 8 + 8);
  CHECK(static_cast<int>(RecordType::kFull) == 1);
  CHECK(static_cast<int>(RecordType::kLast) == 4);
  CHECK(kMaxRecordBytesLimit + kRecordHeaderBytes + kSegmentHeaderBytes < kMaxSegmentBytesLimit);
  CHECK(std::strcmp(kSegmentSuffix, ".wal") == 0);
  CHECK(std::strcmp(kIndexSuffix, ".idx") == 0);
}

}  // namespace
}  // namespace keel::wal
