// Element types of weights and activations, and their scalar decoders.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace whale {

enum class DType : uint8_t {
  kF32, kF16, kBF16, kF8E4M3, kI8, kI16, kI32, kI64, kU8, kF64, kBool,
  // GGUF block-quantised formats (bit-compatible with ggml).
  kQ8_0, kQ4_K, kQ5_0, kQ6_K,
};

// Bytes of one element; for block formats, see BlockInfo.
struct BlockInfo {
  int64_t block_elems;  // elements per block (1 for plain types)
  int64_t block_bytes;  // bytes per block
};

constexpr BlockInfo GetBlockInfo(DType t) {
  switch (t) {
    case DType::kF32: case DType::kI32: return {1, 4};
    case DType::kF16: case DType::kBF16: case DType::kI16: return {1, 2};
    case DType::kF8E4M3: case DType::kI8: case DType::kU8: case DType::kBool: return {1, 1};
    case DType::kI64: case DType::kF64: return {1, 8};
    case DType::kQ8_0: return {32, 34};
    case DType::kQ4_K: return {256, 144};
    case DType::kQ5_0: return {32, 22};
    case DType::kQ6_K: return {256, 210};
  }
  return {1, 1};
}

std::string_view DTypeName(DType t);

inline float Bf16ToF32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t F32ToBf16(float f) {  // round to nearest even, NaN kept
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return uint16_t((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

inline float F16ToF32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do { man <<= 1; ++e; } while (!(man & 0x400));
      u = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000 | man << 13;
  } else {
    u = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t F32ToF16(float f);

// e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa; exponent 0 is subnormal;
// no infinities; 0x7f / 0xff are NaN.
inline float E4M3ToF32(uint8_t b) {
  const int sign = b >> 7, exp = (b >> 3) & 0xf, man = b & 7;
  float v;
  if (exp == 0) v = std::ldexp(float(man) / 8.0f, -6);
  else if (exp == 15 && man == 7) v = NAN;
  else v = std::ldexp(1.0f + float(man) / 8.0f, exp - 7);
  return sign ? -v : v;
}

}  // namespace whale
