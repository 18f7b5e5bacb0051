// The training step and inference loops of Network. See network.hpp for the contract.
#include "densekit/model/network.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "densekit/kernels/regularization.hpp"
#include "densekit/model/weight_mask.hpp"
#include "densekit/runtime/parallel.hpp"

namespace densekit {

namespace {

// One thread's inference buffers: two activation matrices, rows Network::inference_ld_ apart
// (64-byte aligned), and MC Dropout's accumulators. Grow-only: steady state allocates nothing.
template <class T>
struct InferenceWorkspace {
  Buffer<T> a, b;
  Buffer<double> first, sum, sumsq;
};
template <class T>
InferenceWorkspace<T>& inference_workspace() {
  thread_local InferenceWorkspace<T> workspace;
  return workspace;
}

// Holds every lock in `locks` (a network's layer locks, in address order: the one global order
// that keeps networks sharing layers from deadlocking), exclusively or shared.
template <bool Exclusive>
class LayerLocks {
 public:
  explicit LayerLocks(const std::vector<std::shared_mutex*>& locks) : locks_(locks) {
    std::size_t taken = 0;
    try {
      for (; taken < locks_.size(); ++taken) Exclusive ? locks_[taken]->lock() : locks_[taken]->lock_shared();
    } catch (...) {
      release(taken);
      throw;
    }
  }
  ~LayerLocks() { release(locks_.size()); }
  LayerLocks(const LayerLocks&) = delete;
  LayerLocks& operator=(const LayerLocks&) = delete;

 private:
  void release(std::size_t n) {
    while (n-- > 0) Exclusive ? locks_[n]->unlock() : locks_[n]->unlock_shared();
  }
  const std::vector<std::shared_mutex*>& locks_;
};
using ExclusiveLayers = LayerLocks<true>;
using SharedLayers = LayerLocks<false>;

// Announces to every layer, when it goes out of scope, that training changed its parameters
// (even when a step throws half-way).
template <class T>
struct ParametersChanged {
  const std::vector<std::shared_ptr<Layer<T>>>& layers;
  ~ParametersChanged() {
    for (const auto& l : layers) l->parameters_changed();
  }
};

}  // namespace

template <class T>
Network<T>::Network(std::vector<LayerPtr> layers) : layers_(std::move(layers)) {
  if (layers_.empty()) throw std::invalid_argument("a network needs at least one layer");
  std::set<const Layer<T>*> seen;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Layer<T>* l = layers_[i].get();
    if (i > 0 && l->input_dim() != layers_[i - 1]->output_dim())
      throw std::invalid_argument("layer " + std::to_string(i) + " expects " +
                                  std::to_string(l->input_dim()) + " inputs but layer " +
                                  std::to_string(i - 1) + " gives " +
                                  std::to_string(layers_[i - 1]->output_dim()));
    // A layer keeps one set of caches and gradients, so it may appear once per network (Keras's
    // Sequential refuses repeats too). Sharing across networks is fine.
    if (!seen.insert(l).second)
      throw std::invalid_argument("layer " + std::to_string(i) +
                                  " is already used earlier in this network; a layer may appear "
                                  "only once per model");
    for (auto& p : l->params()) {
      params_.push_back(&p);
      param_owner_.push_back(l);
    }
  }
  for (const auto& l : layers_) layer_locks_.push_back(&l->use_mutex());
  std::sort(layer_locks_.begin(), layer_locks_.end(), std::less<std::shared_mutex*>());
  acts_.resize(layers_.size() + 1);
  grads_.resize(layers_.size() + 1);
  Index widest = input_dim();
  for (const auto& l : layers_) {
    widest = std::max(widest, l->output_dim());
    // Element-wise layers are cheap beside the products.
    if (!l->infers_in_place())
      inference_flops_per_row_ += 2.0 * double(l->input_dim()) * double(l->output_dim());
  }
  inference_ld_ = padded<T>(widest);
}

