// One ISA path's copy of the element-wise kernels (kernels/elementwise.hpp): the math headers
// instantiated for float and double into one table.
//
// cmake/kernels.cmake compiles this file once per path, with that path's instruction-set flags
// (none beyond the baseline for portable; AVX2+FMA; AVX-512) and DENSEKIT_KERNEL_PATH naming it,
// then links each object partially and makes every symbol local except the table
// densekit_elementwise_<path>. Eigen's and the math headers' inline functions, instantiated here
// with wider instructions than the baseline, therefore can never be what the linker picks for a
// baseline caller. Nothing but the table may be defined outside the anonymous namespace.
#include "densekit/kernels/activations.hpp"
#include "densekit/kernels/batchnorm.hpp"
#include "densekit/kernels/elementwise.hpp"
#include "densekit/kernels/finite.hpp"
#include "densekit/optim/optimizers.hpp"

#ifndef DENSEKIT_KERNEL_PATH
#error "DENSEKIT_KERNEL_PATH (portable, avx2 or avx512) must name the path this copy is built for"
#endif

#define DENSEKIT_CONCAT_(a, b) a##b
#define DENSEKIT_CONCAT(a, b) DENSEKIT_CONCAT_(a, b)
#define DENSEKIT_PATH_TABLE DENSEKIT_CONCAT(densekit_elementwise_, DENSEKIT_KERNEL_PATH)

namespace densekit {
namespace kernels {
namespace {

template <class T>
void activation_rows(T* a, Index lda, const T* z, Index ldz, const T* prelu_alpha, Index rows,
                     Index cols, const ActivationSpec& s) {
  for (Index r = 0; r < rows; ++r)
    densekit::activation_forward<T>(a + r * lda, z + r * ldz, prelu_alpha, 1, cols, s, false, 0);
}

template <class T>
constexpr ElementwiseKernels<T> kernels_of() {
  return {&densekit::activation_forward<T>,       &densekit::activation_backward<T>,
          &activation_rows<T>,                    &densekit::batchnorm_forward_train<T>,
          &densekit::batchnorm_backward_train<T>, &densekit::update::apply_rule<T>,
          &first_non_finite<T>};
}

}  // namespace
}  // namespace kernels
}  // namespace densekit

// C linkage: one plain name per path for the object's symbol filter (cmake/kernels.cmake).
extern "C" const densekit::kernels::ElementwisePath DENSEKIT_PATH_TABLE;
extern "C" const densekit::kernels::ElementwisePath DENSEKIT_PATH_TABLE = {
    densekit::kernels::kernels_of<float>(), densekit::kernels::kernels_of<double>()};
