// Model writers: GGUF output checked against gguf-py's conversion of the same
// fixture (same tensor table, same bytes), F32 round trips reproducing
// model.py's logits, the q4_k_m mix, and the CLI (`whale quantize`,
// `whale gen-random`) run through the real binary.
#include "model/model_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "model/transformer.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = std::string(WHALE_SHARED_DIR) + "/fixtures/";

fs::path TempDir(const std::string& name) {
  const fs::path d = fs::path(WHALE_BINARY_DIR) / "model_writer_test" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

RowSource SourceOf(const Model& m) {
  auto views = std::make_shared<std::map<std::string, WeightView>>();
  ModelWeights w = m.weights;
  ForEachTensor(m.config, w, m.has_mtp(), [&](const TensorSpec& s) {
    if (!s.slot->empty()) (*views)[s.name] = *s.slot;
  });
  RowSource src;
  src.has = [views](const std::string& n) { return views->count(n) > 0; };
  src.rows = [views](const std::string& n, int64_t r0, int64_t k, float* out) {
    const WeightView& v = views->at(n);
    for (int64_t i = 0; i < k; ++i) DecodeRow(v, r0 + i, out + i * v.cols);
  };
  return src;
}

// Logits [B·T, V] of a full prefill of `ids` ([B, T]).
std::vector<float> Prefill(const Model& m, const std::vector<int32_t>& ids, int64_t B, int64_t T) {
  Transformer tf(m, &DefaultPool());
  LatentCache cache(m.config, tf.cache_layers(), B, T);
  std::vector<int32_t> seq, pos;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) seq.push_back(int32_t(b)), pos.push_back(int32_t(t));
  std::vector<float> out(ids.size() * m.config.vocab_size);
  tf.Forward({ids, seq, pos}, cache, out.data());
  return out;
}

struct Expected {
  std::vector<int32_t> ids;
  std::vector<float> logits;
  int64_t B = 0, T = 0;
};

Expected LoadExpected(const std::string& fixture) {
  SafetensorsFile f(kFixtures + fixture + "/expected.safetensors");
  Expected e;
  const TensorView* ids = f.find("input_ids");
  const TensorView* lg = f.find("logits");
  e.B = ids->shape[0], e.T = ids->shape[1];
  for (int64_t i = 0; i < ids->numel(); ++i) {
    int64_t v;
    std::memcpy(&v, ids->data + 8 * i, 8);
    e.ids.push_back(int32_t(v));
  }
  e.logits.resize(lg->numel());
  std::memcpy(e.logits.data(), lg->data, e.logits.size() * 4);
  return e;
}

struct Agreement {
  float max_diff = 0;
  double mean_kl = 0;  // KL(reference || candidate), nats
  int top1 = 0, n = 0;
};

Agreement Compare(const std::vector<float>& ref, const std::vector<float>& got, int64_t V) {
  Agreement a;
  for (size_t i = 0; i + V <= ref.size(); i += V) {
    const float* r = &ref[i];
    const float* g = &got[i];
    double mr = *std::max_element(r, r + V), mg = *std::max_element(g, g + V), zr = 0, zg = 0;
    for (int64_t v = 0; v < V; ++v) {
      zr += std::exp(r[v] - mr), zg += std::exp(g[v] - mg);
      a.max_diff = std::max(a.max_diff, std::fabs(r[v] - g[v]));
    }
    double kl = 0;
    for (int64_t v = 0; v < V; ++v) {
      const double lr = r[v] - mr - std::log(zr), lg = g[v] - mg - std::log(zg);
      kl += std::exp(lr) * (lr - lg);
    }
    a.mean_kl += kl;
    a.top1 += std::max_element(r, r + V) - r == std::max_element(g, g + V) - g;
    ++a.n;
  }
  a.mean_kl /= std::max(a.n, 1);
  return a;
}

