// Every backward kernel against central finite differences of its forward
// kernel (ops.h), evaluated in double from fp32 outputs with a step-size
// study: the best of three steps must agree within a tolerance set by the
// gradient's magnitude.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "kernels/backward.h"
#include "kernels/ops.h"

namespace whale {
namespace {

std::vector<float> Random(int64_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

WeightView View(const std::vector<float>& w, int64_t rows, int64_t cols) {
  WeightView v;
  v.rows = rows, v.cols = cols;
  v.data = reinterpret_cast<const uint8_t*>(w.data());
  return v;
}

// Checks d/dθ_i of L(θ) = Σ r ⊙ f(θ) against `analytic` for every i of θ.
void CheckFd(std::vector<float>& theta, const std::vector<float>& analytic,
             const std::function<double()>& loss, const char* what) {
  ASSERT_EQ(theta.size(), analytic.size());
  for (size_t i = 0; i < theta.size(); ++i) {
    const float saved = theta[i];
    double best = 1e30, fd_best = 0;
    for (double eps : {1e-2, 3e-3, 1e-3}) {
      theta[i] = float(saved + eps);
      const double lp = loss();
      theta[i] = float(saved - eps);
      const double lm = loss();
      theta[i] = saved;
      const double fd = (lp - lm) / (2 * eps);
      if (std::fabs(fd - analytic[i]) < best) best = std::fabs(fd - analytic[i]), fd_best = fd;
    }
    ASSERT_LT(best, 1e-3 + 1e-2 * std::fabs(analytic[i])) << what << "[" << i << "]: analytic " << analytic[i]
                                                          << ", finite difference " << fd_best;
  }
}

double Weighted(const std::vector<float>& y, const std::vector<float>& r) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += double(y[i]) * r[i];
  return s;
}

TEST(BackwardTest, MatMul) {
  const int64_t n = 3, m = 5, k = 7;
  auto x = Random(n * k, 1), w = Random(m * k, 2), r = Random(n * m, 3);
  std::vector<float> y(n * m), dx(n * k, 0.0f), dw(m * k, 0.0f);
  ThreadPool pool(2);
  MatMulBackward(r.data(), x.data(), n, w.data(), m, k, dx.data(), dw.data(), &pool);
  auto loss = [&] {
    MatMul(x.data(), n, View(w, m, k), y.data(), nullptr);
    return Weighted(y, r);
  };
  CheckFd(x, dx, loss, "dx");
  CheckFd(w, dw, loss, "dw");
}

TEST(BackwardTest, MatMulMatchesRef) {
  const int64_t n = 37, m = 19, k = 45;  // odd sizes: SIMD tails
  auto x = Random(n * k, 21), w = Random(m * k, 22), dy = Random(n * m, 23);
  std::vector<float> dx(n * k, 0.5f), dw(m * k, -0.25f), dx_ref = dx, dw_ref = dw;
  ThreadPool pool(2);
  MatMulBackward(dy.data(), x.data(), n, w.data(), m, k, dx.data(), dw.data(), &pool);
  MatMulBackwardRef(dy.data(), x.data(), n, w.data(), m, k, dx_ref.data(), dw_ref.data(), nullptr);
  for (int64_t i = 0; i < n * k; ++i) ASSERT_NEAR(dx[i], dx_ref[i], 1e-4) << "dx " << i;
  for (int64_t i = 0; i < m * k; ++i) ASSERT_NEAR(dw[i], dw_ref[i], 1e-4) << "dw " << i;
}

TEST(BackwardTest, Transpose) {
  // Whole 8x8 blocks, edges in either dimension or both, one row, one column.
  for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{16, 24}, {37, 45}, {8, 3}, {5, 16}, {1, 9}, {9, 1}}) {
    std::vector<float> in(rows * cols), out(rows * cols, -1.0f);
    for (int64_t i = 0; i < rows * cols; ++i) in[i] = float(i);
    Transpose(in.data(), rows, cols, out.data());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(out[c * rows + r], in[r * cols + c]) << rows << "x" << cols;
  }
}

