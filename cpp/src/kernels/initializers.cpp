// Weight initializers; see initializers.hpp.
#include "densekit/kernels/initializers.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "densekit/runtime/rng.hpp"

namespace densekit {

template <class T>
void variance_scaling(T* w, Index fan_in, Index fan_out, double scale, FanMode mode,
                      Distribution dist, std::uint64_t seed) {
  if (scale <= 0.0) throw std::invalid_argument("VarianceScaling scale must be positive");
  double n = 0.0;
  switch (mode) {
    case FanMode::fan_in: n = double(fan_in); break;
    case FanMode::fan_out: n = double(fan_out); break;
    case FanMode::fan_avg: n = (double(fan_in) + double(fan_out)) / 2.0; break;
  }
  const double variance = scale / std::max(1.0, n);
  const Index count = fan_in * fan_out;
  Rng rng(seed);
  switch (dist) {
    case Distribution::truncated_normal: {
      const double stddev = std::sqrt(variance) / 0.87962566103423978;
      for (Index i = 0; i < count; ++i) {
        double v;
        do v = rng.normal();
        while (std::abs(v) > 2.0);
        w[i] = T(v * stddev);
      }
      break;
    }
    case Distribution::normal: {
      const double stddev = std::sqrt(variance);
      for (Index i = 0; i < count; ++i) w[i] = T(rng.normal() * stddev);
      break;
    }
    case Distribution::uniform: {
      const double limit = std::sqrt(3.0 * variance);
      for (Index i = 0; i < count; ++i) w[i] = T((2.0 * rng.uniform() - 1.0) * limit);
      break;
    }
  }
}

template <class T>
void orthogonal(T* w, Index rows, Index cols, double gain, std::uint64_t seed) {
  // As Keras: QR of a (max, min) normal matrix, signs fixed by diag(R), transposed if wide.
  const Index big = std::max(rows, cols), small = std::min(rows, cols);
  Eigen::MatrixXd a(big, small);
  Rng rng(seed);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = rng.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(big, small);
  const Eigen::MatrixXd r = qr.matrixQR().topRows(small).triangularView<Eigen::Upper>();
  for (Index j = 0; j < small; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;
  MatrixMap<T> out(w, rows, cols);
  if (rows >= cols)
    out = (gain * q).cast<T>();
  else
    out = (gain * q.transpose()).cast<T>();
}

template void variance_scaling<float>(float*, Index, Index, double, FanMode, Distribution,
                                      std::uint64_t);
template void variance_scaling<double>(double*, Index, Index, double, FanMode, Distribution,
                                       std::uint64_t);
template void orthogonal<float>(float*, Index, Index, double, std::uint64_t);
template void orthogonal<double>(double*, Index, Index, double, std::uint64_t);

}  // namespace densekit
