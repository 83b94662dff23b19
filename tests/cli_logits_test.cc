// `whale logits` end to end: the binary reproduces every fixture's logits
// (full prefill) and logits_decode (prefill P, then token-by-token decode),
// and rejects bad input with a one-line error and a non-zero exit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "io/safetensors.h"
#include "kernels/ops.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = std::string(WHALE_SHARED_DIR) + "/fixtures/";

struct Result {
  int code;
  std::string out;
};

Result Sh(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::vector<float> F32(const SafetensorsFile& f, const std::string& name) {
  const TensorView* t = f.find(name);
  if (!t) return {};
  std::vector<float> v(t->numel());
  DecodeRow(WeightView{t->dtype, 1, t->numel(), t->data}, 0, v.data());
  return v;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  if (a.size() != b.size()) return INFINITY;
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

class CliLogits : public ::testing::TestWithParam<std::string> {};

TEST_P(CliLogits, ReproducesLogitsAndLogitsDecode) {
  const std::string fx = GetParam(), dir = kFixtures + fx;
  SafetensorsFile expected(dir + "/expected.safetensors");
  const std::string P = expected.metadata().at("prefill_len");
  const std::string out = std::string(WHALE_BINARY_DIR) + "/cli_logits_" + fx;
  const bool mtp = fx == "v3";
  std::string cmd = std::string(WHALE_EXE) + " logits --model " + dir + " --input " + dir + "/expected.safetensors";
  Result full = Sh(cmd + " --out " + out + "_full.safetensors" + (mtp ? " --mtp" : ""));
  ASSERT_EQ(full.code, 0) << full.out;
  Result dec = Sh(cmd + " --out " + out + "_dec.safetensors --prefill " + P);
  ASSERT_EQ(dec.code, 0) << dec.out;
  SafetensorsFile got_full(out + "_full.safetensors"), got_dec(out + "_dec.safetensors");
  const float d_full = MaxAbsDiff(F32(got_full, "logits"), F32(expected, "logits"));
  const float d_dec = MaxAbsDiff(F32(got_dec, "logits"), F32(expected, "logits_decode"));
  std::printf("[%s] whale logits: max |dlogit| prefill %.3g, decode %.3g\n", fx.c_str(), d_full, d_dec);
  EXPECT_LE(d_full, 1e-3);
  EXPECT_LE(d_dec, 1e-3);
  if (mtp) {
    const float d_mtp = MaxAbsDiff(F32(got_full, "mtp.logits"), F32(expected, "mtp.logits"));
    std::printf("[%s] whale logits --mtp: max |d| %.3g\n", fx.c_str(), d_mtp);
    EXPECT_LE(d_mtp, 1e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CliLogits, ::testing::Values("v2-lite", "v2", "v3"));

TEST(CliLogitsErrors, BadInputsExitNonZeroWithOneLine) {
  const std::string exe = WHALE_EXE, dir = kFixtures + "v2-lite";
  const std::string tmp = std::string(WHALE_BINARY_DIR) + "/cli_bad_ids.safetensors";
  // Token id beyond the vocabulary (1536).
  std::map<std::string, OwnedTensor> t;
  int64_t ids[3] = {1, 2, 5000};
  t["input_ids"] = {DType::kI64, {3}, std::vector<uint8_t>((uint8_t*)ids, (uint8_t*)ids + 24)};
  WriteSafetensors(tmp, t);
  const std::string out = std::string(WHALE_BINARY_DIR) + "/cli_bad_out.safetensors";
  struct Case { std::string args, expect; };
  for (const Case& c : std::vector<Case>{
           {"--model " + dir + " --input " + tmp + " --out " + out, "outside the vocabulary"},
           {"--model " + dir + " --input /nonexistent.safetensors --out " + out, "/nonexistent.safetensors"},
           {"--model /nonexistent --input " + tmp + " --out " + out, "/nonexistent"},
           {"--model " + dir + " --input " + dir + "/config.json --out " + out, "config.json"},
           {"--model " + dir + " --input " + dir + "/model.safetensors --out " + out, "input_ids is missing"},
       }) {
    Result r = Sh(exe + " logits " + c.args);
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  }
}

TEST(CliInfo, PrintsKvCacheBytesPerToken) {
  Result r = Sh(std::string(WHALE_EXE) + " info " + kFixtures + "v3");
  ASSERT_EQ(r.code, 0) << r.out;
  // v3: 3 layers x (kv_lora_rank 64 + qk_rope 16) fp32 = 960 bytes per token.
  EXPECT_NE(r.out.find("kv cache     960 B per token"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("F8_E4M3: 176 tensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MTP module"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace whale
