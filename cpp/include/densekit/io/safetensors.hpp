// Reading the safetensors container (https://github.com/huggingface/safetensors, "Format"):
//
//   u64 little-endian N | N bytes of JSON header | data section
//
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end)} (offsets
// relative to the data section) plus an optional "__metadata__" object of strings. This file
// checks the container and nothing more: the length field, the JSON (strict: no duplicate keys,
// bounded nesting, UTF-8, finite numbers), every entry's dtype, shape and byte range, and that
// the ranges tile the data section exactly (no overlap, gap or trailing bytes), as safetensors
// itself requires. What the tensors and metadata mean is io/model_file.hpp's business. Nothing
// in the file is trusted; anything malformed throws ContainerError. JSON parsing stays inside
// src/io (no JSON library in this header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace densekit {

struct ContainerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One tensor's entry in the header. `dtype` is a safetensors code ("F32", "F64", "I64", ...).
struct TensorEntry {
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte range in the data section
};

struct Container {
  std::map<std::string, std::string> metadata;  // "__metadata__" (empty when absent)
  std::map<std::string, TensorEntry> tensors;   // sorted by name (byte order = code point order)
  const char* data = nullptr;                   // the data section, inside the parsed bytes
  std::uint64_t data_size = 0;

  // The bytes of tensor `t` (its range was checked against the data section).
  std::string_view bytes(const TensorEntry& t) const {
    return std::string_view(data + t.begin, std::size_t(t.end - t.begin));
  }
};

// Bytes per element of a safetensors dtype code, or 0 for an unknown code.
std::size_t dtype_size(std::string_view dtype);

// The largest header accepted, as the safetensors library itself enforces (100 MB).
constexpr std::uint64_t kMaxHeaderBytes = 100u * 1024u * 1024u;

// Splits `bytes` into metadata, tensor index and data section after checking the structure.
// The returned Container points into `bytes`, which must outlive it. Throws ContainerError.
Container parse_container(std::string_view bytes);

}  // namespace densekit
