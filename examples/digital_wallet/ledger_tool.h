// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// LedgerTool: the engine of `digital_wallet ledger --in FILE [--dir DIR] [--balances]`, which
// applies a file of account and transfer events (ledger_file.h) to a ledger (ledger_store.h) and
// prints one line per event, "<line>,<id>,<result>", with TigerBeetle's result names.
// docs/digital_wallet.md ("The ledger tool") has the format and every rule; in short:
//
//   - Batches. Events are gathered into a batch, which is applied with one call to the ledger.
//     A batch ends at a B line, a C line, a malformed line, a change from A lines to T lines or
//     back, the end of the input, and when it holds kBatchMax (8,189) events (a linked chain
//     across that cut is open at the end of the first part: linked_event_chain_open).
//   - The clock. The spec's clock is S seconds, from 1,700,000,000; `C,<s>` adds s. The ledger
//     counts in nanoseconds, and the tool maps one onto the other: with k the nanoseconds its
//     batches have used since the ledger began (never reset), a batch of n events is applied at
//     S * 10^9 + k + n, so its events get S * 10^9 + k + 1 ... + n, and k += n. A C line calls
//     ExpirePendingTransfers(S * 10^9 + k) after advancing S. While k < 10^9, a pending transfer
//     created in clock second S_p with a timeout of t seconds is expired at clock second S exactly
//     when S_p + t <= S, which is the spec's rule (TigerBeetle's expires_at <= now); a batch that
//     would bring k to 10^9 is an error (a ledger file of a billion events is out of scope).
//     Every batch and every C leave the ledger's last timestamp at S * 10^9 + k, so a durable
//     ledger's clock is recovered from it: S = last / 10^9, k = last % 10^9. A run that was
//     killed between the expiry calls of one C (over kExpiryBatchMax transfers expiring at once)
//     leaves some due transfers unreleased; the next run releases them before its first line.
//   - Output. A batch's lines are buffered when it is applied, in input order (a malformed line
//     ends the batch before it, so its own line follows the batch's). Buffered output is written
//     only after the store's Sync(): on Flush(), after each read of the input, and whenever the
//     buffer passes kFlushBytes; so a durable store's syncs are grouped, one per read or MiB of
//     output, never one per line.
//
// Lines are read from byte chunks cut anywhere (Feed); a line is copied only when it spans two
// chunks, and one longer than kMaxLineBytes is malformed and skipped without being held.
//
// Example:
//
//   MemoryLedgerStore store;
//   std::string out;
//   LedgerTool tool(store, [&](std::string_view bytes) {
//     out.append(bytes);
//     return absl::OkStatus();
//   });
//   KEEL_RETURN_IF_ERROR(tool.Feed("A,1,700,10,0\nA,2,700,10,0\nT,9,1,2,100,0,0,700,1,0\n"));
//   KEEL_RETURN_IF_ERROR(tool.Finish());
//   // out == "1,1,ok\n2,2,ok\n3,9,ok\n"
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_TOOL_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_TOOL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "digital_wallet/ledger_file.h"
#include "digital_wallet/ledger_store.h"
#include "keel/ledger/types.h"

namespace keel::examples::wallet {

// The spec's clock starts at this Unix time, in seconds.
inline constexpr uint64_t kClockStartSeconds = 1'700'000'000;
inline constexpr uint64_t kNanosPerSecond = 1'000'000'000;
// Buffered output past this is synced and written at once, even in the middle of a read.
inline constexpr size_t kFlushBytes = size_t{1} << 20;

class LedgerTool {
 public:
  // Receives output that is durable; an error stops the tool.
  using Sink = std::function<absl::Status(std::string_view bytes)>;

  // Starts from `store`'s state, its clock recovered from the ledger's last timestamp (a ledger
  // that has used none starts at kClockStartSeconds). `store` must outlive the tool.
  LedgerTool(LedgerStore& store, Sink sink);

  // Reads `bytes`, the next part of the input, cut anywhere. Complete lines are judged; batches
  // that end are applied and their output buffered. Errors (the store's, the sink's, a clock
  // that runs out) stop the tool: call nothing after one but Flush.
  [[nodiscard]] absl::Status Feed(std::string_view bytes);

  // Syncs the store and writes the buffered output, if there is any.
  [[nodiscard]] absl::Status Flush();

  // The end of the input: a last line without its newline, the last batch, then a Sync (always,
  // so that a trailing C is durable too) and the buffered output.
  [[nodiscard]] absl::Status Finish();

  // After Finish: writes "#balances" and then "<account_id>,<debits_pending>,<debits_posted>,
  // <credits_pending>,<credits_posted>" for every account, in id order. Allocates a copy of the
  // accounts (Ledger::Accounts()).
  [[nodiscard]] absl::Status WriteBalances();

  // The clock: S, in seconds, and k, the nanoseconds used by batches.
  [[nodiscard]] uint64_t clock_seconds() const { return seconds_; }
  [[nodiscard]] uint64_t clock_nanos_used() const { return nanos_; }
  // The lines read so far.
  [[nodiscard]] uint64_t lines() const { return line_number_; }

 private:
  absl::Status CatchUpExpiry();
  absl::Status EndLine(std::string_view line, bool overlong);
  void Carry(std::string_view piece);
  absl::Status ApplyBatch();
  absl::Status AdvanceClock(uint64_t seconds);
  void AppendResult(uint64_t line, const ledger::Uint128& id, std::string_view result);
  void AppendMalformed(uint64_t line);
  absl::Status WriteOutput();

  LedgerStore& store_;
  Sink sink_;
  uint64_t seconds_ = kClockStartSeconds;
  uint64_t nanos_ = 0;
  uint64_t line_number_ = 0;
  bool caught_up_ = false;  // CatchUpExpiry has run

  // The line being read across chunks, or that it has passed kMaxLineBytes (then not held).
  std::string carry_;
  bool overlong_ = false;

  // The open batch: accounts or transfers (never both), and each event's line number.
  std::vector<ledger::Account> accounts_;
  std::vector<ledger::Transfer> transfers_;
  std::vector<uint64_t> lines_;
  std::vector<ledger::CreateAccountsResult> account_results_;
  std::vector<ledger::CreateTransfersResult> transfer_results_;
  ParsedLine parsed_;

  std::string out_;  // applied, not yet written
};

struct LedgerFileOptions {
  bool balances = false;  // end with WriteBalances()
};

// The whole tool on the file at `path`: reads it in chunks (64 KiB first, so that output starts at
// once, doubling up to 1 MiB), feeds them to a LedgerTool over `store`, flushes after each read,
// writes the output to `out_fd`, and ends with store.Finish(). On an error, the output of the
// batches applied before it is still written once durable. Errors name the file or what failed.
[[nodiscard]] absl::Status RunLedgerFile(const std::string& path, LedgerStore& store,
                                         const LedgerFileOptions& options, int out_fd);

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_TOOL_H_