int Whale(const std::string& args, std::string* output = nullptr) {
  // One log per test: ctest runs the tests of this file in parallel processes.
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(WHALE_BINARY_DIR) / "model_writer_test";
  fs::create_directories(dir);
  const std::string log =
      (dir / (std::string(info->test_suite_name()) + "." + info->name() + ".log")).string();
  const int rc = std::system((std::string(WHALE_EXE) + " " + args + " > " + log + " 2>&1").c_str());
  if (output) {
    std::ifstream f(log);
    *output = std::string(std::istreambuf_iterator<char>(f), {});
  }
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(ModelWriter, Q8_0GgufEqualsGgufPyConversionOfTheSameFixture) {
  // From the HF folder, and from the legacy-layout (attn_kv_b) F32 GGUF.
  for (const char* from : {"v2-lite", "gguf/v2-lite-f32.gguf"}) {
    SCOPED_TRACE(from);
    auto hf = LoadModel(kFixtures + from, false);
    const std::string out = (TempDir("q8") / "v2-lite-q8_0.gguf").string();
    WriteOptions o;
    o.scheme = QuantScheme::kQ8_0;
    o.pool = &DefaultPool();
    WriteGgufModel(out, hf->config, SourceOf(*hf), o);
    GgufFile ours(out), ref(kFixtures + "gguf/v2-lite-q8_0.gguf");
    ASSERT_EQ(ours.tensors().size(), ref.tensors().size());
    for (const auto& r : ref.tensors()) {
      const GgufTensorInfo* t = ours.FindTensor(r.name);
      ASSERT_TRUE(t) << r.name;
      EXPECT_EQ(t->ne, r.ne) << r.name;
      EXPECT_EQ(t->ggml_type, r.ggml_type) << r.name;
      ASSERT_EQ(t->nbytes, r.nbytes) << r.name;
      EXPECT_EQ(std::memcmp(t->data, r.data, r.nbytes), 0) << r.name << ": bytes differ from gguf-py's";
    }
    int keys = 0;
    for (const auto& [k, v] : ref.kv()) {
      if (k.rfind("deepseek2.", 0) != 0 && k != "general.architecture" && k != "general.file_type") continue;
      const GgufValue* mine = ours.Find(k);
      ASSERT_TRUE(mine) << k;
      EXPECT_EQ(mine->type, v.type) << k;
      EXPECT_EQ(mine->i, v.i) << k;
      EXPECT_EQ(float(mine->f), float(v.f)) << k;
      EXPECT_EQ(mine->s, v.s) << k;
      ++keys;
    }
    for (const auto& [k, v] : ours.kv())
      if (k.rfind("deepseek2.", 0) == 0) {
        EXPECT_TRUE(ref.Find(k)) << "extra key " << k;
      }
    std::printf("%s -> q8_0: %zu tensors byte-identical to gguf-py's, %d metadata keys equal\n", from,
                ref.tensors().size(), keys);
  }
}

TEST(ModelWriter, F32GgufRoundTripsReproduceModelPyLogits) {
  for (const char* fixture : {"v2-lite", "v2", "v3"}) {
    SCOPED_TRACE(fixture);
    auto hf = LoadHfFolder(kFixtures + fixture, false);
    const std::string out = (TempDir(std::string("f32-") + fixture) / "m.gguf").string();
    WriteOptions o;
    o.scheme = QuantScheme::kF32;
    WriteGgufModel(out, hf->config, SourceOf(*hf), o);
    auto g = LoadGgufModel(out, false);
    const Expected e = LoadExpected(fixture);
    const Agreement a = Compare(e.logits, Prefill(*g, e.ids, e.B, e.T), g->config.vocab_size);
    std::printf("%s -> f32 GGUF: max |Δlogit| %.3g, top-1 %d/%d\n", fixture, a.max_diff, a.top1, a.n);
    EXPECT_LE(a.max_diff, 1e-3f);
  }
}

TEST(ModelWriter, QuantisedGgufsStayCloseToTheReference) {
  for (const char* fixture : {"v2-lite", "v2", "v3"}) {
    auto hf = LoadHfFolder(kFixtures + fixture, false);
    const Expected e = LoadExpected(fixture);
    for (QuantScheme s : {QuantScheme::kBF16, QuantScheme::kQ8_0, QuantScheme::kQ6_K, QuantScheme::kQ4_K_M}) {
      const fs::path dir = TempDir(std::string("mix-") + fixture);
      const std::string out = (dir / "m.gguf").string();
      WriteOptions o;
      o.scheme = s;
      o.pool = &DefaultPool();
      const TypeMix mix = WriteGgufModel(out, hf->config, SourceOf(*hf), o);
      auto g = LoadGgufModel(out, false);
      const Agreement a = Compare(e.logits, Prefill(*g, e.ids, e.B, e.T), g->config.vocab_size);
      // The same (already rounded) weights computed in f32: separates what the
      // format loses from what the kernels lose (int8 activations in Q8_0/K dots).
      WriteOptions f32 = o;
      f32.scheme = QuantScheme::kF32;
      const std::string deq = (dir / "deq.gguf").string();
      WriteGgufModel(deq, g->config, SourceOf(*g), f32);
      const Agreement d = Compare(e.logits, Prefill(*LoadGgufModel(deq, false), e.ids, e.B, e.T), g->config.vocab_size);
      std::printf("%s %-6s: %7.1f KiB, top-1 %d/%d, mean KL %.2e, max |Δlogit| %.3f"
                  " | weights dequantized, f32 compute: top-1 %d/%d, mean KL %.2e\n",
                  fixture, QuantSchemeName(s).c_str(), double(mix.total_bytes) / 1024, a.top1, a.n, a.mean_kl,
                  a.max_diff, d.top1, d.n, d.mean_kl);
      // 8-bit formats keep 3/4 of the tiny fixtures' (small-margin) argmaxes;
      // Q4_K_M's 4.5 bits lose more (v2: 55/80 from the rounding alone).
      const int floor = s == QuantScheme::kQ4_K_M ? a.n / 2 : a.n * 3 / 4;
      EXPECT_GE(a.top1, floor) << fixture << " " << QuantSchemeName(s);
      // The kernels may add error to the format's own, but not much.
      EXPECT_GE(a.top1, d.top1 - 2) << fixture << " " << QuantSchemeName(s);
      EXPECT_LE(a.mean_kl, 4 * d.mean_kl + 1e-3) << fixture << " " << QuantSchemeName(s);
    }
  }
}

const char* kRandomConfig = R"({
  "model_type": "deepseek_v3", "vocab_size": 512, "hidden_size": 256, "intermediate_size": 512,
  "moe_intermediate_size": 256, "num_hidden_layers": 4, "num_attention_heads": 2, "q_lora_rank": 256,
  "kv_lora_rank": 256, "qk_nope_head_dim": 32, "qk_rope_head_dim": 32, "v_head_dim": 32,
  "first_k_dense_replace": 1, "n_routed_experts": 16, "num_experts_per_tok": 2, "n_shared_experts": 1,
  "n_group": 2, "topk_group": 1, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
  "norm_topk_prob": true, "routed_scaling_factor": 2.5, "num_nextn_predict_layers": 1,
  "rope_scaling": {"type": "yarn", "factor": 4, "original_max_position_embeddings": 64,
                   "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0}
})";

