// Per-target body of kernels/hwy/matmul.cc, compiled once for every SIMD
// target by Highway's foreach_target.h. y[n, rows] = x[n, cols]·Wᵀ.
//
// Shape of the work:
//   Tile<R, T>: R weight rows × T tokens, R·T fp32 accumulators in registers;
//     each weight vector is decoded once and multiplied with T tokens.
//   Decode (n <= kDirectTokens): rows are read straight from the mapped
//     weights, R at a time, and dotted with every token: one pass over W.
//   Prefill: a panel of rows is decoded to fp32 scratch once, then multiplied
//     with blocks of tokens; panel + token block stay in L2.
//   Q8_0 and the K formats on AVX3_DL: activations quantised to int8 per
//     32-block (ggml's q8_0), vpdpbusd for the block dot, fp32 accumulation
//     of the scaled block dots: Q8Tile / KTile below n < kPanelTokens
//     (rows from the stored blocks), 16-row repacked panels from there
//     (PanelTile, "prefill panels").
#if defined(WHALE_KERNELS_HWY_MATMUL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WHALE_KERNELS_HWY_MATMUL_INL_H_
#undef WHALE_KERNELS_HWY_MATMUL_INL_H_
#else
#define WHALE_KERNELS_HWY_MATMUL_INL_H_
#endif

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernels/ops.h"
#if HWY_ARCH_X86
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace whale {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Rows per tile: R·T accumulators + T token vectors + 1 weight vector must fit
// in the register file (32 vectors on AVX-512, 16 on AVX2/SSE).
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr int kRows = 4;
#else
constexpr int kRows = 2;
#endif
constexpr int kToks = 4;
// Up to this many tokens the weights are dotted straight from memory.
constexpr int64_t kDirectTokens = 4;
// Bytes of L2 the prefill panel and token block may use together.
constexpr int64_t kL2Budget = 1 << 20;

// ---------------------------------------------------------------- row decoders
// Each gives Load(df, c): cols [c, c+N) as fp32 (c a multiple of N), and
// At(c): one column, for the tail when cols is not a multiple of N.

struct RowF32 {
  const uint8_t* p;
  HWY_INLINE const uint8_t* Addr(int64_t c) const { return p + 4 * c; }
  HWY_INLINE VF Load(DF df, int64_t c) const { return hn::LoadU(df, reinterpret_cast<const float*>(p) + c); }
  HWY_INLINE float At(int64_t c) const {
    float f;
    std::memcpy(&f, p + 4 * c, 4);
    return f;
  }
};

struct RowBF16 {
  const uint8_t* p;
  HWY_INLINE const uint8_t* Addr(int64_t c) const { return p + 2 * c; }
  HWY_INLINE VF Load(DF df, int64_t c) const {
    const hn::Rebind<hwy::bfloat16_t, DF> dh;
    return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::bfloat16_t*>(p) + c));
  }
  HWY_INLINE float At(int64_t c) const {
    uint16_t h;
    std::memcpy(&h, p + 2 * c, 2);
    return Bf16ToF32(h);
  }
};

struct RowF16 {
  const uint8_t* p;
  HWY_INLINE const uint8_t* Addr(int64_t c) const { return p + 2 * c; }
  HWY_INLINE VF Load(DF df, int64_t c) const {
    const hn::Rebind<hwy::float16_t, DF> dh;
    return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p) + c));
  }
  HWY_INLINE float At(int64_t c) const {
    uint16_t h;
    std::memcpy(&h, p + 2 * c, 2);
    return F16ToF32(h);
  }
};

// e4m3fn by bit arithmetic, exact: moving the bits into an f16 (sign to bit
// 15, exponent and mantissa to bits 7-13) gives the value times 2^-8 for
// normals and subnormals alike (f16's bias is 8 more); the hardware f16->f32
// conversion follows, and 2^8 is folded into the row's block scale.
// (0x7f/0xff, NaN in e4m3fn, decode as ±480: weights never hold NaN.)
struct RowF8 {
  const uint8_t* p;
  const float* scale;  // this row's block scales (kOne when unscaled)
  int shift;           // log2(scale_block)
  HWY_INLINE const uint8_t* Addr(int64_t c) const { return p + c; }
  HWY_INLINE VF Load(DF df, int64_t c) const {
    const hn::Rebind<uint8_t, DF> d8;
    const hn::Rebind<uint16_t, DF> d16;
    const hn::Rebind<hwy::float16_t, DF> dh;
    const auto b = hn::PromoteTo(d16, hn::LoadU(d8, p + c));
    const auto h = hn::Or(hn::And(hn::ShiftLeft<8>(b), hn::Set(d16, 0x8000)),
                          hn::And(hn::ShiftLeft<7>(b), hn::Set(d16, 0x3f80)));
    const VF v = hn::PromoteTo(df, hn::BitCast(dh, h));
    return hn::Mul(v, hn::Set(df, scale[c >> shift] * 256.0f));
  }
  HWY_INLINE float At(int64_t c) const { return E4M3ToF32(p[c]) * scale[c >> shift]; }
};

// ggml Q8_0: per 32 values an f16 scale d then 32 int8; value = q·d.
struct RowQ8 {
  const uint8_t* p;
  HWY_INLINE const uint8_t* Addr(int64_t c) const { return p + (c >> 5) * 34; }
  HWY_INLINE VF Load(DF df, int64_t c) const {
    const uint8_t* blk = p + (c >> 5) * 34;
    const hn::Rebind<int8_t, DF> d8;
    const hn::Rebind<int32_t, DF> di;
    const VF q = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, reinterpret_cast<const int8_t*>(blk + 2 + (c & 31)))));
    uint16_t h;
    std::memcpy(&h, blk, 2);
    return hn::Mul(q, hn::Set(df, F16ToF32(h)));
  }
  HWY_INLINE float At(int64_t c) const {
    const uint8_t* blk = p + (c >> 5) * 34;
    uint16_t h;
    std::memcpy(&h, blk, 2);
    return float(int8_t(blk[2 + (c & 31)])) * F16ToF32(h);
  }
};

