// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The reply reader works in two passes over a reply. Scan() finds where the reply ends, one
// element header at a time, keeping a stack of how many elements each open aggregate still
// expects, so that it resumes where it stopped when more bytes arrive. Once the reply is whole,
// Decode() builds the value tree from the bytes Scan() has already validated.
#include "keel/net/resp_reader.h"

#include <charconv>
#include <cstring>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "resp_numbers.h"

namespace keel::net {
namespace {

// One element's own bytes: its type byte, its line, and for the string types its payload (an
// aggregate's children follow `end`).
struct Element {
  char type = 0;
  std::string_view line;     // between the type byte and "\r\n"
  std::string_view payload;  // $ ! =
  int64_t count = 0;         // aggregates: elements that follow (-1: null array); $: -1 if null
  size_t end = 0;
};

absl::Status Malformed(size_t offset, std::string_view what, std::string_view bytes) {
  return absl::InvalidArgumentError(
      base::Cat("malformed RESP reply at byte ", offset, ": ", what, " ", base::Quoted(bytes)));
}

absl::Status CheckDouble(size_t offset, std::string_view line) {
  if (line == "inf" || line == "-inf" || line == "nan" || line == "-nan") return absl::OkStatus();
  double value = 0;
  const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), value);
  if (line.empty() || error != std::errc() || end != line.data() + line.size()) {
    return Malformed(offset, "double is not a number:", line);
  }
  return absl::OkStatus();
}

absl::Status CheckBigNumber(size_t offset, std::string_view line) {
  std::string_view digits = line;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return Malformed(offset, "big number is not an integer:", line);
  }
  return absl::OkStatus();
}

// How many elements follow an aggregate's header (0 for every other type).
int64_t Children(const Element& element) {
  switch (element.type) {
    case '*':
    case '~':
    case '>':
      return std::max<int64_t>(element.count, 0);
    case '%':
      return element.count * 2;
    case '|':
      return element.count * 2 + 1;  // the pairs, then the value they describe
    default:
      return 0;
  }
}

