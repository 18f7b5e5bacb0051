// The safetensors container reader (io/safetensors.hpp) on valid and hostile files.
//
// A valid two-tensor file parses to the right metadata, index and bytes; then every way the
// container can be wrong must end in ContainerError with a message that says what is wrong:
// every truncation, hostile header lengths, overlapping or gapped byte ranges, trailing bytes,
// unknown dtypes, shapes that do not match their bytes (including overflowing ones), malformed
// offsets and entries, and JSON that is not strict: duplicate keys, invalid UTF-8, nesting past
// the bound, NaN/Infinity literals and numbers that overflow a double.
#include <string>
#include <vector>

#include "check.hpp"
#include "densekit/io/safetensors.hpp"
#include "file_builder.hpp"

using namespace densekit;
using densekit::test::container_bytes;

namespace {

const std::string kEntryA = R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
const std::string kEntryB = R"("b":{"dtype":"F64","shape":[1],"data_offsets":[16,24]})";
const std::string kMeta = R"("__metadata__":{"format":"x","note":"caf\u00e9"})";

std::string data24() {
  std::string d;
  for (int i = 0; i < 24; ++i) d += char(i);
  return d;
}

std::string valid_file() { return container_bytes("{" + kMeta + "," + kEntryA + "," + kEntryB + "}  ", data24()); }

// The header {<members>} with the 24-byte data section.
std::string with_members(const std::string& members) { return container_bytes("{" + members + "}", data24()); }

void refused(const std::string& bytes, const std::string& text, const std::string& label) {
  std::string what;
  try {
    parse_container(bytes);
  } catch (const ContainerError& e) {
    what = e.what();
  }
  CHECK(!what.empty() && what.find(text) != std::string::npos, label, ": expected an error mentioning \"",
        text, "\", got \"", what, "\"");
}

void check_valid() {
  const std::string bytes = valid_file();
  const Container c = parse_container(bytes);
  CHECK(c.metadata.size() == 2 && c.metadata.at("format") == "x", "metadata");
  CHECK(c.metadata.at("note") == "caf\xc3\xa9", "escaped UTF-8 in metadata decodes");
  CHECK(c.tensors.size() == 2, "two tensors");
  const TensorEntry& a = c.tensors.at("a");
  const TensorEntry& b = c.tensors.at("b");
  CHECK((a.dtype == "F32" && a.shape == std::vector<std::uint64_t>{2, 2} && a.begin == 0 && a.end == 16), "a");
  CHECK((b.dtype == "F64" && b.shape == std::vector<std::uint64_t>{1} && b.begin == 16 && b.end == 24), "b");
  CHECK(c.data_size == 24 && c.bytes(b) == data24().substr(16, 8), "b's bytes");
  // A zero-element tensor and a file with no metadata are valid safetensors.
  const Container empty = parse_container(container_bytes(R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}})", ""));
  CHECK(empty.tensors.at("e").end == 0 && empty.metadata.empty(), "empty tensor");
}

void check_lengths() {
  const std::string bytes = valid_file();
  for (std::size_t k = 0; k < bytes.size(); ++k) {
    bool threw = false;
    try {
      parse_container(bytes.substr(0, k));
    } catch (const ContainerError&) {
      threw = true;
    }
    CHECK(threw, "truncated to ", k, " bytes");
  }
  refused(bytes.substr(0, 7), "too short", "7 bytes");
  refused(bytes.substr(0, 40), "claims", "header cut");
  refused(bytes.substr(0, bytes.size() - 1), "truncated", "data cut");
  const std::string header = "{" + kEntryA + "," + kEntryB + "}";
  refused(container_bytes(header, data24(), 0), "out of range", "length 0");
  refused(container_bytes(header, data24(), 1), "out of range", "length 1");
  refused(container_bytes(header, data24(), 1ULL << 63), "out of range", "length 2^63");
  refused(container_bytes(header, data24(), ~0ULL), "out of range", "length 2^64-1");
  refused(container_bytes(header, data24(), kMaxHeaderBytes + 1), "out of range", "length past 100 MB");
  refused(container_bytes(header, data24(), header.size() + 25), "claims", "length past the file");
  refused(container_bytes(header, data24(), header.size() - 1), "not valid JSON", "length inside the JSON");
}

void check_ranges() {
  refused(with_members(kEntryA + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]})"),
          "overlap", "overlapping ranges");
  refused(with_members(kEntryA + R"(,"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]})"),
          "overlap", "identical ranges");
  refused(with_members(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)" + kEntryB),
          "overlap or leave gaps", "gap between tensors");
  refused(container_bytes("{" + kEntryA + "," + kEntryB + "}", data24() + "xy"), "trailing", "trailing bytes");
  refused(with_members(kEntryA), "trailing", "a tensor missing from the index");
  refused(with_members(kEntryA + R"(,"b":{"dtype":"F64","shape":[1],"data_offsets":[24,32]})"),
          "truncated", "range past the data");
}

