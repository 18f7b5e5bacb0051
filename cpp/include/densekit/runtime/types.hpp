// Storage types shared by every kernel.
//
// Storage order is decided once, here: row-major with the batch on rows, exactly like a
// C-contiguous NumPy array, so Python buffers map onto these types without a copy.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <cstring>
#include <vector>

namespace densekit {

using Index = Eigen::Index;

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <class T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using RowVectorMap = Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>;
template <class T>
using ConstRowVectorMap = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;

// Storage for parameters, gradients and optimizer slots: 64-byte aligned, with every tensor's
// offset padded to a multiple of kAlignElements<T>. Eigen's vectorized loops treat unaligned head
// elements with scalar code (and scalar exp/log round differently), so alignment must not depend
// on where an allocation lands for a seed to give bit-identical results.
template <class T>
using AlignedVector = std::vector<T, Eigen::aligned_allocator<T>>;
template <class T>
constexpr Index kAlignElements = Index(64 / sizeof(T));
template <class T>
constexpr Index padded(Index n) {
  return (n + kAlignElements<T> - 1) / kAlignElements<T> * kAlignElements<T>;
}

// y (rows, cols) with rows ldy apart <- x (rows, cols) with rows ldx apart (nothing when the same).
template <class T>
void copy_rows(T* y, Index ldy, const T* x, Index ldx, Index rows, Index cols) {
  if (y == x && ldy == ldx) return;
  for (Index r = 0; r < rows; ++r) std::memcpy(y + r * ldy, x + r * ldx, std::size_t(cols) * sizeof(T));
}

// A growable buffer that never shrinks: workspaces are sized for the largest batch seen, so
// steady-state training allocates nothing.
template <class T>
class Buffer {
 public:
  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  Index size() const { return data_.size(); }
  void reserve(Index n) {
    if (n > data_.size()) data_.resize(n);
  }
  MatrixMap<T> matrix(Index rows, Index cols) { return MatrixMap<T>(data_.data(), rows, cols); }

 private:
  Eigen::Matrix<T, Eigen::Dynamic, 1> data_;
};

}  // namespace densekit