template <class T>
void Network<T>::compile(const LossSpec& loss, AccuracyKind accuracy,
                         const OptimizerConfig& config) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  loss_ = loss;
  accuracy_ = accuracy;
  optimizer_ = std::make_shared<Optimizer<T>>(config);
  std::vector<ParamSlot<T>> slots;
  for (std::size_t i = 0; i < params_.size(); ++i)
    slots.push_back({params_[i]->value, params_[i]->grad, params_[i]->size(),
                     &param_owner_[i]->trainable});
  optimizer_->bind(slots);
}

template <class T>
Optimizer<T>& Network<T>::optimizer() {
  if (!optimizer_) throw std::logic_error("the network is not compiled");
  return *optimizer_;
}

template <class T>
void Network<T>::reserve(Index batch) {
  if (batch <= capacity_) return;
  // Each buffer grows strongly (types.hpp): if one throws, the others hold at least capacity_
  // rows, so the network is as usable as before.
  const Index in = checked_product(batch, input_dim(), "batch buffers");
  acts_[0].reserve(in);
  grads_[0].reserve(in);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Index out = checked_product(batch, layers_[i]->output_dim(), "batch buffers");
    layers_[i]->reserve(batch);
    acts_[i + 1].reserve(out);
    grads_[i + 1].reserve(out);
  }
  ybuf_.reserve(checked_product(batch, output_dim(), "batch buffers"));
  wbuf_.reserve(batch);
  capacity_ = batch;
}

template <class T>
bool Network<T>::fused_output() const {
  if (loss_.from_logits) return false;
  const ActivationKind a = layers_.back()->output_activation();
  switch (loss_.kind) {
    case LossKind::sparse_categorical_crossentropy:
    case LossKind::categorical_crossentropy:
      return a == ActivationKind::softmax;
    case LossKind::binary_crossentropy:
      return a == ActivationKind::sigmoid;
    default:
      return false;
  }
}

template <class T>
void Network<T>::forward(ConstMatrixMap<T> x, const StepContext& ctx) {
  const Index rows = x.rows();
  const T* in = x.data();
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    check_interrupt();
    Layer<T>& l = *layers_[i];
    MatrixMap<T> y(acts_[i + 1].data(), rows, l.output_dim());
    l.forward(ConstMatrixMap<T>(in, rows, l.input_dim()), y, ctx);
    in = y.data();
  }
}

template <class T>
std::size_t Network<T>::lowest_backward_layer() const {
  for (std::size_t i = 0; i < layers_.size(); ++i)
    if (layers_[i]->trainable && layers_[i]->param_count() > 0) return i;
  return layers_.size();
}

template <class T>
double Network<T>::penalty() const {
  double total = 0.0;
  for (const Param<T>* p : params_) total += densekit::penalty(p->value, p->size(), p->l1, p->l2);
  return total;
}

template <class T>
bool Network<T>::gradients_finite() const {
  // Σ g·0 is 0 when every g is finite and NaN as soon as one is NaN or ±Inf: a vectorized sum
  // with no branch per element.
  T probe = T(0);
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (param_owner_[i]->trainable)
      probe += (ConstArrayMap<T>(params_[i]->grad, params_[i]->size()) * T(0)).sum();
  return probe == T(0);
}

template <class T>
double Network<T>::add_penalty_gradients() {
  double total = 0.0;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Param<T>* p = params_[i];
    if (p->l1 == 0.0 && p->l2 == 0.0) continue;
    total += densekit::penalty(p->value, p->size(), p->l1, p->l2);
    if (param_owner_[i]->trainable) penalty_gradient(p->grad, p->value, p->size(), p->l1, p->l2);
  }
  return total;
}

template <class T>
void Network<T>::apply_constraints() {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Param<T>* p = params_[i];
    if (p->constraint == ConstraintKind::none || !param_owner_[i]->trainable) continue;
    apply_constraint(p->value, p->rows, p->cols, p->constraint, p->constraint_value,
                     p->constraint_axis);
  }
}