TEST(ModelWriterCli, GenRandomWritesLoadableModelsAndTheQ4_K_MMix) {
  const fs::path d = TempDir("random");
  std::ofstream(d / "config.json") << kRandomConfig;
  std::string log;
  ASSERT_EQ(Whale("gen-random --config " + (d / "config.json").string() + " --out " + (d / "f32.gguf").string() +
                " --dtype f32 --seed 7", &log), 0) << log;
  ASSERT_EQ(Whale("gen-random --config " + (d / "config.json").string() + " --out " + (d / "q4km.gguf").string() +
                " --dtype q4_k_m --seed 7", &log), 0) << log;
  EXPECT_NE(log.find("Q6_K"), std::string::npos) << log;  // the mix is printed
  ASSERT_EQ(Whale("gen-random --config " + (d / "config.json").string() + " --out " + (d / "folder").string() +
                " --dtype bf16 --seed 7", &log), 0) << log;

  GgufFile q(d / "q4km.gguf");
  auto type = [&](const std::string& n) { return GgmlTypeName(q.FindTensor(n)->ggml_type); };
  EXPECT_EQ(type("output.weight"), "Q6_K");
  EXPECT_EQ(type("token_embd.weight"), "Q4_K");
  EXPECT_EQ(type("output_norm.weight"), "F32");
  EXPECT_EQ(type("blk.1.ffn_gate_inp.weight"), "F32");
  EXPECT_EQ(type("blk.1.exp_probs_b.bias"), "F32");
  EXPECT_EQ(type("blk.1.attn_k_b.weight"), "Q5_0");   // row 32: Q4_K falls back
  EXPECT_EQ(type("blk.1.attn_v_b.weight"), "Q4_K");
  // use_more_bits(i, 4) holds for layers 2 ((i - n/8) % 3 == 2) and 3 (last eighth).
  EXPECT_EQ(type("blk.0.ffn_down.weight"), "Q4_K");
  EXPECT_EQ(type("blk.1.ffn_down_exps.weight"), "Q4_K");
  EXPECT_EQ(type("blk.2.ffn_down_exps.weight"), "Q6_K");
  EXPECT_EQ(type("blk.2.ffn_down_shexp.weight"), "Q6_K");
  EXPECT_EQ(type("blk.3.ffn_down_exps.weight"), "Q6_K");
  EXPECT_EQ(type("blk.2.ffn_gate_exps.weight"), "Q4_K");

  auto f32 = LoadModel((d / "f32.gguf").string(), false);
  auto q4 = LoadModel((d / "q4km.gguf").string(), false);
  auto folder = LoadModel((d / "folder").string(), true);
  EXPECT_TRUE(folder->has_mtp());
  std::vector<int32_t> ids;
  for (int i = 0; i < 48; ++i) ids.push_back((i * 37 + 11) % 512);
  const auto ref = Prefill(*f32, ids, 1, 48);
  const Agreement a4 = Compare(ref, Prefill(*q4, ids, 1, 48), 512);
  const Agreement ab = Compare(ref, Prefill(*folder, ids, 1, 48), 512);
  std::printf("random model: q4_k_m top-1 %d/%d mean KL %.2e; bf16 folder top-1 %d/%d mean KL %.2e\n", a4.top1, a4.n,
              a4.mean_kl, ab.top1, ab.n, ab.mean_kl);
  EXPECT_LT(ab.mean_kl, 1e-3);
  EXPECT_LT(a4.mean_kl, 0.05);

  // The same seed gives the same file.
  ASSERT_EQ(Whale("gen-random --config " + (d / "config.json").string() + " --out " + (d / "again.gguf").string() +
                " --dtype q4_k_m --seed 7"), 0);
  std::ifstream x(d / "q4km.gguf", std::ios::binary), y(d / "again.gguf", std::ios::binary);
  EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(x), {}, std::istreambuf_iterator<char>(y)));
}

