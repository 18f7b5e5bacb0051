// Loading a saved model in C++, without Python: the deployment entry point.
//
//   #include <densekit/model_file.hpp>
//   const densekit::Model model = densekit::Model::load("model.dk");
//   model.predict(x, n, out);   // x (n, input_dim) row-major -> out (n, output_dim)
//
// A loaded model's predict() is const and safe to call from any number of threads at once; each
// row's output is the same bits whether it is predicted alone or in a batch, from one thread or
// many (the weights are packed for the kernels once, at load).
//
// Reads the file `model.save(path)` writes in Python (safetensors with the architecture as JSON
// metadata, format "densekit" version 3, 2 or 1): io/safetensors.hpp checks the container, this file
// rebuilds the layers from the metadata, checks every tensor's name, dtype and shape, verifies
// the SHA-256 checksum (io/checksum.hpp) and refuses NaN or Inf weights, as the Python loader
// does. Anything malformed throws ModelFileError; nothing is trusted. Only inference state is
// read: the optimizer slots and training counters are covered by the checksum but not loaded.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "densekit/model/network.hpp"

namespace densekit {

struct ModelFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Model {
 public:
  // Loads a model file; throws ModelFileError.
  static Model load(const std::string& path);
  // Parses the bytes of a model file (`source` names it in errors).
  static Model from_bytes(const std::string& bytes, const std::string& source = "<bytes>");

  bool is_float64() const { return f64_ != nullptr; }
  Index input_dim() const;
  Index output_dim() const;
  std::size_t layer_count() const;

  // Inference: x (n, input_dim) row-major -> out (n, output_dim). Converts when the element
  // type differs from the model's dtype. Thread-safe; allocates nothing in steady state.
  void predict(const float* x, Index n, float* out) const;
  void predict(const double* x, Index n, double* out) const;

  // The network itself (null for the other dtype). Writing its parameters through raw pointers
  // needs Layer::parameters_changed() before the next predict.
  Network<float>* float32_network() { return f32_.get(); }
  Network<double>* float64_network() { return f64_.get(); }

 private:
  std::shared_ptr<Network<float>> f32_;
  std::shared_ptr<Network<double>> f64_;
};

}  // namespace densekit