template <class T>
LossSums Network<T>::forward_backward(const T* x, const T* y, const T* w, Index rows,
                                      const StepContext& ctx, double& loss) {
  const std::size_t L = layers_.size();
  const bool fused = fused_output();
  forward(ConstMatrixMap<T>(x, rows, input_dim()), ctx);
  const T* z = fused ? layers_.back()->preactivation() : nullptr;
  // The gradient is of the mean over the batch: over the global batch when ranks share it.
  const Index mean_rows = ctx.comm ? ctx.global_rows : rows;
  const LossSums sums = loss_and_grad<T>(loss_, accuracy_, acts_[L].data(), z, y, w,
                                         grads_[L].data(), rows, output_dim(),
                                         1.0 / double(mean_rows));
  // Backward, from the output down to the lowest layer that has something to learn.
  const std::size_t lowest = lowest_backward_layer();
  for (std::size_t i = L; i-- > lowest;) {
    check_interrupt();  // nothing is applied before the optimizer step: stopping here is clean
    Layer<T>& l = *layers_[i];
    const T* xin = i == 0 ? x : acts_[i].data();
    T* dx = i > lowest ? grads_[i].data() : nullptr;
    l.backward(ConstMatrixMap<T>(xin, rows, l.input_dim()),
               ConstMatrixMap<T>(acts_[i + 1].data(), rows, l.output_dim()),
               MatrixMap<T>(grads_[i + 1].data(), rows, l.output_dim()), dx, fused && i == L - 1,
               ctx);
  }
  if (ctx.comm) return sums;  // [distributed] penalties once, after the sum (reduce_step)
  loss = sums.weighted_loss / double(rows) + add_penalty_gradients();
  return sums;
}

// [distributed] One all-reduce per step: the gradients of every trainable parameter are packed
// into one flat buffer behind which sit the batch's loss and metric sums (in T: for float32
// models the logs are summed in float), the buffer is summed over the ranks in place, and the
// totals are unpacked. The penalty gradients are added afterwards, once, as one process adds
// them; every rank holds the same weights, so every rank computes the same. Packing costs two
// copies of the gradients — small next to moving them between processes — and the buffer is
// sized once, so steady-state steps allocate nothing.
template <class T>
LossSums Network<T>::reduce_step(Communicator& comm, const LossSums& local, Index global_rows,
                                 double& loss) {
  constexpr Index kSums = 4;
  Index total = kSums;
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (param_owner_[i]->trainable) total += params_[i]->size();
  reduce_buf_.reserve(total);
  T* p = reduce_buf_.data();
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (param_owner_[i]->trainable) p = std::copy_n(params_[i]->grad, params_[i]->size(), p);
  p[0] = T(local.weighted_loss);
  p[1] = T(local.correct);
  p[2] = T(local.sq_error);
  p[3] = T(local.abs_error);
  comm.allreduce_sum(reduce_buf_.data(), total);
  const T* q = reduce_buf_.data();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!param_owner_[i]->trainable) continue;
    std::copy_n(q, params_[i]->size(), params_[i]->grad);
    q += params_[i]->size();
  }
  LossSums sums;
  sums.weighted_loss = double(q[0]);
  sums.correct = double(q[1]);
  sums.sq_error = double(q[2]);
  sums.abs_error = double(q[3]);
  loss = sums.weighted_loss / double(global_rows) + add_penalty_gradients();
  return sums;
}

template <class T>
double Network<T>::gradients(ConstMatrixMap<T> X, ConstMatrixMap<T> Y, const T* sw) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  const ExclusiveLayers layers(layer_locks_);
  if (!optimizer_) throw std::logic_error("the network is not compiled");
  reserve(X.rows());
  StepContext ctx;
  ctx.training = true;
  ctx.dropout = true;
  ctx.step = step_;  // the same masks the next training step will draw
  double loss = 0.0;
  forward_backward(X.data(), Y.data(), sw, X.rows(), ctx, loss);
  return loss;
}