// ggml Q4_K: super-blocks of 256 = f16 d, f16 dmin, 12 bytes of 6-bit
// scales/mins for 8 sub-blocks of 32, then 128 bytes of nibbles: byte
// 32·(e/64) + e%32 holds element e in its low (e%64 < 32) or high nibble.
// value = d·sc_j·q − dmin·m_j, j = e/32 (ggml's dequantize_row_q4_K).
struct RowQ4K {
  const uint8_t* p;
  // The super-block's d and dmin, decoded once per 256 columns.
  mutable int64_t sb_ = -1;
  mutable float d_ = 0, dmin_ = 0;
  HWY_INLINE void Scales(int64_t c) const {
    if ((c >> 8) == sb_) return;
    sb_ = c >> 8;
    uint16_t hd, hm;
    std::memcpy(&hd, p + sb_ * 144, 2);
    std::memcpy(&hm, p + sb_ * 144 + 2, 2);
    d_ = F16ToF32(hd), dmin_ = F16ToF32(hm);
  }
  HWY_INLINE const uint8_t* Addr(int64_t c) const { return p + (c >> 8) * 144; }
  static HWY_INLINE void ScaleMin(const uint8_t* s, int j, float d, float dmin, float* a, float* b) {
    int sc, m;
    if (j < 4) {
      sc = s[j] & 63, m = s[j + 4] & 63;
    } else {
      sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
      m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
    *a = d * float(sc), *b = dmin * float(m);
  }
  HWY_INLINE VF Load(DF df, int64_t c) const {
    const uint8_t* blk = p + (c >> 8) * 144;
    const int e = int(c & 255);
    Scales(c);
    float a, b;
    ScaleMin(blk + 4, e >> 5, d_, dmin_, &a, &b);
    const hn::Rebind<uint8_t, DF> d8;
    const hn::Rebind<int32_t, DF> di;
    auto q = hn::PromoteTo(di, hn::LoadU(d8, blk + 16 + 32 * (e >> 6) + (e & 31)));
    q = (e & 32) ? hn::ShiftRight<4>(q) : hn::And(q, hn::Set(di, 0xF));
    return hn::Sub(hn::Mul(hn::Set(df, a), hn::ConvertTo(df, q)), hn::Set(df, b));
  }
  HWY_INLINE float At(int64_t c) const {
    const uint8_t* blk = p + (c >> 8) * 144;
    const int e = int(c & 255);
    uint16_t hd, hm;
    std::memcpy(&hd, blk, 2);
    std::memcpy(&hm, blk + 2, 2);
    float a, b;
    ScaleMin(blk + 4, e >> 5, F16ToF32(hd), F16ToF32(hm), &a, &b);
    const uint8_t byte = blk[16 + 32 * (e >> 6) + (e & 31)];
    return a * float((e & 32) ? byte >> 4 : byte & 0xF) - b;
  }
};

// ggml Q6_K: super-blocks of 256 = ql[128] (low nibbles), qh[64] (2 high
// bits), int8 scales[16], f16 d. Element e: half h = e/128, l = e%128,
// g = l/32, i = l%32: q = (ql[64h + 32(g&1) + i] >> 4·(g>=2) & 15 |
// (qh[32h + i] >> 2g & 3) << 4) − 32, value = d·scales[8h + i/16 + 2g]·q.
struct RowQ6K {
  const uint8_t* p;
  mutable int64_t sb_ = -1;  // super-block whose d is in d_
  mutable float d_ = 0;
  HWY_INLINE const uint8_t* Addr(int64_t c) const { return p + (c >> 8) * 210; }
  HWY_INLINE VF Load(DF df, int64_t c) const {
    const uint8_t* blk = p + (c >> 8) * 210;
    const int e = int(c & 255), h = e >> 7, g = (e >> 5) & 3, i = e & 31;
    if ((c >> 8) != sb_) {
      uint16_t hd;
      std::memcpy(&hd, blk + 208, 2);
      sb_ = c >> 8, d_ = F16ToF32(hd);
    }
    const float scale = d_ * float(int8_t(blk[192 + 8 * h + (i >> 4) + 2 * g]));
    const hn::Rebind<uint8_t, DF> d8;
    const hn::Rebind<int32_t, DF> di;
    auto lo = hn::PromoteTo(di, hn::LoadU(d8, blk + 64 * h + 32 * (g & 1) + i));
    lo = hn::And(g >= 2 ? hn::ShiftRight<4>(lo) : lo, hn::Set(di, 15));
    auto hi = hn::PromoteTo(di, hn::LoadU(d8, blk + 128 + 32 * h + i));
    hi = hn::And(hn::ShiftRightSame(hi, 2 * g), hn::Set(di, 3));
    const auto q = hn::Sub(hn::Or(lo, hn::ShiftLeft<4>(hi)), hn::Set(di, 32));
    return hn::Mul(hn::Set(df, scale), hn::ConvertTo(df, q));
  }
  HWY_INLINE float At(int64_t c) const {
    const uint8_t* blk = p + (c >> 8) * 210;
    const int e = int(c & 255), h = e >> 7, g = (e >> 5) & 3, i = e & 31;
    uint16_t hd;
    std::memcpy(&hd, blk + 208, 2);
    const float scale = F16ToF32(hd) * float(int8_t(blk[192 + 8 * h + (i >> 4) + 2 * g]));
    const int lo = (blk[64 * h + 32 * (g & 1) + i] >> (g >= 2 ? 4 : 0)) & 15;
    const int hi = (blk[128 + 32 * h + i] >> (2 * g)) & 3;
    return scale * float((lo | hi << 4) - 32);
  }
};

// ---------------------------------------------------------------- fp32 tiles

// y[t·ldy + r] = rows[r] · x[t·ldx ..], r < R, t < T. With ahead != 0, each
// row's bytes `ahead` further on are prefetched (the next row tile, in decode).
template <int R, int T, class Row>
HWY_INLINE void Tile(const Row* rows, const float* x, int64_t ldx, int64_t cols, float* y, int64_t ldy,
                     int64_t ahead) {
  const DF df;
  const int64_t N = int64_t(hn::Lanes(df));
  VF acc[R][T];
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = hn::Zero(df);
  int64_t c = 0;
  for (; c + N <= cols; c += N) {
    VF xv[T];
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) xv[t] = hn::LoadU(df, x + t * ldx + c);
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      if (ahead) hwy::Prefetch(rows[r].Addr(c) + ahead);
      const VF w = rows[r].Load(df, c);
      #pragma GCC unroll 16
      for (int t = 0; t < T; ++t) acc[r][t] = hn::MulAdd(w, xv[t], acc[r][t]);
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      float s = hn::GetLane(hn::SumOfLanes(df, acc[r][t]));
      for (int64_t k = c; k < cols; ++k) s += rows[r].At(k) * x[t * ldx + k];
      y[t * ldy + r] = s;
    }
}

// R rows against n tokens, kToks at a time.
template <int R, class Row>
HWY_INLINE void TileTokens(const Row* rows, const float* x, int64_t n, int64_t cols, float* y, int64_t ldy,
                           int64_t ahead) {
  int64_t t = 0;
  for (; t + kToks <= n; t += kToks) Tile<R, kToks>(rows, x + t * cols, cols, cols, y + t * ldy, ldy, ahead);
  const float* xt = x + t * cols;
  float* yt = y + t * ldy;
  switch (n - t) {
    case 1: Tile<R, 1>(rows, xt, cols, cols, yt, ldy, ahead); break;
    case 2: Tile<R, 2>(rows, xt, cols, cols, yt, ldy, ahead); break;
    case 3: Tile<R, 3>(rows, xt, cols, cols, yt, ldy, ahead); break;
    default: break;
  }
}

