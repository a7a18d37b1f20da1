// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// PaymentProvider: a simulated payment service provider (PSP), the service outside the hotel's
// control that the booking saga charges guests through. It is hostile on purpose, and seeded:
// some cards are declined, some answers are slow, and some never come (a timeout after the charge
// was made: the worst case, since the caller cannot tell it from a charge never made). Like real
// PSPs (Stripe's idempotency keys), it deduplicates by the caller's idempotency key: a retry of a
// charge with the same key never charges twice, and gets the first attempt's answer.
//
// What happens to a charge is decided by a hash of the seed, the key and the attempt number, not
// by the order of calls, so a run is reproducible whatever the threads do.
//
// Example:
//
//   PaymentProvider psp({.seed = 7});
//   psp.Charge("booking-42/charge", "res-42", 25'000, [](ChargeAnswer a) { ... });  // or never
//   ...
//   psp.ChargesFor("res-42");  // 0 or 1 when every retry reuses its key
//
// Thread safety: every method may be called from any thread; answers arrive on the provider's
// own thread.
#ifndef KEEL_EXAMPLES_HOTEL_RESERVATION_PAYMENT_PROVIDER_H_
#define KEEL_EXAMPLES_HOTEL_RESERVATION_PAYMENT_PROVIDER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace keel::examples::hotel {

struct ProviderOptions {
  uint64_t seed = 1;
  // Chances, in percent, per key (declines) or per attempt (the others).
  int decline_percent = 15;  // the card is declined (the same answer on every retry)
  int lost_percent = 15;     // the charge is made but the answer never comes
  int slow_percent = 20;     // the answer comes after slow_ms instead of fast_ms
  int64_t fast_ms = 1;
  int64_t slow_ms = 40;
};

enum class ChargeAnswer { kApproved, kDeclined };

class PaymentProvider {
 public:
  explicit PaymentProvider(const ProviderOptions& options);
  ~PaymentProvider();  // answers not yet given are dropped
  PaymentProvider(const PaymentProvider&) = delete;
  PaymentProvider& operator=(const PaymentProvider&) = delete;

  // Charges `amount_cents` under `idempotency_key` for `reference` (what the charge pays for: the
  // reservation); `done` gets the answer on the provider's thread after a delay, or never.
  void Charge(std::string_view idempotency_key, std::string_view reference, int64_t amount_cents,
              std::function<void(ChargeAnswer)> done);

  // Refunds a charge made under `idempotency_key` (a guest cancelling a paid stay). Returns
  // whether there was a charge to refund.
  bool Refund(std::string_view idempotency_key);

  // How many charges stand for `reference` (made and not refunded), under however many keys: more
  // than one is a guest charged twice. And what was charged in all, less refunds.
  [[nodiscard]] int ChargesFor(std::string_view reference) const;
  [[nodiscard]] int64_t TotalCharged() const;
  [[nodiscard]] uint64_t Attempts() const;

 private:
  struct ChargeRecord {
    std::string reference;
    bool declined = false;
    bool charged = false;
    int64_t amount_cents = 0;
    uint64_t attempts = 0;
  };
  void Run();
  [[nodiscard]] int Percent(std::string_view key, uint64_t attempt, uint64_t salt) const;

  const ProviderOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::unordered_map<std::string, ChargeRecord> charges_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> due_;
  int64_t total_charged_ = 0;
  uint64_t attempts_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace keel::examples::hotel

#endif  // KEEL_EXAMPLES_HOTEL_RESERVATION_PAYMENT_PROVIDER_H_
