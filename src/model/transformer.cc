#include "model/transformer.h"

#include <cstring>
#include <string>

#include "io/error.h"
#include "kernels/ops.h"
#include "model/rope.h"

namespace whale {

Transformer::Transformer(const Model& model, ThreadPool* pool)
    : model_(model), c_(model.config), pool_(pool), inv_freq_(RopeInvFreq(c_)), softmax_scale_(SoftmaxScale(c_)) {
  const int64_t H = c_.num_attention_heads, R = c_.kv_lora_rank, Dn = c_.qk_nope_head_dim, Dv = c_.v_head_dim;
  auto view = [&](const std::string& name, int64_t rows, int64_t cols) {
    const TensorView* t = model.store.find(name);
    if (!t || t->shape != std::vector<int64_t>{rows, cols}) return WeightView{};
    return WeightView{t->dtype, rows, cols, t->data};
  };
  absorbed_.resize(cache_layers());
  for (int64_t l = 0; l < cache_layers(); ++l) {
    const std::string a = "model.layers." + std::to_string(l) + ".self_attn.";
    AbsorbedKvB kv{view(a + "k_b_proj.weight", H * R, Dn), view(a + "v_b_proj.weight", H * Dv, R)};
    if (!kv.k_b.empty() && !kv.v_b.empty()) absorbed_[l] = kv;
  }
}

int64_t Transformer::cache_layers() const {
  return c_.num_hidden_layers + int64_t(model_.weights.mtp.size());
}

void Transformer::Embed(const WeightView& table, const Batch& b, float* x) {
  for (size_t t = 0; t < b.size(); ++t) {
    const int32_t id = b.tokens[t];
    if (id < 0 || id >= c_.vocab_size)
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary (vocab_size " +
                  std::to_string(c_.vocab_size) + ")");
    DecodeRow(table, id, x + t * c_.hidden_size);
  }
}

static void CheckBatch(const Batch& b, const LatentCache& cache) {
  if (b.seq.size() != b.size() || b.pos.size() != b.size()) throw Error("batch: tokens, seq and pos differ in length");
  for (size_t t = 0; t < b.size(); ++t) {
    if (b.seq[t] < 0 || b.seq[t] >= cache.max_seqs())
      throw Error("batch: sequence slot " + std::to_string(b.seq[t]) + " outside the cache");
    if (b.pos[t] < 0 || b.pos[t] >= cache.max_len())
      throw Error("batch: position " + std::to_string(b.pos[t]) + " beyond the context length " +
                  std::to_string(cache.max_len()));
  }
}

// h += MLA(input_layernorm(h)); h += FFN(post_attention_layernorm(h))
void Transformer::Block(const LayerWeights& w, int64_t layer, const Batch& b, LatentCache& cache, float* x) {
  const int64_t n = int64_t(b.size()), H = c_.hidden_size;
  ws_.xn.resize(n * H);
  ws_.tmp.resize(n * H);
  RmsNorm(x, n, H, w.input_layernorm, c_.rms_norm_eps, ws_.xn.data());
  Mla(w.self_attn, layer, b, cache, ws_.xn.data(), ws_.tmp.data());
  Axpy(1.0f, ws_.tmp.data(), x, n * H);
  RmsNorm(x, n, H, w.post_attention_layernorm, c_.rms_norm_eps, ws_.xn.data());
  if (w.is_moe) Moe(w.moe, layer, ws_.xn.data(), n, ws_.tmp.data());
  else Mlp(w.mlp, ws_.xn.data(), n, ws_.tmp.data());
  Axpy(1.0f, ws_.tmp.data(), x, n * H);
  if (observer) observer->Hidden(layer, x, n, H);
}

void Transformer::Forward(const Batch& b, LatentCache& cache, float* logits, float* hidden) {
  CheckBatch(b, cache);
  const int64_t n = int64_t(b.size()), H = c_.hidden_size;
  ws_.x.resize(n * H);
  float* x = ws_.x.data();
  Embed(model_.weights.embed_tokens, b, x);
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l) Block(model_.weights.layers[l], l, b, cache, x);
  RmsNorm(x, n, H, model_.weights.norm, c_.rms_norm_eps, x);
  if (hidden) std::memcpy(hidden, x, sizeof(float) * n * H);
  if (logits) MatMul(x, n, model_.weights.lm_head, logits, pool_);
}

// x_i = eh_proj([enorm(embed(next_i)), hnorm(h_i)]), one decoder block, then
// shared_head: vLLM's DeepSeekMultiTokenPredictorLayer.
void Transformer::ForwardMtp(int64_t k, const Batch& b, const float* prev_hidden, LatentCache& cache, float* logits,
                             bool mask_pos0, float* mtp_hidden) {
  if (k < 0 || k >= int64_t(model_.weights.mtp.size())) throw Error("model has no MTP module " + std::to_string(k));
  CheckBatch(b, cache);
  const MtpWeights& w = model_.weights.mtp[k];
  const int64_t n = int64_t(b.size()), H = c_.hidden_size;
  ws_.x.resize(n * H);
  ws_.qa.resize(n * 2 * H);
  float* cat = ws_.qa.data();
  ws_.tmp.resize(n * H);
  Embed(w.embed_tokens, b, ws_.tmp.data());
  for (int64_t t = 0; t < n; ++t)
    if (mask_pos0 && b.pos[t] == 0) std::memset(ws_.tmp.data() + t * H, 0, sizeof(float) * H);
  for (int64_t t = 0; t < n; ++t) {
    RmsNorm(ws_.tmp.data() + t * H, 1, H, w.enorm, c_.rms_norm_eps, cat + t * 2 * H);
    RmsNorm(prev_hidden + t * H, 1, H, w.hnorm, c_.rms_norm_eps, cat + t * 2 * H + H);
  }
  float* x = ws_.x.data();
  MatMul(cat, n, w.eh_proj, x, pool_);
  Block(w.layer, c_.num_hidden_layers + k, b, cache, x);
  if (mtp_hidden) std::memcpy(mtp_hidden, x, sizeof(float) * n * H);
  RmsNorm(x, n, H, w.shared_head_norm, c_.rms_norm_eps, x);
  if (logits) MatMul(x, n, w.shared_head_head, logits, pool_);
}

// down(silu(gate(x)) * up(x))
void Transformer::Mlp(const MlpWeights& w, const float* x, int64_t n, float* out) {
  const int64_t I = w.gate_proj.rows;
  ws_.mlp_gate.resize(n * I);
  ws_.mlp_up.resize(n * I);
  if (n == 1) {  // decode: gate and up in one pass over the pool
    const MatVecJob jobs[2] = {{x, w.gate_proj, ws_.mlp_gate.data()}, {x, w.up_proj, ws_.mlp_up.data()}};
    MatVecMany(jobs, 2, pool_);
  } else {
    MatMul(x, n, w.gate_proj, ws_.mlp_gate.data(), pool_);
    MatMul(x, n, w.up_proj, ws_.mlp_up.data(), pool_);
  }
  SiluMul(ws_.mlp_gate.data(), ws_.mlp_up.data(), n * I, ws_.mlp_gate.data());
  MatMul(ws_.mlp_gate.data(), n, w.down_proj, out, pool_);
}

}  // namespace whale
