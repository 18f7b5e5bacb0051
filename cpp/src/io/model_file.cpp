// Model::load: a checked safetensors container + densekit's metadata -> Network.
//
// The container (length, header, tensor index, byte ranges) is io/safetensors.cpp's job; this
// file reads densekit's metadata, builds the layers, copies the tensors in and verifies the
// checksum. The order matters for hostile files: sizes claimed by the architecture are bounded
// by the file's own data before anything is allocated, and the checksum and finiteness checks
// run before the model is handed out.
#include "densekit/io/model_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <new>
#include <set>
#include <sstream>
#include <string_view>
#include <type_traits>

#include "densekit/io/checksum.hpp"
#include "densekit/io/safetensors.hpp"
#include "densekit/kinds.hpp"
#include "densekit/model/inference_dense.hpp"
#include "json.hpp"

namespace densekit {

namespace {

using io::Json;

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float sizes expected");

constexpr const char* kFormatName = "densekit";
// Every version this reader reads. Version 2 moved the Adam family's ε outside the root (an
// optimizer matter: inference is the same) and added the optional column names, which inference
// does not need either; its architecture entries are version 1's plus new layer classes.
// Version 3 added QuantizedDense layers (int8 or float16 kernels) and uint8 pruning masks.
constexpr std::string_view kFormatVersions[] = {"1", "2", "3"};
constexpr const char* kMaskPrefix = "masks.";

// Text from the file as it may be quoted in a message: non-printable bytes escaped as \xNN.
std::string printable(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text.substr(0, 300)) {
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

bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

// Reads typed members of the metadata, failing with the member's name.
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}
  [[noreturn]] void fail(const std::string& what) const { densekit::fail(source_, what); }

