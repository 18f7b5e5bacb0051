// The vocabulary of the core: every kind of activation, loss, accuracy, optimizer, constraint
// and initializer option, each with its name.
//
// One table per enum pairs every enumerator with the name Python, the model file and error
// messages use. The model-file loader parses names through these tables, and the bindings export
// the enums to Python from them (densekit._core.ActivationKind, ...), so no integer code is
// written anywhere else: adding a kind means adding it here, once. Header-only, no Eigen, nothing
// allocates.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace densekit {

enum class ActivationKind : int {
  linear = 0,
  relu,
  leaky_relu,
  rrelu,
  prelu,
  elu,
  selu,
  tanh,
  sigmoid,
  softmax,
  gelu,
  swish,
  softplus,
};

enum class LossKind : int {
  sparse_categorical_crossentropy = 0,
  categorical_crossentropy,
  binary_crossentropy,
  mse,
  mae,
  huber,
};

// Which accuracy a classification loss reports (none for regression losses).
enum class AccuracyKind : int { none = 0, sparse_categorical, categorical, binary };

enum class OptimizerKind : int { sgd = 0, adagrad, rmsprop, adam, adamax, nadam, adamw };

enum class ConstraintKind : int { none = 0, max_norm, non_neg, unit_norm };

// VarianceScaling's options: which fan sets the variance, and what it is drawn from.
enum class FanMode : int { fan_in = 0, fan_out, fan_avg };
enum class Distribution : int { truncated_normal = 0, normal, uniform };

template <class E>
struct Named {
  E value;
  std::string_view name;
};

// Names<E>::type is the enum's name as exported; Names<E>::entries lists every enumerator once,
// in value order; Names<E>::aliases (may be empty) are extra spellings the readers accept.
template <class E>
struct Names;

template <>
struct Names<ActivationKind> {
  using E = ActivationKind;
  static constexpr std::string_view type = "ActivationKind";
  static constexpr std::array<Named<E>, 13> entries{{
      {E::linear, "linear"},
      {E::relu, "relu"},
      {E::leaky_relu, "leaky_relu"},
      {E::rrelu, "rrelu"},
      {E::prelu, "prelu"},
      {E::elu, "elu"},
      {E::selu, "selu"},
      {E::tanh, "tanh"},
      {E::sigmoid, "sigmoid"},
      {E::softmax, "softmax"},
      {E::gelu, "gelu"},
      {E::swish, "swish"},
      {E::softplus, "softplus"},
  }};
  static constexpr std::array<Named<E>, 3> aliases{{
      {E::swish, "silu"},
      {E::sigmoid, "logistic"},
      {E::linear, "identity"},
  }};
};

template <>
struct Names<LossKind> {
  using E = LossKind;
  static constexpr std::string_view type = "LossKind";
  static constexpr std::array<Named<E>, 6> entries{{
      {E::sparse_categorical_crossentropy, "sparse_categorical_crossentropy"},
      {E::categorical_crossentropy, "categorical_crossentropy"},
      {E::binary_crossentropy, "binary_crossentropy"},
      {E::mse, "mse"},
      {E::mae, "mae"},
      {E::huber, "huber"},
  }};
  static constexpr std::array<Named<E>, 0> aliases{};
};

template <>
struct Names<AccuracyKind> {
  using E = AccuracyKind;
  static constexpr std::string_view type = "AccuracyKind";
  static constexpr std::array<Named<E>, 4> entries{{
      {E::none, "none"},
      {E::sparse_categorical, "sparse_categorical"},
      {E::categorical, "categorical"},
      {E::binary, "binary"},
  }};
  static constexpr std::array<Named<E>, 0> aliases{};
};

template <>
struct Names<OptimizerKind> {
  using E = OptimizerKind;
  static constexpr std::string_view type = "OptimizerKind";
  static constexpr std::array<Named<E>, 7> entries{{
      {E::sgd, "sgd"},
      {E::adagrad, "adagrad"},
      {E::rmsprop, "rmsprop"},
      {E::adam, "adam"},
      {E::adamax, "adamax"},
      {E::nadam, "nadam"},
      {E::adamw, "adamw"},
  }};
  static constexpr std::array<Named<E>, 0> aliases{};
};

template <>
struct Names<ConstraintKind> {
  using E = ConstraintKind;
  static constexpr std::string_view type = "ConstraintKind";
  static constexpr std::array<Named<E>, 4> entries{{
      {E::none, "none"},
      {E::max_norm, "max_norm"},
      {E::non_neg, "non_neg"},
      {E::unit_norm, "unit_norm"},
  }};
  static constexpr std::array<Named<E>, 0> aliases{};
};

template <>
struct Names<FanMode> {
  using E = FanMode;
  static constexpr std::string_view type = "FanMode";
  static constexpr std::array<Named<E>, 3> entries{{
      {E::fan_in, "fan_in"},
      {E::fan_out, "fan_out"},
      {E::fan_avg, "fan_avg"},
  }};
  static constexpr std::array<Named<E>, 0> aliases{};
};

template <>
struct Names<Distribution> {
  using E = Distribution;
  static constexpr std::string_view type = "Distribution";
  static constexpr std::array<Named<E>, 3> entries{{
      {E::truncated_normal, "truncated_normal"},
      {E::normal, "normal"},
      {E::uniform, "uniform"},
  }};
  static constexpr std::array<Named<E>, 1> aliases{{{E::normal, "untruncated_normal"}}};
};

// The canonical name of `value` ("" for a value outside the table).
template <class E>
constexpr std::string_view name_of(E value) {
  for (const auto& e : Names<E>::entries)
    if (e.value == value) return e.name;
  return {};
}

// The enumerator called `name` (canonical or alias), if any.
template <class E>
constexpr std::optional<E> from_name(std::string_view name) {
  for (const auto& e : Names<E>::entries)
    if (e.name == name) return e.value;
  for (const auto& e : Names<E>::aliases)
    if (e.name == name) return e.value;
  return std::nullopt;
}

namespace detail {
// Every table lists each enumerator once, in value order starting at 0: then the enum's integer
// values and the table positions agree, and Python sees the same values C++ uses.
template <class E>
constexpr bool table_is_dense() {
  const auto& t = Names<E>::entries;
  for (std::size_t i = 0; i < t.size(); ++i)
    if (static_cast<std::size_t>(t[i].value) != i || t[i].name.empty()) return false;
  return true;
}
static_assert(table_is_dense<ActivationKind>() && table_is_dense<LossKind>() &&
                  table_is_dense<AccuracyKind>() && table_is_dense<OptimizerKind>() &&
                  table_is_dense<ConstraintKind>() && table_is_dense<FanMode>() &&
                  table_is_dense<Distribution>(),
              "kinds.hpp: a name table is out of step with its enum");
static_assert(Names<ActivationKind>::entries.size() == std::size_t(ActivationKind::softplus) + 1 &&
                  Names<LossKind>::entries.size() == std::size_t(LossKind::huber) + 1 &&
                  Names<AccuracyKind>::entries.size() == std::size_t(AccuracyKind::binary) + 1 &&
                  Names<OptimizerKind>::entries.size() == std::size_t(OptimizerKind::adamw) + 1 &&
                  Names<ConstraintKind>::entries.size() == std::size_t(ConstraintKind::unit_norm) + 1 &&
                  Names<FanMode>::entries.size() == std::size_t(FanMode::fan_avg) + 1 &&
                  Names<Distribution>::entries.size() == std::size_t(Distribution::uniform) + 1,
              "kinds.hpp: a name table misses an enumerator");
}  // namespace detail

}  // namespace densekit
