// whale bench end to end: runs the real binary on the small V3 fixture and
// checks its --json object (the fields bench/vs-peers.sh reads).
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

std::string RunCommand(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
  *status = pclose(p);
  return out;
}

TEST(WhaleBench, JsonOnV3Fixture) {
  const std::string cmd = std::string(WHALE_EXE) + " bench --model " + WHALE_SHARED_DIR +
                          "/fixtures/v3 --json -p 8 -n 4 -r 1 -t 2";
  int status = -1;
  const std::string out = RunCommand(cmd, &status);
  ASSERT_EQ(status, 0) << cmd << "\n" << out;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(out)) << out;
  for (const char* key : {"prefill_tok_s", "decode_tok_s", "peak_rss_bytes", "load_s", "bandwidth_gbs",
                          "bytes_per_token", "roofline_pct"}) {
    ASSERT_TRUE(j.contains(key)) << key << " missing in " << out;
    EXPECT_TRUE(j[key].is_number()) << key;
  }
  EXPECT_GT(j["prefill_tok_s"].get<double>(), 0);
  EXPECT_GT(j["decode_tok_s"].get<double>(), 0);
  EXPECT_GT(j["peak_rss_bytes"].get<int64_t>(), 0);
  EXPECT_GE(j["load_s"].get<double>(), 0);
  EXPECT_GT(j["bandwidth_gbs"].get<double>(), 0.1);
  EXPECT_GT(j["roofline_pct"].get<double>(), 0);
  EXPECT_EQ(j["threads"].get<int>(), 2);
  // The v3 fixture is ~6 MB on disk: activated bytes are a fraction of that
  // but include at least lm_head (1024 x 192 BF16).
  const int64_t bpt = j["bytes_per_token"].get<int64_t>();
  EXPECT_GT(bpt, 1024 * 192 * 2);
  EXPECT_LT(bpt, 6 * 1000 * 1000);
}

TEST(WhaleBench, RejectsBadArguments) {
  int status = -1;
  RunCommand(std::string(WHALE_EXE) + " bench --model " + WHALE_SHARED_DIR + "/fixtures/v3 -p 0 2>&1", &status);
  EXPECT_NE(status, 0);
}

}  // namespace
