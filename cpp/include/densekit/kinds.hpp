// The vocabulary of the core: every kind of activation, loss, accuracy, optimizer, constraint
// and initializer option, each with its name.
//
// Each enum is generated with its name table from one list below (an X-macro), so the two
// cannot drift apart; the names are those Python, the model file and error messages use. The
// model-file loader parses names through these tables and the bindings export the enums to
// Python from them (densekit._core.ActivationKind, ...), so no integer code is written anywhere
// else: adding a kind means adding one word to its list. Header-only, no Eigen, no allocation.
#pragma once

#include <array>
#include <optional>
#include <string_view>

// Each list names the enumerators in value order (0, 1, 2, ...).
#define DENSEKIT_ACTIVATION_KINDS(X)                                                            \
  X(linear) X(relu) X(leaky_relu) X(rrelu) X(prelu) X(elu) X(selu) X(tanh) X(sigmoid) X(softmax) \
  X(gelu) X(swish) X(softplus) X(mish) X(hard_sigmoid) X(softsign) X(exponential) X(relu6)
#define DENSEKIT_LOSS_KINDS(X) \
  X(sparse_categorical_crossentropy) X(categorical_crossentropy) X(binary_crossentropy) X(mse) X(mae) X(huber)
// Which accuracy a classification loss reports (none for regression losses).
#define DENSEKIT_ACCURACY_KINDS(X) X(none) X(sparse_categorical) X(categorical) X(binary)
#define DENSEKIT_OPTIMIZER_KINDS(X) X(sgd) X(adagrad) X(rmsprop) X(adam) X(adamax) X(nadam) X(adamw)
#define DENSEKIT_CONSTRAINT_KINDS(X) X(none) X(max_norm) X(non_neg) X(unit_norm)
// VarianceScaling's options: which fan sets the variance, and what it is drawn from.
#define DENSEKIT_FAN_MODES(X) X(fan_in) X(fan_out) X(fan_avg)
#define DENSEKIT_DISTRIBUTIONS(X) X(truncated_normal) X(normal) X(uniform)

namespace densekit {

template <class E>
struct Named {
  E value;
  std::string_view name;
};

// Names<E>::type is the enum's name as exported; Names<E>::entries lists every enumerator once,
// in value order.
template <class E>
struct Names;

// Extra spellings the readers accept (Python accepts the same ones); none unless specialised.
template <class E>
struct Aliases {
  static constexpr std::array<Named<E>, 0> entries{};
};

#define DENSEKIT_ENUMERATOR(name) name,
#define DENSEKIT_NAMED(name) Named<E>{E::name, #name},
#define DENSEKIT_DEFINE_KIND(Enum, LIST)                         \
  enum class Enum : int { LIST(DENSEKIT_ENUMERATOR) };           \
  template <>                                                    \
  struct Names<Enum> {                                           \
    using E = Enum;                                              \
    static constexpr std::string_view type = #Enum;              \
    static constexpr Named<E> entries[] = {LIST(DENSEKIT_NAMED)}; \
  };

DENSEKIT_DEFINE_KIND(ActivationKind, DENSEKIT_ACTIVATION_KINDS)
DENSEKIT_DEFINE_KIND(LossKind, DENSEKIT_LOSS_KINDS)
DENSEKIT_DEFINE_KIND(AccuracyKind, DENSEKIT_ACCURACY_KINDS)
DENSEKIT_DEFINE_KIND(OptimizerKind, DENSEKIT_OPTIMIZER_KINDS)
DENSEKIT_DEFINE_KIND(ConstraintKind, DENSEKIT_CONSTRAINT_KINDS)
DENSEKIT_DEFINE_KIND(FanMode, DENSEKIT_FAN_MODES)
DENSEKIT_DEFINE_KIND(Distribution, DENSEKIT_DISTRIBUTIONS)

#undef DENSEKIT_DEFINE_KIND
#undef DENSEKIT_NAMED
#undef DENSEKIT_ENUMERATOR

template <>
struct Aliases<ActivationKind> {
  using E = ActivationKind;
  static constexpr std::array<Named<E>, 3> entries{
      {{E::swish, "silu"}, {E::sigmoid, "logistic"}, {E::linear, "identity"}}};
};

template <>
struct Aliases<Distribution> {
  static constexpr std::array<Named<Distribution>, 1> entries{{{Distribution::normal, "untruncated_normal"}}};
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
  for (const auto& e : Aliases<E>::entries)
    if (e.name == name) return e.value;
  return std::nullopt;
}

static_assert(name_of(ActivationKind::gelu) == "gelu" && from_name<LossKind>("mse") == LossKind::mse &&
                  from_name<ActivationKind>("silu") == ActivationKind::swish &&
                  !from_name<OptimizerKind>("sgdx"),
              "kinds.hpp: the name tables are generated wrongly");

}  // namespace densekit
