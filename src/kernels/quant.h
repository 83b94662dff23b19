// GGUF block-quantised formats (Q8_0, Q4_K, Q5_0, Q6_K), bit-compatible with
// ggml: reference dequantisation of one row of n elements (n a multiple of
// the block size).
#pragma once
#include <cstdint>

#include "kernels/dtype.h"

namespace whale {

void DequantizeRow(DType t, const uint8_t* src, float* dst, int64_t n);

}  // namespace whale
