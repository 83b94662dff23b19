// Reference (de)quantisation of ggml's block formats. The formulas, the order
// of float operations and the rounding helpers follow ggml-quants.c
// (dequantize_row_*, quantize_row_*_ref) so results are bit-identical to ggml
// and gguf-py; see shared/fixtures/GGUF.md section 6.
#include "kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

// Products must not be fused into FMAs (ggml's and gguf-py's results are
// unfused). The default x86-64 target has no FMA, so nothing is fused; a
// build that enables FMA (-march=native) must compile this file with
// -ffp-contract=off. (GCC's `#pragma GCC optimize` would do it here, but it
// blocks inlining of every header function and costs 5-10x in speed.) The
// bit-exact fixture tests catch a violation.
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

namespace whale {
namespace {

// Block layouts (bytes), from ggml-common.h.
//   Q8_0 (34):  f16 d | i8 qs[32]
//   Q5_0 (22):  f16 d | u8 qh[4] (u32 LE) | u8 qs[16]
//   Q4_K (144): f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
//   Q6_K (210): u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d
constexpr int kQ8Block = 32, kQ5Block = 32;

float LoadF16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return F16ToF32(h);
}
void StoreF16(uint8_t* p, float f) {
  const uint16_t h = F32ToF16(f);
  std::memcpy(p, &h, 2);
}

// ggml's nearest_int: round to nearest, ties to even, via the 1.5·2^23 trick
// (valid for |x| < 2^22, which every caller guarantees).
int NearestInt(float x) {
  const float v = x + 12582912.f;
  int32_t i;
  std::memcpy(&i, &v, 4);
  return (i & 0x007fffff) - 0x00400000;
}

// roundf (ties away from zero) without the libm call: v - trunc(v) is exact
// for the |v| <= 127 that Q8_0 produces, so the comparison decides exactly.
int RoundHalfAway(float v) {
  const int t = int(v);  // truncates toward zero
  const float f = v - float(t);
  return f >= 0.5f ? t + 1 : f <= -0.5f ? t - 1 : t;
}

// Q4_K's 6-bit scale and min of sub-block j (ggml's get_scale_min_k4).
void ScaleMinK4(int j, const uint8_t* s, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// ---------------------------------------------------------------- dequantise

void DequantQ8_0(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 34, y += kQ8Block) {
    const float d = LoadF16(x);
    for (int j = 0; j < kQ8Block; ++j) y[j] = float(int8_t(x[2 + j])) * d;
  }
}

void DequantQ5_0(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 22, y += kQ5Block) {
    const float d = LoadF16(x);
    uint32_t qh;
    std::memcpy(&qh, x + 2, 4);
    const uint8_t* qs = x + 6;
    for (int j = 0; j < 16; ++j) {
      const int x0 = ((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10)) - 16;
      const int x1 = ((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16;
      y[j] = float(x0) * d;
      y[j + 16] = float(x1) * d;
    }
  }
}

void DequantQ4_K(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 144) {
    const float d = LoadF16(x), dmin = LoadF16(x + 2);
    const uint8_t* scales = x + 4;
    const uint8_t* q = x + 16;
    for (int c = 0; c < 4; ++c, q += 32) {
      uint8_t sc, m;
      ScaleMinK4(2 * c, scales, &sc, &m);
      const float d1 = d * float(sc), m1 = dmin * float(m);
      ScaleMinK4(2 * c + 1, scales, &sc, &m);
      const float d2 = d * float(sc), m2 = dmin * float(m);
      for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
    }
  }
}

void DequantQ6_K(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 210) {
    const float d = LoadF16(x + 208);
    const uint8_t* ql = x;
    const uint8_t* qh = x + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(x + 192);
    for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        // ggml multiplies d by the scale first, then by q.
        y[l] = d * float(sc[is + 0]) * float(q1);
        y[l + 32] = d * float(sc[is + 2]) * float(q2);
        y[l + 64] = d * float(sc[is + 4]) * float(q3);
        y[l + 96] = d * float(sc[is + 6]) * float(q4);
      }
    }
  }
}

// ------------------------------------------------------------------ quantise