template <class Row>
HWY_INLINE void RowGroup(const Row* rows, int64_t count, const float* x, int64_t n, int64_t cols, float* y,
                         int64_t ldy, int64_t ahead = 0) {
  if (count == kRows) {
    TileTokens<kRows>(rows, x, n, cols, y, ldy, ahead);
  } else {
    for (int64_t i = 0; i < count; ++i) TileTokens<1>(rows + i, x, n, cols, y + i, ldy, ahead);
  }
}

// Decode: rows [r0, r1) straight from the weights, each read once.
template <class Row, class MakeRow>
HWY_NOINLINE void RowsDirect(const MakeRow& make, int64_t r0, int64_t r1, const float* x, int64_t n, int64_t cols,
                             float* y, int64_t ldy) {
  for (int64_t r = r0; r < r1; r += kRows) {
    const int64_t count = std::min<int64_t>(kRows, r1 - r);
    Row rows[kRows];
    for (int64_t i = 0; i < count; ++i) rows[i] = make(r + i);
    RowGroup(rows, count, x, n, cols, y + r, ldy, count > 1 ? kRows * (rows[1].p - rows[0].p) : 0);
  }
}

// Prefill: panels of rows decoded once to fp32 by decode(r, out[cols]),
// token blocks reused per panel. f32 rows (f32 != null) are used in place.
template <class Decode>
HWY_NOINLINE void RowsPanel(const Decode& decode, const uint8_t* f32, int64_t rb, int64_t r0, int64_t r1,
                            const float* x, int64_t n, int64_t cols, float* y, int64_t ldy) {
  const int64_t row_floats = cols * 4;
  const int64_t fit = std::max<int64_t>(2 * kRows, kL2Budget / row_floats / 2);
  const int64_t panel = std::max<int64_t>(kRows, fit / kRows * kRows);
  const int64_t tblock = std::max<int64_t>(kToks, fit / kToks * kToks);
  thread_local std::vector<float> scratch;
  if (!f32 && int64_t(scratch.size()) < panel * cols) scratch.resize(panel * cols);
  for (int64_t p0 = r0; p0 < r1; p0 += panel) {
    const int64_t p1 = std::min(r1, p0 + panel);
    if (!f32)
      for (int64_t r = p0; r < p1; ++r) decode(r, scratch.data() + (r - p0) * cols);
    for (int64_t t0 = 0; t0 < n; t0 += tblock) {
      const int64_t nt = std::min(tblock, n - t0);
      for (int64_t r = p0; r < p1; r += kRows) {
        const int64_t count = std::min<int64_t>(kRows, p1 - r);
        RowF32 rows[kRows];
        for (int64_t i = 0; i < count; ++i)
          rows[i] = f32 ? RowF32{f32 + (r + i) * rb}
                        : RowF32{reinterpret_cast<const uint8_t*>(scratch.data() + (r + i - p0) * cols)};
        RowGroup(rows, count, x + t0 * cols, nt, cols, y + t0 * ldy + r, ldy);
      }
    }
  }
}

// Runs rows_fn(r0, r1) over all rows, split in kRows-aligned chunks over the
// pool; small products stay on the calling thread (a wake-up costs more).
template <class Fn>
void SplitRows(int64_t rows, int64_t work, ThreadPool* pool, const Fn& rows_fn) {
  const int64_t blocks = (rows + kRows - 1) / kRows;
  auto body = [&](int64_t b0, int64_t b1) { rows_fn(b0 * kRows, std::min(rows, b1 * kRows)); };
  if (pool && pool->size() > 1 && blocks > 1 && work >= (int64_t(1) << 16)) pool->ParallelFor(blocks, body);
  else body(0, blocks);
}

template <class Row, class MakeRow>
void MatMulRows(const MakeRow& make, bool is_f32, const float* x, int64_t n, const WeightView& w, float* y,
                ThreadPool* pool) {
  const int64_t cols = w.cols;
  auto decode = [&](int64_t r, float* out) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    const Row row = make(r);
    int64_t c = 0;
    for (; c + N <= cols; c += N) hn::StoreU(row.Load(df, c), df, out + c);
    for (; c < cols; ++c) out[c] = row.At(c);
  };
  SplitRows(w.rows, n * w.rows * cols, pool, [&](int64_t r0, int64_t r1) {
    if (n <= kDirectTokens) RowsDirect<Row>(make, r0, r1, x, n, cols, y, w.rows);
    else RowsPanel(decode, is_f32 ? w.data : nullptr, w.row_bytes(), r0, r1, x, n, cols, y, w.rows);
  });
}

// Formats without a vector decoder here (Q4_K, Q5_0, Q6_K): rows dequantised
// by the reference DecodeRow into fp32 panels, then the same fp32 tiles.
inline void MatMulDequant(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool) {
  auto decode = [&](int64_t r, float* out) { DecodeRow(w, r, out); };
  SplitRows(w.rows, n * w.rows * w.cols, pool, [&](int64_t r0, int64_t r1) {
    RowsPanel(decode, nullptr, w.row_bytes(), r0, r1, x, n, w.cols, y, w.rows);
  });
}

// ---------------------------------------------------------------- Q8_0 · int8
#if HWY_TARGET == HWY_AVX3_DL
#pragma GCC push_options
#pragma GCC target("avx512vnni,avx512vl,avx512bw,avx512dq,f16c")

// One 32-block of x as signed int8 q (lo 16, hi 16) with x ≈ d·q, d = max|x| / 127.
inline float Quantize32(const float* s, __m128i* qa, __m128i* qc) {
  const __m512 a = _mm512_loadu_ps(s), c = _mm512_loadu_ps(s + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(c)));
  const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
  const __m512 vid = _mm512_set1_ps(id);
  *qa = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(a, vid)));
  *qc = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(c, vid)));
  return d;
}

// Activations as ggml's q8_0 (scale kept in fp32): per token cols bytes
// holding q + 128 (unsigned, as vpdpbusd wants its first operand) and one
// scale per 32-block. |x - d·q| <= d/2 with d = max|x_block| / 127.
inline void QuantizeQ8(const float* x, int64_t n, int64_t cols, uint8_t* xq, float* xd) {
  const int64_t nb = cols / 32;
  const __m128i k80 = _mm_set1_epi8(char(0x80));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < nb; ++b) {
      const float* s = x + t * cols + b * 32;
      __m128i qa, qc;
      const float d = Quantize32(s, &qa, &qc);
      uint8_t* o = xq + t * cols + b * 32;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm_xor_si128(qa, k80));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 16), _mm_xor_si128(qc, k80));
      xd[t * nb + b] = d;
    }
}

// y[t·ldy + r] = Σ_b d_w[r,b]·d_x[t,b]·Σ_i q_w·q_x over R rows × T tokens,
// two blocks per 512-bit step (lanes 0-7 block b, 8-15 block b+1). With
// x stored as q + 128: Σ (q_x+128)·q_w − 128·Σ q_w, the correction computed
// once per row and used as the vpdpbusd start value for every token.

