// The training forward equals the inference forward (Transformer::Forward,
// both attention paths, and ForwardMtp), and the whole model's gradient
// matches finite differences tensor by tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "model/transformer.h"
#include "train/model_train.h"
#include "train/test_util.h"

namespace whale {
namespace {

TrainBatch RandomBatch(const ModelConfig& c, int64_t B, int64_t T, uint64_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> tok(0, int(c.vocab_size) - 1);
  TrainBatch b;
  b.B = B, b.T = T;
  for (int64_t i = 0; i < B * T; ++i) {
    b.inputs.push_back(tok(rng));
    b.next.push_back(tok(rng));
  }
  b.labels = b.next;
  b.labels[1] = -1;  // an ignored position
  return b;
}

void RandomBias(Params& p, uint64_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  for (auto& t : p.tensors)
    if (t.role == TensorRole::kBias)
      for (int64_t i = 0; i < t.size; ++i) p.data[t.offset + i] = nd(rng);
  // Norm weights away from 1 so their gradients are exercised.
  for (auto& t : p.tensors)
    if (t.role == TensorRole::kNorm)
      for (int64_t i = 0; i < t.size; ++i) p.data[t.offset + i] = 1.0f + nd(rng);
}

class TrainForwardTest : public ::testing::TestWithParam<bool> {};

TEST_P(TrainForwardTest, MatchesTransformerForward) {
  const ModelConfig c = testing::TinyConfig(GetParam(), 1);
  Params p(c, true);
  p.Init(1, 0.2);
  RandomBias(p, 2);
  ThreadPool pool(2);
  TrainModel tm(p, &pool);
  const int64_t B = 2, T = 7;
  TrainBatch b = RandomBatch(c, B, T, 3);
  tm.Step(b, 1.0f, false);

  for (AttnPath path : {AttnPath::kNaive, AttnPath::kAbsorbed}) {
    Transformer tr(p.model(), &pool);
    tr.attn_path = path;
    LatentCache cache(c, tr.cache_layers(), B, T);
    std::vector<int32_t> seq, pos;
    for (int64_t i = 0; i < B * T; ++i) seq.push_back(int32_t(i / T)), pos.push_back(int32_t(i % T));
    Batch batch{b.inputs, seq, pos};
    std::vector<float> logits(B * T * c.vocab_size), hidden(B * T * c.hidden_size), mtp(logits.size());
    tr.Forward(batch, cache, logits.data(), hidden.data());
    double worst = 0;
    for (size_t i = 0; i < logits.size(); ++i) worst = std::max(worst, double(std::fabs(logits[i] - tm.logits()[i])));
    EXPECT_LT(worst, 1e-4) << "main logits, path " << int(path);
    Batch mb{b.next, seq, pos};
    tr.ForwardMtp(0, mb, hidden.data(), cache, mtp.data(), /*mask_pos0=*/false);
    worst = 0;
    for (size_t i = 0; i < mtp.size(); ++i) worst = std::max(worst, double(std::fabs(mtp[i] - tm.mtp_logits()[i])));
    EXPECT_LT(worst, 1e-4) << "MTP logits, path " << int(path);
  }
}

INSTANTIATE_TEST_SUITE_P(QLora, TrainForwardTest, ::testing::Bool());

// Directional finite differences per tensor: perturb one tensor along a random
// direction u and compare (L(θ+εu) − L(θ−εu)) / 2ε with ∇L·u. A step-size
// study picks the best of three ε (fp32 forward: truncation vs rounding).
void CheckGradients(const ModelConfig& c, double alpha) {
  Params p(c, c.num_nextn_predict_layers > 0);
  p.Init(5, 0.3);
  RandomBias(p, 6);
  ThreadPool pool(2);
  TrainModel tm(p, &pool, 0.3, alpha);
  TrainBatch b = RandomBatch(c, 2, 6, 7);
  p.ZeroGrad();
  tm.Step(b, 1.0f, true);
  const std::vector<float> g = p.grad;
  const std::vector<int32_t> routing = tm.Routing();
  std::mt19937 rng(8);
  std::normal_distribution<double> nd;
  int checked = 0;
  for (const ParamTensor& t : p.tensors) {
    if (!t.trainable) continue;
    std::vector<double> u(t.size);
    double gu = 0;
    for (int64_t i = 0; i < t.size; ++i) gu += (u[i] = nd(rng)) * g[t.offset + i];
    double best = 1e30, fd_best = 0;
    for (double eps : {1e-2, 3e-3, 1e-3, 3e-4}) {
      bool flipped = false;  // the loss is piecewise smooth: skip steps that change routing
      auto loss_at = [&](double sgn) {
        std::vector<float> saved(p.data.begin() + t.offset, p.data.begin() + t.offset + t.size);
        for (int64_t i = 0; i < t.size; ++i) p.data[t.offset + i] = float(saved[i] + sgn * eps * u[i]);
        const double l = tm.Step(b, 1.0f, false).total;
        flipped |= tm.Routing() != routing;
        std::copy(saved.begin(), saved.end(), p.data.begin() + t.offset);
        return l;
      };
      const double fd = (loss_at(1) - loss_at(-1)) / (2 * eps);
      if (flipped) continue;
      const double err = std::fabs(fd - gu);
      if (err < best) best = err, fd_best = fd;
    }
    EXPECT_LT(best, 2e-3 + 2e-2 * std::fabs(gu)) << t.name << ": analytic " << gu << ", finite difference " << fd_best;
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(TrainGradientTest, WholeModelQLoraMtp) { CheckGradients(testing::TinyConfig(true, 1), 0.0); }
TEST(TrainGradientTest, WholeModelQProjWithBalanceLoss) { CheckGradients(testing::TinyConfig(false, 0), 0.01); }

TEST(TrainGradientTest, SoftmaxRouterUnnormalised) {
  ModelConfig c = testing::TinyConfig(true, 0);
  c.scoring_func = ScoringFunc::kSoftmax;
  c.topk_method = TopkMethod::kGreedy;
  c.norm_topk_prob = false;
  c.routed_scaling_factor = 1.0;
  CheckGradients(c, 0.01);
}

}  // namespace
}  // namespace whale
