// Every optimizer's update rule, in one place.
//
// An optimizer is its hyperparameters (OptimizerConfig, settable between steps so schedules can
// drive the learning rate and momentum), per-step scalars computed once per step (StepScalars:
// bias corrections, Nadam's momentum schedule — never once per tensor), and one fused element-wise
// pass per parameter tensor. ε sits where Keras puts it (SPEC §3): inside the square root for
// Adagrad and RMSprop, outside it for Adam, AdamW and Nadam, added to u for Adamax. The Adam
// family keeps the old convention, ε inside the root, behind `epsilon_inside_root`: model files
// of format version 1 were trained with it and resume with it, bit for bit.
// Slots (moments) live in one flat arena owned by Optimizer, laid out like the parameters, one
// named slot after another (slot_names): the layout depends on the rule and its structural
// options only, never on a hyperparameter's value, so a state saved with one momentum restores
// into an optimizer with any other.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "densekit/kernels/elementwise.hpp"
#include "densekit/kinds.hpp"
#include "densekit/runtime/parallel.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::sgd;
  double learning_rate = 0.01;
  double momentum = 0.0;  // SGD's β, RMSprop's μ
  bool nesterov = false;
  double rho = 0.9;       // RMSprop
  bool centered = false;  // RMSprop
  double initial_accumulator_value = 0.1;  // Adagrad
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  // Adam, AdamW, Nadam: √(ŝ + ε) instead of √ŝ + ε (densekit 0.1's rule, what files of format
  // version 1 were trained with); false is Keras's and PyTorch's placement.
  bool epsilon_inside_root = false;
  bool amsgrad = false;
  double momentum_decay = 0.004;  // Nadam's ψ
  double weight_decay = 0.0;      // AdamW's λ (decoupled)
  // Gradient clipping; 0 disables. At most one is set (as Keras requires).
  double clipvalue = 0.0;
  double clipnorm = 0.0;
  double global_clipnorm = 0.0;
};

// Refuses a hyperparameter no update rule can use (std::invalid_argument naming it, its range
// and the value): NaN, ±Inf, negative learning rates and epsilons, momenta and betas outside
// [0, 1). Checked where values enter — compile, the setters, each scheduled value a train call
// is given — so none reaches the weights.
inline std::string format_number(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", v);
  return text;
}
inline void check_hyperparameter(const char* name, double value, double low, double high,
                                 bool high_open, const char* where = "optimizer") {
  const bool ok = std::isfinite(value) && value >= low && (high_open ? value < high : value <= high);
  if (ok) return;
  const std::string range = high_open ? "in [" + format_number(low) + ", " + format_number(high) + ")"
                                      : "finite and >= " + format_number(low);
  throw std::invalid_argument(std::string(where) + ": " + name + " must be " + range + ", got " +
                              format_number(value));
}
inline void check_learning_rate(double v, const char* where = "optimizer") {
  check_hyperparameter("learning_rate", v, 0.0, HUGE_VAL, false, where);
}
inline void check_momentum(double v, const char* name, const char* where = "optimizer") {
  check_hyperparameter(name, v, 0.0, 1.0, true, where);
}
inline void check_config(const OptimizerConfig& c) {
  check_learning_rate(c.learning_rate);
  check_momentum(c.momentum, "momentum");
  check_momentum(c.rho, "rho");
  check_momentum(c.beta_1, "beta_1");
  check_momentum(c.beta_2, "beta_2");
  // ε = 0 stays allowed: it is how the rules match PyTorch's (ε outside the root) exactly.
  check_hyperparameter("epsilon", c.epsilon, 0.0, HUGE_VAL, false);
  check_hyperparameter("initial_accumulator_value", c.initial_accumulator_value, 0.0, HUGE_VAL, false);
  check_hyperparameter("momentum_decay", c.momentum_decay, 0.0, HUGE_VAL, false);
  check_hyperparameter("weight_decay", c.weight_decay, 0.0, HUGE_VAL, false);
  check_hyperparameter("clipvalue", c.clipvalue, 0.0, HUGE_VAL, false);
  check_hyperparameter("clipnorm", c.clipnorm, 0.0, HUGE_VAL, false);
  check_hyperparameter("global_clipnorm", c.global_clipnorm, 0.0, HUGE_VAL, false);
}

