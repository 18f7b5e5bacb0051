// Counter-based random numbers: every draw is a pure function of (key, counter).
//
// That makes initialization, dropout masks and RReLU slopes bit-identical for a seed whatever
// the thread count, and lets backward passes regenerate a mask instead of storing it.
#pragma once

#include <cmath>
#include <cstdint>

namespace densekit {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A 64-bit hash of (key, i); statistically strong enough for ML randomness (splitmix64 passes
// BigCrush) and cheap enough to call per element.
inline std::uint64_t hash64(std::uint64_t key, std::uint64_t i) {
  return splitmix64(key ^ splitmix64(i + 0x632BE59BD9B4E019ULL));
}

// Derives an independent key for a sub-stream (e.g. one layer, one step).
inline std::uint64_t derive_key(std::uint64_t key, std::uint64_t stream) {
  return splitmix64(key + 0xD1B54A32D192ED03ULL * (stream + 1));
}

// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::uint64_t bits) { return double(bits >> 11) * 0x1.0p-53; }

// Uniform in [0, 1) with 24 random bits: enough for masks, exact in float.
inline float uniform01f(std::uint64_t bits) { return float(bits >> 40) * 0x1.0p-24f; }

// A sequential stream over the counter space, for initializers.
class Rng {
 public:
  explicit Rng(std::uint64_t key) : key_(key) {}
  std::uint64_t next() { return hash64(key_, counter_++); }
  double uniform() { return uniform01(next()); }
  // Box-Muller; both values of a pair are used.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 6.283185307179586 * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  std::uint64_t key_;
  std::uint64_t counter_ = 0;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace densekit
