// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Every crash state of appends: records and batches under each sync policy, with and without
// preallocation, rolls, a reopen, a log in a new directory, and a payload that spells a record
// (crash_states_testing.h has the checks).
#include <doctest/doctest.h>

#include <string>

#include "crash_states_testing.h"
#include "keel/base/coding.h"
#include "keel/base/crc32c.h"
#include "keel/base/strings.h"

namespace keel::wal::crash_states {
namespace {

TEST_CASE("Log crash states: every append with preallocated segments") {
  Explore(kPreallocated, {kDefault, kPointInTime, kSkip}, Appends);
}

TEST_CASE("Log crash states: every append without preallocation in kPointInTime and skip modes") {
  Explore(kNotPreallocated, {kPointInTime, kSkip}, Appends);
}

TEST_CASE("Log crash states: every append without preallocation in the default mode") {
  Explore(kNotPreallocated, {kDefault}, Appends);
}

TEST_CASE("Log crash states: interval syncs with preallocated segments") {
  LogOptions o = Small(SyncPolicy::kInterval, 3000);
  o.sync_interval_ns = 10 * base::kNanosPerMilli;
  Explore(o, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    base::Random random(8);
    for (int i = 0; i < 60; ++i) {
      w.Advance(static_cast<int64_t>(random.Uniform(6)) * base::kNanosPerMilli);
      if (i % 6 == 5) {
        w.AppendBatch(3, 90 + random.Uniform(900));
      } else {
        w.Append(30 + random.Uniform(600));
      }
    }
    w.Sync();
  });
}

TEST_CASE("Log crash states: explicit syncs in kPointInTime and skip modes") {
  Explore(kNoSyncs, {kPointInTime, kSkip}, AppendsAndSyncs);
}

TEST_CASE("Log crash states: explicit syncs in the default mode") {
  Explore(kNoSyncs, {kDefault}, AppendsAndSyncs);
}

TEST_CASE("Log crash states: a log created in a new directory") {
  Explore(
      kPreallocated, {kDefault, kPointInTime, kSkip},
      [](Workload& w) {
        for (int i = 0; i < 4; ++i) w.Append(100);
      },
      /*new_directory=*/true);
}

// A record as the format lays it out (docs/wal_format.md), a sync point, checksummed as a forger
// who does not know the log's salt must: with none.
std::string EncodedSyncPoint(uint64_t offset, std::string_view payload) {
  std::string fields;
  base::PutFixed32(fields, static_cast<uint32_t>(payload.size()));
  fields.push_back(static_cast<char>(0x81));  // kFull, a sync point
  base::PutFixed64(fields, offset);
  base::PutFixed64(fields, 1'000'000'000);
  std::string record;
  base::PutFixed32(record, base::MaskCrc32c(base::Crc32c(base::Cat(fields, payload))));
  return base::Cat(record, fields, payload);
}

// Recovery searches the bytes after damage for a valid sync point, payloads included, and a
// payload is anyone's to choose (a message queue's client, say). One that holds a record encoded
// as the format says, but without the log's salt, must stay inert: a torn write of it is a torn
// tail (not corruption that makes the default mode refuse the log), and kSkipCorruptedRecords
// never keeps the record inside it as if it had been appended.
TEST_CASE("Log crash states: a payload holding an encoded record, torn by a crash") {
  LogOptions o = kNotPreallocated;
  o.max_record_bytes = 8192;
  Explore(o, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    w.Append(100);  // offset 0, synced; offset 1 starts at position 157
    w.Focus();
    std::string payload(4600, 'p');
    payload += EncodedSyncPoint(2, "a record no one appended");  // in the file's second page
    payload += std::string(200, 'q');
    w.AppendRaw(payload);
  });
}

}  // namespace
}  // namespace keel::wal::crash_states