template <class T>
RunStats Network<T>::train(ConstMatrixMap<T> X, ConstMatrixMap<T> Y, const T* sw,
                           const std::int64_t* idx, Index n, Index batch_size, const double* lrs,
                           const double* momenta, double* batch_stats, const ShardPlan* plan) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (!optimizer_) throw std::logic_error("the network is not compiled");
  if (batch_size < 1) throw std::invalid_argument("batch_size must be positive");
  if (plan && !plan->comm) throw std::invalid_argument("a shard plan needs a communicator");
  const Index nbatches = plan ? plan->count : (n + batch_size - 1) / batch_size;
  for (Index b = 0; b < nbatches; ++b) {  // refused before any step touches the weights
    if (lrs) check_learning_rate(lrs[b], "train (a scheduled value)");
    if (momenta) check_momentum(momenta[b], optimizer_->momentum_name(), "train (a scheduled value)");
  }
  const ExclusiveLayers layers(layer_locks_);
  // [distributed] No rank may stop on its own between collectives (the others would wait for
  // it): a data-parallel call runs to its end, and Ctrl-C stops training between calls.
  std::optional<InterruptScope> uninterruptible;
  if (plan) uninterruptible.emplace(nullptr, nullptr);
  Index most = std::min(batch_size, n);
  if (plan) {  // [distributed] the largest slice this rank holds
    most = 1;
    for (Index b = 0; b < plan->count; ++b) most = std::max<Index>(most, plan->batches[3 * b]);
  }
  reserve(most);
  const Index in = input_dim(), ycols = Y.cols();
  const ParametersChanged<T> changed{layers_};
  RunStats stats;
  Index start = 0;
  for (Index b = 0; plan ? b < plan->count : start < n; ++b) {
    check_interrupt();
    const Index rows = plan ? Index(plan->batches[3 * b]) : std::min(batch_size, n - start);
    const int threads = auto_threads ? tuner_.choose(num_threads()) : num_threads();
    ThreadLimit limit(threads);
    // Gather the batch (contiguous rows need no copy), on the step's threads: the inputs' rows of
    // a shuffled batch are a random read of the whole training set (W2: 256 rows of 3 KiB,
    // ~125 µs from memory, 7 % of the step), which one core would do alone while the other
    // waits. (Small batches stay on one thread: parallel_rows.)
    const T* x = X.data() + start * in;
    const T* y = Y.data() + start * ycols;
    const T* w = sw ? sw + start : nullptr;
    if (idx) {
      MatrixMap<T> xb = acts_[0].matrix(rows, in);
      MatrixMap<T> yb = ybuf_.matrix(rows, ycols);
      parallel_rows(rows, in, [&](Index r0, Index r1) {
        for (Index r = r0; r < r1; ++r) xb.row(r) = X.row(idx[start + r]);
      });
      for (Index r = 0; r < rows; ++r) {
        const std::int64_t src = idx[start + r];
        yb.row(r) = Y.row(src);
        if (sw) wbuf_.data()[r] = sw[src];
      }
      x = xb.data();
      y = yb.data();
      w = sw ? wbuf_.data() : nullptr;
    }
    StepContext ctx;
    ctx.training = true;
    ctx.dropout = true;
    ctx.update_statistics = true;
    ctx.step = step_;
    Index global_rows = rows;
    if (plan) {  // [distributed] this rank's slice of the global batch
      global_rows = plan->batches[3 * b + 1];
      ctx.comm = plan->comm;
      ctx.global_rows = global_rows;
      ctx.row_offset = plan->batches[3 * b + 2];
    }
    double loss = 0.0;
    const auto t0 = std::chrono::steady_clock::now();  // the tuner times the step itself
    LossSums sums = forward_backward(x, y, w, rows, ctx, loss);
    if (plan) sums = reduce_step(*plan->comm, sums, global_rows, loss);  // [distributed]
    stats.last_loss = loss;
    // Judged in T: a loss that overflows T means the update would write Inf into the weights;
    // a NaN or Inf gradient (from a finite loss) would put NaN in every weight it reaches.
    const bool finite_loss = std::isfinite(T(loss));
    if (!finite_loss || !gradients_finite()) {
      stats.diverged = true;
      stats.diverged_batch = b;
      stats.nonfinite_gradient = finite_loss;
      break;
    }
    if (lrs) optimizer_->set_learning_rate(lrs[b]);
    if (momenta) optimizer_->set_momentum(momenta[b]);
    for (Param<T>* p : params_) mask_gradient(*p);  // pruned weights: no gradient, ...
    optimizer_->step();
    apply_constraints();
    for (Param<T>* p : params_) mask_value(*p);     // ... and exactly zero after the update
    ++step_;
    if (auto_threads)
      tuner_.record(threads,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                    double(rows));
    stats.loss_sum += loss * double(global_rows);
    stats.sums.add(sums);
    if (batch_stats) {
      double* row = batch_stats + 5 * b;
      row[0] = loss * double(global_rows);
      row[1] = sums.correct;
      row[2] = sums.sq_error;
      row[3] = sums.abs_error;
      row[4] = double(global_rows);
    }
    stats.samples += global_rows;
    stats.batches += 1;
    start += rows;
  }
  return stats;
}

