#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/error.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  return (fs::path(WHALE_BINARY_DIR) / ("st_test_" + name)).string();
}

// A file from a raw header string and `data_bytes` zero bytes of data.
std::string WriteRaw(const std::string& name, const std::string& header, size_t data_bytes, int64_t claimed_len = -1) {
  const std::string path = TempPath(name);
  std::ofstream f(path, std::ios::binary);
  uint64_t n = claimed_len < 0 ? header.size() : uint64_t(claimed_len);
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << header;
  f << std::string(data_bytes, '\0');
  return path;
}

std::string ErrorOf(const std::string& path) {
  try {
    SafetensorsFile f(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, RoundTripsWrittenTensors) {
  std::map<std::string, OwnedTensor> t;
  t["a"] = {DType::kF32, {2, 3}, std::vector<uint8_t>(24, 1)};
  t["b"] = {DType::kI64, {4}, std::vector<uint8_t>(32, 2)};
  const std::string path = TempPath("roundtrip.safetensors");
  WriteSafetensors(path, t, {{"k", "v"}});
  SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.find("a")->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f.find("b")->dtype, DType::kI64);
  EXPECT_EQ(f.find("b")->data[0], 2);
  EXPECT_EQ(f.metadata().at("k"), "v");
}

TEST(Safetensors, BlockFormatsSizeByBlocks) {
  std::map<std::string, OwnedTensor> t;
  t["q8"] = {DType::kQ8_0, {3, 64}, std::vector<uint8_t>(3 * 2 * 34, 7)};
  t["q4k"] = {DType::kQ4_K, {2, 256}, std::vector<uint8_t>(2 * 144, 9)};
  const std::string path = TempPath("blocks.safetensors");
  WriteSafetensors(path, t, {});
  SafetensorsFile f(path);
  EXPECT_EQ(f.find("q8")->dtype, DType::kQ8_0);
  EXPECT_EQ(f.find("q8")->nbytes, 3u * 2 * 34);
  EXPECT_EQ(f.find("q4k")->nbytes, 2u * 144);
}

TEST(Safetensors, EachLyingHeaderGetsAOneLineErrorNamingTheProblem) {
  struct Case { std::string name, header; size_t data; int64_t claimed; std::string expect; };
  const std::vector<Case> cases = {
      {"past_end", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8, -1, "outside the data section"},
      {"overlap", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12, -1, "overlap"},
      {"size", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, -1, "does not match shape"},
      {"hdrlen", R"({})", 0, 1 << 20, "header length"},
      {"json", R"({"w": [1, 2)", 0, -1, "not a valid JSON"},
      {"dtype", R"({"w":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}})", 1, -1, "unsupported dtype"},
      {"negative", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, -1, "shape"},
      {"reversed", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4, -1, "outside the data section"},
      {"entry", R"({"w":{"dtype":"F32","shape":[1]}})", 4, -1, "data_offsets"},
      {"qrow", R"({"w":{"dtype":"Q8_0","shape":[2,48],"data_offsets":[0,102]}})", 102, -1, "not a multiple of Q8_0's block of 32"},
      {"qsize", R"({"w":{"dtype":"Q8_0","shape":[2,32],"data_offsets":[0,64]}})", 64, -1, "does not match shape"},
      {"huge", R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4, -1, "too large"},
  };
  for (const auto& c : cases) {
    const std::string path = WriteRaw(c.name, c.header, c.data, c.claimed);
    const std::string err = ErrorOf(path);
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.name << ": " << err;
    EXPECT_NE(err.find(path), std::string::npos) << c.name << ": error must name the file";
    EXPECT_EQ(err.find('\n'), std::string::npos) << c.name;
  }
  EXPECT_NE(ErrorOf(TempPath("does_not_exist")).find("cannot open"), std::string::npos);
  std::ofstream(TempPath("short")) << "abc";
  EXPECT_NE(ErrorOf(TempPath("short")).find("truncated"), std::string::npos);
}

// Seeded random mutations of a real checkpoint: every outcome is either a
// valid file or a whale::Error — never a crash or an out-of-bounds read
// (the suite also runs under ASan/UBSan).
TEST(Safetensors, FuzzMutatedHeadersNeverCrash) {
  const std::string src = std::string(WHALE_SHARED_DIR) + "/fixtures/v2-lite/model.safetensors";
  std::ifstream in(src, std::ios::binary);
  std::string orig((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(orig.size(), 8u);
  uint64_t hlen;
  std::memcpy(&hlen, orig.data(), 8);
  std::mt19937_64 rng(1234);
  const std::string path = TempPath("fuzz.safetensors");
  int errors = 0, ok = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::string m = orig;
    const int kind = iter % 4;
    if (kind == 0) {  // flip bytes in the header
      for (int k = 0; k < 1 + int(rng() % 8); ++k) m[8 + rng() % hlen] = char(rng());
    } else if (kind == 1) {  // truncate anywhere
      m.resize(rng() % m.size());
    } else if (kind == 2) {  // lie about the header length
      uint64_t v = rng() % 3 == 0 ? rng() : hlen + int64_t(rng() % 64) - 32;
      std::memcpy(m.data(), &v, 8);
    } else {  // change digits in the header (offsets, shapes)
      for (int k = 0; k < 4; ++k) {
        size_t p = 8 + rng() % hlen;
        if (std::isdigit(uint8_t(m[p]))) m[p] = char('0' + rng() % 10);
      }
    }
    { std::ofstream(path, std::ios::binary | std::ios::trunc) << m; }
    try {
      SafetensorsFile f(path);
      for (auto& [name, t] : f.tensors()) {  // touch every byte a view claims
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < t.nbytes; i += 997) sink = sink + t.data[i];
        if (t.nbytes) sink = sink + t.data[t.nbytes - 1];
      }
      ++ok;
    } catch (const Error& e) {
      ++errors;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
  EXPECT_GT(errors, 100);
  std::printf("fuzz: %d valid, %d rejected\n", ok, errors);
}

}  // namespace
}  // namespace whale
