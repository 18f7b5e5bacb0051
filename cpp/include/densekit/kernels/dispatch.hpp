// Which instruction-set path the kernels take on this machine, decided once per process.
//
// One build carries every path (each compiled for its ISA inside its own translation unit, at
// the baseline x86-64-v2 otherwise); the first kernel call picks the best path the CPU and OS
// support (runtime/cpu_features.hpp). DENSEKIT_ISA=portable|avx2|avx512 in the environment
// narrows the choice for tests and benchmarks (an ISA the CPU lacks is refused with a message
// on stderr and the best supported one is used). This file chooses; it computes nothing.
#pragma once

namespace densekit {
namespace kernels {

// Ordered from the most portable up: a CPU able to run one path can run every path before it.
enum class Isa {
  portable = 0,  // baseline code (SSE4.2 on x86-64; the compiler's vectors elsewhere)
  avx2 = 1,      // AVX2 + FMA (x86-64-v3: Haswell, Zen 1-3 and later)
  avx512 = 2,    // AVX-512 F/BW/DQ/VL (x86-64-v4: Skylake-SP, Ice Lake, Sapphire Rapids, Zen 4/5)
};
constexpr int kIsaCount = 3;

const char* isa_name(Isa isa);
// Parses "portable", "avx2" or "avx512"; returns false (and leaves *out alone) otherwise.
bool parse_isa(const char* text, Isa* out);
// Whether this CPU (and OS) can run the path.
bool isa_supported(Isa isa);
// The best supported path.
Isa best_isa();
// The path every dispatched kernel takes now: best_isa(), or DENSEKIT_ISA's when supported.
Isa active_isa();
// Changes the active path for the whole process (tests and benchmarks); false, and no change,
// when the CPU cannot run it. Not for use while other threads call kernels.
bool set_active_isa(Isa isa);

}  // namespace kernels
}  // namespace densekit
