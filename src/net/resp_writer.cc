// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/net/resp_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "keel/base/assert.h"

namespace keel::net {
namespace {

// Room for "%.17g" of any double ("-1.2345678901234567e-308"), and for a 64-bit integer.
constexpr size_t kNumberChars = 32;

// Writes addReplyDouble's text for `value` into `buffer`, returning the length: "inf", "-inf", or
// "%.17g" (std::to_chars with a precision is specified to match printf's conversion, and does not
// parse a format string).
size_t PrintDouble(double value, char* buffer) {
  if (std::isinf(value)) {
    const std::string_view text = value > 0 ? "inf" : "-inf";
    std::memcpy(buffer, text.data(), text.size());
    return text.size();
  }
  const auto [end, error] =
      std::to_chars(buffer, buffer + kNumberChars, value, std::chars_format::general, 17);
  KEEL_ASSERT(error == std::errc());
  return static_cast<size_t>(end - buffer);
}

}  // namespace

std::string FormatDouble(double value) {
  std::array<char, kNumberChars> buffer;
  return std::string(buffer.data(), PrintDouble(value, buffer.data()));
}

std::string FormatHumanDouble(long double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // "%.17Lf" of the largest long double has about 4,950 digits; Redis's buffer
  // (MAX_LONG_DOUBLE_CHARS) is 5 KiB.
  std::array<char, 5 * 1024> buffer;
  const int printed = std::snprintf(buffer.data(), buffer.size(), "%.17Lf", value);
  KEEL_ASSERT(printed > 0 && static_cast<size_t>(printed) < buffer.size());
  std::string_view text(buffer.data(), static_cast<size_t>(printed));
  if (text.find('.') != std::string_view::npos) {
    while (text.back() == '0') text.remove_suffix(1);
    if (text.back() == '.') text.remove_suffix(1);
  }
  if (text == "-0") return "0";
  return std::string(text);
}

void RespWriter::Header(char prefix, int64_t value) {
  std::array<char, kNumberChars> buffer;
  buffer[0] = prefix;
  const auto [end, error] = std::to_chars(buffer.data() + 1, buffer.data() + buffer.size(), value);
  KEEL_ASSERT(error == std::errc());
  out_->append(buffer.data(), end);
  out_->append("\r\n", 2);
}

void RespWriter::OneLine(char prefix, std::string_view text) {
  // Trailing line breaks dropped, inner ones turned into spaces (addReplyErrorFormat's sdstrim
  // and sdsmapchars), so that the text cannot end the line early.
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
  const size_t start = out_->size() + 1;
  out_->push_back(prefix);
  out_->append(text);
  for (size_t i = start; i < out_->size(); ++i) {
    char& c = (*out_)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out_->append("\r\n", 2);
}

void RespWriter::SimpleString(std::string_view text) { OneLine('+', text); }

void RespWriter::Error(std::string_view message) {
  if (!message.empty() && message[0] == '-') {
    OneLine('-', message.substr(1));
    return;
  }
  out_->append("-ERR", 4);
  OneLine(' ', message);
}

void RespWriter::Integer(int64_t value) { Header(':', value); }

void RespWriter::BulkString(std::string_view bytes) {
  Header('$', static_cast<int64_t>(bytes.size()));
  out_->append(bytes);
  out_->append("\r\n", 2);
}

void RespWriter::Null() {
  if (protocol_ == Protocol::kResp2) {
    out_->append("$-1\r\n", 5);
  } else {
    out_->append("_\r\n", 3);
  }
}

void RespWriter::NullArray() {
  if (protocol_ == Protocol::kResp2) {
    out_->append("*-1\r\n", 5);
  } else {
    out_->append("_\r\n", 3);
  }
}

void RespWriter::ArrayHeader(size_t elements) { Header('*', static_cast<int64_t>(elements)); }

void RespWriter::MapHeader(size_t pairs) {
  if (protocol_ == Protocol::kResp2) {
    Header('*', static_cast<int64_t>(pairs * 2));
  } else {
    Header('%', static_cast<int64_t>(pairs));
  }
}

void RespWriter::SetHeader(size_t elements) {
  Header(protocol_ == Protocol::kResp2 ? '*' : '~', static_cast<int64_t>(elements));
}

void RespWriter::PushHeader(size_t elements) {
  Header(protocol_ == Protocol::kResp2 ? '*' : '>', static_cast<int64_t>(elements));
}

void RespWriter::Double(double value) {
  std::array<char, kNumberChars> buffer;
  const std::string_view text(buffer.data(), PrintDouble(value, buffer.data()));
  if (protocol_ == Protocol::kResp2) {
    BulkString(text);
    return;
  }
  out_->push_back(',');
  out_->append(text);
  out_->append("\r\n", 2);
}

void RespWriter::HumanDouble(long double value) {
  const std::string text = FormatHumanDouble(value);
  if (protocol_ == Protocol::kResp2) {
    BulkString(text);
    return;
  }
  out_->push_back(',');
  out_->append(text);
  out_->append("\r\n", 2);
}

void RespWriter::Boolean(bool value) {
  if (protocol_ == Protocol::kResp2) {
    out_->append(value ? ":1\r\n" : ":0\r\n", 4);
  } else {
    out_->append(value ? "#t\r\n" : "#f\r\n", 4);
  }
}

void RespWriter::Verbatim(std::string_view text, std::string_view format) {
  if (protocol_ == Protocol::kResp2) {
    BulkString(text);
    return;
  }
  Header('=', static_cast<int64_t>(text.size() + 4));
  for (size_t i = 0; i < 3; ++i) out_->push_back(i < format.size() ? format[i] : ' ');
  out_->push_back(':');
  out_->append(text);
  out_->append("\r\n", 2);
}

void RespWriter::BigNumber(std::string_view digits) {
  if (protocol_ == Protocol::kResp2) {
    BulkString(digits);
    return;
  }
  out_->push_back('(');
  out_->append(digits);
  out_->append("\r\n", 2);
}

RespWriter::Deferred RespWriter::Defer() {
  open_.push_back(out_->size());
  return Deferred{.offset = out_->size(), .depth = open_.size() - 1};
}

void RespWriter::End(Deferred deferred, char prefix, size_t count) {
  KEEL_ASSERT(open_.size() == deferred.depth + 1 && open_.back() == deferred.offset,
              "deferred lengths must be ended innermost first");
  KEEL_ASSERT(deferred.offset <= out_->size());
  open_.pop_back();
  std::array<char, kNumberChars> buffer;
  buffer[0] = prefix;
  const auto [end, error] =
      std::to_chars(buffer.data() + 1, buffer.data() + buffer.size(), static_cast<int64_t>(count));
  KEEL_ASSERT(error == std::errc());
  end[0] = '\r';
  end[1] = '\n';
  out_->insert(deferred.offset, buffer.data(), static_cast<size_t>(end + 2 - buffer.data()));
}

void RespWriter::EndArray(Deferred deferred, size_t elements) { End(deferred, '*', elements); }

void RespWriter::EndMap(Deferred deferred, size_t pairs) {
  if (protocol_ == Protocol::kResp2) {
    End(deferred, '*', pairs * 2);
  } else {
    End(deferred, '%', pairs);
  }
}

void RespWriter::EndSet(Deferred deferred, size_t elements) {
  End(deferred, protocol_ == Protocol::kResp2 ? '*' : '~', elements);
}

void AppendCommand(std::string& out, std::span<const std::string_view> args) {
  RespWriter writer(out);
  writer.ArrayHeader(args.size());
  for (std::string_view arg : args) writer.BulkString(arg);
}

}  // namespace keel::net
