// Conformance: every Highway matmul kernel against MatMulRef, on every SIMD
// target compiled in and supported here, over odd shapes, misaligned
// pointers and 1/3/17/64 tokens. Tolerance from the magnitude of the terms:
//   |y - y_ref| <= 8·eps·(sqrt(cols) + 2)·Σ|w·x|     (fp32 accumulation order)
// plus, for Q8_0 / Q4_K / Q6_K / Q5_0 with int8 activations (per 32-block,
// as ggml's q8_0), the activation rounding: Σ_blocks (max|x_b| / 127 / 2)·Σ_b |w|.
#include "kernels/hwy/matmul.h"

#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL  // as in matmul.cc, so the lists of targets agree
#endif
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hwy/targets.h"
#include "kernels/ops.h"
#include "kernels/quant.h"

namespace whale {
namespace {

// A weight matrix in `dtype`, built from random values, with its bytes at an
// odd address (offset) inside an exactly sized buffer so overreads trip ASan.
struct TestWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> scale;
  WeightView view;
};

TestWeights MakeWeights(DType dtype, int64_t rows, int64_t cols, bool scaled, size_t offset, std::mt19937& rng) {
  TestWeights t;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t rb = RowBytes(dtype, cols);
  t.bytes.resize(offset + size_t(rows * rb));
  uint8_t* data = t.bytes.data() + offset;
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = normal(rng);
    uint8_t* out = data + r * rb;
    switch (dtype) {
      case DType::kF32: std::memcpy(out, row.data(), 4 * cols); break;
      case DType::kBF16:
        for (int64_t c = 0; c < cols; ++c) {
          const uint16_t h = F32ToBf16(row[c]);
          std::memcpy(out + 2 * c, &h, 2);
        }
        break;
      case DType::kF16:
        for (int64_t c = 0; c < cols; ++c) {
          const uint16_t h = F32ToF16(row[c]);
          std::memcpy(out + 2 * c, &h, 2);
        }
        break;
      case DType::kF8E4M3:  // every code but NaN: normals, subnormals, ±0
        for (int64_t c = 0; c < cols; ++c) {
          uint8_t b;
          do b = uint8_t(rng()); while ((b & 0x7f) == 0x7f);
          out[c] = b;
        }
        break;
      default: QuantizeRow(dtype, row.data(), out, cols); break;
    }
  }
  t.view = WeightView{dtype, rows, cols, data};
  if (dtype == DType::kF8E4M3 && scaled) {
    const int64_t b = 128, sr = (rows + b - 1) / b, sc = (cols + b - 1) / b;
    std::uniform_real_distribution<float> u(0.25f, 4.0f);
    t.scale.resize(sr * sc);
    for (auto& s : t.scale) s = u(rng) * 1e-2f;
    t.view.scale = t.scale.data();
    t.view.scale_block = b;
  }
  return t;
}

struct Case {
  DType dtype;
  bool scaled;
  std::vector<int64_t> cols;
};

