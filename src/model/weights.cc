#include "model/weights.h"

namespace whale {
namespace {

using Fn = std::function<void(const TensorSpec&)>;

void Mlp(const std::string& p, int64_t hidden, int64_t inter, MlpWeights& m, const Fn& fn) {
  fn({p + "gate_proj.weight", {inter, hidden}, TensorRole::kLinear, false, &m.gate_proj});
  fn({p + "up_proj.weight", {inter, hidden}, TensorRole::kLinear, false, &m.up_proj});
  fn({p + "down_proj.weight", {hidden, inter}, TensorRole::kLinear, false, &m.down_proj});
}

void Layer(const ModelConfig& c, const std::string& p, bool is_moe, LayerWeights& l, const Fn& fn) {
  const int64_t H = c.hidden_size, n = c.num_attention_heads;
  fn({p + "input_layernorm.weight", {H}, TensorRole::kNorm, false, &l.input_layernorm});
  MlaWeights& a = l.self_attn;
  const std::string ap = p + "self_attn.";
  if (c.q_lora_rank > 0) {
    fn({ap + "q_a_proj.weight", {c.q_lora_rank, H}, TensorRole::kLinear, false, &a.q_a_proj});
    fn({ap + "q_a_layernorm.weight", {c.q_lora_rank}, TensorRole::kNorm, false, &a.q_a_layernorm});
    fn({ap + "q_b_proj.weight", {n * c.qk_head_dim(), c.q_lora_rank}, TensorRole::kLinear, false, &a.q_b_proj});
  } else {
    fn({ap + "q_proj.weight", {n * c.qk_head_dim(), H}, TensorRole::kLinear, false, &a.q_proj});
  }
  fn({ap + "kv_a_proj_with_mqa.weight", {c.kv_lora_rank + c.qk_rope_head_dim, H}, TensorRole::kLinear, false,
      &a.kv_a_proj_with_mqa});
  fn({ap + "kv_a_layernorm.weight", {c.kv_lora_rank}, TensorRole::kNorm, false, &a.kv_a_layernorm});
  fn({ap + "kv_b_proj.weight", {n * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank}, TensorRole::kLinear,
      false, &a.kv_b_proj});
  fn({ap + "o_proj.weight", {H, n * c.v_head_dim}, TensorRole::kLinear, false, &a.o_proj});
  fn({p + "post_attention_layernorm.weight", {H}, TensorRole::kNorm, false, &l.post_attention_layernorm});
  l.is_moe = is_moe;
  if (!is_moe) {
    Mlp(p + "mlp.", H, c.intermediate_size, l.mlp, fn);
    return;
  }
  MoeWeights& m = l.moe;
  fn({p + "mlp.gate.weight", {c.n_routed_experts, H}, TensorRole::kRouter, false, &m.gate});
  fn({p + "mlp.gate.e_score_correction_bias", {c.n_routed_experts}, TensorRole::kBias,
      c.topk_method != TopkMethod::kNoauxTc, &m.e_score_correction_bias});
  m.experts.resize(c.n_routed_experts);
  for (int64_t e = 0; e < c.n_routed_experts; ++e)
    Mlp(p + "mlp.experts." + std::to_string(e) + ".", H, c.moe_intermediate_size, m.experts[e], fn);
  if (c.n_shared_experts > 0)
    Mlp(p + "mlp.shared_experts.", H, c.moe_intermediate_size * c.n_shared_experts, m.shared_experts, fn);
}

}  // namespace

void ForEachTensor(const ModelConfig& c, ModelWeights& w, bool with_mtp, const Fn& fn) {
  const int64_t H = c.hidden_size, V = c.vocab_size;
  fn({"model.embed_tokens.weight", {V, H}, TensorRole::kEmbedding, false, &w.embed_tokens});
  w.layers.resize(c.num_hidden_layers);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    Layer(c, "model.layers." + std::to_string(l) + ".", c.is_moe_layer(l), w.layers[l], fn);
  fn({"model.norm.weight", {H}, TensorRole::kNorm, false, &w.norm});
  fn({"lm_head.weight", {V, H}, TensorRole::kHead, c.tie_word_embeddings, &w.lm_head});
  w.mtp.resize(with_mtp ? c.num_nextn_predict_layers : 0);
  for (size_t k = 0; k < w.mtp.size(); ++k) {
    const std::string p = "model.layers." + std::to_string(c.num_hidden_layers + int64_t(k)) + ".";
    MtpWeights& m = w.mtp[k];
    fn({p + "embed_tokens.weight", {V, H}, TensorRole::kEmbedding, false, &m.embed_tokens});
    fn({p + "enorm.weight", {H}, TensorRole::kNorm, false, &m.enorm});
    fn({p + "hnorm.weight", {H}, TensorRole::kNorm, false, &m.hnorm});
    fn({p + "eh_proj.weight", {H, 2 * H}, TensorRole::kLinear, false, &m.eh_proj});
    // The MTP block is a MoE layer whenever the model has routed experts.
    Layer(c, p, c.n_routed_experts > 0, m.layer, fn);
    fn({p + "shared_head.norm.weight", {H}, TensorRole::kNorm, false, &m.shared_head_norm});
    fn({p + "shared_head.head.weight", {V, H}, TensorRole::kHead, false, &m.shared_head_head});
  }
}

}  // namespace whale
