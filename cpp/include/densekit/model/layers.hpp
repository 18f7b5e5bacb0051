// Layers: the objects a network is a sequence of.
//
// A layer owns its parameters and their gradients (one contiguous block each, so Python sees
// them as zero-copy NumPy views and two models can share a layer, as Keras allows), plus the
// per-batch caches its backward pass needs. It does not own its input/output activations — the
// network does — and it never allocates during a step once reserve() has seen the batch size.
//
// Two forward passes: forward() for training and evaluation (caches for backward, batch
// statistics), and infer() for prediction — const, safe from many threads at once, and
// batch-invariant: a row's output depends on that row alone, computed the same way whatever the
// batch around it. infer() runs on inference copies derived from the parameters (packed weights,
// BN's affine map), rebuilt when the parameters change; every writer of parameters says so with
// parameters_changed() (see there for who does).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "densekit/kernels/activations.hpp"
#include "densekit/kernels/dense.hpp"
#include "densekit/kernels/elementwise.hpp"
#include "densekit/model/sparse_inference.hpp"
#include "densekit/runtime/communicator.hpp"
#include "densekit/runtime/rng.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

// A parameter tensor with its gradient, regularization and constraint.
template <class T>
struct Param {
  std::string name;
  T* value = nullptr;
  T* grad = nullptr;
  Index rows = 0, cols = 0;
  double l1 = 0.0, l2 = 0.0;  // penalty λ1Σ|w| + λ2Σw²
  ConstraintKind constraint = ConstraintKind::none;
  double constraint_value = 0.0;  // MaxNorm's r
  int constraint_axis = 0;
  // Pruning mask (dk.prune): one byte per element, 0 where the weight is held at exactly zero
  // through training; empty when the parameter is not pruned (model/weight_mask.hpp).
  std::vector<std::uint8_t> mask;
  Index size() const { return rows * cols; }
};

// What a forward/backward call needs to know about the step.
struct StepContext {
  bool training = false;            // batch statistics, random RReLU slopes, caches for backward
  bool dropout = false;             // dropout layers drop (training, or MC-dropout inference)
  bool update_statistics = false;   // BN moving averages advance (real training steps only)
  bool keep_preactivation = false;  // keep z in inference too (exact fused loss in evaluate)
  std::uint64_t step = 0;           // mixed into every random stream (masks, slopes)
  // Data-parallel training (distributed.py): these rows are rows [row_offset, row_offset + B) of
  // a global batch of global_rows, so random streams are keyed by the global row and
  // BatchNormalization sums its statistics over every rank through comm. Null alone.
  Communicator* comm = nullptr;
  Index row_offset = 0;
  Index global_rows = 0;
};

template <class T>
class Layer {
 public:
  Layer(Index in, Index out) : input_dim_(in), output_dim_(out) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  virtual const char* kind() const = 0;
  Index input_dim() const { return input_dim_; }
  Index output_dim() const { return output_dim_; }

  // Grows per-batch caches to hold `batch` rows.
  virtual void reserve(Index batch) { (void)batch; }

  // x (B,IN) -> y (B,OUT). In inference mode y may alias x when IN == OUT.
  virtual void forward(ConstMatrixMap<T> x, MatrixMap<T> y, const StepContext& ctx) = 0;

