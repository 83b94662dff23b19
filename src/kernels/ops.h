// The kernel interface: every op the model needs, declared once on plain
// views. Shapes are given with DeepSeek config names. The scalar reference
// (kernels/ref) is the oracle every faster backend is tested against.
#pragma once
#include <cstdint>

#include "kernels/dtype.h"
#include "kernels/thread_pool.h"

namespace whale {

// A weight matrix [rows, cols] in any storage type, used in place (mapped).
// y = x·Wᵀ, as torch's Linear. For F8_E4M3, `scale` holds the per-block
// multipliers (`weight_scale_inv`, F32 [ceil(rows/b), ceil(cols/b)]).
struct WeightView {
  DType dtype = DType::kF32;
  int64_t rows = 0, cols = 0;
  const uint8_t* data = nullptr;
  const float* scale = nullptr;
  int64_t scale_block = 0;  // b; 0 when unscaled

  bool empty() const { return data == nullptr; }
  int64_t row_bytes() const {
    const BlockInfo bi = GetBlockInfo(dtype);
    return cols / bi.block_elems * bi.block_bytes;
  }
  const uint8_t* row(int64_t r) const { return data + r * row_bytes(); }
  // A view of rows [r0, r0 + n).
  WeightView Rows(int64_t r0, int64_t n) const;
};

// A row-major f32 matrix (activations, gradients) seen as a weight.
inline WeightView F32View(const float* p, int64_t rows, int64_t cols) {
  WeightView v;
  v.dtype = DType::kF32;
  v.rows = rows, v.cols = cols;
  v.data = reinterpret_cast<const uint8_t*>(p);
  return v;
}

// Dequantise row r of w into out[cols].
void DecodeRow(const WeightView& w, int64_t r, float* out);

// y[n, w.rows] = x[n, w.cols] · wᵀ. Parallel over output rows. Uses the SIMD
// kernels (kernels/hwy/matmul.h) where the weight type has one.
void MatMul(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool);
// One token through several matrices at once: jobs[i].y = jobs[i].w · jobs[i].x.
// The rows of all jobs are split over the pool by bytes, so every thread
// streams the same amount of weights and the pool wakes once, not per matrix.
struct MatVecJob {
  const float* x;
  WeightView w;
  float* y;
};
void MatVecMany(const MatVecJob* jobs, int64_t count, ThreadPool* pool);
// The scalar oracle for MatMul: decode each row, then Dot.
void MatMulRef(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool);

// y[n, d] = w[d] * x / sqrt(mean(x²) + eps)   (x, y may alias)
void RmsNorm(const float* x, int64_t n, int64_t d, const WeightView& w, double eps, float* y);

// out[i] = silu(gate[i]) * up[i]
void SiluMul(const float* gate, const float* up, int64_t n, float* out);

// In-place softmax over n values.
void Softmax(float* x, int64_t n);

// SIMD (Highway dispatch, kernels/hwy): attention over the latent cache runs
// on these, len·heads times per layer and token.
float Dot(const float* a, const float* b, int64_t n);
void Axpy(float a, const float* x, float* y, int64_t n);  // y += a·x
// The scalar oracles of the two (MatMulRef uses DotRef).
float DotRef(const float* a, const float* b, int64_t n);
void AxpyRef(float a, const float* x, float* y, int64_t n);

// Interleaved-pair rotary embedding of d values: pair i = (x[2i], x[2i+1])
// rotated by pos·inv_freq[i] (DeepSeek model.py apply_rotary_emb).
void RopeInterleaved(float* x, int64_t d, int64_t pos, const float* inv_freq);

}  // namespace whale
