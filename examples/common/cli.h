// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What every example program needs around keel: command-line flags with a --help that explains
// each of them, latency percentiles, and tidy tables. Header-only; not part of the library.
#ifndef KEEL_EXAMPLES_COMMON_CLI_H_
#define KEEL_EXAMPLES_COMMON_CLI_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "keel/base/strings.h"

namespace keel::examples {

// Flags declared with a default and a help line, parsed from --name=value, --name value, or a
// bare --name for a boolean. Unknown flags and malformed values are errors that name them.
class Flags {
 public:
  Flags(std::string program, std::string summary)
      : program_(std::move(program)), summary_(std::move(summary)) {}

  void Add(std::string name, std::string default_value, std::string help) {
    order_.push_back(name);
    flags_[name] = {std::move(default_value), std::move(help), false};
  }
  void AddBool(std::string name, std::string help) {
    order_.push_back(name);
    flags_[name] = {"false", std::move(help), true};
  }

  // Returns false (after printing why, or the help) when the program should exit; *exit_code
  // says with what.
  bool Parse(int argc, char** argv, int* exit_code) {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        PrintHelp();
        *exit_code = 0;
        return false;
      }
      if (arg.substr(0, 2) != "--")
        return Fail(base::Cat("unexpected argument ", base::Quoted(arg)), exit_code);
      arg.remove_prefix(2);
      std::string name(arg.substr(0, arg.find('=')));
      auto it = flags_.find(name);
      if (it == flags_.end()) return Fail(base::Cat("unknown flag --", name), exit_code);
      if (arg.find('=') != std::string_view::npos) {
        it->second.value = std::string(arg.substr(arg.find('=') + 1));
        if (it->second.is_bool && it->second.value != "true" && it->second.value != "false") {
          return Fail(base::Cat("flag --", name, " takes true or false, not ",
                                base::Quoted(it->second.value)),
                      exit_code);
        }
      } else if (it->second.is_bool) {
        it->second.value = "true";
      } else if (i + 1 < argc) {
        it->second.value = argv[++i];
      } else {
        return Fail(base::Cat("flag --", name, " needs a value"), exit_code);
      }
    }
    return true;
  }

  [[nodiscard]] std::string Get(const std::string& name) const { return flags_.at(name).value; }
  [[nodiscard]] bool GetBool(const std::string& name) const { return Get(name) == "true"; }

  // A number, or exits the program with a message naming the flag.
  [[nodiscard]] double GetDouble(const std::string& name) const {
    double v = 0;
    if (!absl::SimpleAtod(Get(name), &v)) Die(name);
    return v;
  }
  [[nodiscard]] int64_t GetInt(const std::string& name) const {
    int64_t v = 0;
    if (!absl::SimpleAtoi(Get(name), &v)) Die(name);
    return v;
  }

 private:
  struct Flag {
    std::string value;
    std::string help;
    bool is_bool;
  };

  void PrintHelp() const {
    std::printf("%s: %s\n\nFlags:\n", program_.c_str(), summary_.c_str());
    for (const std::string& name : order_) {
      const Flag& f = flags_.at(name);
      std::printf("  --%-18s %s%s\n", name.c_str(), f.help.c_str(),
                  f.is_bool ? "" : absl::StrFormat(" (default: %s)", f.value).c_str());
    }
  }

  bool Fail(const std::string& why, int* exit_code) const {
    std::fprintf(stderr, "%s: %s (see --help)\n", program_.c_str(), why.c_str());
    *exit_code = 2;
    return false;
  }

  [[noreturn]] void Die(const std::string& name) const {
    std::fprintf(stderr, "%s: --%s=%s is not a number\n", program_.c_str(), name.c_str(),
                 Get(name).c_str());
    std::exit(2);
  }

  std::string program_;
  std::string summary_;
  std::vector<std::string> order_;
  std::map<std::string, Flag> flags_;
};

// The p-th percentile (0-100) of samples, by the nearest-rank method. Sorts `samples`.
inline double Percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(samples.size())));
  return samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// "1.23 M", "45.6 k": compact counts for narration.
inline std::string Human(double v) {
  if (v >= 1e9) return absl::StrFormat("%.2f G", v / 1e9);
  if (v >= 1e6) return absl::StrFormat("%.2f M", v / 1e6);
  if (v >= 1e3) return absl::StrFormat("%.1f k", v / 1e3);
  return absl::StrFormat("%.0f", v);
}

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_COMMON_CLI_H_
