// The product engine's front: argument mapping, partitioning between threads, packed weights,
// and the naive references. Baseline code only; the arithmetic lives in gemm_<isa>.cpp.
#include "densekit/kernels/gemm_engine.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "gemm_isa.hpp"
#include "kernel_support.hpp"

namespace densekit {
namespace kernels {

const detail::GemmPath& detail::gemm_path_for(Isa isa) {
  switch (isa) {
#if defined(__x86_64__) || defined(__i386__)
    case Isa::avx512: return avx512::gemm_path;
    case Isa::avx2: return avx2::gemm_path;
#endif
    default: return portable::gemm_path;
  }
}

namespace {

template <class T>
void (*path_kernel(const detail::GemmPath& path))(const detail::GemmProblem<T>&);
template <>
void (*path_kernel<float>(const detail::GemmPath& path))(const detail::GemmProblem<float>&) {
  return path.gemm_f32;
}
template <>
void (*path_kernel<double>(const detail::GemmPath& path))(const detail::GemmProblem<double>&) {
  return path.gemm_f64;
}

template <class T>
TileShape tile_of(const detail::GemmPath& path) {
  return sizeof(T) == 4 ? TileShape{path.mr_f32, path.nr_f32} : TileShape{path.mr_f64, path.nr_f64};
}

template <class T>
struct Split {
  const detail::GemmProblem<T>* problem;
  void (*kernel)(const detail::GemmProblem<T>&);
  Index workspace_bytes;  // per part
  char* workspaces;       // detail::part_workspaces: part p's is part_workspace(workspaces, p, bytes)
  bool by_columns;
  Index unit;  // part boundaries are multiples of this many rows/columns (a tile's)
};

// Part `part` of `parts`: a slice of the output rows or columns; its elements compute exactly
// what they would in the whole product (the inner dimension is never split).
template <class T>
void run_part(int part, int parts, void* ctx) {
  const Split<T>& s = *static_cast<const Split<T>*>(ctx);
  const detail::GemmProblem<T>& whole = *s.problem;
  const Index extent = s.by_columns ? whole.n : whole.m;
  const Index units = (extent + s.unit - 1) / s.unit;
  const Index begin = std::min(extent, units * part / parts * s.unit);
  const Index end = std::min(extent, units * (part + 1) / parts * s.unit);
  if (begin >= end) return;
  detail::GemmProblem<T> sub = whole;
  sub.workspace = static_cast<T*>(detail::part_workspace(s.workspaces, part, s.workspace_bytes));
  if (s.by_columns) {
    sub.n = end - begin;
    sub.c += begin;
    if (sub.bias) sub.bias += begin;
    if (whole.b_packed)
      sub.b += (begin / s.unit) * whole.k * s.unit;  // whole panels
    else if (whole.b_transposed)
      sub.b += begin * whole.ldb;
    else
      sub.b += begin;
  } else {
    sub.m = end - begin;
    sub.a += begin * whole.a_row;
    sub.c += begin * whole.ldc;
  }
  s.kernel(sub);
}

// Runs `problem` on `isa`'s path, in parts when it is large (parallel.hpp's policy: the part
// count depends on the shapes and max_parts only).
template <class T>
void run(const detail::GemmProblem<T>& problem, Isa isa, const Threading& threading) {
  if (problem.m <= 0 || problem.n <= 0) return;
  if (problem.k <= 0) {  // nothing to multiply: out = init
    for (Index i = 0; i < problem.m; ++i)
      for (Index j = 0; j < problem.n; ++j) {
        T& c = problem.c[i * problem.ldc + j];
        if (!problem.accumulate) c = T(0);
        if (problem.bias) c = c + problem.bias[j];
      }
    return;
  }
  const detail::GemmPath& path = detail::gemm_path_for(isa);
  const TileShape tile = tile_of<T>(path);
  Split<T> split{&problem, path_kernel<T>(path), path.workspace_bytes, nullptr,
                 problem.n >= problem.m,
                 problem.n >= problem.m ? Index(tile.cols) : Index(tile.rows)};
  const double flops = 2.0 * double(problem.m) * double(problem.n) * double(problem.k);
  const Index extent = split.by_columns ? problem.n : problem.m;
  int parts = 1;
  if (flops >= kParallelGemmFlops && threading.max_parts > 1) {
    const Index units = (extent + split.unit - 1) / split.unit;
    parts = int(std::max<Index>(1, std::min<Index>(threading.max_parts, std::min<Index>(units, extent / 16))));
  }
  split.workspaces = detail::part_workspaces(parts, split.workspace_bytes);
  if (parts <= 1 || threading.run == nullptr) {
    for (int p = 0; p < parts; ++p) run_part<T>(p, parts, &split);
    return;
  }
  threading.run(parts, &run_part<T>, &split);
}

template <class T>
void forward(T* z, Index ldz, const T* x, Index ldx, const T* w, Index ldw, const T* bias, Index B,
             Index IN, Index OUT, bool accumulate, const Threading& threading) {
  const detail::GemmProblem<T> pr{B, OUT, IN, x, ldx, 1, w, ldw, false, false, bias, z, ldz, accumulate, nullptr};
  run(pr, active_isa(), threading);
}

template <class T>
void weight_grad(T* dw, Index lddw, const T* x, Index ldx, const T* dz, Index lddz, Index B,
                 Index IN, Index OUT, bool accumulate, const Threading& threading) {
  // dw (IN,OUT) = xᵀ (IN,B)·dz (B,OUT): a(i,p) = x[p*ldx + i]
  const detail::GemmProblem<T> pr{IN, OUT, B, x, 1, ldx, dz, lddz, false, false, nullptr, dw, lddw, accumulate, nullptr};
  run(pr, active_isa(), threading);
}

template <class T>
void input_grad(T* dx, Index lddx, const T* dz, Index lddz, const T* w, Index ldw, Index B,
                Index IN, Index OUT, bool accumulate, const Threading& threading) {
  // dx (B,IN) = dz (B,OUT)·wᵀ (OUT,IN): b(p,j) = w[j*ldw + p]
  const detail::GemmProblem<T> pr{B, IN, OUT, dz, lddz, 1, w, ldw, true, false, nullptr, dx, lddx, accumulate, nullptr};
  run(pr, active_isa(), threading);
}

template <class T>
void packed(T* z, Index ldz, const T* x, Index ldx, const PackedWeights<T>& w, const T* bias, Index B,
            const Threading& threading) {
  const detail::GemmProblem<T> pr{B, w.out(), w.in(), x, ldx, 1, w.data(), w.panel_width(), false, true,
                                  bias, z, ldz, false, nullptr};
  run(pr, w.isa(), threading);
}

}  // namespace

void gemm_forward(float* z, Index ldz, const float* x, Index ldx, const float* w, Index ldw,
                  const float* bias, Index B, Index IN, Index OUT, bool accumulate, const Threading& t) {
  forward(z, ldz, x, ldx, w, ldw, bias, B, IN, OUT, accumulate, t);
}
void gemm_forward(double* z, Index ldz, const double* x, Index ldx, const double* w, Index ldw,
                  const double* bias, Index B, Index IN, Index OUT, bool accumulate, const Threading& t) {
  forward(z, ldz, x, ldx, w, ldw, bias, B, IN, OUT, accumulate, t);
}
void gemm_weight_grad(float* dw, Index lddw, const float* x, Index ldx, const float* dz, Index lddz,
                      Index B, Index IN, Index OUT, bool accumulate, const Threading& t) {
  weight_grad(dw, lddw, x, ldx, dz, lddz, B, IN, OUT, accumulate, t);
}
void gemm_weight_grad(double* dw, Index lddw, const double* x, Index ldx, const double* dz, Index lddz,
                      Index B, Index IN, Index OUT, bool accumulate, const Threading& t) {
  weight_grad(dw, lddw, x, ldx, dz, lddz, B, IN, OUT, accumulate, t);
}
void gemm_input_grad(float* dx, Index lddx, const float* dz, Index lddz, const float* w, Index ldw,
                     Index B, Index IN, Index OUT, bool accumulate, const Threading& t) {
  input_grad(dx, lddx, dz, lddz, w, ldw, B, IN, OUT, accumulate, t);
}
void gemm_input_grad(double* dx, Index lddx, const double* dz, Index lddz, const double* w, Index ldw,
                     Index B, Index IN, Index OUT, bool accumulate, const Threading& t) {
  input_grad(dx, lddx, dz, lddz, w, ldw, B, IN, OUT, accumulate, t);
}
void gemm_packed(float* z, Index ldz, const float* x, Index ldx, const PackedWeights<float>& w,
                 const float* bias, Index B, const Threading& t) {
  packed(z, ldz, x, ldx, w, bias, B, t);
}
void gemm_packed(double* z, Index ldz, const double* x, Index ldx, const PackedWeights<double>& w,
                 const double* bias, Index B, const Threading& t) {
  packed(z, ldz, x, ldx, w, bias, B, t);
}

// ---- PackedWeights ----

template <class T>
PackedWeights<T>::~PackedWeights() {
  std::free(data_);
}

template <class T>
PackedWeights<T>::PackedWeights(PackedWeights&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      in_(std::exchange(other.in_, 0)),
      out_(std::exchange(other.out_, 0)),
      nr_(std::exchange(other.nr_, 0)),
      bytes_(std::exchange(other.bytes_, 0)),
      isa_(other.isa_) {}

template <class T>
PackedWeights<T>& PackedWeights<T>::operator=(PackedWeights&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    in_ = std::exchange(other.in_, 0);
    out_ = std::exchange(other.out_, 0);
    nr_ = std::exchange(other.nr_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
    isa_ = other.isa_;
  }
  return *this;
}

template <class T>
void PackedWeights<T>::pack(const T* w, Index ldw, Index in, Index out) {
  pack(w, ldw, in, out, active_isa());
}

template <class T>
void PackedWeights<T>::pack(const T* w, Index ldw, Index in, Index out, Isa isa) {
  if (in < 0 || out < 0 || ldw < out)
    throw std::invalid_argument("PackedWeights::pack: need in >= 0, out >= 0 and ldw >= out");
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("PackedWeights::pack: this CPU cannot run the ") +
                                isa_name(isa) + " path");
  const Index nr = tile_of<T>(detail::gemm_path_for(isa)).cols;
  const Index panels = (out + nr - 1) / nr;
  // A last panel at most half full is stored half as wide (the kernels run half-width tiles
  // on it): less to read at batch 1, where the weights' bytes are the cost.
  const Index tail = out - (panels - 1) * nr;
  const Index last_width = panels > 0 && tail <= nr / 2 ? nr / 2 : nr;
  const std::size_t need = std::size_t(in) * std::size_t((panels > 0 ? panels - 1 : 0) * nr + (panels > 0 ? last_width : 0));
  if (need > capacity_) {
    const std::size_t bytes = (need * sizeof(T) + 63) / 64 * 64;
    T* fresh = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (!fresh) throw std::bad_alloc();
    std::free(data_);
    data_ = fresh;
    capacity_ = need;
  }
  in_ = in;
  out_ = out;
  nr_ = nr;
  isa_ = isa;
  for (Index q = 0; q < panels; ++q) {
    const Index j0 = q * nr, cols = std::min(nr, out - j0), width = q + 1 == panels ? last_width : nr;
    T* panel = data_ + std::size_t(q) * std::size_t(in * nr);
    for (Index p = 0; p < in; ++p) {
      std::memcpy(panel + p * width, w + p * ldw + j0, std::size_t(cols) * sizeof(T));
      std::fill(panel + p * width + cols, panel + (p + 1) * width, T(0));
    }
  }
  bytes_ = need * sizeof(T);
}

template <class T>
void PackedWeights<T>::clear() {
  in_ = out_ = 0;
  bytes_ = 0;
}

template class PackedWeights<float>;
template class PackedWeights<double>;

// ---- references: the contract's chain with a plain multiply and add ----

namespace {
// c (m,n): acc = (accumulate ? c : 0) [+ bias]; acc = acc + a(i,p)·b(p,j) for p = 0..k-1.
template <class T, class A, class B>
void chain_ref(T* c, Index ldc, Index m, Index n, Index k, A a, B b, const T* bias, bool accumulate) {
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) {
      T acc = accumulate ? c[i * ldc + j] : T(0);
      if (bias) acc = acc + bias[j];
      for (Index p = 0; p < k; ++p) acc = acc + a(i, p) * b(p, j);
      c[i * ldc + j] = acc;
    }
}
}  // namespace

template <class T>
void gemm_forward_ref(T* z, Index ldz, const T* x, Index ldx, const T* w, Index ldw, const T* bias,
                      Index B, Index IN, Index OUT, bool accumulate) {
  chain_ref(z, ldz, B, OUT, IN, [=](Index i, Index p) { return x[i * ldx + p]; },
            [=](Index p, Index j) { return w[p * ldw + j]; }, bias, accumulate);
}

template <class T>
void gemm_weight_grad_ref(T* dw, Index lddw, const T* x, Index ldx, const T* dz, Index lddz, Index B,
                          Index IN, Index OUT, bool accumulate) {
  chain_ref(dw, lddw, IN, OUT, B, [=](Index i, Index p) { return x[p * ldx + i]; },
            [=](Index p, Index j) { return dz[p * lddz + j]; }, static_cast<const T*>(nullptr), accumulate);
}

template <class T>
void gemm_input_grad_ref(T* dx, Index lddx, const T* dz, Index lddz, const T* w, Index ldw, Index B,
                         Index IN, Index OUT, bool accumulate) {
  chain_ref(dx, lddx, B, IN, OUT, [=](Index i, Index p) { return dz[i * lddz + p]; },
            [=](Index p, Index j) { return w[j * ldw + p]; }, static_cast<const T*>(nullptr), accumulate);
}

template <class T>
TileShape gemm_tile(Isa isa) {
  return tile_of<T>(detail::gemm_path_for(isa));
}

#define DENSEKIT_GEMM_REFS(T)                                                                     \
  template void gemm_forward_ref<T>(T*, Index, const T*, Index, const T*, Index, const T*, Index, \
                                    Index, Index, bool);                                          \
  template void gemm_weight_grad_ref<T>(T*, Index, const T*, Index, const T*, Index, Index, Index, \
                                        Index, bool);                                             \
  template void gemm_input_grad_ref<T>(T*, Index, const T*, Index, const T*, Index, Index, Index,  \
                                       Index, bool);                                              \
  template TileShape gemm_tile<T>(Isa);
DENSEKIT_GEMM_REFS(float)
DENSEKIT_GEMM_REFS(double)
#undef DENSEKIT_GEMM_REFS

}  // namespace kernels
}  // namespace densekit
