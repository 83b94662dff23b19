// Training tokens/s for the small config (the one PyTorch trains at
// 2176 tok/s on this machine, ANCHORS.md §6): hidden 256, 4 layers (1 dense),
// 16 routed experts top-2 + 1 shared, q_lora 128, kv_lora 64, seq 256,
// batch 8, byte vocab; forward + backward + AdamW + bias update, 2 threads.
#include <benchmark/benchmark.h>

#include <random>

#include "train/model_train.h"
#include "train/optimizer.h"

namespace whale {
namespace {

ModelConfig BenchConfig(bool moe, int64_t mtp) {
  ModelConfig c;
  c.model_type = "deepseek_v3";
  c.vocab_size = 259;
  c.hidden_size = 256;
  c.intermediate_size = 1024;
  c.moe_intermediate_size = 256;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.q_lora_rank = 128;
  c.kv_lora_rank = 64;
  c.qk_nope_head_dim = 32;
  c.qk_rope_head_dim = 16;
  c.v_head_dim = 32;
  c.first_k_dense_replace = moe ? 1 : 4;
  c.n_shared_experts = 1;
  c.n_routed_experts = moe ? 16 : 0;
  c.num_experts_per_tok = 2;
  c.topk_method = TopkMethod::kNoauxTc;
  c.scoring_func = ScoringFunc::kSigmoid;
  c.norm_topk_prob = true;
  c.num_nextn_predict_layers = mtp;
  c.max_position_embeddings = 1024;
  if (!moe) {  // PyTorch's dense variant: the same activated FFN width, 3 x 256
    c.intermediate_size = 768;
    c.topk_method = TopkMethod::kGreedy;
  }
  return c;
}

void BM_TrainStep(benchmark::State& state) {
  const bool moe = state.range(0) != 0;
  const int64_t mtp = state.range(1);
  const ModelConfig c = BenchConfig(moe, mtp);
  Params p(c, mtp > 0);
  p.Init(1);
  ThreadPool pool(2);
  TrainModel tm(p, &pool, 0.3, 1e-4);
  AdamW opt(p, AdamWConfig{});
  std::mt19937 rng(1);
  TrainBatch b;
  b.B = 8, b.T = 256;
  for (int64_t i = 0; i < b.B * b.T; ++i) b.inputs.push_back(int32_t(rng() % 256));
  b.next = b.labels = b.inputs;
  for (auto _ : state) {
    p.ZeroGrad();
    tm.ClearLoad();
    benchmark::DoNotOptimize(tm.Step(b, 1.0f));
    opt.Step(3e-4);
  }
  state.SetItemsProcessed(state.iterations() * b.B * b.T);  // items = training tokens
}
// {moe, mtp}: the anchor (MoE), MoE + 1 MTP module, dense with the same activated width.
BENCHMARK(BM_TrainStep)->Args({1, 0})->Args({1, 1})->Args({0, 0})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

}  // namespace
}  // namespace whale
