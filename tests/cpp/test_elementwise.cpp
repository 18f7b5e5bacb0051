// The element-wise kernels of every ISA path this CPU can run (kernels/elementwise.hpp).
//
// - Each path's activations (forward and backward, every kind), batch normalization's training
//   passes and every optimizer rule agree with the portable path's to within a few units in the
//   last place (the paths differ only in vector width and fused multiply-adds; the math is one
//   header), float and double, on sizes that leave vector tails.
// - activation_rows computes each row as activation_forward computes that row alone, bit for bit,
//   and a row's result does not depend on how many rows are around it when rows start on
//   64-byte boundaries (the inference buffers' layout).
// - first_non_finite finds the first NaN or ±Inf (quiet or signalling NaN, any payload, either
//   sign) at every position of blocks and vector tails, and takes the largest finite values,
//   subnormals and −0 for finite, on every path.
#include <cmath>
#include <limits>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "densekit/kernels/activations.hpp"
#include "densekit/kernels/elementwise.hpp"
#include "densekit/kinds.hpp"
#include "densekit/optim/optimizers.hpp"

using namespace densekit;
namespace dk = densekit::kernels;

namespace {

template <class T>
AlignedVector<T> random_values(std::size_t n, std::mt19937_64& rng, double lo = -4, double hi = 4) {
  std::uniform_real_distribution<double> u(lo, hi);
  AlignedVector<T> v(n);
  for (auto& x : v) x = T(u(rng));
  return v;
}

// max |a−b| / max |b| over the arrays (normwise: an element near a cancellation, like tanh's
// 1 − a² near a = ±1, may differ relatively more, never by more than a few ulps of the largest).
template <class T>
double normwise_error(const T* a, const T* b, std::size_t n) {
  double err = 0, scale = 1e-300;
  for (std::size_t i = 0; i < n; ++i) {
    err = std::max(err, std::fabs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::fabs(double(b[i])));
  }
  return err / scale;
}

template <class T>
double tolerance() {
  return sizeof(T) == 4 ? 2e-6 : 1e-14;
}

std::vector<dk::Isa> paths() {
  std::vector<dk::Isa> out;
  for (int i = 0; i < dk::kIsaCount; ++i)
    if (dk::isa_supported(dk::Isa(i))) out.push_back(dk::Isa(i));
  return out;
}

template <class T>
std::string label(dk::Isa isa, const std::string& what) {
  return std::string(dk::isa_name(isa)) + " " + what + (sizeof(T) == 4 ? " (float)" : " (double)");
}

template <class T>
void check_activations(std::mt19937_64& rng) {
  const dk::ElementwiseKernels<T>& ref = dk::elementwise<T>(dk::Isa::portable);
  const Index rows = 7, cols = 45, n = rows * cols;  // 45: tails for every vector width
  const std::size_t N = std::size_t(n), C = std::size_t(cols);
  const auto z = random_values<T>(std::size_t(n), rng), g = random_values<T>(std::size_t(n), rng);
  const auto alpha = random_values<T>(std::size_t(cols), rng, 0.05, 0.5);
  for (ActivationKind kind : {ActivationKind::linear, ActivationKind::relu, ActivationKind::leaky_relu,
                              ActivationKind::rrelu, ActivationKind::prelu, ActivationKind::elu,
                              ActivationKind::selu, ActivationKind::tanh, ActivationKind::sigmoid,
                              ActivationKind::softmax, ActivationKind::gelu, ActivationKind::swish,
                              ActivationKind::softplus}) {
    const ActivationSpec spec{kind, kind == ActivationKind::elu ? 1.0 : 0.2, 0.125, 1.0 / 3.0};
    const std::string name(name_of(kind));
    for (bool training : {false, true}) {
      AlignedVector<T> a0(N), g0 = g, da0(C);
      ref.activation_forward(a0.data(), z.data(), alpha.data(), rows, cols, spec, training, 99, 0);
      ref.activation_backward(g0.data(), da0.data(), z.data(), a0.data(), alpha.data(), rows, cols, spec, 99, 0);
      for (dk::Isa isa : paths()) {
        const auto& k = dk::elementwise<T>(isa);
        AlignedVector<T> a(N), gi = g, da(C);
        k.activation_forward(a.data(), z.data(), alpha.data(), rows, cols, spec, training, 99, 0);
        k.activation_backward(gi.data(), da.data(), z.data(), a.data(), alpha.data(), rows, cols, spec, 99, 0);
        CHECK(normwise_error(a.data(), a0.data(), a.size()) <= tolerance<T>(),
              label<T>(isa, name + " forward"), " differs from portable");
        CHECK(normwise_error(gi.data(), g0.data(), gi.size()) <= 4 * tolerance<T>(),
              label<T>(isa, name + " backward"), " differs from portable");
        if (kind == ActivationKind::prelu)
          CHECK(normwise_error(da.data(), da0.data(), da.size()) <= 16 * tolerance<T>(),
                label<T>(isa, "prelu dalpha"), " differs from portable");
      }
    }
    if (kind == ActivationKind::rrelu) continue;  // training-only randomness aside, rows below
    // activation_rows: rows 64 bytes apart (padded), each as activation_forward on it alone, and
    // independent of the number of rows.
    const Index ld = padded<T>(cols);
    const std::size_t LD = std::size_t(ld);
    AlignedVector<T> zin(std::size_t(rows) * LD, T(0));
    for (Index r = 0; r < rows; ++r) std::memcpy(zin.data() + r * ld, z.data() + r * cols, std::size_t(cols) * sizeof(T));
    for (dk::Isa isa : paths()) {
      const auto& k = dk::elementwise<T>(isa);
      AlignedVector<T> all(std::size_t(rows) * LD), one(LD);
      k.activation_rows(all.data(), ld, zin.data(), ld, alpha.data(), rows, cols, spec);
      bool same = true;
      for (Index r = 0; r < rows; ++r) {
        k.activation_rows(one.data(), ld, zin.data() + r * ld, ld, alpha.data(), 1, cols, spec);
        same = same && std::memcmp(one.data(), all.data() + r * ld, std::size_t(cols) * sizeof(T)) == 0;
        k.activation_forward(one.data(), zin.data() + r * ld, alpha.data(), 1, cols, spec, false, 0, 0);
        same = same && std::memcmp(one.data(), all.data() + r * ld, std::size_t(cols) * sizeof(T)) == 0;
      }
      CHECK(same, label<T>(isa, name + " activation_rows"), ": a row depends on the rows around it");
      // In place (a == z), as inference runs it.
      AlignedVector<T> inplace = zin;
      k.activation_rows(inplace.data(), ld, inplace.data(), ld, alpha.data(), rows, cols, spec);
      bool same_in_place = true;
      for (Index r = 0; r < rows; ++r)
        same_in_place = same_in_place &&
                        std::memcmp(inplace.data() + r * ld, all.data() + r * ld, std::size_t(cols) * sizeof(T)) == 0;
      CHECK(same_in_place, label<T>(isa, name + " activation_rows"), ": in place differs");
    }
  }
}

template <class T>
void check_batchnorm(std::mt19937_64& rng) {
  const Index B = 13, D = 37, n = B * D;
  const auto x = random_values<T>(std::size_t(n), rng), dy = random_values<T>(std::size_t(n), rng);
  const auto gamma = random_values<T>(std::size_t(D), rng, 0.5, 1.5), beta = random_values<T>(std::size_t(D), rng);
  struct Out {
    AlignedVector<T> y, xhat, mean, inv_std, mm, mv, dx, dgamma, dbeta, s1, s2, s3;
  };
  auto run = [&](dk::Isa isa) {
    Out o;
    for (auto* v : {&o.y, &o.xhat, &o.dx}) v->assign(std::size_t(n), T(0));
    for (auto* v : {&o.mean, &o.inv_std, &o.dgamma, &o.dbeta, &o.s1, &o.s2, &o.s3}) v->assign(std::size_t(D), T(0));
    o.mm.assign(std::size_t(D), T(0.1));
    o.mv.assign(std::size_t(D), T(1.2));
    const auto& k = dk::elementwise<T>(isa);
    k.batchnorm_forward_train(o.y.data(), o.xhat.data(), o.mean.data(), o.inv_std.data(), o.mm.data(), o.mv.data(),
                              x.data(), gamma.data(), beta.data(), B, D, 0.9, 1e-3);
    k.batchnorm_backward_train(o.dx.data(), o.dgamma.data(), o.dbeta.data(), o.s1.data(), o.s2.data(), o.s3.data(),
                               dy.data(), o.xhat.data(), o.inv_std.data(), gamma.data(), B, D);
    return o;
  };
  const Out ref = run(dk::Isa::portable);
  for (dk::Isa isa : paths()) {
    const Out o = run(isa);
    const double tol = 64 * tolerance<T>();  // sums over the batch: a few roundings each
    CHECK(normwise_error(o.y.data(), ref.y.data(), o.y.size()) <= tol, label<T>(isa, "batchnorm y"));
    CHECK(normwise_error(o.mm.data(), ref.mm.data(), o.mm.size()) <= tol, label<T>(isa, "moving mean"));
    CHECK(normwise_error(o.mv.data(), ref.mv.data(), o.mv.size()) <= tol, label<T>(isa, "moving var"));
    CHECK(normwise_error(o.dx.data(), ref.dx.data(), o.dx.size()) <= tol, label<T>(isa, "batchnorm dx"));
    CHECK(normwise_error(o.dgamma.data(), ref.dgamma.data(), o.dgamma.size()) <= tol,
          label<T>(isa, "batchnorm dgamma"));
  }
}

template <class T>
void check_optimizers(std::mt19937_64& rng) {
  const Index n = 1037;
  for (OptimizerKind kind : {OptimizerKind::sgd, OptimizerKind::adagrad, OptimizerKind::rmsprop,
                             OptimizerKind::adam, OptimizerKind::adamw, OptimizerKind::adamax,
                             OptimizerKind::nadam}) {
    OptimizerConfig c;
    c.kind = kind;
    c.learning_rate = 1e-2;
    c.momentum = 0.9;
    c.nesterov = true;
    c.centered = true;
    c.amsgrad = true;
    c.weight_decay = 0.01;
    StepScalars s{};
    s.lr = c.learning_rate;
    s.bias1 = 1 - std::pow(c.beta_1, 3.0);
    s.bias2 = 1 - std::pow(c.beta_2, 3.0);
    s.mu_t = 0.9, s.mu_next = 0.905, s.mu_prod = 0.7, s.mu_prod_next = 0.63;
    const auto theta = random_values<T>(std::size_t(n), rng), grad = random_values<T>(std::size_t(n), rng);
    // Moments as training leaves them: second moments positive, RMSprop's mean gradient below
    // its root mean square (so s − ḡ² > 0).
    auto slots = random_values<T>(std::size_t(3 * n), rng, 0.5, 1.0);
    for (Index i = 2 * n; i < 3 * n; ++i) slots[std::size_t(i)] *= T(0.1);
    auto run = [&](dk::Isa isa) {
      AlignedVector<T> th = theta, sl = slots;
      dk::elementwise<T>(isa).optimizer_update(c, s, th.data(), grad.data(), sl.data(), sl.data() + n,
                                               sl.data() + 2 * n, n);
      th.insert(th.end(), sl.begin(), sl.end());
      return th;
    };
    const auto ref = run(dk::Isa::portable);
    for (dk::Isa isa : paths()) {
      const auto got = run(isa);
      CHECK(normwise_error(got.data(), ref.data(), got.size()) <= 4 * tolerance<T>(),
            label<T>(isa, std::string(name_of(kind)) + " update"), " differs from portable");
    }
  }
}

}  // namespace