  // g (B,OUT) holds dL/dy on entry (or dL/dz of the output activation when `g_is_preactivation`,
  // for a fused softmax/sigmoid + cross-entropy) and may be overwritten. Writes dL/dx into dx
  // when non-null and the parameter gradients when the layer is trainable.
  virtual void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx,
                        bool g_is_preactivation, const StepContext& ctx) = 0;

  // The activation applied last, and its pre-activation cache from the last training forward
  // (for loss fusion); linear / null when the layer has none.
  virtual ActivationKind output_activation() const { return ActivationKind::linear; }
  virtual const T* preactivation() const { return nullptr; }

  std::vector<Param<T>>& params() { return params_; }
  Param<T>* find_param(const std::string& name) {
    for (auto& p : params_)
      if (p.name == name) return &p;
    return nullptr;
  }
  const Param<T>* find_param(const std::string& name) const {
    return const_cast<Layer*>(this)->find_param(name);
  }
  // Non-trainable state saved with the layer (BatchNormalization's moving statistics): no
  // gradient, never touched by the optimizer.
  std::vector<Param<T>>& states() { return states_; }
  Param<T>* find_state(const std::string& name) {
    for (auto& p : states_)
      if (p.name == name) return &p;
    return nullptr;
  }
  const Param<T>* find_state(const std::string& name) const {
    return const_cast<Layer*>(this)->find_state(name);
  }
  Index param_count() const {
    Index n = 0;
    for (const auto& p : params_) n += p.size();
    return n;
  }

  bool trainable = true;
  std::uint64_t seed = 0;  // key of the layer's random streams (RReLU slopes, dropout masks)

  // ---- inference ----

  // x (rows, IN) with rows ldx apart -> y (rows, OUT) with rows ldy apart, in inference mode
  // (dropout layers drop only when ctx.dropout: MC Dropout, masks keyed by ctx.step). const and
  // safe from many threads at once. Row r of y is a function of row r of x alone, computed the
  // same way for any `rows` and r when rows start at the same alignment (Network's buffers keep
  // rows 64-byte aligned). Runs on the inference copies when they are current, else on the
  // parameters themselves (a writable view is open): the same bits either way.
  void infer(const T* x, Index ldx, T* y, Index ldy, Index rows, const StepContext& ctx) const {
    infer_rows(x, ldx, y, ldy, rows, ctx, inference_copies_current());
  }
  // Whether infer() may write y over x (same width, element by element).
  virtual bool infers_in_place() const { return input_dim_ == output_dim_; }

  // Every writer of this layer's parameters or state calls this, so that inference copies are
  // rebuilt before the next infer(): Network::train after its steps (optimizer, constraints, BN
  // statistics), the Python bindings when a writable NumPy view opens and closes. C++ code that
  // writes through params()/states() pointers itself must call it too.
  void parameters_changed() { generation_.fetch_add(1, std::memory_order_acq_rel); }
  // A writable view of the parameters is open (Python's zero-copy arrays): writes through it are
  // not announced, so infer() reads the parameters themselves until it closes.
  void view_opened() {
    views_.fetch_add(1, std::memory_order_acq_rel);
    parameters_changed();
  }
  void view_closed() {
    parameters_changed();
    views_.fetch_sub(1, std::memory_order_acq_rel);
  }
  // Builds the inference copies now if they are out of date (Model::load, so that serving
  // threads never have to). False while a writable view is open (infer() then reads the
  // parameters themselves).
  bool prepare_inference() const { return inference_copies_current(); }

  // Serializes the networks that share this layer: its caches, gradients and parameters are one
  // set whatever network runs it. Network takes it exclusively to train, evaluate and compute
  // gradients, shared to predict, always in one global order (network.cpp, LayerLocks).
  std::shared_mutex& use_mutex() const { return use_mutex_; }

 protected:
  // infer() with `prepared`: whether the inference copies match the parameters.
  virtual void infer_rows(const T* x, Index ldx, T* y, Index ldy, Index rows, const StepContext& ctx,
                          bool prepared) const = 0;
  // Rebuilds the inference copies (mutable members) from the parameters; called under the
  // layer's lock, never while another thread reads them for the same parameters.
  virtual void rebuild_inference() const {}

  // Allocates one block for all parameters and one for their gradients, in declaration order.
  // Sizes are checked: a shape whose element count overflows is a clear error (Dense(2**62)).
  void allocate(const std::vector<std::pair<std::string, std::pair<Index, Index>>>& shapes) {
    std::vector<Index> sizes;
    for (const auto& s : shapes)
      sizes.push_back(checked_product(s.second.first, s.second.second, kind()));
    const Index total = block_size(sizes);
    storage_.assign(std::size_t(total), T(0));
    grads_.assign(std::size_t(total), T(0));
    params_.clear();
    Index off = 0;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      Param<T> p;
      p.name = shapes[i].first;
      p.rows = shapes[i].second.first;
      p.cols = shapes[i].second.second;
      p.value = storage_.data() + off;
      p.grad = grads_.data() + off;
      off += padded<T>(p.size());
      params_.push_back(p);
    }
  }

  // One block for the non-trainable state tensors, filled with `init`.
  void allocate_states(const std::vector<std::pair<std::string, Index>>& shapes, const std::vector<T>& init) {
    std::vector<Index> sizes;
    for (const auto& s : shapes) sizes.push_back(s.second);
    state_storage_.assign(std::size_t(block_size(sizes)), T(0));
    states_.clear();
    Index off = 0;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      Param<T> p;
      p.name = shapes[i].first;
      p.rows = 1;
      p.cols = shapes[i].second;
      p.value = state_storage_.data() + off;
      std::fill(p.value, p.value + p.cols, init[i]);
      off += padded<T>(p.cols);
      states_.push_back(p);
    }
  }

  Index input_dim_, output_dim_;
  AlignedVector<T> storage_;
  AlignedVector<T> grads_;
  std::vector<Param<T>> params_;
  AlignedVector<T> state_storage_;
  std::vector<Param<T>> states_;

 private:
  // True when the inference copies match the parameters (rebuilding them first if they were
  // built from older parameters or for another ISA path); false while a writable view is open.
  bool inference_copies_current() const {
    if (views_.load(std::memory_order_acquire) > 0) return false;
    const std::uint64_t want = generation_.load(std::memory_order_acquire) * kernels::kIsaCount +
                               std::uint64_t(kernels::active_isa());
    if (prepared_.load(std::memory_order_acquire) == want) return true;
    std::lock_guard<std::mutex> lock(prepare_mutex_);
    if (prepared_.load(std::memory_order_relaxed) != want) {
      rebuild_inference();
      prepared_.store(want, std::memory_order_release);
    }
    return true;
  }

  // Elements of one block holding tensors of `sizes`, each padded: refuses what no allocation
  // could hold (a clear error instead of an overflowed size or std::vector's length_error).
  Index block_size(const std::vector<Index>& sizes) const {
    constexpr Index kMax = PTRDIFF_MAX / Index(sizeof(T)) - 64;
    Index total = 0;
    for (Index n : sizes) {
      if (n < 0 || n > kMax || total > kMax - padded<T>(n))
        throw std::length_error(std::string(kind()) + " layer: " + std::to_string(n) +
                                " parameters do not fit in memory (more than " + std::to_string(kMax) +
                                " elements in all)");
      total += padded<T>(n);
    }
    return total;
  }

  mutable std::shared_mutex use_mutex_;
  std::atomic<std::uint64_t> generation_{0};  // bumped by every change of the parameters
  std::atomic<int> views_{0};                 // writable views open
  mutable std::atomic<std::uint64_t> prepared_{~std::uint64_t(0)};  // generation·paths + path built for
  mutable std::mutex prepare_mutex_;
};

