// Runtime dispatch of the Highway matmul kernels (matmul-inl.h): compiled for
// every target Highway attains on x86 (SSSE3, SSE4, AVX2, AVX3, AVX3_DL) plus
// the portable fallback, and called through the best one this CPU supports.
#include "kernels/hwy/matmul.h"

// GCC 12 warns about the undefined upper lanes of its own cast intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// AVX3_DL (AVX-512 VNNI/VBMI) is opt-in in Highway 1.0; the Q8_0 int8 path needs it.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/hwy/matmul-inl.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/hwy/matmul-inl.h"

#if HWY_ONCE
namespace whale {

HWY_EXPORT(MatMulTarget);
HWY_EXPORT(TargetId);
HWY_EXPORT(Q8Int8Activations);

bool MatMulHwy(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool) {
  if (n <= 0 || w.rows <= 0) return true;
  return HWY_DYNAMIC_DISPATCH(MatMulTarget)(x, n, w, y, pool);
}

std::string MatMulHwyTarget() { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(TargetId)()); }

bool MatMulHwyQ8Int8Activations() { return HWY_DYNAMIC_DISPATCH(Q8Int8Activations)(); }

}  // namespace whale
#endif  // HWY_ONCE
