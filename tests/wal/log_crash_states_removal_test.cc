// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Every crash state of removing records: Truncate (within a segment, into a batch, across
// segments, into unsynced records, at unit boundaries between appends), Reset, DropBefore and
// retention (crash_states_testing.h has the checks).
#include <doctest/doctest.h>

#include <string>

#include "crash_states_testing.h"

namespace keel::wal::crash_states {
namespace {

TEST_CASE("Log crash states: truncation within the last segment and into a batch") {
  Explore(kPreallocated, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    for (int i = 0; i < 6; ++i) w.Append(300);
    w.AppendBatch(4, 100);  // offsets 6 to 9
    for (int i = 0; i < 8; ++i) w.Append(300);
    w.Truncate(8);  // inside the batch: its header is rewritten
    w.Append(200);
    w.AppendBatch(3, 700);
    w.Truncate(w.log().next_offset() - 2);
    w.Append(100);
  });
}

TEST_CASE("Log crash states: truncation that removes one later segment") {
  Explore(kPreallocated, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    FillSegments(w, 22);
    REQUIRE(w.log().stats().segments == 2);
    w.Focus();
    w.Truncate(5);  // inside the batch at 4 to 6, and the second segment goes
    w.Append(100);
  });
}

TEST_CASE(
    "Log crash states: truncation that removes several segments in kPointInTime and skip modes") {
  Explore(kPreallocated, {kPointInTime, kSkip}, TruncateSeveralSegments);
}

TEST_CASE("Log crash states: truncation that removes several segments in the default mode") {
  Explore(kPreallocated, {kDefault}, TruncateSeveralSegments);
}

TEST_CASE("Log crash states: reset to a new offset") {
  Explore(kPreallocated, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    FillSegments(w, 45);
    w.Focus();
    w.Reset(1000);
    w.Append(100);
    w.AppendBatch(2, 50);
    w.Reset(0);
    w.Append(100);
  });
}

TEST_CASE("Log crash states: dropping one old segment at a time") {
  Explore(kPreallocated, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    FillSegments(w, 60);
    REQUIRE(w.log().stats().segments >= 4);
    w.Focus();
    w.DropBefore(w.log().first_offset() + 1);  // nothing goes: the first segment holds it
    w.Append(100);
    w.ApplyRetention(w.log().size_bytes() - 100);  // the oldest segment only
    w.Append(100);
  });
}

TEST_CASE("Log crash states: dropping several old segments with skipped records") {
  Explore(kPreallocated, {kSkip}, DropSeveralSegments);
}

TEST_CASE("Log crash states: dropping several old segments keeps the log contiguous") {
  Explore(kPreallocated, {kDefault, kPointInTime}, DropSeveralSegments);
}

// Truncate into a batch that was never synced (kNone): TRUNCATE is written and synced while the
// batch's own bytes are still only in the page cache.
TEST_CASE("Log crash states: truncation into an unsynced batch under kNone") {
  Explore(kNoSyncs, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    for (int i = 0; i < 4; ++i) w.Append(300);
    w.Sync();
    w.AppendBatch(4, 100);  // offsets 4 to 7, unsynced
    w.Focus();
    w.Truncate(6);  // inside the batch: its header is rewritten
    w.Append(100);
  });
}

TEST_CASE("Log crash states: truncation into an unsynced batch under kInterval") {
  LogOptions o = Small(SyncPolicy::kInterval, 3000);
  o.sync_interval_ns = int64_t{3600} * base::kNanosPerSecond;
  Explore(o, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    for (int i = 0; i < 4; ++i) w.Append(300);
    w.Sync();
    w.AppendBatch(4, 100);
    w.Focus();
    w.Truncate(6);
    w.Append(100);
  });
}

TEST_CASE("Log crash states: reset with unsynced records, then unsynced appends") {
  Explore(kNoSyncs, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    for (int i = 0; i < 6; ++i) w.Append(300);
    w.Sync();
    w.AppendBatch(3, 200);  // unsynced
    w.Append(900);
    w.Focus();
    w.Reset(3);  // an offset inside the old log
    w.Append(100);
    w.AppendBatch(2, 50);
    w.Sync();
    w.Append(70);
  });
}

TEST_CASE("Log crash states: truncations at unit boundaries interleaved with appends (kNone)") {
  Explore(kNoSyncs, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    FillSegments(w, 30);  // a few segments, the last one unsynced
    w.Focus();
    w.Truncate(w.log().next_offset() - 1);  // a unit boundary in the active segment
    w.Append(500);
    w.Append(500);
    w.Truncate(12);  // a sealed segment; later ones go
    w.Append(800);
    w.Sync();
    w.Append(800);
    w.Truncate(w.log().next_offset() - 1);
    w.Append(10);
  });
}

TEST_CASE("Log crash states: truncation to the log's start and to a segment's start") {
  Explore(kPreallocated, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    FillSegments(w, 30);
    w.Focus();
    // A segment's first offset: the cut leaves that segment empty.
    w.Truncate(w.log().next_offset() - 3);
    w.Append(100);
    w.Truncate(w.log().first_offset());
    w.Append(100);
    w.AppendBatch(3, 100);
  });
}

TEST_CASE("Log crash states: retention and DropBefore under kNone") {
  Explore(kNoSyncs, {kDefault, kPointInTime, kSkip}, [](Workload& w) {
    FillSegments(w, 50);
    w.Focus();
    w.DropBefore(20);
    w.Append(100);
    w.ApplyRetention(w.log().size_bytes() / 2);
    w.Append(100);
    w.Sync();
  });
}

}  // namespace
}  // namespace keel::wal::crash_states