// Applies an activation (with PReLU's learnable α when kind == prelu) and keeps z for backward.
template <class T>
class ActivationStage {
 public:
  ActivationSpec spec;

  void reserve(Index batch, Index units) {
    if (needs_preactivation(spec.kind)) z_.reserve(batch * units);
  }
  // Where the pre-activation is written: its own cache when backward (or a fused loss) will
  // need it, else y itself and the activation runs in place.
  T* z_target(MatrixMap<T> y, const StepContext& ctx) {
    const bool keep = ctx.training || ctx.keep_preactivation;
    return keep && needs_preactivation(spec.kind) ? z_.data() : y.data();
  }
  void forward(const T* z, MatrixMap<T> y, const StepContext& ctx, std::uint64_t seed,
               const T* alpha) {
    kernels::elementwise<T>().activation_forward(y.data(), z, alpha, y.rows(), y.cols(), spec,
                                                 ctx.training, derive_key(seed, ctx.step),
                                                 ctx.row_offset);
  }
  // z: the pre-activation of the last training forward (z() for Dense, the input for an
  // Activation layer).
  void backward(const T* z, ConstMatrixMap<T> y, MatrixMap<T> g, const StepContext& ctx,
                std::uint64_t seed, const T* alpha, T* dalpha) {
    kernels::elementwise<T>().activation_backward(g.data(), dalpha, z, y.data(), alpha, g.rows(),
                                                  g.cols(), spec, derive_key(seed, ctx.step),
                                                  ctx.row_offset);
  }
  const T* z() const { return needs_preactivation(spec.kind) ? z_.data() : nullptr; }
  // Inference: y (rows, cols) = f(z), rows ldy / ldz apart (y may be z), row by row.
  void infer(T* y, Index ldy, const T* z, Index ldz, Index rows, Index cols, const T* alpha) const {
    if (spec.kind == ActivationKind::linear) {
      copy_rows(y, ldy, z, ldz, rows, cols);
      return;
    }
    kernels::elementwise<T>().activation_rows(y, ldy, z, ldz, alpha, rows, cols, spec);
  }