template <int R, int T>
HWY_NOINLINE void Q8Tile(const uint8_t* const* rows, const uint8_t* xq, const float* xd, int64_t cols, float* y,
                         int64_t ldy, int64_t ahead) {
  const int64_t nb = cols / 32;
  __m512 acc[R][T];
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const __m512i k80 = _mm512_set1_epi8(char(0x80)), zero = _mm512_setzero_si512();
  const __m512i halves = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    __m512i xv[T];
    __m512 xs[T];
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      xv[t] = _mm512_loadu_si512(xq + t * cols + b * 32);
      xs[t] = _mm512_permutexvar_ps(
          halves, _mm512_castps128_ps512(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i_u*>(xd + t * nb + b)))));
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const uint8_t* p = rows[r] + b * 34;
      // R rows stream side by side, which the hardware prefetchers follow
      // poorly: fetch the next row tile's bytes now (+45% from DRAM).
      _mm_prefetch(reinterpret_cast<const char*>(p) + ahead, _MM_HINT_T0);
      const __m512i w = _mm512_inserti64x4(
          _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2))),
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 36)), 1);
      const __m512i neg = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, k80, w));
      uint16_t h0, h1;
      std::memcpy(&h0, p, 2);
      std::memcpy(&h1, p + 34, 2);
      const __m512 ws = _mm512_permutexvar_ps(
          halves, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(int(h0 | uint32_t(h1) << 16)))));
      #pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512i dot = _mm512_dpbusd_epi32(neg, xv[t], w);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws, xs[t]), acc[r][t]);
      }
    }
  }
  if (b < nb) {  // odd last block: upper half zero
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512i xv = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + t * cols + b * 32)));
      const __m512 xs = _mm512_permutexvar_ps(halves, _mm512_castps128_ps512(_mm_load_ss(xd + t * nb + b)));
      #pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const uint8_t* p = rows[r] + b * 34;
        const __m512i w = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2)));
        const __m512i neg = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, k80, w));
        uint16_t h0;
        std::memcpy(&h0, p, 2);
        const __m512 ws = _mm512_permutexvar_ps(halves, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(int(h0)))));
        const __m512i dot = _mm512_dpbusd_epi32(neg, xv, w);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws, xs), acc[r][t]);
      }
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <int R>
inline void Q8Tokens(const uint8_t* const* rows, const uint8_t* xq, const float* xd, int64_t n, int64_t cols,
                     float* y, int64_t ldy, int64_t ahead) {
  const int64_t nb = cols / 32;
  int64_t t = 0;
  for (; t + kToks <= n; t += kToks) Q8Tile<R, kToks>(rows, xq + t * cols, xd + t * nb, cols, y + t * ldy, ldy, ahead);
  const uint8_t* xt = xq + t * cols;
  const float* dt = xd + t * nb;
  float* yt = y + t * ldy;
  switch (n - t) {
    case 1: Q8Tile<R, 1>(rows, xt, dt, cols, yt, ldy, ahead); break;
    case 2: Q8Tile<R, 2>(rows, xt, dt, cols, yt, ldy, ahead); break;
    case 3: Q8Tile<R, 3>(rows, xt, dt, cols, yt, ldy, ahead); break;
    default: break;
  }
}

// ---------------------------------------------------------------- prefill panels
// Prefill with lanes = rows, for Q8_0, Q5_0 and Q4_K: 16 rows are repacked
// once per panel (per thread, from the standard format) so that each 512-bit
// vector holds 4 consecutive columns of all 16 rows: [block][group g][row] =
// the row's int8 values 4g..4g+3 of the 32-block. One vpdpbusd with 4 bytes
// of a token broadcast then advances 16 rows by 4 columns, and a block's
// scale is applied once per 16 rows (8 vpdpbusd : 1 cvt + 1 fma) instead of
// once per row and token as in Q8Tile / KTile (1 : 1). ik_llama.cpp repacks
// the file (Q8_0_R8, Q4_K_R4) for the same reason.
// Per block, weight = d·v − m with v int8: Q8_0 v = q, m = 0; Q5_0 v = q − 16,
// m = 0; Q4_K v = q (0..15), d = d·sc_j, m = dmin·m_j (so y −= m·Σx).
constexpr int kPanelRows = 16;
constexpr int64_t kPanelTokens = 16;  // from this many tokens the repacking pays

struct Panel {  // plain arrays: std::vector<__m512i> is not 64-aligned here
  std::vector<int32_t> w;     // nb·8 vectors
  std::vector<int32_t> corr;  // nb vectors: −128·Σ v per row (x is stored as q + 128)
  std::vector<float> d, m;    // nb vectors each
  std::vector<int32_t> corr2;  // kSplit: the second half's (values 16-31) corr and d
  std::vector<float> d2;
};

// Block b of one row as 32 int8 values v, scale d and min m.
struct StageQ8_0 {
  static constexpr bool kSplit = false;
  HWY_INLINE void operator()(const uint8_t* row, int64_t b, int8_t* v, float* d, float*, float* m) const {
    const uint8_t* blk = row + b * 34;
    std::memcpy(v, blk + 2, 32);
    uint16_t h;
    std::memcpy(&h, blk, 2);
    *d = _cvtsh_ss(h), *m = 0.0f;
  }
};
struct StageQ5_0 {  // ggml block_q5_0: f16 d, qh[4], qs[16]; v = (nibble | high bit << 4) − 16
  static constexpr bool kSplit = false;
  HWY_INLINE void operator()(const uint8_t* row, int64_t b, int8_t* v, float* d, float*, float* m) const {
    const uint8_t* blk = row + b * 22;
    const __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 6)), k0f = _mm_set1_epi8(0x0f);
    const __m256i nib = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(qs, k0f)),
                                                _mm_and_si128(_mm_srli_epi16(qs, 4), k0f), 1);
    uint32_t qh;
    std::memcpy(&qh, blk + 2, 4);
    const __m256i hi = _mm256_maskz_mov_epi8(__mmask32(qh), _mm256_set1_epi8(16));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(v), _mm256_sub_epi8(_mm256_or_si256(nib, hi), _mm256_set1_epi8(16)));
    uint16_t h;
    std::memcpy(&h, blk, 2);
    *d = _cvtsh_ss(h), *m = 0.0f;
  }
};
struct StageQ4K {  // block_q4_K: f16 d, f16 dmin, scales[12], qs[128]; sub-block j = b % 8
  static constexpr bool kSplit = false;
  HWY_INLINE void operator()(const uint8_t* row, int64_t b, int8_t* v, float* d, float*, float* m) const {
    const uint8_t* blk = row + (b / 8) * 144;
    const int j = int(b % 8);
    const uint8_t* sc = blk + 4;
    int s, mn;  // ggml's get_scale_min_k4
    if (j < 4) s = sc[j] & 63, mn = sc[j + 4] & 63;
    else s = (sc[j + 4] & 0xf) | ((sc[j - 4] >> 6) << 4), mn = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
    __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * (j / 2)));
    if (j & 1) q = _mm256_srli_epi16(q, 4);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(v), _mm256_and_si256(q, _mm256_set1_epi8(0x0f)));
    uint16_t hd, hm;
    std::memcpy(&hd, blk, 2);
    std::memcpy(&hm, blk + 2, 2);
    *d = _cvtsh_ss(hd) * float(s), *m = _cvtsh_ss(hm) * float(mn);
  }
};

