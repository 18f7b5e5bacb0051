// Strict JSON parsing for model files, on nlohmann/json (a private header of src/io).
//
// nlohmann/json parses RFC 8259 and refuses invalid UTF-8, NaN/Infinity literals and numbers that
// overflow a double on its own; on top of it this refuses what a hostile file could exploit and
// nlohmann accepts: duplicate object keys (which one wins is not defined by the RFC; nlohmann
// keeps the last) and nesting deeper than a bound. Only sources in src/io include this
// (nlohmann/json is heavy to compile: kernels and bindings never see it).
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string_view>

namespace densekit::io {

using Json = nlohmann::json;

struct JsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses one JSON document (surrounding whitespace allowed); throws JsonError.
Json parse_json(std::string_view text, int max_depth = 64);

}  // namespace densekit::io