 private:
  Buffer<T> z_;
};

// Fully connected layer: y = f(x·W + b).
template <class T>
class DenseLayer : public Layer<T> {
 public:
  DenseLayer(Index in, Index out, bool use_bias, ActivationSpec act) : Layer<T>(in, out) {
    act_.spec = act;
    std::vector<std::pair<std::string, std::pair<Index, Index>>> shapes{{"kernel", {in, out}}};
    if (use_bias) shapes.push_back({"bias", {1, out}});
    if (act.kind == ActivationKind::prelu) shapes.push_back({"alpha", {1, out}});
    this->allocate(shapes);
    if (auto* a = alpha()) ArrayMap<T>(a->value, out).setConstant(T(0.25));
  }

  const char* kind() const override { return "Dense"; }
  bool use_bias() const { return const_cast<DenseLayer*>(this)->find_param("bias") != nullptr; }
  const ActivationSpec& activation() const { return act_.spec; }

  void reserve(Index batch) override { act_.reserve(batch, this->output_dim_); }

  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, const StepContext& ctx) override {
    Param<T>& W = this->params_[0];
    const Param<T>* b = this->find_param("bias");
    T* z = act_.z_target(y, ctx);
    dense_forward<T>(z, x.data(), W.value, b ? b->value : nullptr, x.rows(), W.rows, W.cols);
    const Param<T>* a = alpha();
    act_.forward(z, y, ctx, this->seed, a ? a->value : nullptr);
  }

  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx,
                bool g_is_preactivation, const StepContext& ctx) override {
    Param<T>& W = this->params_[0];
    Param<T>* b = this->find_param("bias");
    Param<T>* a = alpha();
    if (!g_is_preactivation)
      act_.backward(act_.z(), y, g, ctx, this->seed, a ? a->value : nullptr,
                    a && this->trainable ? a->grad : nullptr);
    const T* dz = g.data();
    if (this->trainable)
      dense_backward_params<T>(W.grad, b ? b->grad : nullptr, dz, x.data(), x.rows(), W.rows, W.cols);
    if (dx) dense_backward_input<T>(dx, dz, W.value, x.rows(), W.rows, W.cols);
  }

  ActivationKind output_activation() const override { return act_.spec.kind; }
  const T* preactivation() const override { return act_.z(); }
  bool infers_in_place() const override { return false; }  // a product reads all of x first

  // The product infer() of `rows` rows runs (SparseInference::path; "default" while a writable
  // view is open), and the fraction of exact zeros in W; both build the inference copies first.
  const char* inference_path(Index rows) const {
    return this->prepare_inference() ? sparse_.path(rows) : "default";
  }
  double sparse_zero_fraction() const {
    this->prepare_inference();
    return sparse_.zero_fraction();
  }

 protected:
  // z = x·W + b on the packed weights (or W itself), then the activation, both row-exact.
  void infer_rows(const T* x, Index ldx, T* y, Index ldy, Index rows, const StepContext& ctx,
                  bool prepared) const override {
    (void)ctx;
    const Param<T>& W = this->params_[0];
    const Param<T>* b = this->find_param("bias");
    const T* bias = b ? b->value : nullptr;
    const kernels::Threading threads = inference_threads();
    // A mostly-zero kernel may take the sparse kernels instead (the engine's bits exactly:
    // model/sparse_inference.hpp), from its sparse form, an inference copy like packed_.
    if (!prepared)
      kernels::gemm_forward(y, ldy, x, ldx, W.value, W.cols, bias, rows, W.rows, W.cols, false, threads);
    else if (!sparse_.infer(y, ldy, x, ldx, bias, rows, threads))
      kernels::gemm_packed(y, ldy, x, ldx, packed_, bias, rows, threads);
    const Param<T>* a = alpha();
    act_.infer(y, ldy, y, ldy, rows, W.cols, a ? a->value : nullptr);
  }
  void rebuild_inference() const override {
    const Param<T>& W = this->params_[0];
    packed_.pack(W.value, W.cols, W.rows, W.cols);  // reuses its storage: same shape every time
    sparse_.rebuild(W.value, W.rows, W.cols);
  }

 private:
  Param<T>* alpha() { return this->find_param("alpha"); }
  const Param<T>* alpha() const { return const_cast<DenseLayer*>(this)->find_param("alpha"); }
  ActivationStage<T> act_;
  mutable kernels::PackedWeights<T> packed_;  // W for the engine's inference kernel
  mutable SparseInference<T> sparse_;         // W's sparse form, when mostly zeros
};

