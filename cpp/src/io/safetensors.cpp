// The safetensors container reader; see safetensors.hpp.
#include "densekit/io/safetensors.hpp"

#include <algorithm>
#include <utility>

#include "json.hpp"

namespace densekit {

namespace {

[[noreturn]] void fail(const std::string& what) { throw ContainerError(what); }

// A JSON integer in [0, 2^64) (a float, even an integral one, is not an integer here).
bool as_uint(const io::Json& v, std::uint64_t& out) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) return false;
  out = v.get<std::uint64_t>();
  return true;
}

TensorEntry tensor_entry(const std::string& name, const io::Json& e, std::uint64_t data_size) {
  const std::string where = "tensor \"" + name + "\": ";
  if (!e.is_object() || e.size() != 3 || !e.contains("dtype") || !e.contains("shape") ||
      !e.contains("data_offsets"))
    fail(where + "malformed entry (expected exactly dtype, shape and data_offsets)");
  const io::Json& dtype = e["dtype"];
  const io::Json& shape = e["shape"];
  const io::Json& offsets = e["data_offsets"];
  TensorEntry t;
  if (!dtype.is_string()) fail(where + "dtype is not a string");
  t.dtype = dtype.get<std::string>();
  const std::size_t item = dtype_size(t.dtype);
  if (item == 0) fail(where + "unknown dtype \"" + t.dtype + "\"");
  if (!shape.is_array()) fail(where + "shape is not a list");
  std::uint64_t count = 1;
  for (const auto& d : shape) {
    std::uint64_t dim;
    if (!as_uint(d, dim)) fail(where + "shape holds something other than non-negative integers");
    t.shape.push_back(dim);
    // Overflow-checked product: a hostile shape must not wrap around to a small byte count.
    if (dim != 0 && count > UINT64_MAX / dim) fail(where + "shape is too large");
    count *= dim;
  }
  if (!offsets.is_array() || offsets.size() != 2 || !as_uint(offsets[0], t.begin) ||
      !as_uint(offsets[1], t.end) || t.begin > t.end)
    fail(where + "malformed data_offsets (expected [begin, end] with begin <= end)");
  if (t.end > data_size)
    fail(where + "its data ends at byte " + std::to_string(t.end) + " of a " +
         std::to_string(data_size) + "-byte data section (truncated)");
  if (count > UINT64_MAX / item || t.end - t.begin != count * item)
    fail(where + std::to_string(t.end - t.begin) + " bytes do not hold a " + t.dtype +
         " tensor of its shape");
  return t;
}

}  // namespace

std::size_t dtype_size(std::string_view dtype) {
  static const std::pair<std::string_view, std::size_t> sizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
      {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},  {"BOOL", 1},
      {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto& s : sizes)
    if (s.first == dtype) return s.second;
  return 0;
}

Container parse_container(std::string_view bytes) {
  if (bytes.size() < 8)
    fail("the file is " + std::to_string(bytes.size()) +
         " bytes long, too short for a safetensors header (truncated or not a model file)");
  std::uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = (n << 8) | static_cast<unsigned char>(bytes[std::size_t(k)]);
  if (n < 2 || n > kMaxHeaderBytes)
    fail("header length " + std::to_string(n) + " is out of range (not a safetensors file, or corrupted)");
  if (n > bytes.size() - 8)
    fail("the header claims " + std::to_string(n) + " bytes but the file has only " +
         std::to_string(bytes.size() - 8) + " after the length field (truncated)");
  io::Json header;
  try {
    header = io::parse_json(bytes.substr(8, std::size_t(n)));
  } catch (const io::JsonError& e) {
    fail(std::string("the header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail("the header is not a JSON object");

  Container c;
  c.data = bytes.data() + 8 + n;
  c.data_size = bytes.size() - 8 - n;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") {
      if (!item.value().is_object()) fail("__metadata__ is not an object");
      for (const auto& kv : item.value().items()) {
        if (!kv.value().is_string()) fail("__metadata__ \"" + kv.key() + "\" is not a string");
        c.metadata.emplace(kv.key(), kv.value().get<std::string>());
      }
      continue;
    }
    TensorEntry t = tensor_entry(item.key(), item.value(), c.data_size);
    spans.emplace_back(t.begin, t.end);
    c.tensors.emplace(item.key(), std::move(t));
  }
  // The byte ranges must tile the data section: no overlap (two tensors sharing bytes), no gap
  // and nothing after the last one.
  std::sort(spans.begin(), spans.end());
  std::uint64_t pos = 0;
  for (const auto& s : spans) {
    if (s.first != pos) fail("the tensors' data overlap or leave gaps (corrupted)");
    pos = s.second;
  }
  if (pos != c.data_size)
    fail("the data section is " + std::to_string(c.data_size) + " bytes but the tensors cover " +
         std::to_string(pos) + " (trailing bytes: corrupted)");
  return c;
}

}  // namespace densekit
