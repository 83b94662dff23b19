// The block formats against gguf-py's own decoding (quant-blocks.gguf holds
// random blocks of each type plus `expected.<name>` = gguf-py's dequantised
// F32), and the quantisers against ggml's (round trips and error bounds).
#include "kernels/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "io/gguf.h"

namespace whale {
namespace {

const std::string kQuantBlocks = std::string(WHALE_SHARED_DIR) + "/fixtures/gguf/quant-blocks.gguf";

std::vector<float> AsFloats(const GgufTensorInfo& t) {
  std::vector<float> v(t.numel());
  std::memcpy(v.data(), t.data, v.size() * 4);
  return v;
}

// Decodes tensor `name` row by row and compares bit for bit with expected.<name>.
void ExpectDecodesExactly(const GgufFile& f, const std::string& name, DType want) {
  const GgufTensorInfo* t = f.FindTensor(name);
  const GgufTensorInfo* e = f.FindTensor("expected." + name);
  ASSERT_TRUE(t && e) << name;
  ASSERT_EQ(DTypeFromGgml(t->ggml_type), want) << name;
  const int64_t cols = t->ne[0], rows = t->ne[1];
  const std::vector<float> expected = AsFloats(*e);
  std::vector<float> row(cols);
  int64_t mismatches = 0;
  for (int64_t r = 0; r < rows; ++r) {
    DequantizeRow(want, t->data + r * RowBytes(want, cols), row.data(), cols);
    for (int64_t c = 0; c < cols; ++c) {
      uint32_t a, b;
      std::memcpy(&a, &row[c], 4);
      std::memcpy(&b, &expected[r * cols + c], 4);
      if (a != b && mismatches++ < 5)
        ADD_FAILURE() << name << " [" << r << "," << c << "]: " << row[c] << " vs " << expected[r * cols + c];
    }
  }
  EXPECT_EQ(mismatches, 0) << name;
}

TEST(QuantFixture, EveryWhaleTypeDecodesBitExactly) {
  GgufFile f(kQuantBlocks);
  ExpectDecodesExactly(f, "f32", DType::kF32);
  ExpectDecodesExactly(f, "f16", DType::kF16);
  ExpectDecodesExactly(f, "bf16", DType::kBF16);
  ExpectDecodesExactly(f, "q8_0", DType::kQ8_0);
  ExpectDecodesExactly(f, "q8_0_from_f32", DType::kQ8_0);
  ExpectDecodesExactly(f, "q4_k", DType::kQ4_K);
  ExpectDecodesExactly(f, "q5_0", DType::kQ5_0);
  ExpectDecodesExactly(f, "q6_k", DType::kQ6_K);
}

// q8_0_from_f32 is gguf-py's Q8_0 quantisation of the f32 tensor: ours must
// produce the same bytes.
TEST(QuantFixture, Q8_0QuantiserMatchesGgufPyBytes) {
  GgufFile f(kQuantBlocks);
  const GgufTensorInfo* src = f.FindTensor("f32");
  const GgufTensorInfo* q = f.FindTensor("q8_0_from_f32");
  ASSERT_TRUE(src && q);
  const std::vector<float> x = AsFloats(*src);
  std::vector<uint8_t> out(q->nbytes);
  const int64_t cols = src->ne[0];
  for (int64_t r = 0; r < src->ne[1]; ++r)
    QuantizeRow(DType::kQ8_0, x.data() + r * cols, out.data() + r * RowBytes(DType::kQ8_0, cols), cols);
  EXPECT_EQ(std::memcmp(out.data(), q->data, out.size()), 0);
}

// Re-quantising a decoded Q8_0 row reproduces it: its largest value is
// ±127·d, so the quantiser recovers the same d and the same codes.
TEST(QuantFixture, Q8_0RoundTripsBitExactly) {
  GgufFile f(kQuantBlocks);
  for (auto [name, t] : {std::pair<const char*, DType>{"q8_0_from_f32", DType::kQ8_0}}) {
    const GgufTensorInfo* q = f.FindTensor(name);
    ASSERT_TRUE(q);
    const int64_t cols = q->ne[0];
    std::vector<float> row(cols);
    std::vector<uint8_t> back(RowBytes(t, cols));
    for (int64_t r = 0; r < q->ne[1]; ++r) {
      const uint8_t* src = q->data + r * RowBytes(t, cols);
      DequantizeRow(t, src, row.data(), cols);
      QuantizeRow(t, row.data(), back.data(), cols);
      std::vector<float> again(cols);
      DequantizeRow(t, back.data(), again.data(), cols);
      EXPECT_EQ(std::memcmp(row.data(), again.data(), cols * 4), 0) << name << " row " << r;
    }
  }
}

std::vector<float> RandomRow(int64_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// Quantise -> dequantise of Gaussian data: the RMS error relative to the
// data's RMS is what the format's bits allow (ggml's own test-quantize-fns
// uses absolute bounds of the same order).
struct Bound {
  DType t;
  double max_rel_rmse;
};

TEST(Quant, QuantizeDequantizeErrorIsBounded) {
  const int64_t n = 4096;
  for (Bound b : {Bound{DType::kQ8_0, 0.006}, Bound{DType::kQ6_K, 0.02}, Bound{DType::kQ5_0, 0.06},
                  Bound{DType::kQ4_K, 0.11}, Bound{DType::kBF16, 0.003}, Bound{DType::kF16, 0.0005}}) {
    for (uint32_t seed : {1u, 2u, 3u}) {
      const std::vector<float> x = RandomRow(n, seed, 0.02f);
      std::vector<uint8_t> q(RowBytes(b.t, n));
      std::vector<float> y(n);
      QuantizeRow(b.t, x.data(), q.data(), n);
      DequantizeRow(b.t, q.data(), y.data(), n);
      double se = 0, ss = 0;
      for (int64_t i = 0; i < n; ++i) {
        se += double(y[i] - x[i]) * (y[i] - x[i]);
        ss += double(x[i]) * x[i];
      }
      const double rel = std::sqrt(se / ss);
      EXPECT_LT(rel, b.max_rel_rmse) << DTypeName(b.t) << " seed " << seed;
      EXPECT_GT(rel, 0.0) << DTypeName(b.t);
    }
  }
}

// Quantising twice gives the same bytes: what a quantised file decodes to is
// a fixed point (holds exactly for Q8_0; the K formats re-fit scales, so
// there only the decoded error must not grow).
TEST(Quant, RequantisingDecodedDataIsStable) {
  const int64_t n = 1024;
  const std::vector<float> x = RandomRow(n, 7);
  for (DType t : {DType::kQ8_0, DType::kQ5_0, DType::kQ4_K, DType::kQ6_K}) {
    std::vector<uint8_t> q1(RowBytes(t, n)), q2(RowBytes(t, n));
    std::vector<float> y1(n), y2(n);
    QuantizeRow(t, x.data(), q1.data(), n);
    DequantizeRow(t, q1.data(), y1.data(), n);
    QuantizeRow(t, y1.data(), q2.data(), n);
    DequantizeRow(t, q2.data(), y2.data(), n);
    double e1 = 0, e2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      e1 += double(y1[i] - x[i]) * (y1[i] - x[i]);
      e2 += double(y2[i] - x[i]) * (y2[i] - x[i]);
    }
    if (t == DType::kQ8_0) EXPECT_EQ(q1, q2);
    EXPECT_LE(e2, e1 * 1.5 + 1e-12) << DTypeName(t);
  }
}

TEST(Quant, ZeroBlocksStayZero) {
  for (DType t : {DType::kQ8_0, DType::kQ5_0, DType::kQ4_K, DType::kQ6_K}) {
    std::vector<float> x(256, 0.f), y(256, 1.f);
    std::vector<uint8_t> q(RowBytes(t, 256));
    QuantizeRow(t, x.data(), q.data(), 256);
    DequantizeRow(t, q.data(), y.data(), 256);
    for (float v : y) EXPECT_EQ(v, 0.f) << DTypeName(t);
  }
}

// Hand-built Q4_K block: checks the 6-bit scale packing for sub-blocks >= 4.
TEST(Quant, Q4_KScalePackingOfHighSubBlocks) {
  std::vector<uint8_t> b(144, 0);
  const uint16_t one = 0x3c00;  // f16 1.0
  std::memcpy(&b[0], &one, 2);  // d
  std::memcpy(&b[2], &one, 2);  // dmin
  uint8_t* s = &b[4];
  // Sub-block 5: sc = 0b110011 = 51, m = 0b100010 = 34.
  s[9] = (51 & 0xF) | ((34 & 0xF) << 4);
  s[1] |= (51 >> 4) << 6;
  s[5] |= (34 >> 4) << 6;
  uint8_t* qs = &b[16];
  qs[64] = 0x70;  // chunk 2, l = 0: low nibble 0 (sub-block 4), high 7 (sub-block 5)
  std::vector<float> y(256);
  DequantizeRow(DType::kQ4_K, b.data(), y.data(), 256);
  EXPECT_EQ(y[128 + 32], 51.f * 7 - 34.f);
  EXPECT_EQ(y[128 + 33], -34.f);
}

}  // namespace
}  // namespace whale