// The element at `pos`, nullopt if it has not arrived whole, or why it is malformed. `scanned`
// is where the search for its line's end may start (an optimisation for long lines fed in
// pieces); it is moved forward.
absl::StatusOr<std::optional<Element>> ParseElement(std::string_view data, size_t pos,
                                                    const RespReaderOptions& options,
                                                    size_t& scanned) {
  const size_t from = std::max(scanned, pos + 1);
  const void* hit =
      from < data.size() ? std::memchr(data.data() + from, '\r', data.size() - from) : nullptr;
  if (hit == nullptr) {
    scanned = std::max(from, data.size());
    if (data.size() - pos > options.max_line_bytes + 1) {
      return Malformed(pos, "line longer than max_line_bytes:", data.substr(pos, 32));
    }
    return std::nullopt;
  }
  const size_t cr = static_cast<const char*>(hit) - data.data();
  scanned = cr;
  if (cr - pos - 1 > options.max_line_bytes) {
    return Malformed(pos, "line longer than max_line_bytes:", data.substr(pos, 32));
  }
  if (cr + 1 >= data.size()) return std::nullopt;
  if (data[cr + 1] != '\n')
    return Malformed(cr, "'\\r' not followed by '\\n':", data.substr(cr, 2));

  Element element;
  element.type = data[pos];
  element.line = data.substr(pos + 1, cr - pos - 1);
  element.end = cr + 2;
  const std::string_view line = element.line;
  switch (element.type) {
    case '+':
    case '-':
      return element;
    case ':':
      if (!internal::ParseStrictInt64(line).has_value()) {
        return Malformed(pos, "integer is not a number:", line);
      }
      return element;
    case ',':
      KEEL_RETURN_IF_ERROR(CheckDouble(pos, line));
      return element;
    case '#':
      if (line != "t" && line != "f") return Malformed(pos, "boolean is not t or f:", line);
      return element;
    case '_':
      if (!line.empty()) return Malformed(pos, "null has a payload:", line);
      return element;
    case '(':
      KEEL_RETURN_IF_ERROR(CheckBigNumber(pos, line));
      return element;
    case '$':
    case '!':
    case '=': {
      if (line == "?") return absl::UnimplementedError("streamed RESP3 strings are not supported");
      const std::optional<int64_t> length = internal::ParseStrictInt64(line);
      if (element.type == '$' && length == -1) {
        element.count = -1;
        return element;
      }
      if (!length.has_value() || *length < 0 || *length > options.max_bulk_bytes) {
        return Malformed(pos, "bad string length:", line);
      }
      const size_t bytes = static_cast<size_t>(*length);
      if (data.size() - element.end < bytes + 2) return std::nullopt;
      element.payload = data.substr(element.end, bytes);
      if (data.substr(element.end + bytes, 2) != "\r\n") {
        return Malformed(element.end + bytes,
                         "string not followed by \\r\\n:", data.substr(element.end + bytes, 2));
      }
      if (element.type == '=' && (bytes < 4 || element.payload[3] != ':')) {
        return Malformed(pos, "verbatim string without its format:", element.payload);
      }
      element.end += bytes + 2;
      return element;
    }
    case '*':
    case '~':
    case '%':
    case '>':
    case '|': {
      if (line == "?") {
        return absl::UnimplementedError("streamed RESP3 aggregates are not supported");
      }
      const std::optional<int64_t> count = internal::ParseStrictInt64(line);
      if (element.type == '*' && count == -1) {
        element.count = -1;
        return element;
      }
      if (!count.has_value() || *count < 0 || *count > options.max_aggregate_length) {
        return Malformed(pos, "bad aggregate length:", line);
      }
      element.count = *count;
      return element;
    }
    default:
      return Malformed(pos, "unknown type byte:", data.substr(pos, 1));
  }
}

// Builds the value at `pos` from a reply Scan() has validated, moving `pos` past it.
RespValue Decode(std::string_view data, size_t& pos, const RespReaderOptions& options) {
  size_t scanned = 0;
  absl::StatusOr<std::optional<Element>> parsed = ParseElement(data, pos, options, scanned);
  KEEL_ASSERT(parsed.ok() && parsed->has_value(), "the scan validated this reply");
  const Element& element = **parsed;
  pos = element.end;
  if (element.type == '|') {
    std::vector<RespValue> attributes;
    for (int64_t i = 0; i < element.count * 2; ++i) {
      attributes.push_back(Decode(data, pos, options));
    }
    RespValue value = Decode(data, pos, options);
    value.attributes = std::move(attributes);
    return value;
  }
  RespValue value;
  using Type = RespValue::Type;
  switch (element.type) {
    case '+':
      value.type = Type::kSimpleString;
      value.text = element.line;
      break;
    case '-':
      value.type = Type::kError;
      value.text = element.line;
      break;
    case ':':
      value.type = Type::kInteger;
      value.integer = *internal::ParseStrictInt64(element.line);
      break;
    case ',':
      value.type = Type::kDouble;
      value.text = element.line;
      if (element.line == "inf" || element.line == "-inf" || element.line == "nan" ||
          element.line == "-nan") {
        value.number = std::strtod(value.text.c_str(), nullptr);
      } else {
        std::from_chars(element.line.data(), element.line.data() + element.line.size(),
                        value.number);
      }
      break;
    case '#':
      value.type = Type::kBoolean;
      value.boolean = element.line == "t";
      break;
    case '_':
      value.type = Type::kNull;
      break;
    case '(':
      value.type = Type::kBigNumber;
      value.text = element.line;
      break;
    case '$':
      value.type = element.count == -1 ? Type::kNullBulkString : Type::kBulkString;
      value.text = element.payload;
      break;
    case '!':
      value.type = Type::kBlobError;
      value.text = element.payload;
      break;
    case '=':
      value.type = Type::kVerbatim;
      value.format = element.payload.substr(0, 3);
      value.text = element.payload.substr(4);
      break;
    default: {
      const char type = element.type;
      value.type = type == '*'   ? (element.count == -1 ? Type::kNullArray : Type::kArray)
                   : type == '~' ? Type::kSet
                   : type == '%' ? Type::kMap
                                 : Type::kPush;
      const int64_t children = Children(element);
      value.elements.reserve(static_cast<size_t>(children));
      for (int64_t i = 0; i < children; ++i) value.elements.push_back(Decode(data, pos, options));
      break;
    }
  }
  return value;
}

