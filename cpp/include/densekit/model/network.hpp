// Network: a sequence of layers plus everything one training step needs.
//
// Layers shared between networks are serialized by each layer's own lock (Layer::use_mutex),
// taken by every call after the network's lock, in address order; long calls poll
// check_interrupt() between batches (and between layers in training) so a caller can stop them.
//
// The network owns the activation and gradient buffers between layers (sized for the largest
// batch seen), the loss, and the optimizer with its slot arena. train() runs whole batches —
// gather, forward, loss, backward, penalties, clipping, update, constraints — without touching
// Python, so the bindings can release the GIL around it. Layers are shared_ptrs: a layer may
// belong to several networks (Keras-style layer reuse) and holds its own parameters.
//
// Prediction is const: it runs the layers' infer() in per-thread workspaces whose rows start on
// 64-byte boundaries, so any number of threads may predict at once (a reader lock keeps them out
// of a concurrent train()), and a row's output is the same bits whatever the batch size and the
// row's position in it.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <vector>

#include "densekit/model/dropout_layers.hpp"
#include "densekit/model/layers.hpp"
#include "densekit/model/normalization_layers.hpp"
#include "densekit/kernels/losses.hpp"
#include "densekit/optim/optimizers.hpp"
#include "densekit/runtime/communicator.hpp"
#include "densekit/runtime/interrupt.hpp"
#include "densekit/runtime/thread_tuner.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

// [distributed] This rank's part of a run of data-parallel batches (python/densekit/distributed):
// per batch three numbers — the rows this rank holds, the rows of the global batch, and where
// this rank's rows start in it — and the communicator that sums over the ranks.
struct ShardPlan {
  Communicator* comm = nullptr;
  const std::int64_t* batches = nullptr;  // (count, 3): rows, global_rows, row_offset
  Index count = 0;
};

// What a run of batches produced. loss_sum is Σ_batches (batch loss incl. penalties)·rows, so
// loss_sum / samples is Keras's epoch loss.
struct RunStats {
  double loss_sum = 0.0;
  LossSums sums;
  Index samples = 0;
  Index batches = 0;
  double last_loss = 0.0;   // loss of the last batch, from its forward pass (before its update)
  bool diverged = false;    // a batch produced a non-finite loss or gradient; its update was not applied
  Index diverged_batch = -1;
  bool nonfinite_gradient = false;  // diverged because a gradient was NaN/Inf (the loss was finite)
};

template <class T>
class Network {
 public:
  using LayerPtr = std::shared_ptr<Layer<T>>;

  explicit Network(std::vector<LayerPtr> layers);

  const std::vector<LayerPtr>& layers() const { return layers_; }
  Index input_dim() const { return layers_.front()->input_dim(); }
  Index output_dim() const { return layers_.back()->output_dim(); }

  // Sets the loss, the accuracy flavour and the optimizer (fresh state).
  void compile(const LossSpec& loss, AccuracyKind accuracy, const OptimizerConfig& optimizer);
  bool compiled() const { return optimizer_ != nullptr; }
  Optimizer<T>& optimizer();
  // Shared ownership for views of the slot arena that must outlive a recompile.
  std::shared_ptr<Optimizer<T>> optimizer_handle() const { return optimizer_; }
  const LossSpec& loss() const { return loss_; }

  // Trains on n samples taken in the order idx[0..n) (or rows 0..n when idx is null), in
  // batches of batch_size (the last one may be smaller). X (N,IN), Y (N,C) or (N,1) class ids,
  // sw (N) or null. lrs / momenta, when non-null, give each batch's learning rate and momentum
  // (β1 for the Adam family) — how schedules run without Python between batches; all of them
  // are checked before the first batch (std::invalid_argument: NaN, Inf, negative, momentum
  // outside [0, 1)). Stops at the first batch whose loss or gradients are not finite, without
  // applying its update. check_interrupt() between batches and layers may stop it (Interrupted)
  // with the model as after its last whole step.
  // batch_stats, when non-null, receives per batch [loss·rows, correct, sq_error, abs_error,
  // rows] (5 doubles a batch) so callers can total an epoch independently of how they chunked it.
  // [distributed] With a plan, batch b takes the next plan rows of the n samples (batch_size is
  // not used), its loss is the mean over the global batch, and after backward one all-reduce
  // sums the gradients and the loss and metric sums over the ranks: stats, batch_stats and the
  // divergence test then describe the global batch, identically on every rank.
  RunStats train(ConstMatrixMap<T> X, ConstMatrixMap<T> Y, const T* sw, const std::int64_t* idx,
                 Index n, Index batch_size, const double* lrs, const double* momenta = nullptr,
                 double* batch_stats = nullptr, const ShardPlan* plan = nullptr);

  // One batch's forward (training mode, at the current step's random streams), loss and
  // backward, without any update: leaves dL/dθ (penalties included) in every trainable
  // parameter's gradient buffer. Returns the loss. For gradient checks and diagnostics.
  double gradients(ConstMatrixMap<T> X, ConstMatrixMap<T> Y, const T* sw);

