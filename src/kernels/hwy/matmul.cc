// Runtime dispatch of the Highway matmul kernels (matmul-inl.h): compiled for
// every target Highway attains on x86 (SSSE3, SSE4, AVX2, AVX3, AVX3_DL) plus
// the portable fallback, and called through the best one this CPU supports.
#include "kernels/hwy/matmul.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <vector>

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
HWY_EXPORT(SumFloatsTarget);
HWY_EXPORT(DotTarget);
HWY_EXPORT(AxpyTarget);

float DotHwy(const float* a, const float* b, int64_t n) { return HWY_DYNAMIC_DISPATCH(DotTarget)(a, b, n); }
void AxpyHwy(float a, const float* x, float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(AxpyTarget)(a, x, y, n); }

bool MatMulHwy(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool) {
  if (n <= 0 || w.rows <= 0) return true;
  return HWY_DYNAMIC_DISPATCH(MatMulTarget)(x, n, w, y, pool);
}

std::string MatMulHwyTarget() { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(TargetId)()); }

double SumFloatsHwy(const float* p, int64_t n) { return HWY_DYNAMIC_DISPATCH(SumFloatsTarget)(p, n); }

double MeasureReadBandwidth(ThreadPool* pool, int64_t bytes, int reps) {
  const int64_t n = bytes / 4;
  std::vector<float> buf(size_t(std::max<int64_t>(n, 1)));
  auto split = [&](const std::function<void(int64_t, int64_t)>& fn) {
    if (pool) pool->ParallelFor(n, fn);
    else fn(0, n);
  };
  split([&](int64_t b, int64_t e) { std::fill(buf.begin() + b, buf.begin() + e, 1.0f); });  // fault pages in
  std::vector<double> gbs;
  volatile double sink = 0;
  for (int i = 0; i <= std::max(reps, 1); ++i) {  // pass 0 warms up
    std::atomic<int64_t> sum_bits{0};
    const auto t0 = std::chrono::steady_clock::now();
    split([&](int64_t b, int64_t e) { sum_bits += int64_t(SumFloatsHwy(buf.data() + b, e - b)); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sink = sink + double(sum_bits.load());
    if (i > 0) gbs.push_back(double(n) * 4 / s / 1e9);
  }
  std::sort(gbs.begin(), gbs.end());
  return gbs[gbs.size() / 2];
}

bool MatMulHwyQ8Int8Activations() { return HWY_DYNAMIC_DISPATCH(Q8Int8Activations)(); }

bool MatMulHwyInt8Activations(DType t) {
  return MatMulHwyQ8Int8Activations() &&
         (t == DType::kQ8_0 || t == DType::kQ4_K || t == DType::kQ6_K || t == DType::kQ5_0);
}

}  // namespace whale
#endif  // HWY_ONCE