TEST(BackwardTest, RmsNorm) {
  const int64_t n = 3, d = 8;
  auto x = Random(n * d, 4), g = Random(d, 5), r = Random(n * d, 6);
  std::vector<float> y(n * d), dx(n * d, 0.0f), dg(d, 0.0f);
  RmsNormBackward(x.data(), n, d, g.data(), 1e-6, r.data(), dx.data(), dg.data());
  auto loss = [&] {
    RmsNorm(x.data(), n, d, View(g, 1, d), 1e-6, y.data());
    return Weighted(y, r);
  };
  CheckFd(x, dx, loss, "dx");
  CheckFd(g, dg, loss, "dg");
}

TEST(BackwardTest, SiluMul) {
  const int64_t n = 16;
  auto gate = Random(n, 7, 2.0f), up = Random(n, 8), r = Random(n, 9);
  std::vector<float> y(n), dgate(n), dup(n);
  SiluMulBackward(gate.data(), up.data(), r.data(), n, dgate.data(), dup.data());
  auto loss = [&] {
    SiluMul(gate.data(), up.data(), n, y.data());
    return Weighted(y, r);
  };
  CheckFd(gate, dgate, loss, "dgate");
  CheckFd(up, dup, loss, "dup");
}

TEST(BackwardTest, Softmax) {
  const int64_t n = 9;
  auto x = Random(n, 10), r = Random(n, 11);
  std::vector<float> p = x, dx(n);
  Softmax(p.data(), n);
  SoftmaxBackward(p.data(), r.data(), n, dx.data());
  auto loss = [&] {
    std::vector<float> y = x;
    Softmax(y.data(), n);
    return Weighted(y, r);
  };
  CheckFd(x, dx, loss, "dx");
}

TEST(BackwardTest, RopeInterleaved) {
  const int64_t d = 8, pos = 5;
  const std::vector<float> inv_freq = {1.0f, 0.3f, 0.1f, 0.01f};
  auto x = Random(d, 12), r = Random(d, 13);
  std::vector<float> dx = r;
  RopeInterleavedBackward(dx.data(), d, pos, inv_freq.data());
  auto loss = [&] {
    std::vector<float> y = x;
    RopeInterleaved(y.data(), d, pos, inv_freq.data());
    return Weighted(y, r);
  };
  CheckFd(x, dx, loss, "dx");
}

TEST(BackwardTest, Embedding) {
  const int64_t V = 5, d = 3;
  const std::vector<int32_t> tokens = {1, 3, 1};
  auto table = Random(V * d, 14), r = Random(tokens.size() * d, 15);
  std::vector<float> dtable(V * d, 0.0f);
  EmbeddingBackward(r.data(), tokens.data(), int64_t(tokens.size()), d, dtable.data());
  auto loss = [&] {
    std::vector<float> y;
    for (int32_t t : tokens) y.insert(y.end(), table.begin() + t * d, table.begin() + (t + 1) * d);
    return Weighted(y, r);
  };
  CheckFd(table, dtable, loss, "dtable");
}

TEST(BackwardTest, CrossEntropy) {
  const int64_t n = 4, V = 6;
  const std::vector<int32_t> targets = {2, -1, 5, 0};
  auto logits = Random(n * V, 16, 2.0f);
  std::vector<float> d(n * V);
  const double sum = CrossEntropyForwardBackward(logits.data(), targets.data(), n, V, 1.0f, d.data(), nullptr);
  EXPECT_GT(sum, 0);
  for (int64_t i = V; i < 2 * V; ++i) EXPECT_EQ(d[i], 0.0f);  // ignored row
  auto loss = [&] {
    std::vector<float> tmp(n * V);
    return CrossEntropyForwardBackward(logits.data(), targets.data(), n, V, 1.0f, tmp.data(), nullptr);
  };
  CheckFd(logits, d, loss, "dlogits");
}

}  // namespace
}  // namespace whale