// Q8_0: d = amax/127, q = round-half-away(x/d) computed as x·(1/d).
void QuantQ8_0(const float* x, uint8_t* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQ8Block, y += 34) {
    float amax = 0;
    for (int j = 0; j < kQ8Block; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 1.0f / d : 0.0f;
    StoreF16(y, d);
    for (int j = 0; j < kQ8Block; ++j) y[2 + j] = uint8_t(int8_t(RoundHalfAway(x[j] * id)));
  }
}

// Q5_0: d = -max/16 where max is the signed value of largest magnitude, so
// that value maps to the code 0 end; codes are trunc(x/d + 16.5) clamped to 31.
void QuantQ5_0(const float* x, uint8_t* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQ5Block, y += 22) {
    float amax = 0, max = 0;
    for (int j = 0; j < kQ5Block; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -16;
    const float id = d != 0.f ? 1.0f / d : 0.0f;
    StoreF16(y, d);
    uint32_t qh = 0;
    uint8_t* qs = y + 6;
    for (int j = 0; j < 16; ++j) {
      const float x0 = x[j] * id, x1 = x[j + 16] * id;
      const uint8_t q0 = uint8_t(std::min(31, int(int8_t(x0 + 16.5f))));
      const uint8_t q1 = uint8_t(std::min(31, int(int8_t(x1 + 16.5f))));
      qs[j] = (q0 & 0x0F) | ((q1 & 0x0F) << 4);
      qh |= uint32_t((q0 & 0x10u) >> 4) << j;
      qh |= uint32_t((q1 & 0x10u) >> 4) << (j + 16);
    }
    std::memcpy(y + 2, &qh, 4);
  }
}

// ggml's make_qkx2_quants: fit x ≈ scale·L - min (L in 0..nmax, min >= 0)
// minimising the weighted squared error over a small grid of scales.
// It runs for the 8 sub-blocks of a Q4_K super-block at once, lane j
// doing exactly sub-block j's float operations in ggml's order: the lanes'
// sums are independent chains (and vectorise), which makes Q4_K quantisation
// several times faster with bit-identical results. x, w: [32][8] (element i
// of lane j at [i][j]); L: [32][8].
constexpr int kSub = 8, kSubLen = 32;
void FitScaleMin8(int nmax, const float (*x)[kSub], const float (*w)[kSub], uint8_t (*L)[kSub], float* the_min,
                  float* scale_out, float rmin, float rdelta, int nstep) {
  float mn[kSub], mx[kSub], sw[kSub], sx[kSub], iscale[kSub], scale[kSub], best[kSub];
  bool flat[kSub];
  for (int j = 0; j < kSub; ++j) {
    mn[j] = mx[j] = x[0][j];
    sw[j] = w[0][j];
    sx[j] = sw[j] * x[0][j];
  }
  for (int i = 1; i < kSubLen; ++i)
    for (int j = 0; j < kSub; ++j) {
      mn[j] = x[i][j] < mn[j] ? x[i][j] : mn[j];
      mx[j] = x[i][j] > mx[j] ? x[i][j] : mx[j];
      sw[j] += w[i][j];
      sx[j] += w[i][j] * x[i][j];
    }
  for (int j = 0; j < kSub; ++j) {
    if (mn[j] > 0) mn[j] = 0;
    flat[j] = mx[j] == mn[j];  // ggml returns early: all codes 0, scale 0
    iscale[j] = nmax / (mx[j] - mn[j]);
    scale[j] = 1 / iscale[j];
    best[j] = 0;
  }
  for (int i = 0; i < kSubLen; ++i)
    for (int j = 0; j < kSub; ++j) {
      const int l = NearestInt(iscale[j] * (x[i][j] - mn[j]));
      L[i][j] = uint8_t(std::max(0, std::min(nmax, l)));
      float diff = scale[j] * L[i][j] + mn[j] - x[i][j];
      diff = diff * diff;
      best[j] += w[i][j] * diff;
    }
  uint8_t Laux[kSubLen][kSub];
  for (int is = 0; is <= nstep; ++is) {
    float sl[kSub] = {}, sl2[kSub] = {}, sxl[kSub] = {}, cur[kSub] = {}, ts[kSub], tm[kSub];
    for (int j = 0; j < kSub; ++j) iscale[j] = (rmin + rdelta * is + nmax) / (mx[j] - mn[j]);
    for (int i = 0; i < kSubLen; ++i)
      for (int j = 0; j < kSub; ++j) {
        int l = NearestInt(iscale[j] * (x[i][j] - mn[j]));
        l = std::max(0, std::min(nmax, l));
        Laux[i][j] = uint8_t(l);
        sl[j] += w[i][j] * l;
        sl2[j] += w[i][j] * l * l;
        sxl[j] += w[i][j] * l * x[i][j];
      }
    bool ok[kSub];
    for (int j = 0; j < kSub; ++j) {
      const float D = sw[j] * sl2[j] - sl[j] * sl[j];
      ok[j] = D > 0 && !flat[j];
      ts[j] = (sw[j] * sxl[j] - sx[j] * sl[j]) / D;
      tm[j] = (sl2[j] * sx[j] - sl[j] * sxl[j]) / D;
      if (tm[j] > 0) {
        tm[j] = 0;
        ts[j] = sxl[j] / sl2[j];
      }
    }
    for (int i = 0; i < kSubLen; ++i)
      for (int j = 0; j < kSub; ++j) {
        float diff = ts[j] * Laux[i][j] + tm[j] - x[i][j];
        diff = diff * diff;
        cur[j] += w[i][j] * diff;
      }
    for (int j = 0; j < kSub; ++j) {
      if (!ok[j] || !(cur[j] < best[j])) continue;
      for (int i = 0; i < kSubLen; ++i) L[i][j] = Laux[i][j];
      best[j] = cur[j];
      scale[j] = ts[j];
      mn[j] = tm[j];
    }
  }
  for (int j = 0; j < kSub; ++j) {
    if (flat[j]) {
      for (int i = 0; i < kSubLen; ++i) L[i][j] = 0;
      scale[j] = 0;
    }
    the_min[j] = -mn[j];
    scale_out[j] = scale[j];
  }
}

