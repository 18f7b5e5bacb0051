// Loading densekit model files in C++ (io/model_file.hpp): the checksum, the semantic checks on
// top of the container, and inference on what was loaded.
//
// A two-layer model (Dense 3→2 relu, Dense 2→1) written here byte by byte loads and predicts what
// the hand-computed formula gives, in float32 and float64. Its checksum equals the one Python's
// writer computes for the same metadata and tensors (saving._checksum, known answer below). Then
// each way a file can be wrong at the densekit level must raise ModelFileError naming the
// problem: a flipped data byte or checksum digit, NaN or Inf weights under a valid checksum,
// foreign formats and versions, unexpected metadata keys, missing, unexpected, mistyped or
// misshapen tensors, unknown classes or activations, claims larger than the file, and densekit
// metadata whose JSON has duplicate keys, deep nesting, syntax errors or lone surrogates.
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "check.hpp"
#include "densekit/io/checksum.hpp"
#include "densekit/model_file.hpp"
#include "file_builder.hpp"

using namespace densekit;
using densekit::test::Tensor;
using densekit::test::model_file_bytes;
using densekit::test::raw_bytes;

namespace {

const std::string kDoc32 =
    R"({"model":{"class_name":"Sequential","config":{"input_dim":3,"dtype":"float32","layers":[)"
    R"({"class_name":"Dense","config":{"units":2,"activation":"relu"}},)"
    R"({"class_name":"Dense","config":{"units":1,"activation":"linear"}}]}},)"
    R"("layer_seeds":[5,18446744073709551615],"shared":[null,null]})";

// Computed by python/densekit/saving.py's _checksum for kDoc32 and the float32 tensors below.
const std::string kPythonChecksum = "sha256:2ed7af87e2ca1811c179b44b6a3a85722647f910007d7f09191e3db067ccc47b";

const std::vector<double> kW0 = {0.5, -1, 2, 0.25, -0.75, 1.5}, kB0 = {0.1, -0.2}, kW1 = {1.5, -2},
                          kB1 = {0.3};

template <class T>
std::string as_bytes(const std::vector<double>& v) {
  return raw_bytes(std::vector<T>(v.begin(), v.end()));
}

template <class T>
std::map<std::string, Tensor> tensors() {
  const std::string code = sizeof(T) == 4 ? "F32" : "F64";
  return {{"layers.0.kernel", {code, {3, 2}, as_bytes<T>(kW0)}},
          {"layers.0.bias", {code, {1, 2}, as_bytes<T>(kB0)}},
          {"layers.1.kernel", {code, {2, 1}, as_bytes<T>(kW1)}},
          {"layers.1.bias", {code, {1, 1}, as_bytes<T>(kB1)}}};
}

std::string doc_for(const std::string& dtype) {
  std::string doc = kDoc32;
  doc.replace(doc.find("float32"), 7, dtype);
  return doc;
}

std::map<std::string, std::string> metadata(const std::string& doc) {
  return {{"format", "densekit"}, {"format_version", "1"}, {"densekit", doc}};
}

template <class T>
std::string valid_file() {
  return model_file_bytes(metadata(doc_for(sizeof(T) == 4 ? "float32" : "float64")), tensors<T>());
}

// y = relu(x·W0 + b0)·W1 + b1, in double.
double expected(const double* x) {
  double h[2];
  for (int j = 0; j < 2; ++j) {
    h[j] = kB0[std::size_t(j)];
    for (int i = 0; i < 3; ++i) h[j] += x[i] * kW0[std::size_t(i * 2 + j)];
    h[j] = std::max(h[j], 0.0);
  }
  return h[0] * kW1[0] + h[1] * kW1[1] + kB1[0];
}

void refused(const std::string& bytes, const std::string& text, const std::string& label) {
  std::string what;
  try {
    Model::from_bytes(bytes, "model.dk");
  } catch (const ModelFileError& e) {
    what = e.what();
  }
  CHECK(what.rfind("model.dk: ", 0) == 0 && what.find(text) != std::string::npos, label,
        ": expected an error mentioning \"", text, "\", got \"", what, "\"");
}

template <class T>
void check_loads_and_predicts() {
  const char* label = sizeof(T) == 4 ? "float32" : "float64";
  Model m = Model::from_bytes(valid_file<T>());
  CHECK(m.is_float64() == (sizeof(T) == 8), label);
  CHECK(m.input_dim() == 3 && m.output_dim() == 1 && m.layer_count() == 2, label, " shape");
  const std::vector<double> x = {1, 2, 3, -1, 0.5, 2, 0, 0, 0, 4, -3, 1};
  std::vector<T> xt(x.begin(), x.end()), out(4);
  m.predict(xt.data(), 4, out.data());
  const double tol = sizeof(T) == 4 ? 1e-6 : 1e-14;
  for (int r = 0; r < 4; ++r) {
    const double want = expected(&x[std::size_t(3 * r)]);
    CHECK(std::abs(double(out[std::size_t(r)]) - want) <= tol * (1 + std::abs(want)), label, " row ", r,
          ": ", out[std::size_t(r)], " vs ", want);
  }
  // The other element type converts at the edge.
  std::vector<double> out64(4);
  if constexpr (sizeof(T) == 4) {
    m.predict(x.data(), 4, out64.data());
    CHECK(std::abs(out64[0] - expected(x.data())) <= 1e-6, label, " from double input");
  }
  const std::uint64_t seed = m.float32_network() ? m.float32_network()->layers()[1]->seed
                                                 : m.float64_network()->layers()[1]->seed;
  CHECK(seed == 18446744073709551615ULL, label, ": a 64-bit seed survives exactly");
}

void check_checksum() {
  const std::string bytes = valid_file<float>();
  const Container c = parse_container(bytes);
  CHECK(model_checksum(c) == kPythonChecksum, "checksum as Python computes it: ", model_checksum(c));
  CHECK(c.metadata.at("checksum") == kPythonChecksum, "the written checksum");

  std::string flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x01;  // one bit of layers.1.kernel
  refused(flipped, "checksum mismatch", "one flipped data bit");
  auto meta = metadata(kDoc32);
  meta["checksum"] = kPythonChecksum.substr(0, kPythonChecksum.size() - 1) + "0";
  refused(model_file_bytes(meta, tensors<float>()), "checksum mismatch", "a wrong checksum digit");
  meta["checksum"] = "";
  refused(model_file_bytes(meta, tensors<float>()), "checksum mismatch", "an empty checksum");
  // No checksum at all: model_file_bytes would add one, so write the file around it.
  std::string header = R"({"__metadata__":{"format":"densekit","format_version":"1","densekit":)" +
                       test::json_string(kDoc32) + "}}";
  refused(test::container_bytes(header, ""), "lacks", "no checksum key");
}

template <class T>
void check_non_finite() {
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    auto t = tensors<T>();
    std::vector<double> b0 = kB0;
    b0[1] = bad;
    t["layers.0.bias"].data = as_bytes<T>(b0);
    refused(model_file_bytes(metadata(doc_for(sizeof(T) == 4 ? "float32" : "float64")), t),
            "tensor \"layers.0.bias\" contains NaN or Inf", "non-finite bias under a valid checksum");
  }
}

