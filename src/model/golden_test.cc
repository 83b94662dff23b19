// Golden tests: the three fixtures made with DeepSeek's own model.py, checked
// at every position (see ../shared/fixtures/README.md for the semantics).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>

#include "io/safetensors.h"
#include "model/rope.h"
#include "model/transformer.h"

namespace whale {
namespace {

const std::string kFixtures = std::string(WHALE_SHARED_DIR) + "/fixtures/";

std::vector<float> F32(const SafetensorsFile& f, const std::string& name) {
  const TensorView* t = f.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  WeightView v{t->dtype, 1, t->numel(), t->data};
  std::vector<float> out(t->numel());
  DecodeRow(v, 0, out.data());
  return out;
}

std::vector<int64_t> Ints(const SafetensorsFile& f, const std::string& name) {
  const TensorView* t = f.find(name);
  EXPECT_NE(t, nullptr) << name;
  std::vector<int64_t> out(t->numel());
  for (int64_t i = 0; i < t->numel(); ++i) {
    if (t->dtype == DType::kI64) std::memcpy(&out[i], t->data + 8 * i, 8);
    else { int32_t v; std::memcpy(&v, t->data + 4 * i, 4); out[i] = v; }
  }
  return out;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Records hidden states and routing in [B, T, ...] order.
struct Recorder : ForwardObserver {
  int64_t B, T;
  std::map<int64_t, std::vector<float>> hidden, weights;
  std::map<int64_t, std::vector<int32_t>> experts;
  std::vector<int32_t> seq, pos;  // of the current call
  void Hidden(int64_t layer, const float* h, int64_t n, int64_t d) override {
    auto& v = hidden[layer];
    v.resize(B * T * d);
    for (int64_t i = 0; i < n; ++i) std::copy(h + i * d, h + (i + 1) * d, v.begin() + (seq[i] * T + pos[i]) * d);
  }
  void Routing(int64_t layer, const int32_t* e, const float* w, int64_t n, int64_t k) override {
    auto& ve = experts[layer];
    auto& vw = weights[layer];
    ve.resize(B * T * k);
    vw.resize(B * T * k);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j) {
        ve[(seq[i] * T + pos[i]) * k + j] = e[i * k + j];
        vw[(seq[i] * T + pos[i]) * k + j] = w[i * k + j];
      }
  }
};

struct Fixture {
  std::unique_ptr<Model> model;
  std::unique_ptr<SafetensorsFile> expected;
  int64_t B, T, P, V, H;
  std::vector<int32_t> ids;
};

Fixture Load(const std::string& name) {
  Fixture f;
  f.model = LoadHfFolder(kFixtures + name);
  f.expected = std::make_unique<SafetensorsFile>(kFixtures + name + "/expected.safetensors");
  const TensorView* ids = f.expected->find("input_ids");
  f.B = ids->shape[0];
  f.T = ids->shape[1];
  f.P = Ints(*f.expected, "prefill_len")[0];
  f.V = f.model->config.vocab_size;
  f.H = f.model->config.hidden_size;
  for (int64_t v : Ints(*f.expected, "input_ids")) f.ids.push_back(int32_t(v));
  return f;
}

// Runs positions [from, to) of every sequence through the model in chunks of
// `chunk` tokens per sequence (all sequences in each call), writing logits
// and final hidden states into [B, T, *] arrays.
void RunPositions(Transformer& tf, Fixture& f, LatentCache& cache, int64_t from, int64_t to, int64_t chunk,
         std::vector<float>& logits, std::vector<float>* hidden, Recorder* rec) {
  for (int64_t p0 = from; p0 < to; p0 += chunk) {
    const int64_t p1 = std::min(to, p0 + chunk);
    std::vector<int32_t> tok, seq, pos;
    for (int64_t b = 0; b < f.B; ++b)
      for (int64_t p = p0; p < p1; ++p) {
        tok.push_back(f.ids[b * f.T + p]);
        seq.push_back(int32_t(b));
        pos.push_back(int32_t(p));
      }
    if (rec) rec->seq = seq, rec->pos = pos;
    std::vector<float> lg(tok.size() * f.V), hd(tok.size() * f.H);
    tf.Forward({tok, seq, pos}, cache, lg.data(), hd.data());
    for (size_t i = 0; i < tok.size(); ++i) {
      std::copy(lg.begin() + i * f.V, lg.begin() + (i + 1) * f.V, logits.begin() + (seq[i] * f.T + pos[i]) * f.V);
      if (hidden)
        std::copy(hd.begin() + i * f.H, hd.begin() + (i + 1) * f.H, hidden->begin() + (seq[i] * f.T + pos[i]) * f.H);
    }
  }
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, RopeAndScale) {
  Fixture f = Load(GetParam());
  auto inv = RopeInvFreq(f.model->config);
  auto want = F32(*f.expected, "rope.inv_freq");
  ASSERT_EQ(inv.size(), want.size());
  for (size_t i = 0; i < inv.size(); ++i) EXPECT_NEAR(inv[i], want[i], 1e-6 * std::fabs(want[i])) << i;
  const float s = F32(*f.expected, "attn.softmax_scale")[0];
  EXPECT_NEAR(SoftmaxScale(f.model->config), s, 1e-6 * s);
}

TEST_P(Golden, PrefillLogitsHiddenAndRoutingAtEveryPosition) {
  for (AttnPath path : {AttnPath::kAbsorbed, AttnPath::kNaive}) {
    Fixture f = Load(GetParam());
    Transformer tf(*f.model, &DefaultPool());
    tf.attn_path = path;
    Recorder rec;
    rec.B = f.B, rec.T = f.T;
    tf.observer = &rec;
    LatentCache cache(f.model->config, tf.cache_layers(), f.B, f.T);
    std::vector<float> logits(f.B * f.T * f.V), hidden(f.B * f.T * f.H);
    RunPositions(tf, f, cache, 0, f.T, f.T, logits, &hidden, &rec);
    const char* pn = path == AttnPath::kAbsorbed ? "absorbed" : "naive";
    const float d = MaxAbsDiff(logits, F32(*f.expected, "logits"));
    EXPECT_LE(d, 1e-3) << pn;
    RecordProperty(std::string("max_dlogit_") + pn, std::to_string(d));
    std::printf("[%s %s] max |dlogit| %.3g\n", GetParam().c_str(), pn, d);
    const int64_t L = f.model->config.num_hidden_layers;
    for (int64_t l = 0; l < L; ++l)
      EXPECT_LE(MaxAbsDiff(rec.hidden[l], F32(*f.expected, "hidden." + std::to_string(l))), 1e-3) << pn << " layer " << l;
    EXPECT_LE(MaxAbsDiff(hidden, F32(*f.expected, "hidden.final")), 1e-3) << pn;
    for (int64_t l = 0; l < L; ++l) {
      if (!f.model->config.is_moe_layer(l)) continue;
      auto want_e = Ints(*f.expected, "router." + std::to_string(l) + ".experts");
      const auto& got_e = rec.experts[l];
      ASSERT_EQ(got_e.size(), want_e.size());
      int64_t mismatched = 0;
      for (size_t i = 0; i < want_e.size(); ++i) mismatched += got_e[i] != want_e[i];
      EXPECT_EQ(mismatched, 0) << pn << " layer " << l;
      EXPECT_LE(MaxAbsDiff(rec.weights[l], F32(*f.expected, "router." + std::to_string(l) + ".weights")), 1e-4)
          << pn << " layer " << l;
    }
  }
}

TEST_P(Golden, DecodeAfterPrefillMatchesLogitsDecode) {
  Fixture f = Load(GetParam());
  Transformer tf(*f.model, &DefaultPool());
  LatentCache cache(f.model->config, tf.cache_layers(), f.B, f.T);
  std::vector<float> logits(f.B * f.T * f.V);
  RunPositions(tf, f, cache, 0, f.P, f.P, logits, nullptr, nullptr);  // one prefill call of P tokens
  RunPositions(tf, f, cache, f.P, f.T, 1, logits, nullptr, nullptr);  // then one token per call
  const float d = MaxAbsDiff(logits, F32(*f.expected, "logits_decode"));
  std::printf("[%s] decode max |dlogit| %.3g\n", GetParam().c_str(), d);
  EXPECT_LE(d, 1e-3);
  EXPECT_LE(MaxAbsDiff(logits, F32(*f.expected, "logits")), 1e-3);  // decode == prefill
  // The cache holds model.py's layout: normalised latent, roped k_pe.
  const auto& c = f.model->config;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    auto kv = F32(*f.expected, "cache." + std::to_string(l) + ".kv");
    auto pe = F32(*f.expected, "cache." + std::to_string(l) + ".pe");
    float dk = 0, dp = 0;
    for (int64_t b = 0; b < f.B; ++b)
      for (int64_t t = 0; t < f.T; ++t) {
        const float* e = cache.entry(l, b, t);
        for (int64_t i = 0; i < c.kv_lora_rank; ++i)
          dk = std::max(dk, std::fabs(e[i] - kv[(b * f.T + t) * c.kv_lora_rank + i]));
        for (int64_t i = 0; i < c.qk_rope_head_dim; ++i)
          dp = std::max(dp, std::fabs(e[c.kv_lora_rank + i] - pe[(b * f.T + t) * c.qk_rope_head_dim + i]));
      }
    EXPECT_LE(dk, 1e-3) << "cache." << l << ".kv";
    EXPECT_LE(dp, 1e-3) << "cache." << l << ".pe";
  }
}

TEST_P(Golden, ChunkedPrefillMatchesFullPrefill) {
  Fixture f = Load(GetParam());
  Transformer tf(*f.model, &DefaultPool());
  LatentCache cache(f.model->config, tf.cache_layers(), f.B, f.T);
  std::vector<float> logits(f.B * f.T * f.V);
  RunPositions(tf, f, cache, 0, f.T, 7, logits, nullptr, nullptr);
  EXPECT_LE(MaxAbsDiff(logits, F32(*f.expected, "logits")), 1e-3);
}

TEST_P(Golden, SequencesOfDifferentLengthsInOneBatch) {
  // Sequence 0 is prefilled to P while sequence 1 is still empty; then each
  // call mixes a decode token of sequence 0 with a chunk of sequence 1.
  Fixture f = Load(GetParam());
  Transformer tf(*f.model, &DefaultPool());
  LatentCache cache(f.model->config, tf.cache_layers(), f.B, f.T);
  std::vector<float> want = F32(*f.expected, "logits");
  std::vector<int32_t> tok, seq, pos;
  for (int64_t p = 0; p < f.P; ++p) tok.push_back(f.ids[p]), seq.push_back(0), pos.push_back(int32_t(p));
  std::vector<float> lg(tok.size() * f.V);
  tf.Forward({tok, seq, pos}, cache, lg.data());
  float worst = 0;
  int64_t p1 = 0;
  for (int64_t p0 = f.P; p0 < f.T; ++p0) {
    tok = {f.ids[p0]}, seq = {0}, pos = {int32_t(p0)};
    const int64_t end = std::min<int64_t>(f.T, p1 + 3);
    for (; p1 < end; ++p1) tok.push_back(f.ids[f.T + p1]), seq.push_back(1), pos.push_back(int32_t(p1));
    lg.resize(tok.size() * f.V);
    tf.Forward({tok, seq, pos}, cache, lg.data());
    for (size_t i = 0; i < tok.size(); ++i)
      for (int64_t v = 0; v < f.V; ++v)
        worst = std::max(worst, std::fabs(lg[i * f.V + v] - want[(seq[i] * f.T + pos[i]) * f.V + v]));
  }
  EXPECT_LE(worst, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden, ::testing::Values("v2-lite", "v2", "v3"));

TEST(GoldenMtp, AllFourVariantsAndRouting) {
  Fixture f = Load("v3");
  ASSERT_TRUE(f.model->has_mtp());
  const int64_t L = f.model->config.num_hidden_layers, k = f.model->config.num_experts_per_tok;
  for (bool prenorm : {false, true})
    for (bool mask : {true, false}) {
      Transformer tf(*f.model, &DefaultPool());
      Recorder rec;
      rec.B = f.B, rec.T = f.T;
      tf.observer = &rec;
      LatentCache cache(f.model->config, tf.cache_layers(), f.B, f.T);
      std::vector<float> logits(f.B * f.T * f.V), hidden(f.B * f.T * f.H);
      rec.seq.clear();
      RunPositions(tf, f, cache, 0, f.T, f.T, logits, &hidden, &rec);
      const std::vector<float>& g = prenorm ? rec.hidden[L - 1] : hidden;
      // MTP input i (position i) pairs hidden[i] with ids[i+1].
      std::vector<int32_t> tok, seq, pos;
      std::vector<float> h;
      for (int64_t b = 0; b < f.B; ++b)
        for (int64_t i = 0; i + 1 < f.T; ++i) {
          tok.push_back(f.ids[b * f.T + i + 1]), seq.push_back(int32_t(b)), pos.push_back(int32_t(i));
          h.insert(h.end(), g.begin() + (b * f.T + i) * f.H, g.begin() + (b * f.T + i + 1) * f.H);
        }
      rec.seq = seq, rec.pos = pos;
      rec.hidden.clear(), rec.experts.clear(), rec.weights.clear();
      rec.T = f.T - 1;
      std::vector<float> ml(tok.size() * f.V), mh(tok.size() * f.H);
      tf.ForwardMtp(0, {tok, seq, pos}, h.data(), cache, ml.data(), mask, mh.data());
      std::string name = std::string("mtp.logits") + (prenorm ? "_prenorm" : "") + (mask ? "" : "_nomask");
      const float d = MaxAbsDiff(ml, F32(*f.expected, name));
      std::printf("[v3] %s max |d| %.3g\n", name.c_str(), d);
      EXPECT_LE(d, 1e-3) << name;
      if (!prenorm && mask) {
        EXPECT_LE(MaxAbsDiff(mh, F32(*f.expected, "mtp.hidden")), 1e-3);
        auto want_e = Ints(*f.expected, "mtp.router.experts");
        ASSERT_EQ(rec.experts[L].size(), want_e.size());
        for (size_t i = 0; i < want_e.size(); ++i) EXPECT_EQ(rec.experts[L][i], want_e[i]) << i / k;
        EXPECT_LE(MaxAbsDiff(rec.weights[L], F32(*f.expected, "mtp.router.weights")), 1e-4);
      }
    }
}

}  // namespace
}  // namespace whale