void QuantQ4_K(const float* x, uint8_t* y, int64_t nb) {
  uint8_t L[kQK_K], L8[kSubLen][kSub];
  float xs[kSubLen][kSub], ws[kSubLen][kSub], mins[8], scales[8];
  for (int64_t i = 0; i < nb; ++i, x += kQK_K, y += 144) {
    uint8_t* ys = y + 4;
    std::memset(ys, 0, 12);
    for (int j = 0; j < 8; ++j) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) {
        xs[l][j] = x[32 * j + l];
        ws[l][j] = av_x + std::fabs(x[32 * j + l]);
      }
    }
    FitScaleMin8(15, xs, ws, L8, mins, scales, -1.f, 0.1f, 20);
    float max_scale = 0, max_min = 0;  // scales are positive: the min is subtracted
    for (int j = 0; j < 8; ++j) {
      for (int l = 0; l < 32; ++l) L[32 * j + l] = L8[l][j];
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < 8; ++j) {
      // ggml stores nearest_int into a uint8_t before clamping to 63.
      const uint8_t ls = std::min<uint8_t>(63, uint8_t(NearestInt(inv_scale * scales[j])));
      const uint8_t lm = std::min<uint8_t>(63, uint8_t(NearestInt(inv_min * mins[j])));
      if (j < 4) {
        ys[j] = ls;
        ys[j + 4] = lm;
      } else {
        ys[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
        ys[j - 4] |= (ls >> 4) << 6;
        ys[j] |= (lm >> 4) << 6;
      }
    }
    StoreF16(y, max_scale / 63.f);
    StoreF16(y + 2, max_min / 63.f);
    // Requantise against the rounded (f16, 6-bit) scales actually stored.
    const float d_all = LoadF16(y), dmin_all = LoadF16(y + 2);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      ScaleMinK4(j, ys, &sc, &m);
      const float d = d_all * sc;
      if (d == 0.f) continue;
      const float dm = dmin_all * m;
      for (int ii = 0; ii < 32; ++ii) {
        const int l = NearestInt((x[32 * j + ii] + dm) / d);
        L[32 * j + ii] = uint8_t(std::max(0, std::min(15, l)));
      }
    }
    uint8_t* q = y + 16;
    for (int j = 0; j < kQK_K; j += 64, q += 32)
      for (int l = 0; l < 32; ++l) q[l] = L[j + l] | (L[j + l + 32] << 4);
  }
}