// The largest step count an optimizer runs to: beyond 2^53 the count is no longer exact as the
// double its bias corrections use (and 2^63 would overflow). Refused when set (a loaded file),
// and a step past it is an error, not a wrap-around.
constexpr std::int64_t kMaxIterations = std::int64_t(1) << 53;

// The slots each rule keeps per parameter, by name, in arena order:
//   sgd      momentum                   (used while momentum != 0)
//   adagrad  accumulator
//   rmsprop  rms, momentum [, mean_grad] (momentum used while momentum != 0; mean_grad if centered)
//   adam     m, v [, vhat]              (vhat, the running max of v, if amsgrad); adamw the same
//   adamax   m, u
//   nadam    m, v
// SGD and RMSprop always keep their momentum slot: momentum may be switched on or off between
// steps, and the layout stays the same. While momentum is 0 the slot is neither read nor written
// (the step is the plain rule, θ − ηg, rounded exactly as without a slot).
inline std::vector<std::string> slot_names(const OptimizerConfig& c) {
  switch (c.kind) {
    case OptimizerKind::sgd: return {"momentum"};
    case OptimizerKind::adagrad: return {"accumulator"};
    case OptimizerKind::rmsprop:
      return c.centered ? std::vector<std::string>{"rms", "momentum", "mean_grad"}
                        : std::vector<std::string>{"rms", "momentum"};
    case OptimizerKind::adam:
    case OptimizerKind::adamw:
      return c.amsgrad ? std::vector<std::string>{"m", "v", "vhat"}
                       : std::vector<std::string>{"m", "v"};
    case OptimizerKind::adamax: return {"m", "u"};
    case OptimizerKind::nadam: return {"m", "v"};
  }
  return {};
}

// Number of moment slots each rule keeps per parameter.
inline int slots_for(const OptimizerConfig& c) { return int(slot_names(c).size()); }

// Scalars shared by every tensor in one step.
struct StepScalars {
  double lr;
  double bias1;       // 1 − β1ᵗ
  double bias2;       // 1 − β2ᵗ
  double mu_t;        // Nadam μ_t
  double mu_next;     // Nadam μ_{t+1}
  double mu_prod;     // Nadam Π_{i≤t} μ_i
  double mu_prod_next;  // Nadam Π_{i≤t+1} μ_i
};

