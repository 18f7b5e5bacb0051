// Weight initializers (Glorot & Bengio 2010; He et al. 2015; LeCun et al. 1998; Saxe et al. 2014).
//
// VarianceScaling covers the named families: σ² = scale / n with n = fan_in, fan_out or
// fan_avg = (fan_in + fan_out)/2. Draws come from the counter-based Rng, so a seed gives the
// same weights on every machine and thread count. Computed in double, stored as T.
#pragma once

#include <cstdint>

#include "densekit/kinds.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

// Truncated normal: a normal with stddev √σ²/0.87962566103423978, redrawn beyond ±2 stddev,
// so the result has variance σ². Normal: stddev √σ². Uniform: limit √(3σ²).
template <class T>
void variance_scaling(T* w, Index fan_in, Index fan_out, double scale, FanMode mode,
                      Distribution dist, std::uint64_t seed);

// A (rows, cols) matrix with orthonormal columns (or rows, whichever is fewer), times gain.
template <class T>
void orthogonal(T* w, Index rows, Index cols, double gain, std::uint64_t seed);

}  // namespace densekit