void AppendDebug(const RespValue& value, std::string& out) {
  using Type = RespValue::Type;
  switch (value.type) {
    case Type::kSimpleString:
    case Type::kBigNumber:
    case Type::kDouble:
      out += value.text;
      return;
    case Type::kError:
    case Type::kBlobError:
      out += "(error) " + value.text;
      return;
    case Type::kInteger:
      out += "(integer) " + std::to_string(value.integer);
      return;
    case Type::kBulkString:
    case Type::kVerbatim:
      out += base::Quoted(value.text);
      return;
    case Type::kNullBulkString:
    case Type::kNullArray:
    case Type::kNull:
      out += "(nil)";
      return;
    case Type::kBoolean:
      out += value.boolean ? "(true)" : "(false)";
      return;
    case Type::kArray:
    case Type::kMap:
    case Type::kSet:
    case Type::kPush: {
      out += value.type == Type::kMap ? "{" : value.type == Type::kSet ? "~[" : "[";
      for (size_t i = 0; i < value.elements.size(); ++i) {
        if (i > 0) out += value.type == Type::kMap && i % 2 == 1 ? ": " : ", ";
        AppendDebug(value.elements[i], out);
      }
      out += value.type == Type::kMap ? "}" : "]";
      return;
    }
  }
}

}  // namespace

std::string RespValue::DebugString() const {
  std::string out;
  AppendDebug(*this, out);
  return out;
}

RespReader::RespReader(const RespReaderOptions& options) : options_(options) {}

void RespReader::Reset() {
  buffer_.Consume(buffer_.size());
  failure_ = absl::OkStatus();
  pos_ = 0;
  line_scanned_ = 0;
  pending_.clear();
}

absl::StatusOr<bool> RespReader::Scan() {
  const std::string_view data = buffer_.readable();
  while (pos_ < data.size()) {
    KEEL_ASSIGN_OR_RETURN(std::optional<Element> element,
                          ParseElement(data, pos_, options_, line_scanned_));
    if (!element.has_value()) return false;
    pos_ = element->end;
    line_scanned_ = pos_;
    const int64_t children = Children(*element);
    if (children > 0) {
      if (pending_.size() >= options_.max_depth) {
        return Malformed(pos_, "aggregates nested deeper than max_depth at", element->line);
      }
      pending_.push_back(children);
      continue;
    }
    // A complete element: it may complete the aggregates around it.
    for (;;) {
      if (pending_.empty()) return true;
      if (--pending_.back() > 0) break;
      pending_.pop_back();
    }
  }
  return false;
}

absl::StatusOr<std::optional<RespReply>> RespReader::Next() {
  if (!failure_.ok()) return failure_;
  absl::StatusOr<bool> complete = Scan();
  if (!complete.ok()) {
    failure_ = complete.status();
    return failure_;
  }
  if (!*complete) return std::nullopt;
  const std::string_view data = buffer_.readable();
  RespReply reply;
  reply.raw.assign(data.substr(0, pos_));
  size_t pos = 0;
  reply.value = Decode(reply.raw, pos, options_);
  KEEL_ASSERT(pos == pos_);
  buffer_.Consume(pos_);
  pos_ = 0;
  line_scanned_ = 0;
  return reply;
}

}  // namespace keel::net