// Compares MatMul (the fast path) with MatMulRef; returns the number of
// elements outside the tolerance and prints the worst one.
int64_t Check(const WeightView& w, const float* x, int64_t n, ThreadPool* pool, bool int8_acts,
              const std::string& what) {
  const int64_t rows = w.rows, cols = w.cols;
  std::vector<float> y(n * rows, NAN), ref(n * rows);
  EXPECT_TRUE(MatMulHwy(x, n, w, y.data(), pool)) << what;
  MatMulRef(x, n, w, ref.data(), nullptr);
  std::vector<float> wr(cols);
  int64_t bad = 0;
  double worst_ratio = 0;
  std::string worst;
  for (int64_t r = 0; r < rows; ++r) {
    DecodeRow(w, r, wr.data());
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * cols;
      double mag = 0, q8 = 0;
      for (int64_t c = 0; c < cols; ++c) mag += std::fabs(double(wr[c]) * xt[c]);
      if (int8_acts)
        for (int64_t b = 0; b < cols / 32; ++b) {
          double amax = 0, wsum = 0;
          for (int64_t c = b * 32; c < b * 32 + 32; ++c) amax = std::max(amax, double(std::fabs(xt[c]))), wsum += std::fabs(wr[c]);
          q8 += amax / 127.0 / 2.0 * wsum * 1.001;
        }
      const double tol = 8.0 * FLT_EPSILON * (std::sqrt(double(cols)) + 2.0) * mag + q8 + 1e-30;
      const double err = std::fabs(double(y[t * rows + r]) - ref[t * rows + r]);
      const bool ok = err <= tol;  // false for NaN as well
      if (!ok) ++bad;
      const double ratio = std::isnan(err) ? INFINITY : err / tol;
      if (ratio > worst_ratio || worst.empty()) {
        worst_ratio = ratio;
        worst = "y[" + std::to_string(t) + "," + std::to_string(r) + "] = " + std::to_string(y[t * rows + r]) +
                ", ref " + std::to_string(ref[t * rows + r]) + ", |diff| " + std::to_string(err) + ", tolerance " +
                std::to_string(tol);
      }
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << n * rows << " outside tolerance; worst " << worst;
  return bad;
}

class MatMulHwyTest : public ::testing::Test {
 protected:
  void TearDown() override { hwy::SetSupportedTargetsForTest(0); }
};

TEST_F(MatMulHwyTest, EveryKernelOnEveryTargetMatchesReference) {
  const std::vector<Case> cases = {
      {DType::kF32, false, {1, 5, 17, 130, 333}},
      {DType::kBF16, false, {1, 7, 16, 129, 333}},
      {DType::kF16, false, {3, 31, 64, 257}},
      {DType::kF8E4M3, true, {1, 19, 128, 200, 384}},
      {DType::kF8E4M3, false, {9, 160}},
      {DType::kQ8_0, false, {32, 96, 160, 2048}},
      {DType::kQ5_0, false, {32, 160}},
      {DType::kQ4_K, false, {256, 512}},
      {DType::kQ6_K, false, {256, 768}},
  };
  const std::vector<int64_t> tokens = {1, 3, 17, 64};
  ThreadPool pool(3);
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const auto targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  for (int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    ASSERT_EQ(MatMulHwyTarget(), hwy::TargetName(target));
    const bool int8_acts = MatMulHwyQ8Int8Activations();
    std::printf("target %s%s\n", hwy::TargetName(target), int8_acts ? " (Q8_0 with int8 activations)" : "");
    for (const Case& c : cases)
      for (int64_t cols : c.cols) {
        const int64_t rows = cols > 300 ? 37 : 13 + 2 * (cols % 7);  // odd, with partial row tiles
        for (size_t offset : {size_t(0), size_t(1)}) {
          TestWeights w = MakeWeights(c.dtype, rows, cols, c.scaled, offset, rng);
          for (int64_t n : tokens) {
            std::vector<float> xbuf(offset + n * cols);  // x misaligned by one float when offset
            for (auto& v : xbuf) v = normal(rng);
            const std::string what = std::string(hwy::TargetName(target)) + " " + std::string(DTypeName(c.dtype)) +
                                     (c.scaled ? "+scale" : "") + " rows " + std::to_string(rows) + " cols " +
                                     std::to_string(cols) + " n " + std::to_string(n) + " offset " +
                                     std::to_string(offset);
            Check(w.view, xbuf.data() + offset, n, n % 2 ? &pool : nullptr,
                  int8_acts && MatMulHwyInt8Activations(c.dtype), what);
          }
        }
      }
  }
}

// Larger shapes through the pool: the prefill panels and token blocks.
TEST_F(MatMulHwyTest, PrefillShapesMatchReference) {
  ThreadPool pool(2);
  std::mt19937 rng(99);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const bool int8_acts = MatMulHwyQ8Int8Activations();
  for (DType dtype : {DType::kBF16, DType::kF8E4M3, DType::kQ8_0}) {
    TestWeights w = MakeWeights(dtype, 131, 1408, true, 0, rng);
    std::vector<float> x(96 * 1408);
    for (auto& v : x) v = normal(rng);
    Check(w.view, x.data(), 96, &pool, int8_acts && MatMulHwyInt8Activations(dtype),
          std::string(DTypeName(dtype)) + " 131x1408 n 96");
  }
  for (DType dtype : {DType::kQ4_K, DType::kQ6_K, DType::kQ5_0}) {  // the K formats need cols % 256 == 0
    TestWeights w = MakeWeights(dtype, 131, 2048, false, 0, rng);
    std::vector<float> x(70 * 2048);
    for (auto& v : x) v = normal(rng);
    Check(w.view, x.data(), 70, &pool, int8_acts && MatMulHwyInt8Activations(dtype),
          std::string(DTypeName(dtype)) + " 131x2048 n 70");
  }
}

TEST_F(MatMulHwyTest, DotAndAxpyMatchTheScalarOracleOnEveryTarget) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    for (int64_t n : {0, 1, 7, 16, 33, 512, 576}) {
      std::vector<float> a(n + 1), b(n + 1), y(n + 1), want(n + 1);
      for (auto* v : {&a, &b, &y}) for (auto& e : *v) e = normal(rng);
      // Offset by one float: unaligned, as cache rows and head slices are.
      const float got = DotHwy(a.data() + 1, b.data() + 1, n), ref = DotRef(a.data() + 1, b.data() + 1, n);
      EXPECT_NEAR(got, ref, 1e-5f * (1 + std::sqrt(float(n)))) << hwy::TargetName(target) << " n " << n;
      want = y;
      AxpyRef(0.37f, a.data() + 1, want.data() + 1, n);
      AxpyHwy(0.37f, a.data() + 1, y.data() + 1, n);
      for (int64_t i = 0; i <= n; ++i) EXPECT_NEAR(y[i], want[i], 1e-6f) << hwy::TargetName(target) << " n " << n;
    }
  }
}

TEST_F(MatMulHwyTest, UnsupportedTypeFallsBack) {
  std::vector<uint8_t> data(16);
  WeightView w{DType::kI32, 2, 2, data.data()};
  float x[2] = {1, 2}, y[2];
  EXPECT_FALSE(MatMulHwy(x, 1, w, y, nullptr));
}

}  // namespace
}  // namespace whale