  const Json& member(const Json& obj, const char* key, const std::string& where) const {
    if (!obj.is_object()) fail(where + " is not a JSON object");
    const auto it = obj.find(key);
    if (it == obj.end()) fail(where + " has no \"" + key + "\"");
    return *it;
  }
  const Json* optional(const Json& obj, const char* key) const {
    if (!obj.is_object()) return nullptr;
    const auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  double number(const Json& obj, const char* key, const std::string& where) const {
    const Json& v = member(obj, key, where);
    if (!v.is_number()) fail(where + ": \"" + key + "\" is not a number");
    return v.get<double>();
  }
  bool flag(const Json& obj, const char* key, bool fallback, const std::string& where) const {
    const Json* v = optional(obj, key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(where + ": \"" + key + "\" is not a boolean");
    return v->get<bool>();
  }
  const std::string& string(const Json& v, const std::string& what) const {
    if (!v.is_string()) fail(what + " is not a string");
    return v.get_ref<const std::string&>();
  }
  // A number with an integral value in [1, 1e9].
  Index positive_int(const Json& v, const std::string& what) const {
    if (!v.is_number()) fail(what + " is not a positive integer");
    const double d = v.get<double>();
    if (!(d >= 1 && d <= 1e9) || d != double(Index(d))) fail(what + " is not a positive integer");
    return Index(d);
  }

 private:
  const std::string& source_;
};

// Activation `name` (a name in kinds.hpp) with Python's defaults, overridden by cfg's
// alpha/lower/upper when present.
ActivationSpec activation_spec(const Reader& r, const std::string& name, const Json& cfg) {
  const auto kind = from_name<ActivationKind>(name);
  if (!kind) r.fail("unknown activation \"" + name + "\"");
  ActivationSpec s;
  s.kind = *kind;
  s.alpha = s.kind == ActivationKind::leaky_relu ? 0.01 : (s.kind == ActivationKind::elu ? 1.0 : 0.0);
  for (auto [key, field] : {std::pair<const char*, double*>{"alpha", &s.alpha}, {"lower", &s.lower},
                            {"upper", &s.upper}})
    if (const Json* v = r.optional(cfg, key); v && v->is_number()) *field = v->get<double>();
  return s;
}

// Bytes of parameters and state a layer will allocate for input width `in` (values of
// `value_bytes` each; a QuantizedDense kernel in its own precision), so a file cannot make the
// loader allocate more than its own data section holds. Exact for valid configs (a layer without
// tensors needs nothing), so a valid file is never refused; in double: no overflow for any claim.
double layer_footprint(const std::string& cls, const Json& cfg, Index in, std::size_t value_bytes) {
  const double b = double(value_bytes);
  const double w = double(in);
  auto flag = [&](const char* key) {  // a boolean option, true unless the config says false
    const auto it = cfg.is_object() ? cfg.find(key) : cfg.end();
    return !(it != cfg.end() && it->is_boolean() && !it->get<bool>());
  };
  auto activation_is_prelu = [&] {
    const auto it = cfg.is_object() ? cfg.find("activation") : cfg.end();
    if (it == cfg.end()) return false;
    const Json* name = it->is_object() && it->contains("name") ? &(*it)["name"] : &*it;
    return name->is_string() && name->get<std::string>() == "prelu";
  };
  if (cls == "Dense" || cls == "QuantizedDense") {
    const auto u = cfg.is_object() ? cfg.find("units") : cfg.end();
    const double units = u != cfg.end() && u->is_number() && u->get<double>() > 0 ? u->get<double>() : 0.0;
    const double vectors = (flag("use_bias") ? units : 0.0) + (activation_is_prelu() ? units : 0.0);
    if (cls == "Dense") return b * (w * units + vectors);
    // QuantizedDense: float32 vectors, the kernel in its precision, int8's per-channel scales.
    const auto p = cfg.is_object() ? cfg.find("precision") : cfg.end();
    const std::string precision = p != cfg.end() && p->is_string() ? p->get<std::string>() : "";
    if (precision == "int8") return w * units + 4.0 * (units + vectors);
    return (precision == "float16" ? 2.0 : 4.0) * w * units + 4.0 * vectors;
  }
  if (cls == "BatchNormalization") return b * (2.0 + flag("center") + flag("scale")) * w;
  if (cls == "Normalization") return b * 2.0 * w;
  if (cls == "PReLU" || (cls == "Activation" && activation_is_prelu())) return b * w;  // α
  return 0.0;  // dropout and activation layers hold no tensors
}

// A QuantizedDense layer from its config (float32 models only).
std::shared_ptr<Layer<float>> quantized_dense(const Reader& r, const Json& cfg, Index in,
                                              ActivationSpec act, const std::string& where) {
  const std::string& precision = r.string(r.member(cfg, "precision", where), where + " precision");
  WeightPrecision p;
  if (precision == "int8") p = WeightPrecision::int8;
  else if (precision == "float16") p = WeightPrecision::float16;
  else if (precision == "float32") p = WeightPrecision::float32;
  else r.fail(where + ": unknown precision \"" + precision + "\"");
  const auto bits = [&](const char* key) {
    const double v = r.number(cfg, key, where);
    if (v != 7 && v != 8) r.fail(where + ": " + key + " must be 7 or 8");
    return int(v);
  };
  const int weight_bits = bits("weight_bits"), activation_bits = bits("activation_bits");
  kernels::ActivationQuant aq;
  aq.act_max = activation_bits == 8 ? 255 : 127;
  const Json& q = r.member(cfg, "activation_quantization", where);
  const std::string& mode = r.string(r.member(q, "mode", where), where + " activation_quantization mode");
  if (mode == "static") {
    aq.dynamic = false;
    aq.scale = float(r.number(q, "scale", where));
    aq.inv_scale = float(r.number(q, "inv_scale", where));
    const double zp = r.number(q, "zero_point", where);
    if (!(zp >= 0 && zp <= 255) || zp != double(int(zp))) r.fail(where + ": invalid zero_point");
    aq.zero_point = std::int32_t(zp);
  } else if (mode != "dynamic") {
    r.fail(where + ": activation_quantization mode must be \"dynamic\" or \"static\"");
  }
  return std::make_shared<InferenceDenseLayer>(
      in, r.positive_int(r.member(cfg, "units", where), where + " units"),
      r.flag(cfg, "use_bias", true, where), act, p, aq, weight_bits == 8 ? 127 : 63);
}

// The tensor `name` of the file, checked for dtype and shape.
const TensorEntry& tensor(const Reader& r, const Container& file, const std::string& name,
                          const char* dtype, Index rows, Index cols) {
  auto it = file.tensors.find(name);
  if (it == file.tensors.end()) r.fail("tensor \"" + name + "\" is missing");
  const TensorEntry& t = it->second;
  if (t.dtype != dtype) r.fail("tensor \"" + name + "\" is " + t.dtype + ", expected " + dtype);
  if (t.shape.size() != 2 || t.shape[0] != std::uint64_t(rows) || t.shape[1] != std::uint64_t(cols))
    r.fail("tensor \"" + name + "\" does not have the shape (" + std::to_string(rows) + ", " +
           std::to_string(cols) + ") the layer needs");
  return t;
}

// Copies of a tensor's elements (the data section need not be aligned for E).
template <class E>
std::vector<E> elements(const Container& file, const TensorEntry& t) {
  const std::string_view bytes = file.bytes(t);
  std::vector<E> out(bytes.size() / sizeof(E));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

// Gives a QuantizedDense layer its stored tensors (layers.{i}.kernel, kernel_scale, bias, alpha).
void fill_quantized(const Reader& r, const Container& file, InferenceDenseLayer& layer,
                    const std::string& prefix, std::set<std::string>& expected) {
  const Index in = layer.input_dim(), out = layer.output_dim();
  auto vec = [&](const char* name, bool present) -> std::vector<float> {
    if (!present) return {};
    expected.insert(prefix + name);
    return elements<float>(file, tensor(r, file, prefix + name, "F32", 1, out));
  };
  const std::vector<float> bias = vec("bias", layer.use_bias());
  const std::vector<float> alpha = vec("alpha", layer.activation().kind == ActivationKind::prelu);
  const float* b = bias.empty() ? nullptr : bias.data();
  const float* a = alpha.empty() ? nullptr : alpha.data();
  expected.insert(prefix + "kernel");
  try {
    switch (layer.precision()) {
      case WeightPrecision::int8: {
        const auto k = elements<std::int8_t>(file, tensor(r, file, prefix + "kernel", "I8", in, out));
        layer.set_int8(k.data(), vec("kernel_scale", true).data(), b, a);
        break;
      }
      case WeightPrecision::float16: {
        const auto k = elements<std::uint16_t>(file, tensor(r, file, prefix + "kernel", "F16", in, out));
        layer.set_float16(k.data(), b, a);
        break;
      }
      case WeightPrecision::float32: {
        const auto k = elements<float>(file, tensor(r, file, prefix + "kernel", "F32", in, out));
        layer.set_float32(k.data(), b, a);
        break;
      }
    }
  } catch (const std::invalid_argument& e) {
    r.fail(prefix + "*: " + e.what());
  }
}

template <class T>
std::shared_ptr<Layer<T>> make_layer(const Reader& r, const std::string& cls, const Json& cfg,
                                     Index in, const std::string& where) {
  // Python's activation layer classes and the activation each applies.
  // Flatten is the identity on the flat samples a network sees (the Python side flattens).
  static const std::map<std::string, std::string> activation_classes = {
      {"LeakyReLU", "leaky_relu"}, {"PReLU", "prelu"}, {"RReLU", "rrelu"},
      {"ELU", "elu"}, {"SELU", "selu"}, {"GELU", "gelu"}, {"Swish", "swish"},
      {"Softplus", "softplus"}, {"Softmax", "softmax"}, {"Sigmoid", "sigmoid"}, {"Tanh", "tanh"},
      {"Mish", "mish"}, {"HardSigmoid", "hard_sigmoid"}, {"Softsign", "softsign"},
      {"Exponential", "exponential"}, {"ReLU6", "relu6"}, {"Flatten", "linear"}};
  if (cls == "ReLU") {
    // ReLU(max_value=6) is relu6 and ReLU(negative_slope=a) a leaky ReLU (Keras's arguments);
    // Python refuses every other combination.
    const Json* cap = r.optional(cfg, "max_value");
    const Json* slope = r.optional(cfg, "negative_slope");
    if (cap && !cap->is_null()) {
      if (!cap->is_number() || cap->get<double>() != 6.0) r.fail(where + ": max_value must be 6");
      return std::make_shared<ActivationLayer<T>>(in, activation_spec(r, "relu6", Json::object()));
    }
    if (slope && slope->is_number() && slope->get<double>() != 0.0) {
      ActivationSpec s = activation_spec(r, "leaky_relu", Json::object());
      s.alpha = slope->get<double>();
      return std::make_shared<ActivationLayer<T>>(in, s);
    }
    return std::make_shared<ActivationLayer<T>>(in, activation_spec(r, "relu", Json::object()));
  }
  if (cls == "Dense" || cls == "QuantizedDense") {
    // "relu", or {"name": "leaky_relu", "alpha": 0.3, ...} when not at its defaults.
    const Json& act = r.member(cfg, "activation", where);
    const Json* name = act.is_object() ? r.optional(act, "name") : &act;
    if (!name || !name->is_string()) r.fail(where + ": the activation is malformed");
    const ActivationSpec spec = activation_spec(r, name->get<std::string>(), act);
    if (cls == "QuantizedDense") {
      if constexpr (std::is_same_v<T, float>) return quantized_dense(r, cfg, in, spec, where);
      r.fail(where + ": quantized layers compute in float32; the model is float64");
    }
    return std::make_shared<DenseLayer<T>>(in, r.positive_int(r.member(cfg, "units", where), where + " units"),
                                           r.flag(cfg, "use_bias", true, where), spec);
  }
  if (cls == "Activation") {
    const std::string& act = r.string(r.member(cfg, "activation", where), where + " activation");
    return std::make_shared<ActivationLayer<T>>(in, activation_spec(r, act, cfg));
  }
  if (auto it = activation_classes.find(cls); it != activation_classes.end())
    return std::make_shared<ActivationLayer<T>>(in, activation_spec(r, it->second, cfg));
  if (cls == "BatchNormalization")
    return std::make_shared<BatchNormLayer<T>>(in, r.number(cfg, "momentum", where),
                                               r.number(cfg, "epsilon", where),
                                               r.flag(cfg, "center", true, where),
                                               r.flag(cfg, "scale", true, where));
  if (cls == "Normalization") return std::make_shared<NormalizationLayer<T>>(in);
  if (cls == "Dropout" || cls == "AlphaDropout") {
    const double rate = r.number(cfg, "rate", where);
    if (!(rate >= 0.0 && rate < 1.0)) r.fail(where + ": rate must be in [0, 1)");
    if (cls == "Dropout") return std::make_shared<DropoutLayer<T>>(in, rate);
    return std::make_shared<AlphaDropoutLayer<T>>(in, rate);
  }
  r.fail(where + ": unknown layer class \"" + cls + "\"");
}

// Builds the network the metadata describes and copies its tensors in from the container.
template <class T>
std::shared_ptr<Network<T>> build(const Reader& r, const Json& doc, const Container& file) {
  const Json& config = r.member(r.member(doc, "model", "the metadata"), "config", "the model entry");
  const Index input_dim = r.positive_int(r.member(config, "input_dim", "the model config"), "input_dim");
  const Json& layers = r.member(config, "layers", "the model config");
  if (!layers.is_array() || layers.empty()) r.fail("the model has no layers");
  const Json* shared = r.optional(doc, "shared");
  const Json* seeds = r.optional(doc, "layer_seeds");
  const char* code = sizeof(T) == 4 ? "F32" : "F64";
  std::vector<std::shared_ptr<Layer<T>>> built;
  std::set<std::string> expected;  // tensor names the architecture accounts for
  std::uint64_t budget = file.data_size + 64 * sizeof(T);  // bytes the file can supply (+ slack)
  Index width = input_dim;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Json& entry = layers[i];
    std::string where = "layer " + std::to_string(i);
    const std::string& cls = r.string(r.member(entry, "class_name", where), where + " class_name");
    where += " (" + cls + ")";
    if (shared && shared->is_array() && i < shared->size() && (*shared)[i].is_number()) {
      const double j = (*shared)[i].get<double>();
      if (!(j >= 0 && j < double(i)) || j != double(std::size_t(j)))
        r.fail(where + " repeats an invalid position");
      built.push_back(built[std::size_t(j)]);
      width = built.back()->output_dim();
      continue;
    }
    const Json& cfg = r.member(entry, "config", where);
    // Every parameter comes from the file, so the file's size bounds what may be allocated.
    const double need = layer_footprint(cls, cfg, width, sizeof(T));
    if (need > double(budget))
      r.fail(where + " would need " + std::to_string(need) + " bytes but the file holds only " +
             std::to_string(budget) + " more");
    budget -= std::min(budget, std::uint64_t(need));
    auto layer = make_layer<T>(r, cls, cfg, width, where);
    // Seeds key training-time randomness only (dropout masks, RReLU slopes).
    if (seeds && seeds->is_array() && i < seeds->size() && (*seeds)[i].is_number()) {
      const Json& v = (*seeds)[i];
      if (v.is_number_unsigned())
        layer->seed = v.get<std::uint64_t>();
      else if (v.is_number_float() && v.get<double>() >= 0.0 && v.get<double>() < 18446744073709551616.0)
        layer->seed = std::uint64_t(v.get<double>());
      else
        r.fail("a layer seed is out of range");
    }
    auto fill = [&](Param<T>& p) {
      const std::string name = "layers." + std::to_string(i) + "." + p.name;
      auto it = file.tensors.find(name);
      if (it == file.tensors.end()) r.fail("tensor \"" + name + "\" is missing");
      const TensorEntry& t = it->second;
      if (t.dtype != code) r.fail("tensor \"" + name + "\" is " + t.dtype + ", expected " + code);
      if (t.shape.size() != 2 || t.shape[0] != std::uint64_t(p.rows) || t.shape[1] != std::uint64_t(p.cols))
        r.fail("tensor \"" + name + "\" does not have the shape (" + std::to_string(p.rows) + ", " +
               std::to_string(p.cols) + ") the layer needs");
      const std::string_view bytes = file.bytes(t);
      std::memcpy(p.value, bytes.data(), bytes.size());
      expected.insert(name);
    };
    for (auto& p : layer->params()) fill(p);
    for (auto& p : layer->states()) fill(p);
    if constexpr (std::is_same_v<T, float>)
      if (auto* q = dynamic_cast<InferenceDenseLayer*>(layer.get()))
        fill_quantized(r, file, *q, "layers." + std::to_string(i) + ".", expected);
    // Pruning masks (version 3): kept with the parameter, as training would keep them.
    for (auto& p : layer->params()) {
      const std::string name = kMaskPrefix + ("layers." + std::to_string(i) + "." + p.name);
      if (!file.tensors.count(name)) continue;
      const auto mask = elements<std::uint8_t>(file, tensor(r, file, name, "U8", p.rows, p.cols));
      for (std::uint8_t m : mask)
        if (m > 1) r.fail("tensor \"" + name + "\" holds values other than 0 and 1");
      p.mask = mask;
      expected.insert(name);
    }
    width = layer->output_dim();
    built.push_back(layer);
  }
  // The optimizer's slots are covered by the checksum; inference does not load them.
  for (const auto& kv : file.tensors)
    if (!expected.count(kv.first) && kv.first != "optimizer.slots")
      r.fail("unexpected tensor \"" + kv.first + "\"");
  return std::make_shared<Network<T>>(built);
}

// Refuses NaN or Inf in any parameter or state, naming the tensor as the file does.
template <class T>
void check_finite(const Reader& r, const Network<T>& net) {
  std::set<const Layer<T>*> seen;
  for (std::size_t i = 0; i < net.layers().size(); ++i) {
    Layer<T>& layer = *net.layers()[i];
    if (!seen.insert(&layer).second) continue;  // a repeated layer's tensors are stored once
    for (auto* group : {&layer.params(), &layer.states()})
      for (const Param<T>& p : *group)
        if (!ConstArrayMap<T>(p.value, p.size()).allFinite())
          r.fail("tensor \"layers." + std::to_string(i) + "." + p.name + "\" contains NaN or Inf");
  }
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
  const Reader r(source);
  if (!little_endian()) r.fail("big-endian hosts are not supported");
  Container file;
  try {
    file = parse_container(blob);
  } catch (const ContainerError& e) {
    r.fail(e.what());
  }
  const auto& meta = file.metadata;
  const auto format = meta.find("format");
  if (format == meta.end() || format->second != kFormatName)
    r.fail("not a densekit model file (no \"format\": \"densekit\" in the metadata)");
  const auto version = meta.find("format_version");
  if (version == meta.end() ||
      std::find(std::begin(kFormatVersions), std::end(kFormatVersions), version->second) ==
          std::end(kFormatVersions))
    r.fail("unsupported format version \"" + (version == meta.end() ? std::string() : version->second) +
           "\" (this reader reads versions 1, 2 and 3)");
  for (const auto& kv : meta)
    if (kv.first != "format" && kv.first != "format_version" && kv.first != "densekit" &&
        kv.first != "checksum")
      r.fail("unexpected metadata key \"" + kv.first + "\"");
  const auto text = meta.find("densekit");
  const auto checksum = meta.find("checksum");
  if (text == meta.end() || checksum == meta.end())
    r.fail("the metadata lacks \"densekit\" or \"checksum\"");
  Json doc;
  try {
    doc = io::parse_json(text->second);
  } catch (const io::JsonError& e) {
    r.fail(std::string("the densekit metadata is not valid JSON: ") + e.what());
  }
  Model m;
  try {
    const std::string& dtype =
        r.string(r.member(r.member(r.member(doc, "model", "the metadata"), "config", "the model entry"),
                          "dtype", "the model config"),
                 "the model dtype");
    // int8/float16 kernels and uint8 masks came with version 3; older files cannot hold them.
    if (version->second != "3")
      for (const auto& kv : file.tensors)
        if (kv.second.dtype == "I8" || kv.second.dtype == "F16" || kv.second.dtype == "U8" ||
            kv.first.rfind(kMaskPrefix, 0) == 0)
          r.fail("tensor \"" + kv.first + "\" (" + kv.second.dtype + ") cannot be in a file of version " +
                 version->second);
    if (dtype == "float32")
      m.f32_ = build<float>(r, doc, file);
    else if (dtype == "float64")
      m.f64_ = build<double>(r, doc, file);
    else
      r.fail("unsupported dtype \"" + dtype + "\"");
  } catch (const std::invalid_argument& e) {
    r.fail(std::string("architecture: ") + e.what());
  } catch (const std::bad_alloc&) {
    r.fail("the architecture needs more memory than is available");
  } catch (const std::length_error&) {
    r.fail("the architecture's sizes are out of range");
  }
  // Structure first (bounded, and the more specific message for a hostile file), then the
  // checksum over every byte, as the Python loader computes it.
  if (model_checksum(file) != checksum->second)
    r.fail("checksum mismatch: the file is corrupted (its checksum does not match its contents)");
  m.f32_ ? check_finite(r, *m.f32_) : check_finite(r, *m.f64_);
  m.f32_ ? m.f32_->prepare_inference() : m.f64_->prepare_inference();  // packed once, here
  return m;
}

Index Model::input_dim() const { return f32_ ? f32_->input_dim() : f64_->input_dim(); }
Index Model::output_dim() const { return f32_ ? f32_->output_dim() : f64_->output_dim(); }
std::size_t Model::layer_count() const {
  return f32_ ? f32_->layers().size() : f64_->layers().size();
}

namespace {
constexpr Index kServingChunk = 1024;  // rows per inference pass

// Runs `net` (element type N) on caller arrays of element type E, converting when they differ
// (in this thread's grow-only buffers, chunk by chunk).
template <class N, class E>
void run(const Network<N>& net, const E* x, Index n, E* out) {
  const Index in = net.input_dim(), o = net.output_dim();
  if constexpr (std::is_same_v<N, E>) {
    net.predict(ConstMatrixMap<N>(x, n, in), MatrixMap<N>(out, n, o), kServingChunk);
  } else {
    thread_local Buffer<N> xc, oc;
    for (Index start = 0; start < n; start += kServingChunk) {
      const Index rows = std::min(kServingChunk, n - start);
      xc.reserve(rows * in);
      oc.reserve(rows * o);
      MatrixMap<N>(xc.data(), rows, in) = ConstMatrixMap<E>(x + start * in, rows, in).template cast<N>();
      net.predict(ConstMatrixMap<N>(xc.data(), rows, in), MatrixMap<N>(oc.data(), rows, o), kServingChunk);
      MatrixMap<E>(out + start * o, rows, o) = MatrixMap<N>(oc.data(), rows, o).template cast<E>();
    }
  }
}
}  // namespace

void Model::predict(const float* x, Index n, float* out) const {
  f32_ ? run(*f32_, x, n, out) : run(*f64_, x, n, out);
}

void Model::predict(const double* x, Index n, double* out) const {
  f64_ ? run(*f64_, x, n, out) : run(*f32_, x, n, out);
}

}  // namespace densekit
