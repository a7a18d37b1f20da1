// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// `hotel_reservation demo`, sections 3 and 4: double booking prevented under contention, with the
// chapter's three concurrency approaches (and SQLite) side by side; and the booking saga, with a
// payment provider that declines, answers late or never, a failed charge compensated, and a
// crash in the middle of the sagas recovered.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hotel_reservation/booking.h"
#include "hotel_reservation/contention.h"
#include "hotel_reservation/demo.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/saga/driver.h"
#include "keel/saga/orchestrator.h"

namespace keel::examples::hotel {

void Contention(bool short_run) {
  Heading("3. The last rooms, booked by many clients at once");
  ContentionOptions options;
  options.threads = 8;
  options.bookings_per_thread = short_run ? 100 : 1'000;
  options.total_inventory = short_run ? 40 : 200;
  options.approaches = {
      Approach::kOptimistic, Approach::kPessimistic, Approach::kPessimisticUnordered,
      Approach::kConstraint, Approach::kSqlite,      Approach::kGlobalMutex};
  std::printf(
      "%d clients each book %d stays of 1-%d nights and 1-%d rooms of one room type, %d rooms a\n"
      "night over %d nights: demand is far above supply. Each approach gets the same requests;\n"
      "after each run every night is checked against floor(total_inventory * 1.1) and against\n"
      "the rooms of the bookings that succeeded.\n\n",
      options.threads, options.bookings_per_thread, options.max_nights, options.max_rooms,
      static_cast<int>(options.total_inventory), options.dates);
  absl::StatusOr<std::vector<ApproachResult>> results = RunContention(options);
  if (!results.ok()) Die(results.status().ToString());
  std::fputs(FormatContentionTable(*results).c_str(), stdout);
  std::printf(
      "\nNo night over its limit, for every approach. Optimistic locking retries when the "
      "versions\n"
      "it read have changed; pessimistic locking waits (and, locking in no fixed order, "
      "deadlocks:\n"
      "the lock manager finds each cycle and the victim retries); the constraint is one atomic\n"
      "check-and-update; SQLite does the same in a real database, one transaction per booking.\n");
}

namespace {

struct SagaRun {
  std::unique_ptr<HotelService> service;
  std::unique_ptr<saga::Orchestrator> sagas;
  std::unique_ptr<saga::Driver> driver;
  std::atomic<int> finished{0};
};

constexpr int64_t kHotel = 7;
constexpr int64_t kRoomType = 1;

// Opens (or recovers) the hotel service and the orchestrator in `work`, and starts polling.
void Open(SagaRun& run, const std::string& work, PaymentProvider& provider) {
  absl::StatusOr<std::unique_ptr<HotelService>> service = HotelService::Open(work + "/hotel");
  if (!service.ok()) Die(service.status().ToString());
  run.service = *std::move(service);
  saga::OrchestratorOptions options;
  options.dir = work + "/sagas";
  options.seed = 1407;
  options.on_finished = [&run](const saga::SagaInfo&) { ++run.finished; };
  saga::SagaRecoveryReport report;
  absl::StatusOr<std::unique_ptr<saga::Orchestrator>> sagas =
      saga::Orchestrator::Open(options, {BookingSaga(*run.service, provider)}, &report);
  if (!sagas.ok()) Die(sagas.status().ToString());
  run.sagas = *std::move(sagas);
  run.driver = std::make_unique<saga::Driver>(*run.sagas);
  if (report.live_sagas > 0) {
    std::printf("    recovered: %zu sagas in flight (%llu log records replayed), resumed\n",
                report.live_sagas, static_cast<unsigned long long>(report.records_replayed));
  }
}

// Waits until no saga is running (a stuck one would fail the check after).
void WaitAll(SagaRun& run) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    const saga::OrchestratorStats stats = run.sagas->stats();
    if (stats.live == stats.stuck) break;
    if (std::chrono::steady_clock::now() > deadline) Die("sagas did not finish within a minute");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Every booking ended in one consistent state: paid and charged once, or rejected and not
// charged; the nights hold exactly the paid bookings' rooms.
void Check(SagaRun& run, PaymentProvider& provider, const std::vector<std::string>& ids,
           const std::map<std::string, BookingRequest>& requests, Day first, int nights) {
  std::map<std::string, int> outcomes;
  std::map<Day, int64_t> held;
  for (const std::string& id : ids) {
    absl::StatusOr<saga::SagaInfo> info = run.sagas->Inspect(id);
    if (!info.ok()) Die(info.status().ToString());
    const std::optional<Status> status = run.service->StatusOf(id);
    const int charges = provider.ChargesFor(id);
    const char* what = "";
    if (info->outcome == saga::Outcome::kCompleted) {
      if (status != Status::kPaid || charges != 1)
        Die(base::Cat(id, ": completed but not paid once"));
      what = "completed: held, charged once, paid";
      const BookingRequest& r = requests.at(id);
      for (Day d = r.start; d < r.end; ++d) held[d] += r.rooms;
    } else if (info->outcome == saga::Outcome::kCompensated) {
      if (charges != 0) Die(base::Cat(id, ": compensated but charged"));
      if (status && status != Status::kRejected) Die(base::Cat(id, ": compensated, not rejected"));
      what = !status ? "compensated: sold out, nothing held"
             : info->last_error && info->last_error->type == "CardDeclined"
                 ? "compensated: card declined, rooms released"
                 : "compensated: no answer from the provider, refunded, rooms released";
    } else {
      Die(base::Cat(id, ": ", saga::OutcomeName(info->outcome)));
    }
    ++outcomes[what];
  }
  for (const auto& [what, count] : outcomes) std::printf("    %5d  %s\n", count, what.c_str());
  for (Day d = first; d < first + nights; ++d) {
    const std::optional<InventoryRow> row = run.service->Row({kHotel, kRoomType, d});
    if (!row || row->total_reserved != held[d]) {
      Die(base::Cat("night ", FormatDay(d), " holds ", row ? row->total_reserved : -1,
                    " rooms; the paid bookings take ", held[d]));
    }
    if (row->total_reserved > ReservableRooms(row->total_inventory)) Die("a night is overbooked");
  }
  std::printf("    every night holds exactly the paid bookings' rooms, within its limit: yes\n");
}

}  // namespace

void BookingSagas(const std::string& work, bool short_run) {
  Heading("4. The booking saga: hold rooms, charge the guest, confirm");
  std::printf(
      "Reservation and payment live in different services. The saga (keel::saga) holds the\n"
      "rooms, charges the card through a payment provider that declines 15%% of cards, answers\n"
      "20%% of calls late and loses 15%% of answers (after charging), and confirms. The charge is\n"
      "the pivot: a decline releases the rooms; retries reuse the step's idempotency key, so the\n"
      "provider never charges twice.\n\n");
  PaymentProvider provider({.seed = 1408});
  const Day first = DaysFromCivil(2027, 3, 1);
  const int nights = 10;
  const int count = short_run ? 60 : 400;
  std::vector<std::string> ids;
  std::map<std::string, BookingRequest> requests;
  base::Random rng(1409);
  SagaRun run;
  std::filesystem::create_directories(work + "/booking");
  Open(run, work + "/booking", provider);
  for (Day d = first; d < first + nights; ++d) {
    if (!run.service->Execute(SetInventoryCommand(kHotel, kRoomType, d, count / 5)).ok() ||
        !run.service->Commit().ok()) {
      Die("cannot set the inventory");
    }
  }
  auto start = [&](int i) {
    const std::string id = base::Cat("res-", 1000 + i);
    BookingRequest r;
    r.hotel_id = kHotel;
    r.room_type_id = kRoomType;
    r.start = first + static_cast<Day>(rng.Uniform(nights - 2));
    r.end = r.start + 1 + static_cast<Day>(rng.Uniform(2));
    r.rooms = 1 + static_cast<int64_t>(rng.Uniform(2));
    r.amount_cents = 18'000 * r.rooms * (r.end - r.start);
    requests[id] = r;
    ids.push_back(id);
    if (absl::Status s = run.sagas->Start(id, kBookingSaga, EncodeBooking(r)); !s.ok()) {
      Die(s.ToString());
    }
  };
  for (int i = 0; i < count / 2; ++i) start(i);
  WaitAll(run);
  Check(run, provider, ids, requests, first, nights);

  // A declined card, step by step.
  for (const std::string& id : ids) {
    absl::StatusOr<saga::SagaInfo> info = run.sagas->Inspect(id);
    if (!info.ok() || !info->last_error || info->last_error->type != "CardDeclined") continue;
    std::printf("\n    %s, a declined card:\n", id.c_str());
    for (const saga::Transition& t : info->history) {
      std::printf("      %-10s step %u (%s) %s, attempt %u%s\n",
                  std::string(saga::EventName(t.event)).c_str(), t.step,
                  t.step == 0   ? "hold rooms"
                  : t.step == 1 ? "charge guest"
                                : "confirm",
                  std::string(saga::PhaseName(t.phase)).c_str(), t.attempt,
                  t.timed_out ? ", timed out" : "");
    }
    break;
  }

  // The crash: the second half of the bookings start, and the hotel service and the orchestrator
  // are dropped mid-flight, as a crash of their process would drop them: what survives is what
  // their write-ahead logs hold. The provider, another company's system, stays up.
  std::printf("\n    %d more bookings; the service and the orchestrator crash %d ms in...\n",
              count - count / 2, 30);
  for (int i = count / 2; i < count; ++i) start(i);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  run.driver.reset();  // polling stops; the state below is what the crash finds
  const saga::OrchestratorStats before = run.sagas->stats();
  run.sagas.reset();
  run.service.reset();
  std::printf("    at the crash: %zu sagas still running\n", before.live);
  run.finished = 0;
  Open(run, work + "/booking", provider);
  WaitAll(run);
  Check(run, provider, ids, requests, first, nights);
  std::printf("    charges made: %llu attempts, %.2f in all, no booking charged twice\n",
              static_cast<unsigned long long>(provider.Attempts()),
              static_cast<double>(provider.TotalCharged()) / 100);
  run.driver.reset();
}

}  // namespace keel::examples::hotel