// When a llama.cpp build is at hand (bench/.peers, or WHALE_LLAMA_BIN naming
// its bin/ folder), `whale quantize` must produce exactly what
// `llama-quantize` produces from the same F32 GGUF: same types, same bytes.
TEST(ModelWriterCli, MatchesLlamaQuantizeByteForByte) {
  const char* env = std::getenv("WHALE_LLAMA_BIN");
  const fs::path bin = env ? fs::path(env) : fs::path(WHALE_SOURCE_DIR) / "bench/.peers/llama.cpp/build/bin";
  if (!fs::exists(bin / "llama-quantize")) GTEST_SKIP() << "no llama-quantize in " << bin;
  const fs::path d = TempDir("llama");
  std::ofstream(d / "config.json") << kRandomConfig;
  ASSERT_EQ(Whale("gen-random --config " + (d / "config.json").string() + " --out " + (d / "f32.gguf").string() +
                  " --dtype f32 --seed 3"), 0);
  for (auto [ours, theirs] : {std::pair<const char*, const char*>{"q8_0", "Q8_0"}, {"q6_k", "Q6_K"},
                              {"q4_k_m", "Q4_K_M"}, {"bf16", "BF16"}}) {
    SCOPED_TRACE(ours);
    const fs::path w = d / (std::string("whale-") + ours + ".gguf"), l = d / (std::string("llama-") + ours + ".gguf");
    ASSERT_EQ(Whale("quantize " + (d / "f32.gguf").string() + " " + w.string() + " --type " + ours), 0);
    const std::string cmd = "LD_LIBRARY_PATH=" + bin.string() + " " + (bin / "llama-quantize").string() + " " +
                            (d / "f32.gguf").string() + " " + l.string() + " " + theirs + " 1 > " +
                            (d / "llama.log").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    GgufFile a(w.string()), b(l.string());
    ASSERT_EQ(a.tensors().size(), b.tensors().size());
    int same = 0;
    for (const auto& t : b.tensors()) {
      const GgufTensorInfo* m = a.FindTensor(t.name);
      ASSERT_TRUE(m) << t.name;
      EXPECT_EQ(GgmlTypeName(m->ggml_type), GgmlTypeName(t.ggml_type)) << t.name;
      EXPECT_EQ(m->ne, t.ne) << t.name;
      if (m->nbytes == t.nbytes && std::memcmp(m->data, t.data, t.nbytes) == 0) ++same;
      else ADD_FAILURE() << t.name << ": bytes differ from llama-quantize's";
    }
    std::printf("%s: %d/%zu tensors byte-identical to llama-quantize %s\n", ours, same, b.tensors().size(), theirs);
  }
}

