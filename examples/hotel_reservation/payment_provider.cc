// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "hotel_reservation/payment_provider.h"

#include <utility>

#include "keel/base/hash.h"

namespace keel::examples::hotel {

PaymentProvider::PaymentProvider(const ProviderOptions& options)
    : options_(options), thread_([this] { Run(); }) {}

PaymentProvider::~PaymentProvider() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

int PaymentProvider::Percent(std::string_view key, uint64_t attempt, uint64_t salt) const {
  return static_cast<int>(
      base::Hash64(key, options_.seed ^ (attempt * 0x9e3779b97f4a7c15u) ^ salt) % 100);
}

void PaymentProvider::Charge(std::string_view idempotency_key, std::string_view reference,
                             int64_t amount_cents, std::function<void(ChargeAnswer)> done) {
  std::lock_guard lock(mu_);
  ++attempts_;
  auto [it, first] = charges_.try_emplace(std::string(idempotency_key));
  ChargeRecord& charge = it->second;
  const uint64_t attempt = charge.attempts++;
  if (first) {
    charge.declined = Percent(idempotency_key, 0, 1) < options_.decline_percent;
    charge.amount_cents = amount_cents;
    charge.reference = std::string(reference);
  }
  // The card is charged at the first attempt that gets through; a retry is deduplicated.
  if (!charge.declined && !charge.charged) {
    charge.charged = true;
    total_charged_ += charge.amount_cents;
  }
  if (Percent(idempotency_key, attempt, 2) < options_.lost_percent) return;  // never answered
  const int64_t delay_ms = Percent(idempotency_key, attempt, 3) < options_.slow_percent
                               ? options_.slow_ms
                               : options_.fast_ms;
  const ChargeAnswer answer = charge.declined ? ChargeAnswer::kDeclined : ChargeAnswer::kApproved;
  due_.emplace(std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms),
               [done = std::move(done), answer] { done(answer); });
  wake_.notify_all();
}

bool PaymentProvider::Refund(std::string_view idempotency_key) {
  std::lock_guard lock(mu_);
  auto it = charges_.find(std::string(idempotency_key));
  if (it == charges_.end() || !it->second.charged) return false;
  it->second.charged = false;
  total_charged_ -= it->second.amount_cents;
  return true;
}

int PaymentProvider::ChargesFor(std::string_view reference) const {
  std::lock_guard lock(mu_);
  int charged = 0;
  for (const auto& [key, charge] : charges_) {
    if (charge.reference == reference && charge.charged) ++charged;
  }
  return charged;
}

int64_t PaymentProvider::TotalCharged() const {
  std::lock_guard lock(mu_);
  return total_charged_;
}

uint64_t PaymentProvider::Attempts() const {
  std::lock_guard lock(mu_);
  return attempts_;
}

void PaymentProvider::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (due_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto when = due_.begin()->first;
    if (std::chrono::steady_clock::now() < when) {
      wake_.wait_until(lock, when);
      continue;
    }
    std::function<void()> answer = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    // Answers are given without the lock, so that a caller may charge again from inside one.
    lock.unlock();
    answer();
    lock.lock();
  }
}

}  // namespace keel::examples::hotel
