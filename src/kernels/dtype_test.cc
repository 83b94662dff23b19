#include "kernels/dtype.h"

#include <gtest/gtest.h>

namespace whale {
namespace {

TEST(DType, E4M3DecodesNormalsSubnormalsAndMax) {
  EXPECT_EQ(E4M3ToF32(0x00), 0.0f);
  EXPECT_EQ(E4M3ToF32(0x38), 1.0f);          // exp 7, man 0
  EXPECT_EQ(E4M3ToF32(0x7e), 448.0f);        // largest finite
  EXPECT_EQ(E4M3ToF32(0xfe), -448.0f);
  EXPECT_EQ(E4M3ToF32(0x01), 0.001953125f);  // smallest subnormal 2^-9
  EXPECT_TRUE(std::isnan(E4M3ToF32(0x7f)));
}

TEST(DType, F16RoundTripsEveryFiniteValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if (((h >> 10) & 0x1f) == 0x1f) continue;  // inf / nan
    const float f = F16ToF32(uint16_t(h));
    EXPECT_EQ(F32ToF16(f), uint16_t(h)) << std::hex << h;
  }
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(Bf16ToF32(F32ToBf16(1.0f)), 1.0f);
  EXPECT_EQ(F32ToBf16(1.00390625f), 0x3f80);  // exactly half-way: stays even
  EXPECT_EQ(F32ToBf16(1.01171875f), 0x3f82);  // half-way from odd 0x3f81: rounds up
}

}  // namespace
}  // namespace whale
