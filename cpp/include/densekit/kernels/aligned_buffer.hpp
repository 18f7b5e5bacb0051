// The storage of packed weights (int8, float16, sparse): one grow-only, 64-byte-aligned block
// that owns its memory. Moving leaves the source empty; packing again into a block large enough
// allocates nothing.
#pragma once

#include <cstddef>

namespace densekit {
namespace kernels {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // At least `bytes` bytes; the old contents are not kept when it grows (throws std::bad_alloc).
  char* reserve(std::size_t bytes);
  char* data() const { return data_; }

 private:
  char* data_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace kernels
}  // namespace densekit
