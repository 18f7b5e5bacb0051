// Storage types shared by every kernel.
//
// Storage order is decided once, here: row-major with the batch on rows, exactly like a
// C-contiguous NumPy array, so Python buffers map onto these types without a copy.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
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

// a·b for sizes (element counts), refusing what does not fit an Index: a shape whose size
// overflows is a clear error, never a wrapped-around small allocation.
inline Index checked_product(Index a, Index b, const char* what) {
  Index r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
    throw std::length_error(std::string(what) + ": " + std::to_string(a) + " x " + std::to_string(b) +
                            " elements do not fit a 64-bit size");
  return r;
}

// A growable buffer that never shrinks: workspaces are sized for the largest batch seen, so
// steady-state training allocates nothing. Growth is strongly exception-safe: the new block is
// allocated before the old one is freed, so when it throws (std::bad_alloc, Python's
// MemoryError) the buffer still holds its old block and size, and the next call runs as before.
// 64-byte aligned (the vectorized loops' split points must not depend on where a block lands).
template <class T>
class Buffer {
 public:
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  Index size() const { return size_; }
  void reserve(Index n) {
    if (n <= size_) return;
    if (n > Index(PTRDIFF_MAX / Index(sizeof(T))) - 64) throw std::bad_alloc();
    const std::size_t bytes = (std::size_t(n) * sizeof(T) + 63) / 64 * 64;
    void* fresh = std::aligned_alloc(64, bytes);
    if (!fresh) throw std::bad_alloc();
    data_.reset(static_cast<T*>(fresh));  // frees the old block only now
    size_ = n;
  }
  MatrixMap<T> matrix(Index rows, Index cols) { return MatrixMap<T>(data(), rows, cols); }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  Index size_ = 0;
};

}  // namespace densekit