template <class T>
const T* Network<T>::infer(const T* x, Index rows, const StepContext& ctx, Index& ld) const {
  InferenceWorkspace<T>& ws = inference_workspace<T>();
  ld = inference_ld_;
  ws.a.reserve(checked_product(rows, ld, "inference workspace"));
  ws.b.reserve(checked_product(rows, ld, "inference workspace"));
  T* const buffers[2] = {ws.a.data(), ws.b.data()};
  int current = -1;  // the buffer holding the current activations; -1: still the caller's x
  const T* in = x;
  Index ld_in = input_dim();
  for (const auto& layer : layers_) {
    const Layer<T>& l = *layer;
    if (l.infers_in_place()) {
      // Element-wise layers run on aligned rows: the caller's x is copied in first.
      if (current < 0) copy_rows(buffers[current = 0], ld, in, ld_in, rows, l.input_dim());
      l.infer(buffers[current], ld, buffers[current], ld, rows, ctx);
    } else {
      const int next = current == 0 ? 1 : 0;
      l.infer(in, ld_in, buffers[next], ld, rows, ctx);
      current = next;
    }
    in = buffers[current];
    ld_in = ld;
  }
  return in;
}

template <class T>
void Network<T>::prepare_inference() const {
  for (const auto& l : layers_) l->prepare_inference();
}

template <class T>
int Network<T>::inference_parts(Index rows) const {
  if (double(rows) * inference_flops_per_row_ < kParallelPredictFlops) return 1;
  const Index parts = std::min<Index>({Index(num_threads()), Index(partition_count()),
                                       rows / kMinRowsPerPart});
  return int(std::max<Index>(1, parts));
}

template <class T>
void Network<T>::predict(ConstMatrixMap<T> X, MatrixMap<T> out, Index batch_size) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  const SharedLayers layers(layer_locks_);
  const Index n = X.rows(), in = input_dim(), o = output_dim();
  batch_size = std::max<Index>(1, std::min(batch_size, n));
  const StepContext ctx;  // inference
  const int threads = auto_threads ? predict_tuner_.choose(batch_size, num_threads()) : num_threads();
  const ThreadLimit limit(threads);
  const auto t0 = std::chrono::steady_clock::now();
  // Rows [begin, end) of X through every layer on the calling thread, into out.
  auto run_rows = [&](Index begin, Index end) {
    Index ld = 0;
    const T* y = infer(X.data() + begin * in, end - begin, ctx, ld);
    // Computed in aligned rows, then copied: the caller's array may sit at any address.
    copy_rows(out.data() + begin * o, o, y, ld, end - begin, o);
  };
  for (Index start = 0; start < n; start += batch_size) {
    check_interrupt();
    const Index rows = std::min(batch_size, n - start);
    const int parts = inference_parts(rows);
    if (parts <= 1) {  // one thread walks the layers; a layer may still split its own product
      run_rows(start, start + rows);
      continue;
    }
    // One parallel region for the whole network: each thread takes a block of rows through
    // every layer on its own (no layer splits its product again: ThreadLimit). Every layer is
    // batch-invariant, so a row's bits do not depend on which block it lands in.
    parallel_invoke(parts, [&](int p, int nparts) {
      const ThreadLimit one_thread(1);
      Index b, e;
      detail::split_range(rows, p, nparts, kRowBlockAlign, b, e);
      if (b < e) run_rows(start + b, start + e);
    });
  }
  if (auto_threads && n > 0)
    predict_tuner_.record(
        batch_size, threads,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), double(n));
}

