// The strict JSON reader; see json.hpp.
#include "densekit/io/json.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

namespace densekit::json {

const Value* Value::find(std::string_view key) const {
  if (type != Type::object) return nullptr;
  for (const auto& kv : object)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

const Value& Value::at(std::string_view key) const {
  const Value* v = find(key);
  if (!v) throw ParseError("missing key \"" + std::string(key) + "\"");
  return *v;
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, int max_depth) : s_(text), max_depth_(max_depth) {}

  Value document() {
    Value v = value(0);
    skip_ws();
    if (i_ != s_.size()) fail("trailing characters after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ParseError("JSON error at byte " + std::to_string(i_) + ": " + what);
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  char peek() {
    skip_ws();
    if (i_ >= s_.size()) fail("unexpected end of input");
    return s_[i_];
  }
  void expect(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) fail("invalid literal");
    i_ += word.size();
  }

  Value value(int depth) {
    if (depth > max_depth_) fail("nesting too deep");
    Value v;
    switch (peek()) {
      case '{': {
        v.type = Value::Type::object;
        ++i_;
        if (peek() == '}') {
          ++i_;
          return v;
        }
        for (;;) {
          if (peek() != '"') fail("expected a string key");
          std::string key = string_literal();
          if (v.find(key)) fail("duplicate key \"" + key + "\"");
          if (peek() != ':') fail("expected ':'");
          ++i_;
          v.object.emplace_back(std::move(key), value(depth + 1));
          const char c = peek();
          ++i_;
          if (c == '}') return v;
          if (c != ',') fail("expected ',' or '}'");
        }
      }
      case '[': {
        v.type = Value::Type::array;
        ++i_;
        if (peek() == ']') {
          ++i_;
          return v;
        }
        for (;;) {
          v.array.push_back(value(depth + 1));
          const char c = peek();
          ++i_;
          if (c == ']') return v;
          if (c != ',') fail("expected ',' or ']'");
        }
      }
      case '"':
        v.type = Value::Type::string;
        v.string = string_literal();
        return v;
      case 't':
        expect("true");
        v.type = Value::Type::boolean;
        v.boolean = true;
        return v;
      case 'f':
        expect("false");
        v.type = Value::Type::boolean;
        return v;
      case 'n':
        expect("null");
        return v;
      default:
        v.type = Value::Type::number;
        v.number = number_literal();
        return v;
    }
  }

  double number_literal() {
    const std::size_t start = i_;
    auto digits = [&] {
      const std::size_t b = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > b;
    };
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0')
      ++i_;
    else if (!digits())
      fail("invalid value");
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) fail("invalid number");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) fail("invalid number");
    }
    // from_chars: locale-independent (strtod would read "0.9" as 0 under a decimal-comma locale).
    double d = 0.0;
    const auto r = std::from_chars(s_.data() + start, s_.data() + i_, d);
    if (r.ec != std::errc() || !std::isfinite(d)) fail("number out of range");
    return d;
  }

  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
      else fail("invalid \\u escape");
    }
    return v;
  }

  void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  std::string string_literal() {
    ++i_;  // opening quote
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // surrogate pair
            if (s_.substr(i_, 2) != "\\u") fail("unpaired surrogate");
            i_ += 2;
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("invalid surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail("invalid escape");
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  int max_depth_;
};

}  // namespace

Value parse(std::string_view text, int max_depth) { return Parser(text, max_depth).document(); }

}  // namespace densekit::json