TEST(ModelWriterCli, QuantizeFolderAndGgufInputs) {
  const fs::path d = TempDir("quantize");
  std::string log;
  // FP8 V3 release format -> BF16 folder (MTP kept) -> Q8_0 GGUF (MTP dropped).
  ASSERT_EQ(Whale("quantize " + kFixtures + "v3 " + (d / "v3-bf16").string() + " --type bf16", &log), 0) << log;
  ASSERT_EQ(Whale("quantize " + (d / "v3-bf16").string() + " " + (d / "v3-q8.gguf").string() + " --type q8_0", &log), 0)
      << log;
  EXPECT_NE(log.find("MTP"), std::string::npos) << log;
  // FP8 -> Q4_K_M folder: block formats in safetensors load like GGUF's.
  ASSERT_EQ(Whale("quantize " + kFixtures + "v3 " + (d / "v3-q4km").string() + " --type q4_k_m", &log), 0) << log;
  // GGUF -> GGUF keeps the tokenizer.
  ASSERT_EQ(Whale("quantize " + kFixtures + "gguf/v3-f32.gguf " + (d / "v3-q6.gguf").string() + " --type q6_k", &log), 0)
      << log;
  GgufFile q6(d / "v3-q6.gguf");
  ASSERT_TRUE(q6.Find("tokenizer.ggml.merges"));
  EXPECT_EQ(q6.Find("tokenizer.ggml.merges")->strings.size(), 425u);

  const Expected e = LoadExpected("v3");
  auto bf = LoadModel((d / "v3-bf16").string(), true);
  EXPECT_TRUE(bf->has_mtp());
  for (const char* m : {"v3-bf16", "v3-q8.gguf", "v3-q6.gguf", "v3-q4km"}) {
    auto model = LoadModel((d / m).string(), false);
    const Agreement a = Compare(e.logits, Prefill(*model, e.ids, e.B, e.T), model->config.vocab_size);
    std::printf("v3 via %s: top-1 %d/%d, mean KL %.2e, max |Δlogit| %.3f\n", m, a.top1, a.n, a.mean_kl, a.max_diff);
    EXPECT_GE(a.top1, a.n * 3 / 4) << m;
  }

  EXPECT_NE(Whale("quantize " + kFixtures + "v3 " + (d / "x.gguf").string() + " --type q3_k", &log), 0);
  EXPECT_NE(log.find("--type"), std::string::npos) << log;
  EXPECT_NE(Whale("quantize " + (d / "missing").string() + " " + (d / "x.gguf").string() + " --type q8_0", &log), 0);
  EXPECT_NE(log.find("missing"), std::string::npos) << log;
}

}  // namespace
}  // namespace whale