// block_q6_K: ql[128], qh[64], int8 scales[16], f16 d. Block j = b % 8 of the
// super-block: h = j / 4, g = j % 4; value i: q = (ql[64h + 32(g&1) + i] >>
// 4·(g>=2) & 15 | (qh[32h + i] >> 2g & 3) << 4) − 32, with one scale per 16
// values (kSplit: d for values 0-15, d2 for 16-31).
struct StageQ6K {
  static constexpr bool kSplit = true;
  HWY_INLINE void operator()(const uint8_t* row, int64_t b, int8_t* v, float* d, float* d2, float* m) const {
    const uint8_t* blk = row + (b / 8) * 210;
    const int j = int(b % 8), h = j / 4, g = j % 4;
    __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h + 32 * (g & 1)));
    if (g >= 2) lo = _mm256_srli_epi16(lo, 4);
    lo = _mm256_and_si256(lo, _mm256_set1_epi8(0x0f));
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h));
    hi = _mm256_and_si256(_mm256_srl_epi16(hi, _mm_cvtsi32_si128(2 * g)), _mm256_set1_epi8(3));
    const __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));  // 0..63: no carry across bytes
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(v), _mm256_sub_epi8(q, _mm256_set1_epi8(32)));
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
    uint16_t hd;
    std::memcpy(&hd, blk + 208, 2);
    const float dd = _cvtsh_ss(hd);
    *d = dd * float(sc[8 * h + 2 * g]), *d2 = dd * float(sc[8 * h + 2 * g + 1]), *m = 0.0f;
  }
};

// z[k] = dwords 0-7 of rows 2k and 2k+1 in, z[g] = dword g of rows 0-15 out:
// three butterfly stages, each swapping one bit of the register index with
// one bit of the lane index (the index vectors were derived by simulating it).
HWY_INLINE void Transpose16x8Dwords(__m512i z[8]) {
  const __m512i lo[3] = {
      _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27),
      _mm512_setr_epi32(0, 1, 4, 5, 16, 17, 20, 21, 8, 9, 12, 13, 24, 25, 28, 29),
      _mm512_setr_epi32(0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30)};
  const __m512i hi[3] = {
      _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31),
      _mm512_setr_epi32(2, 3, 6, 7, 18, 19, 22, 23, 10, 11, 14, 15, 26, 27, 30, 31),
      _mm512_setr_epi32(1, 3, 17, 19, 5, 7, 21, 23, 9, 11, 25, 27, 13, 15, 29, 31)};
  #pragma GCC unroll 3
  for (int s = 0; s < 3; ++s) {
    const int bit = 4 >> s;
    #pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      if (k & bit) continue;
      const __m512i x = z[k], y = z[k | bit];
      z[k] = _mm512_permutex2var_epi32(x, lo[s], y);
      z[k | bit] = _mm512_permutex2var_epi32(x, hi[s], y);
    }
  }
}

// Rows [0, count) of the panel from base (row stride rb); missing rows are zero.
template <class Stage>
HWY_INLINE void RepackPanel(const Stage& stage, const uint8_t* base, int64_t rb, int count, int64_t nb, Panel& p) {
  p.w.resize(nb * 8 * 16), p.corr.resize(nb * 16), p.d.resize(nb * 16), p.m.resize(nb * 16);
  if (Stage::kSplit) p.corr2.resize(nb * 16), p.d2.resize(nb * 16);
  alignas(64) int8_t v[kPanelRows][32] = {};
  float d[kPanelRows] = {}, d2[kPanelRows] = {}, m[kPanelRows] = {};
  const __m512i k80 = _mm512_set1_epi8(char(0x80)), zero = _mm512_setzero_si512();
  for (int64_t b = 0; b < nb; ++b) {
    for (int i = 0; i < count; ++i) stage(base + i * rb, b, v[i], &d[i], &d2[i], &m[i]);
    __m512i z[8];
    #pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) z[k] = _mm512_load_si512(v[2 * k]);  // rows 2k, 2k+1: adjacent
    Transpose16x8Dwords(z);
    __m512i sum = zero, sum2 = zero;
    #pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      _mm512_storeu_si512(&p.w[(b * 8 + g) * 16], z[g]);
      if (Stage::kSplit && g >= 4) sum2 = _mm512_dpbusd_epi32(sum2, k80, z[g]);
      else sum = _mm512_dpbusd_epi32(sum, k80, z[g]);
    }
    _mm512_storeu_si512(&p.corr[b * 16], _mm512_sub_epi32(zero, sum));
    _mm512_storeu_ps(&p.d[b * 16], _mm512_loadu_ps(d));
    _mm512_storeu_ps(&p.m[b * 16], _mm512_loadu_ps(m));
    if (Stage::kSplit) {
      _mm512_storeu_si512(&p.corr2[b * 16], _mm512_sub_epi32(zero, sum2));
      _mm512_storeu_ps(&p.d2[b * 16], _mm512_loadu_ps(d2));
    }
  }
}

// y[t·ldy + i] for the panel's rows i < count and T tokens; xsum[t·nb + b] =
// Σ of the token's (quantised) block b, used when the format has mins.
template <int T, bool kMins, bool kSplit>
HWY_NOINLINE void PanelTile(const Panel& p, int64_t nb, const uint8_t* xq, const float* xd, const float* xsum,
                            int64_t cols, float* y, int64_t ldy, __mmask16 rows) {
  __m512 acc[T];
  #pragma GCC unroll 16
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i w[8];
    #pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) w[g] = _mm512_loadu_si512(&p.w[(b * 8 + g) * 16]);
    const __m512i corr = _mm512_loadu_si512(&p.corr[b * 16]);
    const __m512 d = _mm512_loadu_ps(&p.d[b * 16]);
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const uint8_t* xb = xq + t * cols + b * 32;
      const __m512 dx = _mm512_set1_ps(xd[t * nb + b]);
      __m512i a = corr;
      #pragma GCC unroll 8
      for (int g = 0; g < (kSplit ? 4 : 8); ++g) {
        int32_t x4;
        std::memcpy(&x4, xb + 4 * g, 4);
        a = _mm512_dpbusd_epi32(a, _mm512_set1_epi32(x4), w[g]);
      }
      if (kSplit) {  // values 16-31 under their own scale
        __m512i a2 = _mm512_loadu_si512(&p.corr2[b * 16]);
        #pragma GCC unroll 4
        for (int g = 4; g < 8; ++g) {
          int32_t x4;
          std::memcpy(&x4, xb + 4 * g, 4);
          a2 = _mm512_dpbusd_epi32(a2, _mm512_set1_epi32(x4), w[g]);
        }
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a2), _mm512_mul_ps(_mm512_loadu_ps(&p.d2[b * 16]), dx), acc[t]);
      }
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a), _mm512_mul_ps(d, dx), acc[t]);
      if (kMins) acc[t] = _mm512_fnmadd_ps(_mm512_loadu_ps(&p.m[b * 16]), _mm512_set1_ps(xsum[t * nb + b]), acc[t]);
    }
  }
  #pragma GCC unroll 16
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, rows, acc[t]);
}

