// What each int8 kernel path provides: one problem description and a table.
//
// Internal to the int8 kernel (qgemm_engine.cpp fills problems, splits them between threads and
// calls the table of the layer's path). Every qgemm_<path>.cpp includes this before its target
// pragma, so it holds plain data and declarations only: no inline functions, nothing that could
// be instantiated inside a target region (see qgemm_microkernel.inc).
#pragma once

#include <cstdint>

#include "densekit/kernels/qgemm.hpp"

namespace densekit {
namespace kernels {
namespace detail {

// Rows [0, m) of x and z, output panels [panel_begin, panel_end) of the packed weights.
struct QgemmProblem {
  Index m;
  const float* x;
  Index ldx;
  float* z;  // column 0 of the whole output (panel p writes columns 16p..)
  Index ldz;
  Index in, out;  // the layer's sizes
  Index panel_begin, panel_end;
  const std::int8_t* w;        // packed panels, panel p at w + p·groups·64
  Index groups;                // k4 groups per panel
  const std::int32_t* colsum;  // (panels·16)
  const float* scale;          // (panels·16)
  const float* bias;           // (panels·16)
  ActivationQuant act;
  bool relu;
  bool widened;  // AVX2: the exact widened kernel instead of vpmaddubsw
  // This thread's workspace: kQgemmChunkRows quantized rows of groups·4 bytes, then their
  // scales and zero points (qgemm_workspace_bytes()).
  void* workspace;
};

// Rows quantized (and their activations kept in L1) at a time.
constexpr Index kQgemmChunkRows = 64;
constexpr Index qgemm_workspace_bytes(Index groups) {
  return kQgemmChunkRows * (groups * 4 + Index(sizeof(float)) + Index(sizeof(std::int32_t))) + 64;
}

struct QgemmPath {
  int row_tile;  // rows per micro-tile of the large-batch kernel (part boundaries)
  void (*forward)(const QgemmProblem& problem);
  // quantize_activations() on this path.
  void (*quantize)(std::uint8_t* q, Index ldq, float* scale, std::int32_t* zero_point,
                   const float* x, Index ldx, Index B, Index IN, const ActivationQuant& act);
};

}  // namespace detail

// Each defined in its qgemm_<path>.cpp (all but portable only on x86-64), in the namespace
// densekit::kernels::<path> of the ISA-specific kernel files.
namespace portable {
extern const detail::QgemmPath qgemm_path;
}
namespace avx2 {
extern const detail::QgemmPath qgemm_path;
}
namespace avxvnni {
extern const detail::QgemmPath qgemm_path;
}
namespace avx512vnni {
extern const detail::QgemmPath qgemm_path;
}
}  // namespace kernels
}  // namespace densekit
