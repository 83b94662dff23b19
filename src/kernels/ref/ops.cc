// Scalar reference kernels: obvious loops, the oracle for every fast backend.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/ops.h"
#include "kernels/hwy/matmul.h"
#include "kernels/quant.h"

namespace whale {

WeightView WeightView::Rows(int64_t r0, int64_t n) const {
  WeightView v = *this;
  v.rows = n;
  v.data = data + r0 * row_bytes();
  if (scale) {
    // Block scales only slice cleanly on block boundaries.
    if (r0 % scale_block) throw std::logic_error("WeightView::Rows: FP8 slice not on a block boundary");
    v.scale = scale + (r0 / scale_block) * ((cols + scale_block - 1) / scale_block);
  }
  return v;
}

void DecodeRow(const WeightView& w, int64_t r, float* out) {
  const uint8_t* p = w.row(r);
  const int64_t n = w.cols;
  switch (w.dtype) {
    case DType::kF32:
      for (int64_t i = 0; i < n; ++i) std::memcpy(&out[i], p + 4 * i, 4);
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = Bf16ToF32(h);
      }
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = F16ToF32(h);
      }
      return;
    case DType::kF8E4M3: {
      const int64_t b = w.scale_block;
      const float* srow = w.scale ? w.scale + (r / b) * ((n + b - 1) / b) : nullptr;
      for (int64_t i = 0; i < n; ++i) out[i] = E4M3ToF32(p[i]) * (srow ? srow[i / b] : 1.0f);
      return;
    }
    case DType::kQ8_0: case DType::kQ4_K: case DType::kQ5_0: case DType::kQ6_K:
      DequantizeRow(w.dtype, p, out, n);
      return;
    default:
      throw std::logic_error("DecodeRow: unsupported weight dtype " + std::string(DTypeName(w.dtype)));
  }
}

void MatMul(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool) {
  if (!MatMulHwy(x, n, w, y, pool)) MatMulRef(x, n, w, y, pool);
}

void MatVecMany(const MatVecJob* jobs, int64_t count, ThreadPool* pool) {
  int64_t total = 0;
  for (int64_t i = 0; i < count; ++i) total += jobs[i].w.rows * jobs[i].w.row_bytes();
  const int parts = pool ? pool->size() : 1;
  // Part p takes bytes [total·p/parts, total·(p+1)/parts), rounded to rows
  // (whole 4-row tiles, or FP8 scale blocks) by the same rule on both sides.
  auto run = [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b0 = total * p / parts, b1 = total * (p + 1) / parts;
      int64_t base = 0;
      for (int64_t i = 0; i < count; ++i) {
        const WeightView& w = jobs[i].w;
        const int64_t rb = w.row_bytes(), bytes = w.rows * rb;
        const int64_t align = w.scale && w.scale_block > 0 ? w.scale_block : 4;
        auto row_of = [&](int64_t b) {
          if (b <= base) return int64_t(0);
          if (b >= base + bytes) return w.rows;
          return std::min(w.rows, ((b - base) / rb + align / 2) / align * align);
        };
        const int64_t r0 = row_of(b0), r1 = row_of(b1);
        if (r0 < r1) MatMul(jobs[i].x, 1, w.Rows(r0, r1 - r0), jobs[i].y + r0, nullptr);
        base += bytes;
      }
    }
  };
  if (parts > 1) pool->ParallelFor(parts, run);
  else run(0, 1);
}

void MatMulRef(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool) {
  const int64_t k = w.cols, m = w.rows;
  auto body = [&](int64_t r0, int64_t r1) {
    thread_local std::vector<float> row;
    row.resize(k);
    for (int64_t r = r0; r < r1; ++r) {
      DecodeRow(w, r, row.data());
      for (int64_t t = 0; t < n; ++t) y[t * m + r] = DotRef(x + t * k, row.data(), k);
    }
  };
  if (pool) pool->ParallelFor(m, body);
  else body(0, m);
}

void RmsNorm(const float* x, int64_t n, int64_t d, const WeightView& w, double eps, float* y) {
  thread_local std::vector<float> g;  // no allocation once warm (decode loop)
  g.resize(d);
  DecodeRow(w, 0, g.data());
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * d;
    float* yt = y + t * d;
    double ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += double(xt[i]) * xt[i];
    const float inv = float(1.0 / std::sqrt(ss / double(d) + eps));
    for (int64_t i = 0; i < d; ++i) yt[i] = g[i] * (xt[i] * inv);
  }
}

void SiluMul(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void Softmax(float* x, int64_t n) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

float Dot(const float* a, const float* b, int64_t n) { return DotHwy(a, b, n); }
void Axpy(float a, const float* x, float* y, int64_t n) { AxpyHwy(a, x, y, n); }

float DotRef(const float* a, const float* b, int64_t n) {
  // Eight partial sums: the order a SIMD kernel uses, and a little more accurate.
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
  float r = 0;
  for (; i < n; ++i) r += a[i] * b[i];
  return r + ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

void AxpyRef(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void RopeInterleaved(float* x, int64_t d, int64_t pos, const float* inv_freq) {
  for (int64_t i = 0; i < d / 2; ++i) {
    const float angle = float(pos) * inv_freq[i];
    const float c = std::cos(angle), s = std::sin(angle);
    const float x0 = x[2 * i], x1 = x[2 * i + 1];
    x[2 * i] = x0 * c - x1 * s;
    x[2 * i + 1] = x0 * s + x1 * c;
  }
}

}  // namespace whale