// A stand-alone activation (Activation("elu"), ReLU(), PReLU(), ...): y = f(x).
template <class T>
class ActivationLayer : public Layer<T> {
 public:
  ActivationLayer(Index units, ActivationSpec act) : Layer<T>(units, units) {
    act_.spec = act;
    if (act.kind == ActivationKind::prelu) {
      this->allocate({{"alpha", {1, units}}});
      ArrayMap<T>(this->params_[0].value, units).setConstant(T(0.25));
    }
  }

  const char* kind() const override { return "Activation"; }
  const ActivationSpec& activation() const { return act_.spec; }

  // The input is the pre-activation: the network keeps it alive until backward, so no copy.
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, const StepContext& ctx) override {
    const T* alpha = this->params_.empty() ? nullptr : this->params_[0].value;
    last_input_ = x.data();
    act_.forward(x.data(), y, ctx, this->seed, alpha);
  }

  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx,
                bool g_is_preactivation, const StepContext& ctx) override {
    Param<T>* a = this->params_.empty() ? nullptr : &this->params_[0];
    if (!g_is_preactivation)
      act_.backward(x.data(), y, g, ctx, this->seed, a ? a->value : nullptr,
                    a && this->trainable ? a->grad : nullptr);
    if (dx && dx != g.data()) MatrixMap<T>(dx, g.rows(), g.cols()) = g;
  }

  ActivationKind output_activation() const override { return act_.spec.kind; }
  const T* preactivation() const override { return last_input_; }

 protected:
  void infer_rows(const T* x, Index ldx, T* y, Index ldy, Index rows, const StepContext& ctx,
                  bool prepared) const override {
    (void)ctx, (void)prepared;
    const T* alpha = this->params_.empty() ? nullptr : this->params_[0].value;
    act_.infer(y, ldy, x, ldx, rows, this->output_dim_, alpha);
  }

 private:
  ActivationStage<T> act_;
  const T* last_input_ = nullptr;
};

}  // namespace densekit
