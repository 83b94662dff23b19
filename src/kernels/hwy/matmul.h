// Highway SIMD matrix multiplication y[n, rows] = x[n, cols]·Wᵀ over weights
// used in place (mapped), one kernel per storage type, chosen at run time for
// the best SIMD target the CPU has (AVX2, AVX-512, AVX-512 VNNI, ...).
//   n small (decode): each weight row is streamed once and dotted with every
//     token while it sits in registers;
//   n large (prefill): tiles of rows are decoded once into float scratch and
//     multiplied with blocks of tokens that stay in cache.
// Q8_0 on AVX-512 VNNI quantises the activations to int8 per 32-block (as
// ggml's q8_0·q8_0 dot) and multiplies with vpdpbusd; every other path
// accumulates in fp32 on exactly decoded weights.
#pragma once
#include <cstdint>
#include <string>

#include "kernels/ops.h"

namespace whale {

// Returns false (and touches nothing) when w's storage type has no SIMD
// kernel; the caller then uses MatMulRef. Splits rows over `pool` (may be null).
bool MatMulHwy(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool);

// Name of the SIMD target MatMulHwy dispatches to on this CPU ("AVX3_DL", ...).
std::string MatMulHwyTarget();

// True when Q8_0 on the current target quantises activations to int8 (the
// VNNI path); the result then carries ggml's q8_0 activation rounding error.
bool MatMulHwyQ8Int8Activations();

// True when MatMulHwy quantises the activations to int8 per 32-block for
// weights of type t (Q8_0, and Q4_K / Q6_K / Q5_0 on the VNNI path): the
// result carries the same activation rounding error as Q8_0's.
bool MatMulHwyInt8Activations(DType t);

// Σ a[i]·b[i] and y += a·x over fp32 vectors (kernels/ops.h's Dot and Axpy).
float DotHwy(const float* a, const float* b, int64_t n);
void AxpyHwy(float a, const float* x, float* y, int64_t n);

// Σ p[0, n) with SIMD loads as fast as one core reads memory: the probe for
// measured read bandwidth (whale bench, matmul_bench).
double SumFloatsHwy(const float* p, int64_t n);

// Read bandwidth in GB/s (1e9 B/s): SumFloatsHwy over a `bytes` buffer split
// over `pool`, median of `reps` timed passes after one warm-up pass.
double MeasureReadBandwidth(ThreadPool* pool, int64_t bytes, int reps);

}  // namespace whale