  // Inference forward of X (N,IN) into out (N,OUT), batch_size rows at a time. Thread-safe and
  // batch-invariant (above); allocates nothing once this thread (and the OpenMP threads it
  // shares a batch with) has seen the batch size. A large batch is split into blocks of rows,
  // one per thread, each taken through every layer in one parallel region (inference_parts);
  // a small one splits the large products' columns. How many threads: predict's tuner, by
  // measuring (auto_threads), so a busy machine falls back to one.
  void predict(ConstMatrixMap<T> X, MatrixMap<T> out, Index batch_size) const;

  // MC Dropout (Gal & Ghahramani 2016): `samples` stochastic forward passes of X with the dropout
  // layers dropping (BN and everything else in inference mode); writes the mean and the
  // (population) standard deviation of the outputs. `key` seeds the masks. Thread-safe.
  void predict_mc(ConstMatrixMap<T> X, Index samples, MatrixMap<T> mean, MatrixMap<T> stddev,
                  Index batch_size, std::uint64_t key) const;

  // Builds every layer's inference copies now (Model::load: serving threads never rebuild).
  void prepare_inference() const;

  // Loss (incl. penalties) and metric sums over X in inference mode.
  RunStats evaluate(ConstMatrixMap<T> X, ConstMatrixMap<T> Y, const T* sw, Index batch_size);

  // Regularization penalty Σ λ1|w| + λ2w² over every parameter.
  double penalty() const;

  std::uint64_t step() const { return step_; }
  void set_step(std::uint64_t s) { step_ = s; }

  // Whether train() and predict() pick their thread counts by measuring (default) or use
  // num_threads().
  bool auto_threads = true;
  int preferred_threads() const { return tuner_.preferred_threads(); }
  const ThreadTuner& thread_tuner() const { return tuner_; }

 private:
  void reserve(Index batch);
  // Whether every trainable parameter's gradient is finite (one read pass, no allocation).
  bool gradients_finite() const;
  // Whether the output layer's activation and the loss are computed as one fused pair.
  bool fused_output() const;
  // Forward through every layer on rows of x into acts_[1..L].
  void forward(ConstMatrixMap<T> x, const StepContext& ctx);
  // The lowest layer index whose backward pass is needed (trainable parameters at or above it).
  std::size_t lowest_backward_layer() const;
  double add_penalty_gradients();
  // Forward, loss and backward of one gathered batch; returns the loss sums and sets `loss`
  // (mean loss plus penalties).
  LossSums forward_backward(const T* x, const T* y, const T* w, Index rows, const StepContext& ctx,
                            double& loss);
  void apply_constraints();
  // The inference pass of `rows` rows of x (N,IN) through every layer in this thread's workspace;
  // returns the output rows, `ld` apart (valid until this thread's next pass).
  const T* infer(const T* x, Index rows, const StepContext& ctx, Index& ld) const;
  // How many blocks of rows predict() splits `rows` rows into (1: the layers split their own
  // products instead). Batch invariance makes any split give the same bits, so this may follow
  // the live thread count.
  int inference_parts(Index rows) const;
  // A block of rows is at least kMinRowsPerPart rows and starts at a multiple of kRowBlockAlign
  // (whole micro-tiles of the engine's kernels: 8 rows on AVX-512).
  static constexpr Index kMinRowsPerPart = 16, kRowBlockAlign = 8;
  // Below this many flops a batch stays on one thread: a parallel region costs microseconds.
  static constexpr double kParallelPredictFlops = 2.0e6;
  // [distributed] The step's all-reduce of the gradients and sums; see network.cpp.
  LossSums reduce_step(Communicator& comm, const LossSums& local, Index global_rows, double& loss);

  std::vector<LayerPtr> layers_;
  std::vector<Param<T>*> params_;  // every parameter, once, in layer order
  std::vector<Layer<T>*> param_owner_;
  // Every layer's use_mutex() in address order: the one order in which any network takes them.
  std::vector<std::shared_mutex*> layer_locks_;
  LossSpec loss_;
  AccuracyKind accuracy_ = AccuracyKind::none;
  std::shared_ptr<Optimizer<T>> optimizer_;
  std::uint64_t step_ = 0;
  ThreadTuner tuner_;
  mutable PredictThreadTuner predict_tuner_;  // predict() is const and may run on many threads

  Index capacity_ = 0;              // rows the buffers hold
  std::vector<Buffer<T>> acts_;     // acts_[0] gathered input, acts_[i+1] output of layer i
  std::vector<Buffer<T>> grads_;    // grads_[i] gradient w.r.t. acts_[i]
  Buffer<T> ybuf_, wbuf_;           // gathered targets and sample weights
  Index inference_ld_ = 0;          // row stride of the inference workspaces (padded widest layer)
  double inference_flops_per_row_ = 0;  // one row through every product (inference_parts)
  Buffer<T> reduce_buf_;            // [distributed] trainable gradients + loss and metric sums
  // Training, evaluation and gradients take it exclusively (they share the buffers above and
  // write the parameters); predictions share it. Taken before the layers' locks.
  mutable std::shared_mutex mutex_;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace densekit
