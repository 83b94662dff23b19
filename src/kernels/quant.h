// GGUF block-quantised formats (Q8_0, Q4_K, Q5_0, Q6_K), bit-compatible with
// ggml: reference (de)quantisation of one row of n elements (n a multiple of
// the block size). QuantizeRow reproduces ggml's quantize_row_*_ref, the
// quantisers llama-quantize uses without an importance matrix, bit for bit.
// F32, F16 and BF16 are accepted too, so converters need one call per row.
#pragma once
#include <cstdint>

#include "kernels/dtype.h"

namespace whale {

// ggml's super-block size for the K formats.
inline constexpr int64_t kQK_K = 256;

bool IsBlockQuantized(DType t);

// Bytes of a row of n elements of type t; n must be a multiple of the block.
inline int64_t RowBytes(DType t, int64_t n) {
  const BlockInfo bi = GetBlockInfo(t);
  return n / bi.block_elems * bi.block_bytes;
}

// src: RowBytes(t, n) bytes -> dst: n floats.
void DequantizeRow(DType t, const uint8_t* src, float* dst, int64_t n);

// src: n floats -> dst: RowBytes(t, n) bytes.
void QuantizeRow(DType t, const float* src, uint8_t* dst, int64_t n);

}  // namespace whale
