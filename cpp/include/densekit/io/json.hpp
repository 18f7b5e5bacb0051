// A small, strict JSON reader (RFC 8259) for model-file headers.
//
// Model files are safetensors, whose header is JSON; C++ embedders must read them without Python
// and without a JSON dependency from outside the package registry. This reader builds a plain
// tree, rejects anything malformed with the byte offset, and caps nesting depth so a hostile file
// cannot exhaust the stack. It is not a general-purpose JSON library (no writing, no streaming).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace densekit::json {

struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Value {
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  double number = 0.0;
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // in file order; keys are unique

  bool is_object() const { return type == Type::object; }
  bool is_array() const { return type == Type::array; }
  bool is_string() const { return type == Type::string; }
  bool is_number() const { return type == Type::number; }
  bool is_bool() const { return type == Type::boolean; }
  bool is_null() const { return type == Type::null; }

  // Member `key` of an object, or null when absent (or when this is not an object).
  const Value* find(std::string_view key) const;
  // Member `key`; throws ParseError naming `key` when absent.
  const Value& at(std::string_view key) const;
};

// Parses one JSON document (surrounding whitespace allowed); throws ParseError.
Value parse(std::string_view text, int max_depth = 64);

}  // namespace densekit::json