template <class Stage, bool kMins>
inline void MatMulPanels(const Stage& stage, const float* x, int64_t n, const WeightView& w, float* y,
                         ThreadPool* pool) {
  const int64_t cols = w.cols, nb = cols / 32, rb = w.row_bytes();
  thread_local std::vector<uint8_t> xq;
  thread_local std::vector<float> xd, xsum;
  if (int64_t(xq.size()) < n * cols) xq.resize(n * cols);
  if (int64_t(xd.size()) < n * nb) xd.resize(n * nb), xsum.resize(n * nb);
  uint8_t* q = xq.data();
  float* d = xd.data();
  float* sum = xsum.data();
  auto quantize = [&](int64_t t0, int64_t t1) {
    QuantizeQ8(x + t0 * cols, t1 - t0, cols, q + t0 * cols, d + t0 * nb);
    if (kMins)
      for (int64_t i = t0 * nb; i < t1 * nb; ++i) {  // Σ q = Σ (q + 128) − 32·128
        const __m256i s = _mm256_sad_epu8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i * 32)),
                                          _mm256_setzero_si256());
        const int64_t total = _mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) + _mm256_extract_epi64(s, 2) +
                              _mm256_extract_epi64(s, 3);
        sum[i] = d[i] * float(total - 32 * 128);
      }
  };
  if (pool && n >= 16) pool->ParallelFor(n, quantize);
  else quantize(0, n);
  // Panels outer: each is repacked once and meets every token (the int8
  // activations, n·cols bytes, stay in L2/L3 across panels).
  const int64_t panels = (w.rows + kPanelRows - 1) / kPanelRows;
  auto body = [&](int64_t p0, int64_t p1) {
    thread_local Panel panel;
    for (int64_t pi = p0; pi < p1; ++pi) {
      const int64_t r = pi * kPanelRows;
      const int count = int(std::min<int64_t>(kPanelRows, w.rows - r));
      RepackPanel(stage, w.data + r * rb, rb, count, nb, panel);
      const __mmask16 mask = __mmask16((1u << count) - 1);
      int64_t t = 0;
      for (; t + 8 <= n; t += 8)
        PanelTile<8, kMins, Stage::kSplit>(panel, nb, q + t * cols, d + t * nb, sum + t * nb, cols, y + t * w.rows + r,
                                           w.rows, mask);
      for (; t < n; ++t)
        PanelTile<1, kMins, Stage::kSplit>(panel, nb, q + t * cols, d + t * nb, sum + t * nb, cols, y + t * w.rows + r,
                                           w.rows, mask);
    }
  };
  if (pool && pool->size() > 1 && panels > 1) pool->ParallelFor(panels, body);
  else body(0, panels);
}

inline void MatMulQ8Int8(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool) {
  if (n >= kPanelTokens) return MatMulPanels<StageQ8_0, false>(StageQ8_0{}, x, n, w, y, pool);
  // Decode and short batches (n < kPanelTokens): rows streamed from the
  // stored blocks, every token dotted with each while it is in registers.
  const int64_t cols = w.cols, nb = cols / 32, rb = w.row_bytes();
  // The calling thread owns the quantised activations; workers only read them.
  thread_local std::vector<uint8_t> xq;
  thread_local std::vector<float> xd;
  if (int64_t(xq.size()) < n * cols) xq.resize(n * cols);
  if (int64_t(xd.size()) < n * nb) xd.resize(n * nb);
  uint8_t* q = xq.data();
  float* d = xd.data();
  QuantizeQ8(x, n, cols, q, d);
  const int64_t ahead = kRows * rb;  // the same place in the next row tile
  SplitRows(w.rows, n * w.rows * cols, pool, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r += kRows) {
      const int64_t count = std::min<int64_t>(kRows, r1 - r);
      const uint8_t* rows[kRows];
      for (int64_t i = 0; i < count; ++i) rows[i] = w.data + (r + i) * rb;
      if (count == kRows) Q8Tokens<kRows>(rows, q, d, n, cols, y + r, w.rows, ahead);
      else
        for (int64_t i = 0; i < count; ++i) Q8Tokens<1>(rows + i, q, d, n, cols, y + r + i, w.rows, ahead);
    }
  });
}

// ---------------------------------------------------------------- Q4_K, Q6_K, Q5_0 · int8
// Activations quantised per 32-block as for Q8_0 (the same rounding bound),
// but signed (x ≈ dx·q), with per int32 lane (4 columns) its block scale
// xs = dx and its sum off = dx·Σ_4 q. The weights' quants are unsigned
// (Q4_K 0..15, Q6_K q+32, Q5_0 q+16), so vpdpbusd(w, x) gives Σ_4 w·q per
// lane; lane scales come from the weight side, and the offsets (Q4_K's
// mins, Q6_K's 32, Q5_0's 16) are subtracted per lane as scale·off.
inline void QuantizeK8(const float* x, int64_t n, int64_t cols, int8_t* xq, float* xs, float* xo) {
  const int64_t nb = cols / 32, nl = cols / 4;
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < nb; ++b) {
      const float* s = x + t * cols + b * 32;
      __m128i qa, qc;
      const float d = Quantize32(s, &qa, &qc);
      const __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(qa), qc, 1);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + t * cols + b * 32), q);
      const __m256 vd = _mm256_set1_ps(d);
      _mm256_storeu_ps(xs + t * nl + b * 8, vd);
      _mm256_storeu_ps(xo + t * nl + b * 8,
                       _mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, q))));
    }
}

enum class KFmt { kQ4K, kQ6K, kQ5_0 };

// Q4_K: the 8 sub-block scales d·sc_j and mins dmin·m_j of a super-block.
HWY_INLINE void Q4KScales(const uint8_t* blk, __m512* sc, __m512* m) {
  uint32_t u[4];
  std::memcpy(u, blk + 4, 12);
  constexpr uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
  u[3] = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4);
  const uint32_t aux = u[1] & k1;
  u[1] = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);
  u[2] = aux;
  u[0] &= k1;
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u));
  uint16_t hd, hm;
  std::memcpy(&hd, blk, 2);
  std::memcpy(&hm, blk + 2, 2);
  const __m512 s = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));  // lanes 0-7 sc, 8-15 m
  const __m512 dd = _mm512_insertf32x8(_mm512_set1_ps(_cvtsh_ss(hd)), _mm256_set1_ps(_cvtsh_ss(hm)), 1);
  const __m512 v = _mm512_mul_ps(s, dd);
  *sc = v;
  *m = _mm512_shuffle_f32x4(v, v, 0xEE);  // m_j to lanes 0-7
}