namespace update {

// SGD (Robbins & Monro 1951); momentum (Polyak 1964): m ← βm − ηg; θ ← θ + m.
// Nesterov (Sutskever et al. 2013 form): m ← βm − ηg; θ ← θ + βm − ηg.
template <class T>
void sgd(const OptimizerConfig& c, const StepScalars& s, T* th, const T* g, T* m, Index n) {
  ArrayMap<T> theta(th, n);
  ConstArrayMap<T> grad(g, n);
  const T lr = T(s.lr), beta = T(c.momentum);
  if (!m) {
    theta -= lr * grad;
    return;
  }
  ArrayMap<T> mom(m, n);
  mom = beta * mom - lr * grad;
  if (c.nesterov)
    theta += beta * mom - lr * grad;
  else
    theta += mom;
}

// Adagrad (Duchi et al. 2011): s ← s + g²; θ ← θ − ηg/√(s + ε).
template <class T>
void adagrad(const OptimizerConfig& c, const StepScalars& s, T* th, const T* g, T* acc, Index n) {
  ArrayMap<T> theta(th, n), sq(acc, n);
  ConstArrayMap<T> grad(g, n);
  sq += grad.square();
  theta -= T(s.lr) * grad / (sq + T(c.epsilon)).sqrt();
}

// RMSprop (Tieleman & Hinton 2012): s ← ρs + (1−ρ)g²; centered: ḡ ← ρḡ + (1−ρ)g and s − ḡ²
// replaces s; with momentum μ: m ← μm + ηg/√(s+ε); θ ← θ − m; else θ ← θ − ηg/√(s+ε).
template <class T>
void rmsprop(const OptimizerConfig& c, const StepScalars& s, T* th, const T* g, T* sp, T* mp,
             T* gp, Index n) {
  ArrayMap<T> theta(th, n), sq(sp, n);
  ConstArrayMap<T> grad(g, n);
  const T rho = T(c.rho), lr = T(s.lr), eps = T(c.epsilon);
  sq = rho * sq + (T(1) - rho) * grad.square();
  auto step = [&](const auto& denom) {
    if (mp) {
      ArrayMap<T> mom(mp, n);
      mom = T(c.momentum) * mom + lr * grad / denom;
      theta -= mom;
    } else {
      theta -= lr * grad / denom;
    }
  };
  if (gp) {
    ArrayMap<T> gbar(gp, n);
    gbar = rho * gbar + (T(1) - rho) * grad;
    step((sq - gbar.square() + eps).sqrt());
  } else {
    step((sq + eps).sqrt());
  }
}

// Adam (Kingma & Ba 2015): m ← β1m + (1−β1)g; s ← β2s + (1−β2)g²; m̂ = m/(1−β1ᵗ);
// ŝ = s/(1−β2ᵗ) (AMSGrad: of the running max of s); θ ← θ − η·m̂/(√ŝ + ε) (ε outside the root,
// as Keras and PyTorch; with epsilon_inside_root, θ ← θ − η·m̂/√(ŝ + ε)).
// AdamW (Loshchilov & Hutter 2019) first applies θ ← θ − ηλθ.
template <class T>
void adam(const OptimizerConfig& c, const StepScalars& s, T* th, const T* g, T* mp, T* sp,
          T* vmax, Index n) {
  ArrayMap<T> theta(th, n), m(mp, n), sq(sp, n);
  ConstArrayMap<T> grad(g, n);
  const T b1 = T(c.beta_1), b2 = T(c.beta_2), lr = T(s.lr), eps = T(c.epsilon);
  if (c.kind == OptimizerKind::adamw && c.weight_decay != 0.0) theta *= T(1) - lr * T(c.weight_decay);
  m = b1 * m + (T(1) - b1) * grad;
  sq = b2 * sq + (T(1) - b2) * grad.square();
  const T inv_b1 = T(1 / s.bias1), inv_b2 = T(1 / s.bias2);
  if (vmax) {
    ArrayMap<T> vm(vmax, n);
    vm = vm.max(sq);
  }
  const ArrayMap<T> second(vmax ? vmax : sp, n);  // ŝ's numerator: s, or its running max
  if (c.epsilon_inside_root)
    theta -= lr * (m * inv_b1) / (second * inv_b2 + eps).sqrt();
  else
    theta -= lr * (m * inv_b1) / ((second * inv_b2).sqrt() + eps);
}

// Adamax (Kingma & Ba 2015, §7): m as Adam; u ← max(β2u, |g|); θ ← θ − η/(1−β1ᵗ)·m/(u + ε).
template <class T>
void adamax(const OptimizerConfig& c, const StepScalars& s, T* th, const T* g, T* mp, T* up,
            Index n) {
  ArrayMap<T> theta(th, n), m(mp, n), u(up, n);
  ConstArrayMap<T> grad(g, n);
  const T b1 = T(c.beta_1);
  m = b1 * m + (T(1) - b1) * grad;
  u = (T(c.beta_2) * u).max(grad.abs());
  theta -= T(s.lr / s.bias1) * m / (u + T(c.epsilon));
}

// Nadam (Dozat 2016), as PyTorch NAdam and tf.keras 2: μ_t = β1(1 − ½·0.96^(ψt));
// m̂ = μ_{t+1}·m/(1−Π_{i≤t+1}μ_i) + (1−μ_t)·g/(1−Π_{i≤t}μ_i); ŝ = s/(1−β2ᵗ);
// θ ← θ − η·m̂/(√ŝ + ε) (with epsilon_inside_root, θ ← θ − η·m̂/√(ŝ + ε)).
template <class T>
void nadam(const OptimizerConfig& c, const StepScalars& s, T* th, const T* g, T* mp, T* sp,
           Index n) {
  ArrayMap<T> theta(th, n), m(mp, n), sq(sp, n);
  ConstArrayMap<T> grad(g, n);
  const T b1 = T(c.beta_1), b2 = T(c.beta_2);
  m = b1 * m + (T(1) - b1) * grad;
  sq = b2 * sq + (T(1) - b2) * grad.square();
  const T cm = T(s.mu_next / (1 - s.mu_prod_next));
  const T cg = T((1 - s.mu_t) / (1 - s.mu_prod));
  if (c.epsilon_inside_root)
    theta -= T(s.lr) * (cm * m + cg * grad) / (sq * T(1 / s.bias2) + T(c.epsilon)).sqrt();
  else
    theta -= T(s.lr) * (cm * m + cg * grad) / ((sq * T(1 / s.bias2)).sqrt() + T(c.epsilon));
}

// The rule c.kind names, over n elements of one tensor. slot0..slot2 are the tensor's slots in
// slot_names(c) order, null where the rule does not keep or (momentum 0) does not use one. The
// entry the ISA paths instantiate (kernels/elementwise.hpp); Optimizer calls it through them.
template <class T>
void apply_rule(const OptimizerConfig& c, const StepScalars& s, T* th, const T* g, T* slot0,
                T* slot1, T* slot2, Index n) {
  switch (c.kind) {
    case OptimizerKind::sgd: sgd(c, s, th, g, slot0, n); break;
    case OptimizerKind::adagrad: adagrad(c, s, th, g, slot0, n); break;
    case OptimizerKind::rmsprop: rmsprop(c, s, th, g, slot0, slot1, slot2, n); break;
    case OptimizerKind::adam:
    case OptimizerKind::adamw: adam(c, s, th, g, slot0, slot1, slot2, n); break;
    case OptimizerKind::adamax: adamax(c, s, th, g, slot0, slot1, n); break;
    case OptimizerKind::nadam: nadam(c, s, th, g, slot0, slot1, n); break;
  }
}

}  // namespace update

