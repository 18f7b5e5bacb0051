// Builds safetensors containers and densekit model files byte by byte, for the C++ tests.
//
// Headers are written as text on purpose: the edge cases under test (duplicate keys, bad UTF-8,
// hostile lengths) cannot be produced by a JSON library. A densekit file gets its checksum from
// model_checksum() unless the test overrides it; test_model_file.cpp ties model_checksum() to
// the Python writer with a known answer.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "densekit/io/checksum.hpp"
#include "densekit/io/safetensors.hpp"

namespace densekit::test {

// u64 little-endian length | header | data.
inline std::string container_bytes(const std::string& header, const std::string& data,
                                   std::uint64_t claimed_length) {
  std::string out(8, '\0');
  for (int k = 0; k < 8; ++k) out[std::size_t(k)] = char((claimed_length >> (8 * k)) & 0xFF);
  return out + header + data;
}
inline std::string container_bytes(const std::string& header, const std::string& data) {
  return container_bytes(header, data, header.size());
}

// `text` as a JSON string literal (quotes, backslashes and control characters escaped).
inline std::string json_string(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

template <class T>
std::string raw_bytes(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

struct Tensor {
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::string data;
};

// A densekit model file: metadata (string values) and tensors, laid out as safetensors does
// (sorted by name, contiguous). The checksum is computed unless `metadata` already has one.
inline std::string model_file_bytes(std::map<std::string, std::string> metadata,
                                    const std::map<std::string, Tensor>& tensors) {
  auto assemble = [&](const std::map<std::string, std::string>& meta) {
    std::string header = "{\"__metadata__\":{", data;
    bool first = true;
    for (const auto& [k, v] : meta) {
      header += (first ? "" : ",") + json_string(k) + ":" + json_string(v);
      first = false;
    }
    header += "}";
    for (const auto& [name, t] : tensors) {
      std::string shape;
      for (std::size_t i = 0; i < t.shape.size(); ++i) shape += (i ? "," : "") + std::to_string(t.shape[i]);
      header += "," + json_string(name) + ":{\"dtype\":" + json_string(t.dtype) + ",\"shape\":[" + shape +
                "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
                std::to_string(data.size() + t.data.size()) + "]}";
      data += t.data;
    }
    return container_bytes(header + "}", data);
  };
  if (!metadata.count("checksum")) {
    const std::string draft = assemble(metadata);
    metadata["checksum"] = model_checksum(parse_container(draft));
  }
  return assemble(metadata);
}

}  // namespace densekit::test