void check_semantics() {
  auto meta = metadata(kDoc32);
  auto t = tensors<float>();
  refused(model_file_bytes([&] { auto m = meta; m["format"] = "other"; return m; }(), t),
          "not a densekit model file", "another format");
  refused(model_file_bytes([&] { auto m = meta; m.erase("format"); return m; }(), t),
          "not a densekit model file", "no format");
  refused(model_file_bytes([&] { auto m = meta; m["format_version"] = "4"; return m; }(), t),
          "unsupported format version \"4\"", "a newer version");
  // Versions 2 and 3 have the same architecture entries for a float model (2 changed the
  // optimizer's ε placement and added optional column names, which inference does not read; 3
  // added quantized layers and pruning masks, which this model has not).
  for (const char* version : {"2", "3"})
    CHECK(Model::from_bytes(model_file_bytes([&] { auto m = meta; m["format_version"] = version; return m; }(), t))
                  .layer_count() == 2,
          "a version-", version, " file loads");
  // A pruning mask (version 3) in a file that says it is older is refused, not loaded.
  for (const char* version : {"1", "2"}) {
    auto masked = t;
    masked["masks.layers.0.kernel"] = {"U8", {3, 2}, std::string(6, '\1')};
    refused(model_file_bytes([&] { auto m = meta; m["format_version"] = version; return m; }(), masked),
            "cannot be in a file of version", "a mask in an older version");
  }
  refused(model_file_bytes([&] { auto m = meta; m["extra"] = "x"; return m; }(), t),
          "unexpected metadata key \"extra\"", "an unknown metadata key");
  refused(model_file_bytes([&] { auto m = meta; m.erase("densekit"); return m; }(), t), "lacks",
          "no densekit metadata");

  auto missing = t;
  missing.erase("layers.1.bias");
  refused(model_file_bytes(meta, missing), "tensor \"layers.1.bias\" is missing", "missing tensor");
  auto extra = t;
  extra["layers.7.kernel"] = {"F32", {1, 1}, as_bytes<float>({1.0})};
  refused(model_file_bytes(meta, extra), "unexpected tensor \"layers.7.kernel\"", "unexpected tensor");
  auto slots = t;
  slots["optimizer.slots"] = {"F32", {2, 11}, as_bytes<float>(std::vector<double>(22, 0.5))};
  CHECK(Model::from_bytes(model_file_bytes(meta, slots)).layer_count() == 2, "optimizer slots are allowed");
  auto mistyped = t;
  mistyped["layers.0.bias"] = {"F64", {1, 2}, as_bytes<double>(kB0)};
  refused(model_file_bytes(meta, mistyped), "is F64, expected F32", "F64 tensor in a float32 model");
  auto integer = t;
  integer["layers.0.bias"] = {"I32", {1, 2}, raw_bytes(std::vector<std::int32_t>{1, 2})};
  refused(model_file_bytes(meta, integer), "is I32, expected F32", "integer tensor");
  auto misshapen = t;
  misshapen["layers.0.kernel"] = {"F32", {2, 3}, as_bytes<float>(kW0)};
  refused(model_file_bytes(meta, misshapen), "does not have the shape (3, 2)", "transposed kernel");

  auto with_doc = [&](std::string from, const std::string& to) {
    std::string doc = kDoc32;
    doc.replace(doc.find(from), from.size(), to);
    return model_file_bytes(metadata(doc), t);
  };
  refused(with_doc(R"("activation":"relu")", R"("activation":"relux")"), "unknown activation \"relux\"",
          "unknown activation");
  CHECK(Model::from_bytes(with_doc(R"("activation":"relu")", R"("activation":"identity")")).layer_count() == 2,
        "activation aliases (as Python accepts them)");
  refused(with_doc(R"({"class_name":"Dense","config":{"units":1)", R"({"class_name":"Conv2D","config":{"units":1)"),
          "unknown layer class \"Conv2D\"", "unknown layer class");
  refused(with_doc(R"("input_dim":3)", R"("input_dim":1000000000)"), "would need", "a claim larger than the file");
  refused(with_doc(R"("input_dim":3)", R"("input_dim":-3)"), "input_dim is not a positive integer", "negative width");
  {
    // The size bound counts only what layers hold: layers without tensors (dropout, activations)
    // and a Dense without bias cost nothing extra, so a file this lean loads.
    const std::string doc =
        R"({"model":{"class_name":"Sequential","config":{"input_dim":64,"dtype":"float32","layers":[)"
        R"({"class_name":"Dropout","config":{"rate":0.5}},{"class_name":"Activation","config":{"activation":"tanh"}},)"
        R"({"class_name":"Dense","config":{"units":1,"activation":"linear","use_bias":false}}]}}})";
    const Model lean = Model::from_bytes(model_file_bytes(
        metadata(doc), {{"layers.2.kernel", {"F32", {64, 1}, raw_bytes(std::vector<float>(64, 0.5f))}}}));
    CHECK(lean.layer_count() == 3, "a lean file (no bias, parameter-free layers) loads");
  }
  refused(with_doc(R"("dtype":"float32")", R"("dtype":"int8")"), "unsupported dtype \"int8\"", "model dtype");
  refused(with_doc(R"("units":2,)", ""), "has no \"units\"", "missing units");
  refused(with_doc(R"("layer_seeds":[5,)", R"("layer_seeds":[-5,)"), "seed is out of range", "negative seed");
  refused(with_doc(R"({"class_name":"Dense","config":{"units":1,"activation":"linear"}})",
                   R"({"class_name":"Dropout","config":{"rate":1.5}},{"class_name":"Dense","config":{"units":1,"activation":"linear"}})"),
          "rate must be in [0, 1)", "dropout rate");

  // The densekit metadata is JSON inside the JSON header, parsed as strictly.
  refused(model_file_bytes(metadata(R"({"model":{},"model":{}})"), t), "duplicate key \"model\"",
          "duplicate key in the densekit metadata");
  refused(model_file_bytes(metadata(std::string(100, '[') + std::string(100, ']')), t), "nesting",
          "deeply nested densekit metadata");
  refused(model_file_bytes(metadata(R"({"model": )"), t), "not valid JSON", "truncated densekit metadata");
  refused(model_file_bytes(metadata("[]"), t), "the metadata is not a JSON object", "metadata is a list");
  // A lone surrogate in a layer name: Python can hold one in a str, UTF-8 cannot encode it.
  refused(with_doc(R"({"class_name":"Dense","config":{"units":2,)",
                   R"({"class_name":"Dense","config":{"name":"a\ud800","units":2,)"),
          "lone UTF-16 surrogate", "a lone surrogate in a name");
}

}  // namespace

int main() {
  check_loads_and_predicts<float>();
  check_loads_and_predicts<double>();
  check_checksum();
  check_non_finite<float>();
  check_non_finite<double>();
  check_semantics();
  return densekit::test::finish("test_model_file");
}