// One parameter tensor as the optimizer sees it.
template <class T>
struct ParamSlot {
  T* value;
  T* grad;
  Index size;
  const bool* trainable;  // the owning layer's flag, read at every step
};

// Elements per tile of an update: rules written as several Eigen statements then move θ, g and
// the slots through memory once per step, not once per statement. A multiple of kAlignElements,
// so every tile starts 64-byte aligned (determinism).
constexpr Index kUpdateTile = 2048;

template <class T>
class Optimizer {
 public:
  explicit Optimizer(const OptimizerConfig& config) : config_(config) { check_config(config); }

  // Read-only: hyperparameters change through set_config / set_learning_rate / set_momentum,
  // which check them first.
  const OptimizerConfig& config() const { return config_; }
  void set_config(const OptimizerConfig& c) {
    check_config(c);
    config_ = c;
  }
  void set_learning_rate(double v, const char* where = "optimizer") {
    check_learning_rate(v, where);
    config_.learning_rate = v;
  }
  // Momentum as schedules see it: SGD's and RMSprop's β, the Adam family's β1.
  void set_momentum(double v, const char* where = "optimizer") {
    check_momentum(v, momentum_name(), where);
    (plain_momentum() ? config_.momentum : config_.beta_1) = v;
  }
  const char* momentum_name() const { return plain_momentum() ? "momentum" : "beta_1"; }

  // Lays the slot arena out for `params` (sizes fixed from then on) and resets the state.
  void bind(const std::vector<ParamSlot<T>>& params) {
    params_ = params;
    offsets_.clear();
    Index total = 0;
    for (const auto& p : params_) {
      offsets_.push_back(total);
      total += padded<T>(p.size);  // each tensor's slots start 64-byte aligned
    }
    total_ = total;
    reset();
  }

  void reset() {
    // The slot layout is fixed here (slot_names); kind, amsgrad and centered cannot change later.
    nslots_ = slots_for(config_);
    slots_.assign(std::size_t(total_ * nslots_), T(0));
    if (config_.kind == OptimizerKind::adagrad)
      std::fill(slots_.begin(), slots_.end(), T(config_.initial_accumulator_value));
    iterations_ = 0;
    mu_product_ = 1.0;
  }

  std::int64_t iterations() const { return iterations_; }
  void set_iterations(std::int64_t t) {
    if (t < 0 || t > kMaxIterations)
      throw std::invalid_argument("optimizer: iterations must be an integer in [0, 2**53], got " +
                                  std::to_string(t));
    iterations_ = t;
  }
  double mu_product() const { return mu_product_; }
  void set_mu_product(double v) { mu_product_ = v; }
  int nslots() const { return nslots_; }
  std::vector<std::string> slot_names() const { return densekit::slot_names(config_); }
  const std::vector<Index>& offsets() const { return offsets_; }
  Index total_size() const { return total_; }
  T* slots() { return slots_.data(); }
  // Slot k of parameter i.
  T* slot(std::size_t i, int k) { return slots_.data() + std::size_t(k) * total_ + offsets_[i]; }