template <class T>
void check_first_non_finite(std::mt19937_64& rng) {
  using L = std::numeric_limits<T>;
  const T bad[] = {L::quiet_NaN(), -L::quiet_NaN(), L::signaling_NaN(), L::infinity(), -L::infinity()};
  const T edge[] = {L::max(), L::lowest(), L::denorm_min(), -L::denorm_min(), T(-0.0), L::min()};
  for (dk::Isa isa : paths()) {
    const auto& k = dk::elementwise<T>(isa);
    for (Index n : {Index(0), Index(1), Index(7), Index(15), Index(16), Index(17), Index(1023),
                    Index(1024), Index(1025), Index(3000)}) {
      AlignedVector<T> v = random_values<T>(std::size_t(n), rng, -1e30, 1e30);
      for (Index i = 0; i < n; i += 97) v[std::size_t(i)] = edge[std::size_t(i) % 6];
      CHECK(k.first_non_finite(v.data(), n) == n, label<T>(isa, "all finite, n = "), n);
      for (Index at : {Index(0), n / 2, n - 1, Index(1023), Index(1024)}) {
        if (at < 0 || at >= n) continue;
        for (T b : bad) {
          AlignedVector<T> w = v;
          w[std::size_t(at)] = b;
          if (at + 5 < n) w[std::size_t(at + 5)] = L::infinity();  // a later one is not reported
          CHECK(k.first_non_finite(w.data(), n) == at, label<T>(isa, "first bad value at "), at,
                " of ", n);
        }
      }
    }
  }
}

int main() {
  std::mt19937_64 rng(11);
  for (dk::Isa isa : paths()) std::printf("path %s runs here\n", dk::isa_name(isa));
  check_activations<float>(rng);
  check_activations<double>(rng);
  check_batchnorm<float>(rng);
  check_batchnorm<double>(rng);
  check_optimizers<float>(rng);
  check_optimizers<double>(rng);
  check_first_non_finite<float>(rng);
  check_first_non_finite<double>(rng);
  return densekit::test::finish("test_elementwise");
}
