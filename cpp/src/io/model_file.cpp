// Model::load: safetensors container + densekit metadata -> Network. See model_file.hpp.
#include "densekit/io/model_file.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <new>
#include <algorithm>
#include <sstream>
#include <tuple>
#include <type_traits>

#include "densekit/io/json.hpp"

namespace densekit {

namespace {

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float sizes expected");

// Text from the file as it may be quoted in a message: non-printable bytes escaped as \xNN.
std::string printable(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text.substr(0, 200)) {
    if (c >= 0x20 && c < 0x7F) {
      out += char(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw ModelFileError(source + ": " + printable(what));
}

struct TensorEntry {
  std::string dtype;
  Index rows = 0, cols = 0;
  std::uint64_t begin = 0, end = 0;
};

bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

// ActivationKind names (as Python's dk.activations) -> spec with Python's defaults.
ActivationSpec activation_spec(const std::string& source, const std::string& name,
                               const json::Value& cfg) {
  const auto kind = from_name<ActivationKind>(name);
  if (!kind) fail(source, "unknown activation \"" + name + "\"");
  ActivationSpec s;
  s.kind = *kind;
  s.alpha = s.kind == ActivationKind::leaky_relu ? 0.01 : (s.kind == ActivationKind::elu ? 1.0 : 0.0);
  if (const auto* a = cfg.find("alpha"); a && a->is_number()) s.alpha = a->number;
  if (const auto* a = cfg.find("lower"); a && a->is_number()) s.lower = a->number;
  if (const auto* a = cfg.find("upper"); a && a->is_number()) s.upper = a->number;
  return s;
}

double number(const std::string& source, const json::Value& cfg, const char* key) {
  const json::Value& v = cfg.at(key);
  if (!v.is_number()) fail(source, std::string("\"") + key + "\" is not a number");
  return v.number;
}

bool flag(const std::string& source, const json::Value& cfg, const char* key, bool fallback) {
  const json::Value* v = cfg.find(key);
  if (!v) return fallback;
  if (!v->is_bool()) fail(source, std::string("\"") + key + "\" is not a boolean");
  return v->boolean;
}

// A JSON number that must be an exact integer in [0, 2^53).
std::uint64_t exact_uint(const std::string& source, const json::Value& v, const char* what) {
  if (!v.is_number() || !(v.number >= 0) || v.number >= 9007199254740992.0 ||
      v.number != double(std::uint64_t(v.number)))
    fail(source, std::string(what) + " is not a non-negative integer");
  return std::uint64_t(v.number);
}

// Parameters and state a layer will allocate for input width `in` (an upper bound), so a file
// cannot make the loader allocate more than its own data section holds.
double layer_footprint(const std::string& cls, const json::Value& cfg, Index in) {
  const double w = double(in);
  if (cls == "Dense") {
    const json::Value* u = cfg.find("units");
    const double units = u && u->is_number() && u->number > 0 ? u->number : 0.0;
    return w * units + 2.0 * units;  // in double: no overflow for any claimed size
  }
  if (cls == "BatchNormalization") return 4.0 * w;
  if (cls == "Normalization") return 2.0 * w;
  return w;  // PReLU's α at most
}

Index positive_int(const std::string& source, const json::Value& v, const char* what) {
  if (!v.is_number() || v.number < 1 || v.number > 1e9 || v.number != double(Index(v.number)))
    fail(source, std::string(what) + " is not a positive integer");
  return Index(v.number);
}

template <class T>
std::shared_ptr<Layer<T>> make_layer(const std::string& source, const std::string& cls,
                                     const json::Value& cfg, Index in) {
  static const std::map<std::string, std::string> activation_classes = {
      {"ReLU", "relu"}, {"LeakyReLU", "leaky_relu"}, {"PReLU", "prelu"}, {"RReLU", "rrelu"},
      {"ELU", "elu"}, {"SELU", "selu"}, {"GELU", "gelu"}, {"Swish", "swish"},
      {"Softplus", "softplus"}, {"Softmax", "softmax"}, {"Sigmoid", "sigmoid"}, {"Tanh", "tanh"}};
  if (cls == "Dense") {
    // "relu", or {"name": "leaky_relu", "alpha": 0.3, ...} when not at its defaults.
    const json::Value& act = cfg.at("activation");
    const json::Value* name = act.is_object() ? act.find("name") : &act;
    if (!name || !name->is_string()) fail(source, "Dense activation is malformed");
    return std::make_shared<DenseLayer<T>>(in, positive_int(source, cfg.at("units"), "Dense units"),
                                           flag(source, cfg, "use_bias", true),
                                           activation_spec(source, name->string, act));
  }
  if (cls == "Activation") {
    const json::Value& act = cfg.at("activation");
    if (!act.is_string()) fail(source, "activation is not a string");
    return std::make_shared<ActivationLayer<T>>(in, activation_spec(source, act.string, cfg));
  }
  if (auto it = activation_classes.find(cls); it != activation_classes.end())
    return std::make_shared<ActivationLayer<T>>(in, activation_spec(source, it->second, cfg));
  if (cls == "BatchNormalization")
    return std::make_shared<BatchNormLayer<T>>(in, number(source, cfg, "momentum"),
                                               number(source, cfg, "epsilon"),
                                               flag(source, cfg, "center", true),
                                               flag(source, cfg, "scale", true));
  if (cls == "Normalization") return std::make_shared<NormalizationLayer<T>>(in);
  if (cls == "Dropout" || cls == "AlphaDropout") {
    const double rate = number(source, cfg, "rate");
    if (!(rate >= 0.0 && rate < 1.0)) fail(source, cls + " rate must be in [0, 1)");
    if (cls == "Dropout") return std::make_shared<DropoutLayer<T>>(in, rate);
    return std::make_shared<AlphaDropoutLayer<T>>(in, rate);
  }
  fail(source, "unknown layer class \"" + cls + "\"");
}

template <class T>
std::shared_ptr<Network<T>> build(const std::string& source, const json::Value& doc,
                                  const std::map<std::string, TensorEntry>& index,
                                  const char* data, std::uint64_t data_len) {
  const json::Value& config = doc.at("model").at("config");
  const Index input_dim = positive_int(source, config.at("input_dim"), "input_dim");
  const json::Value& layers = config.at("layers");
  if (!layers.is_array() || layers.array.empty()) fail(source, "the model has no layers");
  const json::Value* shared = doc.find("shared");
  const json::Value* seeds = doc.find("layer_seeds");
  const char* code = sizeof(T) == 4 ? "F32" : "F64";
  std::vector<std::shared_ptr<Layer<T>>> built;
  std::map<std::string, bool> expected;  // tensor names the architecture accounts for
  std::uint64_t budget = data_len / sizeof(T) + 64;  // values the file can supply (+ slack)
  Index width = input_dim;
  for (std::size_t i = 0; i < layers.array.size(); ++i) {
    const json::Value& entry = layers.array[i];
    const json::Value& cls = entry.at("class_name");
    if (!cls.is_string()) fail(source, "layer class_name is not a string");
    if (shared && shared->is_array() && i < shared->array.size() && shared->array[i].is_number()) {
      const double j = shared->array[i].number;
      if (!(j >= 0 && j < double(i)) || j != double(std::size_t(j)))
        fail(source, "layer " + std::to_string(i) + " repeats an invalid position");
      built.push_back(built[std::size_t(j)]);
      width = built.back()->output_dim();
      continue;
    }
    // Every parameter comes from the file, so the file's size bounds what may be allocated.
    const double need = layer_footprint(cls.string, entry.at("config"), width);
    if (need > double(budget))
      fail(source, "layer " + std::to_string(i) + " would need " + std::to_string(need) +
                       " values but the file holds only " + std::to_string(budget) + " more");
    budget -= std::min(budget, std::uint64_t(need));
    auto layer = make_layer<T>(source, cls.string, entry.at("config"), width);
    // Seeds key training-time randomness only; a 64-bit seed does not survive JSON's doubles
    // exactly, so only its range is checked (converting an out-of-range double is undefined).
    if (seeds && seeds->is_array() && i < seeds->array.size() && seeds->array[i].is_number()) {
      const double v = seeds->array[i].number;
      if (!(v >= 0.0 && v < 18446744073709551616.0)) fail(source, "a layer seed is out of range");
      layer->seed = std::uint64_t(v);
    }
    auto fill = [&](Param<T>& p) {
      const std::string name = "layers." + std::to_string(i) + "." + p.name;
      auto it = index.find(name);
      if (it == index.end()) fail(source, "tensor \"" + name + "\" is missing");
      const TensorEntry& t = it->second;
      if (t.dtype != code) fail(source, "tensor \"" + name + "\" is " + t.dtype + ", expected " + code);
      if (t.rows != p.rows || t.cols != p.cols)
        fail(source, "tensor \"" + name + "\" has shape (" + std::to_string(t.rows) + ", " +
                         std::to_string(t.cols) + "), expected (" + std::to_string(p.rows) + ", " +
                         std::to_string(p.cols) + ")");
      if (t.end > data_len) fail(source, "tensor \"" + name + "\" lies beyond the data (truncated)");
      std::memcpy(p.value, data + t.begin, std::size_t(t.end - t.begin));
      expected[name] = true;
    };
    for (auto& p : layer->params()) fill(p);
    for (auto& p : layer->states()) fill(p);
    width = layer->output_dim();
    built.push_back(layer);
  }
  for (const auto& kv : index)
    if (kv.first.rfind("layers.", 0) == 0 && !expected.count(kv.first))
      fail(source, "unexpected tensor \"" + kv.first + "\"");
  return std::make_shared<Network<T>>(built);
}

}  // namespace

Model Model::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelFileError(path + ": cannot open the file");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return from_bytes(bytes.str(), path);
}

Model Model::from_bytes(const std::string& blob, const std::string& source) {
  if (!little_endian()) fail(source, "big-endian hosts are not supported");
  if (blob.size() < 8) fail(source, "too short for a safetensors header (truncated?)");
  std::uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = (n << 8) | static_cast<unsigned char>(blob[std::size_t(k)]);
  if (n < 2 || n > 100u * 1024u * 1024u || 8 + n > blob.size())
    fail(source, "header length " + std::to_string(n) + " is out of range (truncated or corrupted)");
  json::Value header, doc;
  try {
    header = json::parse(std::string_view(blob).substr(8, n));
  } catch (const json::ParseError& e) {
    fail(source, std::string("header: ") + e.what());
  }
  const json::Value* meta = header.find("__metadata__");
  if (!meta || !meta->is_object()) fail(source, "no __metadata__ (not a densekit model file)");
  const json::Value* fmt = meta->find("format");
  if (!fmt || !fmt->is_string() || fmt->string != "densekit") fail(source, "not a densekit model file");
  const json::Value* ver = meta->find("format_version");
  if (!ver || !ver->is_string() || ver->string != "1")
    fail(source, "unsupported format version (this reader reads version 1)");
  const json::Value* text = meta->find("densekit");
  if (!text || !text->is_string()) fail(source, "the densekit metadata is missing");
  try {
    doc = json::parse(text->string);
  } catch (const json::ParseError& e) {
    fail(source, std::string("densekit metadata: ") + e.what());
  }
  const std::uint64_t data_len = blob.size() - 8 - n;
  std::map<std::string, TensorEntry> index;
  for (const auto& kv : header.object) {
    if (kv.first == "__metadata__") continue;
    const json::Value& e = kv.second;
    TensorEntry t;
    try {
      const json::Value& dtype = e.at("dtype");
      const json::Value& shape = e.at("shape");
      const json::Value& offs = e.at("data_offsets");
      if (!dtype.is_string() || (dtype.string != "F32" && dtype.string != "F64"))
        fail(source, "tensor \"" + kv.first + "\" has an unsupported dtype");
      if (!shape.is_array() || shape.array.size() != 2 || !offs.is_array() || offs.array.size() != 2)
        fail(source, "tensor \"" + kv.first + "\" has a malformed entry");
      t.dtype = dtype.string;
      t.rows = positive_int(source, shape.array[0], "tensor dimension");
      t.cols = positive_int(source, shape.array[1], "tensor dimension");
      t.begin = exact_uint(source, offs.array[0], "a tensor offset");
      t.end = exact_uint(source, offs.array[1], "a tensor offset");
      if (t.begin > data_len || t.end > data_len)
        fail(source, "tensor \"" + kv.first + "\" has offsets outside the data (truncated?)");
    } catch (const json::ParseError& err) {
      fail(source, "tensor \"" + kv.first + "\": " + err.what());
    }
    const std::uint64_t item = t.dtype == "F32" ? 4 : 8;
    if (t.end < t.begin || t.end - t.begin != std::uint64_t(t.rows) * std::uint64_t(t.cols) * item)
      fail(source, "tensor \"" + kv.first + "\": its byte range does not match its shape");
    index[kv.first] = t;
  }
  Model m;
  try {
    const json::Value& dtype = doc.at("model").at("config").at("dtype");
    if (!dtype.is_string()) fail(source, "dtype is not a string");
    const char* data = blob.data() + 8 + n;
    if (dtype.string == "float32")
      m.f32_ = build<float>(source, doc, index, data, data_len);
    else if (dtype.string == "float64")
      m.f64_ = build<double>(source, doc, index, data, data_len);
    else
      fail(source, "unsupported dtype \"" + dtype.string + "\"");
  } catch (const json::ParseError& e) {
    fail(source, std::string("architecture: ") + e.what());
  } catch (const std::invalid_argument& e) {
    fail(source, std::string("architecture: ") + e.what());
  } catch (const std::bad_alloc&) {
    fail(source, "the architecture needs more memory than is available");
  } catch (const std::length_error&) {
    fail(source, "the architecture's sizes are out of range");
  }
  return m;
}

Index Model::input_dim() const { return f32_ ? f32_->input_dim() : f64_->input_dim(); }
Index Model::output_dim() const { return f32_ ? f32_->output_dim() : f64_->output_dim(); }
std::size_t Model::layer_count() const {
  return f32_ ? f32_->layers().size() : f64_->layers().size();
}


namespace {
// Runs `net` (element type N) on caller arrays of element type E, converting when they differ.
template <class N, class E>
void run(Network<N>& net, const E* x, Index n, E* out) {
  const Index in = net.input_dim(), o = net.output_dim();
  if constexpr (std::is_same_v<N, E>) {
    net.predict(ConstMatrixMap<N>(x, n, in), MatrixMap<N>(out, n, o), 1024);
  } else {
    Matrix<N> xc = ConstMatrixMap<E>(x, n, in).template cast<N>();
    Matrix<N> oc(n, o);
    net.predict(ConstMatrixMap<N>(xc.data(), n, in), MatrixMap<N>(oc.data(), n, o), 1024);
    MatrixMap<E>(out, n, o) = oc.template cast<E>();
  }
}
}  // namespace

void Model::predict(const float* x, Index n, float* out) {
  f32_ ? run(*f32_, x, n, out) : run(*f64_, x, n, out);
}

void Model::predict(const double* x, Index n, double* out) {
  f64_ ? run(*f64_, x, n, out) : run(*f32_, x, n, out);
}

}  // namespace densekit