// y[t·ldy + r] = row r · token t over R rows × T tokens (int8 activations).
template <KFmt F, int R, int T>
HWY_NOINLINE void KTile(const uint8_t* const* rows, const int8_t* xq, const float* xs, const float* xo, int64_t cols,
                        float* y, int64_t ldy, int64_t ahead) {
  const int64_t nl = cols / 4;
  __m512 acc[R][T];
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const __m512i zero = _mm512_setzero_si512(), m0f = _mm512_set1_epi8(0x0F);
  // One 64-column chunk: weights wq (unsigned), lane scales ws, lane offset
  // factor wo (acc -= wo·off); column c0, lane l0.
  auto chunk = [&](int r, __m512i wq, __m512 ws, __m512 wo, int64_t c0, int64_t l0) HWY_ATTR {
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512i xv = _mm512_loadu_si512(xq + t * cols + c0);
      const __m512 dot = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, wq, xv)),
                                       _mm512_loadu_ps(xs + t * nl + l0));
      acc[r][t] = _mm512_fmadd_ps(dot, ws, acc[r][t]);
      acc[r][t] = _mm512_fnmadd_ps(wo, _mm512_loadu_ps(xo + t * nl + l0), acc[r][t]);
    }
  };
  if constexpr (F == KFmt::kQ4K) {
    const __m512i sh = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);
    const int64_t nsb = cols / 256;
    for (int64_t sb = 0; sb < nsb; ++sb) {
      #pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = rows[r] + sb * 144;
        _mm_prefetch(reinterpret_cast<const char*>(blk) + ahead, _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(blk) + ahead + 64, _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(blk) + ahead + 128, _MM_HINT_T0);
        __m512 sc, m;
        Q4KScales(blk, &sc, &m);
        #pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          const __m512i idx = _mm512_set_epi32(2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1,
                                               2 * k + 1, 2 * k + 1, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k);
          const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * k)));
          const __m512i wq = _mm512_and_si512(_mm512_srlv_epi64(v, sh), m0f);
          chunk(r, wq, _mm512_permutexvar_ps(idx, sc), _mm512_permutexvar_ps(idx, m), sb * 256 + 64 * k, sb * 64 + 16 * k);
        }
      }
    }
  } else if constexpr (F == KFmt::kQ6K) {
    const __m512i m03 = _mm512_set1_epi8(3);
    const __m512 k32 = _mm512_set1_ps(32.0f);
    const int64_t nsb = cols / 256;
    for (int64_t sb = 0; sb < nsb; ++sb) {
      #pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = rows[r] + sb * 210;
        #pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) _mm_prefetch(reinterpret_cast<const char*>(blk) + ahead + 64 * i, _MM_HINT_T0);
        uint16_t hd;
        std::memcpy(&hd, blk + 208, 2);
        const __m512 wsall = _mm512_mul_ps(
            _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)))),
            _mm512_set1_ps(_cvtsh_ss(hd)));
        #pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
          const int h = c >> 1, hi = c & 1;
          const __m512i ql = _mm512_loadu_si512(blk + 64 * h);
          const __m512i lo = _mm512_and_si512(hi ? _mm512_srli_epi16(ql, 4) : ql, m0f);
          const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h)));
          const __m512i sh = hi ? _mm512_set_epi64(6, 6, 6, 6, 4, 4, 4, 4) : _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0);
          const __m512i hb = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi64(qh, sh), m03), 4);
          const __m512i wq = _mm512_or_si512(lo, hb);
          const __m512i idx = _mm512_set_epi32(4 * c + 3, 4 * c + 3, 4 * c + 3, 4 * c + 3, 4 * c + 2, 4 * c + 2,
                                               4 * c + 2, 4 * c + 2, 4 * c + 1, 4 * c + 1, 4 * c + 1, 4 * c + 1, 4 * c,
                                               4 * c, 4 * c, 4 * c);
          const __m512 ws = _mm512_permutexvar_ps(idx, wsall);
          chunk(r, wq, ws, _mm512_mul_ps(ws, k32), sb * 256 + 64 * c, sb * 64 + 16 * c);
        }
      }
    }
  } else {  // Q5_0: two 32-blocks per chunk; an odd last block with the upper half zero
    const __m512i sh = _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0), m10 = _mm512_set1_epi8(0x10);
    const __m512i halves = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512 k16 = _mm512_set1_ps(16.0f);
    const int64_t nb = cols / 32;
    for (int64_t b = 0; b < nb; b += 2) {
      const bool pair = b + 1 < nb;
      #pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const uint8_t* p = rows[r] + b * 22;
        _mm_prefetch(reinterpret_cast<const char*>(p) + ahead, _MM_HINT_T0);
        uint32_t qh0, qh1 = 0;
        uint16_t h0, h1 = 0;
        std::memcpy(&h0, p, 2);
        std::memcpy(&qh0, p + 2, 4);
        __m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 6)));
        if (pair) {
          std::memcpy(&h1, p + 22, 2);
          std::memcpy(&qh1, p + 24, 4);
          v = _mm512_mask_broadcast_i32x4(v, 0xFF00, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 28)));
        }
        const __m512i hb = _mm512_and_si512(_mm512_movm_epi8(__mmask64(qh0 | uint64_t(qh1) << 32)), m10);
        __m512i wq = _mm512_or_si512(_mm512_and_si512(_mm512_srlv_epi64(v, sh), m0f), hb);
        if (!pair) wq = _mm512_maskz_mov_epi32(0x00FF, wq);
        const __m512 ws = _mm512_permutexvar_ps(
            halves, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(int(h0 | uint32_t(h1) << 16)))));
        const __m512 wo = _mm512_mul_ps(ws, k16);
        if (pair) {
          chunk(r, wq, ws, wo, b * 32, b * 8);
        } else {
          #pragma GCC unroll 16
          for (int t = 0; t < T; ++t) {
            const __m512i xv = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + t * cols + b * 32)));
            const __m512 dot = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, wq, xv)),
                                             _mm512_maskz_loadu_ps(0x00FF, xs + t * nl + b * 8));
            acc[r][t] = _mm512_fmadd_ps(dot, ws, acc[r][t]);
            acc[r][t] = _mm512_fnmadd_ps(wo, _mm512_maskz_loadu_ps(0x00FF, xo + t * nl + b * 8), acc[r][t]);
          }
        }
      }
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <KFmt F, int R>
inline void KTokens(const uint8_t* const* rows, const int8_t* xq, const float* xs, const float* xo, int64_t n,
                    int64_t cols, float* y, int64_t ldy, int64_t ahead) {
  const int64_t nl = cols / 4;
  int64_t t = 0;
  for (; t + kToks <= n; t += kToks)
    KTile<F, R, kToks>(rows, xq + t * cols, xs + t * nl, xo + t * nl, cols, y + t * ldy, ldy, ahead);
  const int8_t* qt = xq + t * cols;
  const float* st = xs + t * nl;
  const float* ot = xo + t * nl;
  float* yt = y + t * ldy;
  switch (n - t) {
    case 1: KTile<F, R, 1>(rows, qt, st, ot, cols, yt, ldy, ahead); break;
    case 2: KTile<F, R, 2>(rows, qt, st, ot, cols, yt, ldy, ahead); break;
    case 3: KTile<F, R, 3>(rows, qt, st, ot, cols, yt, ldy, ahead); break;
    default: break;
  }
}