void check_entries() {
  // Tensor "b" written wrong, one way per row: its entry, what the error must say, the case.
  const struct {
    const char* entry;
    const char* error;
    const char* label;
  } cases[] = {
      {R"({"dtype":"F31","shape":[1],"data_offsets":[16,24]})", "unknown dtype \"F31\"", "unknown dtype"},
      {R"({"dtype":8,"shape":[1],"data_offsets":[16,24]})", "dtype is not a string", "numeric dtype"},
      {R"({"dtype":"F32","shape":[1],"data_offsets":[16,24]})", "do not hold", "bytes do not match the shape"},
      {R"({"dtype":"F64","shape":[-1],"data_offsets":[16,24]})", "non-negative integers", "negative dimension"},
      {R"({"dtype":"F64","shape":[1.0],"data_offsets":[16,24]})", "non-negative integers", "float dimension"},
      {R"({"dtype":"F64","shape":[4294967296,4294967296,4294967296],"data_offsets":[16,24]})", "too large", "element count overflows"},
      {R"({"dtype":"F64","shape":[2305843009213693952],"data_offsets":[16,24]})", "do not hold", "byte count overflows"},
      {R"({"dtype":"F64","shape":[1],"data_offsets":[24,16]})", "malformed data_offsets", "begin after end"},
      {R"({"dtype":"F64","shape":[1],"data_offsets":[16,24,32]})", "malformed data_offsets", "three offsets"},
      {R"({"dtype":"F64","shape":[1],"data_offsets":[-8,0]})", "malformed data_offsets", "negative offset"},
      {R"({"dtype":"F64","shape":[1],"data_offsets":[16.0,24.0]})", "malformed data_offsets", "float offsets"},
      {R"({"dtype":"F64","shape":[1]})", "malformed entry", "missing key"},
      {R"({"dtype":"F64","shape":[1],"data_offsets":[16,24],"x":1})", "malformed entry", "extra key"},
      {R"([16,24])", "malformed entry", "entry not an object"},
  };
  for (const auto& c : cases)
    refused(with_members(kEntryA + ",\"b\":" + c.entry), c.error, c.label);
  refused(with_members(R"("__metadata__":{"format":1},)" + kEntryA + "," + kEntryB), "not a string",
          "metadata value not a string");
  refused(with_members(R"("__metadata__":["x"],)" + kEntryA + "," + kEntryB), "not an object",
          "metadata not an object");
  refused(container_bytes("[1,2]", ""), "not a JSON object", "header is an array");
}

void check_json() {
  refused(with_members(kEntryA + "," + kEntryB + "," + kEntryB), "duplicate key \"b\"", "duplicate tensor");
  refused(with_members(R"("__metadata__":{"format":"x","format":"y"},)" + kEntryA + "," + kEntryB),
          "duplicate key \"format\"", "duplicate metadata key");
  refused(with_members("\"__metadata__\":{\"format\":\"\xff\"}," + kEntryA + "," + kEntryB), "UTF-8",
          "invalid UTF-8 byte in a string");
  refused(with_members("\"__metadata__\":{\"k\xc3\x28\":\"x\"}," + kEntryA + "," + kEntryB), "UTF-8",
          "invalid UTF-8 sequence in a key");
  refused(with_members(R"("__metadata__":{"format":"\ud800"},)" + kEntryA + "," + kEntryB), "surrogate",
          "lone surrogate escape");
  std::string deep(200, '['), deeper;
  deep += std::string(200, ']');
  refused(with_members(kEntryA + "," + kEntryB + R"(,"c":)" + deep), "nesting", "200 levels of nesting");
  std::string ok_depth = std::string(60, '[') + std::string(60, ']');
  refused(with_members(kEntryA + "," + kEntryB + R"(,"c":)" + ok_depth), "malformed entry",
          "60 levels: parsed, then refused as an entry");
  refused(with_members(kEntryA + R"(,"b":{"dtype":"F64","shape":[NaN],"data_offsets":[16,24]})"),
          "not valid JSON", "NaN literal");
  refused(with_members(kEntryA + R"(,"b":{"dtype":"F64","shape":[Infinity],"data_offsets":[16,24]})"),
          "not valid JSON", "Infinity literal");
  refused(with_members(kEntryA + R"(,"b":{"dtype":"F64","shape":[1e999],"data_offsets":[16,24]})"),
          "overflow", "number overflowing a double");
  refused(container_bytes("{" + kEntryA + "," + kEntryB + "} x", data24()), "not valid JSON", "garbage after the JSON");
  refused(container_bytes("{" + kEntryA + "," + kEntryB, data24()), "not valid JSON", "unterminated object");
  refused(container_bytes(std::string("{\0}", 3), ""), "not valid JSON", "NUL byte in the header");
}

}  // namespace

int main() {
  check_valid();
  check_lengths();
  check_ranges();
  check_entries();
  check_json();
  return densekit::test::finish("test_container");
}
