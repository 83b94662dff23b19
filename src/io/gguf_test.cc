// GGUF reader on the fixtures, writer round trips, and a seeded mutation fuzz
// test: truncated and bit-flipped fixtures must be rejected with Error (or
// parse), never crash; run it under ASan (build type Asan).
#include "io/gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/error.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
const std::string kDir = std::string(WHALE_SHARED_DIR) + "/fixtures/gguf/";

std::string TempPath(const std::string& name) {
  const fs::path dir = fs::path(WHALE_BINARY_DIR) / "gguf_test_tmp";
  fs::create_directories(dir);
  return (dir / name).string();
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void WriteAll(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(GgufReader, V3FixtureMetadataAndTensors) {
  GgufFile f(kDir + "v3-f32.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(f.GetString("general.architecture"), "deepseek2");
  EXPECT_EQ(f.GetInt("deepseek2.block_count"), 3);
  EXPECT_EQ(f.GetInt("deepseek2.embedding_length"), 192);
  EXPECT_EQ(f.GetInt("deepseek2.attention.q_lora_rank"), 96);
  EXPECT_EQ(f.GetInt("deepseek2.expert_gating_func"), 2);
  EXPECT_EQ(f.GetBool("deepseek2.expert_weights_norm"), true);
  EXPECT_FLOAT_EQ(float(*f.GetFloat("deepseek2.expert_weights_scale")), 2.5f);
  EXPECT_FLOAT_EQ(float(*f.GetFloat("deepseek2.rope.scaling.yarn_log_multiplier")), 0.1f);
  EXPECT_FALSE(f.GetInt("deepseek2.nextn_predict_layers").has_value());
  const GgufValue* tokens = f.Find("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->elem_type, GgufType::kString);
  EXPECT_EQ(tokens->strings.size(), 1024u);
  EXPECT_EQ(f.Find("tokenizer.ggml.token_type")->ints.size(), 1024u);
  EXPECT_EQ(f.Find("tokenizer.ggml.merges")->strings.size(), 425u);
  EXPECT_THROW(f.GetInt("general.architecture"), Error);  // wrong type is an error, not a default

  EXPECT_EQ(f.tensors().size(), 52u);
  const GgufTensorInfo* kb = f.FindTensor("blk.0.attn_k_b.weight");
  ASSERT_TRUE(kb);
  EXPECT_EQ(kb->ne, (std::vector<int64_t>{32, 64, 3}));
  EXPECT_EQ(kb->ggml_type, uint32_t(kGgmlF32));
  EXPECT_EQ(kb->nbytes, 32u * 64 * 3 * 4);
  const GgufTensorInfo* exps = f.FindTensor("blk.1.ffn_down_exps.weight");
  ASSERT_TRUE(exps);
  EXPECT_EQ(exps->ne, (std::vector<int64_t>{64, 192, 16}));
  EXPECT_TRUE(f.FindTensor("blk.1.exp_probs_b.bias"));
}

TEST(GgufReader, AllFixturesParseWithTensorsInsideTheFile) {
  for (const char* name : {"quant-blocks.gguf", "v2-lite-f32.gguf", "v2-lite-q8_0.gguf", "v3-f32.gguf"}) {
    GgufFile f(kDir + name);
    for (const auto& t : f.tensors()) {
      EXPECT_GE(t.data, reinterpret_cast<const uint8_t*>(0) + 1);
      EXPECT_LE(f.data_offset() + t.offset + t.nbytes, f.file_size()) << name << " " << t.name;
      EXPECT_EQ(t.offset % f.alignment(), 0u);
    }
  }
  GgufFile q(kDir + "v2-lite-q8_0.gguf");
  EXPECT_EQ(q.GetInt("general.file_type"), 7);
  EXPECT_EQ(q.FindTensor("blk.0.attn_q.weight")->ggml_type, uint32_t(kGgmlQ8_0));
  EXPECT_EQ(q.FindTensor("blk.1.ffn_gate_inp.weight")->ggml_type, uint32_t(kGgmlF32));
}

TEST(GgufReader, RejectsNonGgufAndMissingFiles) {
  const std::string p = TempPath("not.gguf");
  WriteAll(p, {'G', 'G', 'U', 'X', 3, 0, 0, 0});
  EXPECT_THROW(GgufFile{p}, Error);
  EXPECT_THROW(GgufFile{TempPath("does-not-exist.gguf")}, Error);
  WriteAll(p, {});
  EXPECT_THROW(GgufFile{p}, Error);
}

TEST(GgufReader, ErrorsNameTheFileAndTheTensor) {
  std::vector<uint8_t> b = ReadAll(kDir + "v3-f32.gguf");
  b.resize(b.size() - 100);  // the last tensor's data now ends past the end
  const std::string p = TempPath("short.gguf");
  WriteAll(p, b);
  try {
    GgufFile f(p);
    FAIL() << "truncated file accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("short.gguf"), std::string::npos) << m;
    EXPECT_NE(m.find("tensor"), std::string::npos) << m;
    EXPECT_NE(m.find("past the end"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(GgufWriter, RoundTripsKeysTensorsAndAlignment) {
  const std::string p = TempPath("rt.gguf");
  std::vector<float> a(64), b(3 * 32);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i) * 0.5f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = -float(i);
  {
    GgufWriter w(p, 64);
    w.Add("general.architecture", GgufValue::Str("deepseek2"));
    w.Add("x.u32", GgufValue::U32(7));
    w.Add("x.i32", GgufValue::I32(-3));
    w.Add("x.u64", GgufValue::U64(1ull << 40));
    w.Add("x.f32", GgufValue::F32(1.5f));
    w.Add("x.bool", GgufValue::Bool(true));
    w.Add("x.strs", GgufValue::StrArray({"a", "", "ccc"}));
    w.Add("x.ints", GgufValue::I32Array({1, -2, 3}));
    w.Add("x.floats", GgufValue::F32Array({0.25f}));
    w.AddTensor("a", {64}, kGgmlF32);
    w.AddTensor("empty", {0, 4}, kGgmlF32);
    w.AddTensor("b", {32, 3}, kGgmlF32);
    w.WriteHeader();
    w.Append(a.data(), 100);  // in pieces that straddle tensors
    w.Append(reinterpret_cast<const uint8_t*>(a.data()) + 100, a.size() * 4 - 100);
    w.Append(b.data(), b.size() * 4);
    w.Finish();
  }
  GgufFile f(p);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.GetString("general.architecture"), "deepseek2");
  EXPECT_EQ(f.GetInt("x.u32"), 7);
  EXPECT_EQ(f.GetInt("x.i32"), -3);
  EXPECT_EQ(f.GetInt("x.u64"), int64_t(1) << 40);
  EXPECT_EQ(f.GetFloat("x.f32"), 1.5);
  EXPECT_EQ(f.GetBool("x.bool"), true);
  EXPECT_EQ(f.Find("x.strs")->strings, (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(f.Find("x.ints")->ints, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f.Find("x.floats")->floats, (std::vector<double>{0.25}));
  ASSERT_EQ(f.tensors().size(), 3u);
  const GgufTensorInfo* ta = f.FindTensor("a");
  const GgufTensorInfo* tb = f.FindTensor("b");
  EXPECT_EQ(std::memcmp(ta->data, a.data(), a.size() * 4), 0);
  EXPECT_EQ(tb->ne, (std::vector<int64_t>{32, 3}));
  EXPECT_EQ(std::memcmp(tb->data, b.data(), b.size() * 4), 0);
  EXPECT_EQ(tb->offset % 64, 0u);
}

TEST(GgufWriter, CopyOfAFixtureIsByteIdentical) {
  // llama.cpp's writer and ours lay a file out the same way.
  GgufFile src(kDir + "v2-lite-q8_0.gguf");
  const std::string p = TempPath("copy.gguf");
  {
    GgufWriter w(p);
    for (const auto& [k, v] : src.kv()) w.Add(k, v);
    for (const auto& t : src.tensors()) w.AddTensor(t.name, t.ne, t.ggml_type);
    w.WriteHeader();
    for (const auto& t : src.tensors()) w.Append(t.data, t.nbytes);
    w.Finish();
  }
  EXPECT_EQ(ReadAll(p), ReadAll(kDir + "v2-lite-q8_0.gguf"));
}

// Seeded mutations of every fixture: each must either parse or throw Error.
// A parsed mutant's tensors must still lie inside the file (touching every
// byte lets ASan catch a view that does not).
TEST(GgufFuzz, TruncationsAndByteFlipsNeverCrash) {
  std::mt19937 rng(20261203);
  const std::string p = TempPath("fuzz.gguf");
  int parsed = 0, rejected = 0;
  for (const char* name : {"quant-blocks.gguf", "v2-lite-f32.gguf", "v2-lite-q8_0.gguf", "v3-f32.gguf"}) {
    const std::vector<uint8_t> orig = ReadAll(kDir + name);
    ASSERT_FALSE(orig.empty());
    GgufFile clean(kDir + name);
    const size_t hdr = clean.data_offset();
    for (int iter = 0; iter < 150; ++iter) {
      std::vector<uint8_t> b = orig;
      const int kind = iter % 5;
      if (kind == 0) {
        b.resize(std::uniform_int_distribution<size_t>(0, b.size() - 1)(rng));
      } else if (kind == 1) {
        b.resize(std::uniform_int_distribution<size_t>(0, hdr)(rng));
      } else {
        // Flip 1..8 bytes, mostly in the header where the structure lives.
        const int flips = 1 + iter % 8;
        for (int k = 0; k < flips; ++k) {
          const size_t lim = kind == 4 ? b.size() - 1 : hdr - 1;
          const size_t at = std::uniform_int_distribution<size_t>(0, lim)(rng);
          b[at] = kind == 3 ? uint8_t(0xff) : uint8_t(b[at] ^ (1u << (rng() % 8)));
        }
      }
      WriteAll(p, b);
      try {
        GgufFile f(p);
        uint64_t sum = 0;
        for (const auto& t : f.tensors())
          for (uint64_t k = 0; k < t.nbytes; k += 61) sum += t.data[k];
        for (const auto& t : f.tensors())
          if (t.nbytes) sum += t.data[t.nbytes - 1];
        volatile uint64_t sink = sum;
        (void)sink;
        ++parsed;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("fuzz.gguf"), std::string::npos) << e.what();
        ++rejected;
      }
    }
  }
  EXPECT_GT(rejected, 100);
  std::printf("fuzz: %d mutants parsed, %d rejected\n", parsed, rejected);
}

}  // namespace
}  // namespace whale