  // Clips the gradients in place (clipvalue, clipnorm per tensor, or global_clipnorm), then
  // applies one update to every trainable parameter. Advances the step counter once. `tile`
  // exists for the test that tiled and untiled passes agree bit for bit.
  void step(Index tile = kUpdateTile) {
    if (iterations_ >= kMaxIterations)
      throw std::overflow_error("optimizer: the step counter reached 2**53; reset the optimizer");
    clip_gradients();
    ++iterations_;
    StepScalars s = scalars();
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const auto& p = params_[i];
      if (!*p.trainable) continue;
      // Split large tensors between threads: every rule is element-wise. Split points are
      // aligned so each thread's range starts on a 64-byte boundary.
      parallel_range(p.size, kAlignElements<T>, [&](Index b, Index e) {
        for (Index k = b; k < e; k += std::min(tile, e - k)) apply(i, s, k, std::min(tile, e - k));
      });
    }
    mu_product_ = s.mu_prod;
  }

 private:
  StepScalars scalars() const {
    const double t = double(iterations_);
    StepScalars s{};
    s.lr = config_.learning_rate;
    s.bias1 = 1.0 - std::pow(config_.beta_1, t);
    s.bias2 = 1.0 - std::pow(config_.beta_2, t);
    const double psi = config_.momentum_decay;
    s.mu_t = config_.beta_1 * (1.0 - 0.5 * std::pow(0.96, t * psi));
    s.mu_next = config_.beta_1 * (1.0 - 0.5 * std::pow(0.96, (t + 1.0) * psi));
    s.mu_prod = mu_product_ * s.mu_t;
    s.mu_prod_next = s.mu_prod * s.mu_next;
    return s;
  }

  // Tile [off, off+n) of parameter i, through the active ISA path's copy of update::apply_rule.
  void apply(std::size_t i, const StepScalars& s, Index off, Index n) {
    const auto& p = params_[i];
    T* slot[3] = {nullptr, nullptr, nullptr};  // in slot_names() order; rows past nslots_ stay null
    for (int k = 0; k < nslots_ && k < 3; ++k) slot[k] = this->slot(i, k) + off;
    if (config_.momentum == 0.0) {  // the momentum slot is kept but neither read nor written
      if (config_.kind == OptimizerKind::sgd) slot[0] = nullptr;
      if (config_.kind == OptimizerKind::rmsprop) slot[1] = nullptr;
    }
    kernels::elementwise<T>().optimizer_update(config_, s, p.value + off, p.grad + off, slot[0],
                                               slot[1], slot[2], n);
  }

  bool plain_momentum() const {
    return config_.kind == OptimizerKind::sgd || config_.kind == OptimizerKind::rmsprop;
  }

  void clip_gradients() {
    const auto& c = config_;
    if (c.clipvalue > 0.0) {
      for (auto& p : params_)
        if (*p.trainable) ArrayMap<T>(p.grad, p.size) = ArrayMap<T>(p.grad, p.size).cwiseMax(T(-c.clipvalue)).cwiseMin(T(c.clipvalue));
    } else if (c.clipnorm > 0.0) {
      for (auto& p : params_) {
        if (!*p.trainable) continue;
        ArrayMap<T> g(p.grad, p.size);
        const double norm = std::sqrt(double(g.square().sum()));
        if (norm > c.clipnorm) g *= T(c.clipnorm / norm);
      }
    } else if (c.global_clipnorm > 0.0) {
      double sq = 0.0;
      for (auto& p : params_)
        if (*p.trainable) sq += double(ArrayMap<T>(p.grad, p.size).square().sum());
      const double norm = std::sqrt(sq);
      if (norm > c.global_clipnorm)
        for (auto& p : params_)
          if (*p.trainable) ArrayMap<T>(p.grad, p.size) *= T(c.global_clipnorm / norm);
    }
  }

  OptimizerConfig config_;
  std::vector<ParamSlot<T>> params_;
  std::vector<Index> offsets_;
  AlignedVector<T> slots_;
  Index total_ = 0;
  int nslots_ = 0;
  std::int64_t iterations_ = 0;
  double mu_product_ = 1.0;
};

}  // namespace densekit