template <class T>
void Network<T>::predict_mc(ConstMatrixMap<T> X, Index samples, MatrixMap<T> mean,
                            MatrixMap<T> stddev, Index batch_size, std::uint64_t key) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  const SharedLayers layers(layer_locks_);
  const Index n = X.rows(), o = output_dim();
  batch_size = std::max<Index>(1, std::min(batch_size, n));
  // Shifted accumulation: deviations from the first sample, so a deterministic model gives
  // std exactly 0 and mean exactly predict(), and nothing cancels catastrophically.
  InferenceWorkspace<T>& ws = inference_workspace<T>();
  for (Buffer<double>* acc : {&ws.first, &ws.sum, &ws.sumsq})
    acc->reserve(checked_product(batch_size, o, "predict_mc accumulators"));
  double *first = ws.first.data(), *sum = ws.sum.data(), *sumsq = ws.sumsq.data();
  const double inv = 1.0 / double(samples);
  for (Index start = 0; start < n; start += batch_size) {
    const Index rows = std::min(batch_size, n - start), count = rows * o;
    std::fill(sum, sum + count, 0.0);
    std::fill(sumsq, sumsq + count, 0.0);
    for (Index s = 0; s < samples; ++s) {
      check_interrupt();
      StepContext ctx;
      ctx.dropout = true;
      ctx.step = hash64(key, std::uint64_t(s) * 0x100000001ULL + std::uint64_t(start));
      Index ld = 0;
      const T* y = infer(X.data() + start * input_dim(), rows, ctx, ld);
      for (Index r = 0; r < rows; ++r)
        for (Index c = 0; c < o; ++c) {
          const double v = double(y[r * ld + c]);
          double& f = first[r * o + c];
          if (s == 0) {
            f = v;
          } else {
            const double d = v - f;
            sum[r * o + c] += d;
            sumsq[r * o + c] += d * d;
          }
        }
    }
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < o; ++c) {
        const Index i = r * o + c;
        const double dm = sum[i] * inv;
        mean(start + r, c) = T(first[i] + dm);
        stddev(start + r, c) = T(std::sqrt(std::max(sumsq[i] * inv - dm * dm, 0.0)));
      }
  }
}

template <class T>
RunStats Network<T>::evaluate(ConstMatrixMap<T> X, ConstMatrixMap<T> Y, const T* sw,
                              Index batch_size) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  const ExclusiveLayers layers(layer_locks_);
  const Index n = X.rows(), in = input_dim(), out = output_dim(), ycols = Y.cols();
  batch_size = std::max<Index>(1, std::min(batch_size, n));
  reserve(batch_size);
  const bool fused = fused_output();
  StepContext ctx;
  ctx.keep_preactivation = fused;
  RunStats stats;
  for (Index start = 0; start < n; start += batch_size) {
    const Index rows = std::min(batch_size, n - start);
    forward(ConstMatrixMap<T>(X.data() + start * in, rows, in), ctx);
    const T* z = fused ? layers_.back()->preactivation() : nullptr;
    const LossSums sums =
        loss_and_grad<T>(loss_, accuracy_, acts_[layers_.size()].data(), z,
                         Y.data() + start * ycols, sw ? sw + start : nullptr, nullptr, rows, out, 1.0);
    stats.sums.add(sums);
    stats.samples += rows;
    stats.batches += 1;
  }
  // Keras's evaluate loss: the weighted mean of per-sample terms plus the penalties.
  stats.loss_sum = stats.sums.weighted_loss + penalty() * double(n);
  return stats;
}

template class Network<float>;
template class Network<double>;

}  // namespace densekit