template <KFmt F>
inline void MatMulKInt8(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool) {
  using Stage = std::conditional_t<F == KFmt::kQ4K, StageQ4K, std::conditional_t<F == KFmt::kQ6K, StageQ6K, StageQ5_0>>;
  if (n >= kPanelTokens) return MatMulPanels<Stage, F == KFmt::kQ4K>(Stage{}, x, n, w, y, pool);
  // Decode and short batches, as MatMulQ8Int8.
  const int64_t cols = w.cols, nl = cols / 4, rb = w.row_bytes();
  thread_local std::vector<int8_t> xq;
  thread_local std::vector<float> xs, xo;
  if (int64_t(xq.size()) < n * cols) xq.resize(n * cols);
  if (int64_t(xs.size()) < n * nl) xs.resize(n * nl), xo.resize(n * nl);
  int8_t* q = xq.data();
  float* s = xs.data();
  float* o = xo.data();
  QuantizeK8(x, n, cols, q, s, o);
  const int64_t ahead = kRows * rb;
  SplitRows(w.rows, n * w.rows * cols, pool, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r += kRows) {
      const int64_t count = std::min<int64_t>(kRows, r1 - r);
      const uint8_t* rows[kRows];
      for (int64_t i = 0; i < count; ++i) rows[i] = w.data + (r + i) * rb;
      if (count == kRows) KTokens<F, kRows>(rows, q, s, o, n, cols, y + r, w.rows, ahead);
      else
        for (int64_t i = 0; i < count; ++i) KTokens<F, 1>(rows + i, q, s, o, n, cols, y + r + i, w.rows, ahead);
    }
  });
}

#pragma GCC pop_options
#endif  // HWY_TARGET == HWY_AVX3_DL

// ---------------------------------------------------------------- entry

inline bool Q8Int8Activations() { return HWY_TARGET == HWY_AVX3_DL; }

inline int64_t TargetId() { return HWY_TARGET; }

// Σ p[0, n): four independent accumulators so loads, not adds, set the pace
// (the read-bandwidth probe of whale bench and the benchmarks).
inline float DotTarget(const float* a, const float* b, int64_t n) {
  const DF df;
  const int64_t N = int64_t(hn::Lanes(df));
  VF s0 = hn::Zero(df), s1 = s0;
  int64_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    s0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(df, a + i + N), hn::LoadU(df, b + i + N), s1);
  }
  for (; i + N <= n; i += N) s0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), s0);
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(s0, s1)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

inline void AxpyTarget(float alpha, const float* x, float* y, int64_t n) {
  const DF df;
  const int64_t N = int64_t(hn::Lanes(df));
  const VF va = hn::Set(df, alpha);
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::MulAdd(va, hn::LoadU(df, x + i), hn::LoadU(df, y + i)), df, y + i);
  for (; i < n; ++i) y[i] += alpha * x[i];
}

inline double SumFloatsTarget(const float* p, int64_t n) {
  const DF df;
  const int64_t N = int64_t(hn::Lanes(df));
  VF a0 = hn::Zero(df), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    a0 = hn::Add(a0, hn::LoadU(df, p + i));
    a1 = hn::Add(a1, hn::LoadU(df, p + i + N));
    a2 = hn::Add(a2, hn::LoadU(df, p + i + 2 * N));
    a3 = hn::Add(a3, hn::LoadU(df, p + i + 3 * N));
  }
  double s = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; i < n; ++i) s += p[i];
  return s;
}

inline bool MatMulTarget(const float* x, int64_t n, const WeightView& w, float* y, ThreadPool* pool) {
  const int64_t rb = w.row_bytes();
  const uint8_t* data = w.data;
  switch (w.dtype) {
    case DType::kF32:
      MatMulRows<RowF32>([&](int64_t r) { return RowF32{data + r * rb}; }, true, x, n, w, y, pool);
      return true;
    case DType::kBF16:
      MatMulRows<RowBF16>([&](int64_t r) { return RowBF16{data + r * rb}; }, false, x, n, w, y, pool);
      return true;
    case DType::kF16:
      MatMulRows<RowF16>([&](int64_t r) { return RowF16{data + r * rb}; }, false, x, n, w, y, pool);
      return true;
    case DType::kF8E4M3: {
      const int64_t b = w.scale ? w.scale_block : 0;
      int shift = 0;
      while (b && (int64_t(1) << shift) < b) ++shift;
      if (b && ((int64_t(1) << shift) != b || b < int64_t(hn::Lanes(DF())))) return false;
      static const float kOne = 1.0f;
      const int64_t scale_cols = b ? (w.cols + b - 1) / b : 0;
      const float* scale = b ? w.scale : &kOne;
      if (!b) shift = 62;  // every column and row in block 0 of the one scale
      MatMulRows<RowF8>([&](int64_t r) { return RowF8{data + r * rb, scale + (r >> shift) * scale_cols, shift}; },
          false, x, n, w, y, pool);
      return true;
    }
    case DType::kQ8_0:
      if (w.cols % 32) return false;
#if HWY_TARGET == HWY_AVX3_DL
      MatMulQ8Int8(x, n, w, y, pool);
#else
      MatMulRows<RowQ8>([&](int64_t r) { return RowQ8{data + r * rb}; }, false, x, n, w, y, pool);
#endif
      return true;
    case DType::kQ4_K:
      if (w.cols % 256) return false;
#if HWY_TARGET == HWY_AVX3_DL
      MatMulKInt8<KFmt::kQ4K>(x, n, w, y, pool);
      return true;
#endif
      MatMulRows<RowQ4K>([&](int64_t r) { return RowQ4K{data + r * rb}; }, false, x, n, w, y, pool);
      return true;
    case DType::kQ6_K:
      if (w.cols % 256) return false;
#if HWY_TARGET == HWY_AVX3_DL
      MatMulKInt8<KFmt::kQ6K>(x, n, w, y, pool);
      return true;
#endif
      MatMulRows<RowQ6K>([&](int64_t r) { return RowQ6K{data + r * rb}; }, false, x, n, w, y, pool);
      return true;
    case DType::kQ5_0:
#if HWY_TARGET == HWY_AVX3_DL
      if (w.cols % 32 == 0) {
        MatMulKInt8<KFmt::kQ5_0>(x, n, w, y, pool);
        return true;
      }
#endif
      MatMulDequant(x, n, w, y, pool);
      return true;
    default:
      return false;
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace whale
HWY_AFTER_NAMESPACE();

#endif  // include guard