// ggml's make_qx_quants with rmse_type 1 and no importance weights (w = x²):
// symmetric codes L in 0..2·nmax-1, scale searched over 19 candidates.
float FitSymmetric(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < 1e-15f) {  // GROUP_MAX_EPS
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = NearestInt(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = int8_t(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0.f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = NearestInt(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        const int l = NearestInt(iscale * x[i]);
        L[i] = int8_t(nmax + std::max(-nmax, std::min(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

void QuantQ6_K(const float* x, uint8_t* y, int64_t nb) {
  int8_t L[kQK_K];
  float scales[16];
  for (int64_t i = 0; i < nb; ++i, x += kQK_K, y += 210) {
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      scales[ib] = FitSymmetric(16, 32, x + 16 * ib, L + 16 * ib);
      if (std::fabs(scales[ib]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    if (max_abs_scale < 1e-15f) {
      std::memset(y, 0, 210);
      continue;
    }
    int8_t* ysc = reinterpret_cast<int8_t*>(y + 192);
    const float iscale = -128.f / max_scale;
    StoreF16(y + 208, 1 / iscale);
    for (int ib = 0; ib < 16; ++ib) ysc[ib] = int8_t(std::min(127, NearestInt(iscale * scales[ib])));
    const float d_all = LoadF16(y + 208);
    for (int j = 0; j < 16; ++j) {
      const float d = d_all * ysc[j];
      if (d == 0.f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        int l = NearestInt(x[16 * j + ii] / d);
        l = std::max(-32, std::min(31, l));
        L[16 * j + ii] = int8_t(l + 32);
      }
    }
    uint8_t* ql = y;
    uint8_t* qh = y + 128;
    for (int j = 0; j < kQK_K; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF;
        const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
        ql[l] = q1 | (q3 << 4);
        ql[l + 32] = q2 | (q4 << 4);
        qh[l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                ((L[j + l + 96] >> 4) << 6);
      }
    }
  }
}

[[noreturn]] void Unsupported(const char* what, DType t) {
  throw std::logic_error(std::string(what) + ": unsupported dtype " + std::string(DTypeName(t)));
}

void CheckMultiple(const char* what, DType t, int64_t n) {
  const int64_t b = GetBlockInfo(t).block_elems;
  if (n % b)
    throw std::logic_error(std::string(what) + ": " + std::to_string(n) + " is not a multiple of the " +
                           std::string(DTypeName(t)) + " block (" + std::to_string(b) + ")");
}

}  // namespace

bool IsBlockQuantized(DType t) {
  return t == DType::kQ8_0 || t == DType::kQ4_K || t == DType::kQ5_0 || t == DType::kQ6_K;
}

void DequantizeRow(DType t, const uint8_t* src, float* dst, int64_t n) {
  CheckMultiple("DequantizeRow", t, n);
  const int64_t nb = n / GetBlockInfo(t).block_elems;
  switch (t) {
    case DType::kF32: std::memcpy(dst, src, size_t(n) * 4); return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = LoadF16(src + 2 * i);
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = Bf16ToF32(h);
      }
      return;
    case DType::kQ8_0: return DequantQ8_0(src, dst, nb);
    case DType::kQ5_0: return DequantQ5_0(src, dst, nb);
    case DType::kQ4_K: return DequantQ4_K(src, dst, nb);
    case DType::kQ6_K: return DequantQ6_K(src, dst, nb);
    default: Unsupported("DequantizeRow", t);
  }
}

void QuantizeRow(DType t, const float* src, uint8_t* dst, int64_t n) {
  CheckMultiple("QuantizeRow", t, n);
  const int64_t nb = n / GetBlockInfo(t).block_elems;
  switch (t) {
    case DType::kF32: std::memcpy(dst, src, size_t(n) * 4); return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) StoreF16(dst + 2 * i, src[i]);
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = F32ToBf16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case DType::kQ8_0: return QuantQ8_0(src, dst, nb);
    case DType::kQ5_0: return QuantQ5_0(src, dst, nb);
    case DType::kQ4_K: return QuantQ4_K(src, dst, nb);
    case DType::kQ6_K: return QuantQ6_K(src, dst, nb);
    default: Unsupported("QuantizeRow", t);
  }
}

}  // namespace whale
