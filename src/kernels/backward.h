// Backward of every kernel the model uses, declared beside ops.h's forwards.
// Convention (llm.c's): gradients of inputs and weights are ACCUMULATED (+=)
// unless a comment says "written", so a tensor used twice sums its gradients.
// Weights here are plain fp32 [rows, cols] arrays: the trainer keeps fp32
// master weights and reads them through WeightView for the forward.
#pragma once
#include <cstdint>

#include "kernels/thread_pool.h"

namespace whale {

// Forward: y[n, m] = x[n, k] · w[m, k]ᵀ (ops.h MatMul).
// dx[n, k] += dy · w (skipped when dx is null); dw[m, k] += dyᵀ · x (skipped when dw is null).
// Runs both products through the forward MatMul (its SIMD kernel) on
// transposed operands; MatMulBackwardRef is the loop oracle it is tested against.
void MatMulBackward(const float* dy, const float* x, int64_t n, const float* w, int64_t m, int64_t k, float* dx,
                    float* dw, ThreadPool* pool);
void MatMulBackwardRef(const float* dy, const float* x, int64_t n, const float* w, int64_t m, int64_t k, float* dx,
                       float* dw, ThreadPool* pool);

// out[c, r] = in[r, c] for in [rows, cols] (out written).
void Transpose(const float* in, int64_t rows, int64_t cols, float* out);

// Forward: y = g * x / sqrt(mean(x²) + eps), rows of d (ops.h RmsNorm).
// dx += ∂L/∂x, dg[d] += ∂L/∂g.
void RmsNormBackward(const float* x, int64_t n, int64_t d, const float* g, double eps, const float* dy, float* dx,
                     float* dg);

// Forward: out = silu(gate) * up (ops.h SiluMul). dgate, dup written.
void SiluMulBackward(const float* gate, const float* up, const float* dout, int64_t n, float* dgate, float* dup);

// Forward: p = softmax(x) over n values (ops.h Softmax). dx written from p and
// dp (dx may alias dp): dx_i = p_i (dp_i - Σ_j p_j dp_j).
void SoftmaxBackward(const float* p, const float* dp, int64_t n, float* dx);

// Forward: RopeInterleaved rotates pair i by pos·inv_freq[i]. Its gradient is
// the opposite rotation, applied in place to dx[d].
void RopeInterleavedBackward(float* dx, int64_t d, int64_t pos, const float* inv_freq);

// Embedding lookup x[t] = table[tokens[t]]: dtable[tokens[t]] += dx[t].
void EmbeddingBackward(const float* dx, const int32_t* tokens, int64_t n, int64_t d, float* dtable);

// Cross-entropy of logits [n, V] against targets (< 0: ignored). Returns the
// summed loss over counted rows; writes dlogits = scale · (softmax - onehot)
// (zero for ignored rows). logits and dlogits may alias.
double CrossEntropyForwardBackward(const float* logits, const int32_t* targets, int64_t n, int64_t V, float scale,
                                   float* dlogits, ThreadPool* pool);

}  // namespace whale
