// Tiny configurations shared by the training tests.
#pragma once
#include "model/config.h"

namespace whale::testing {

// A V3-shaped model small enough for finite differences: q LoRA, sigmoid
// router with bias (noaux_tc), normalised and scaled gates, one shared
// expert, one dense layer, MTP when asked.
inline ModelConfig TinyConfig(bool q_lora = true, int64_t mtp = 1) {
  ModelConfig c;
  c.model_type = "deepseek_v3";
  c.vocab_size = 32;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.moe_intermediate_size = 8;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.q_lora_rank = q_lora ? 8 : 0;
  c.kv_lora_rank = 8;
  c.qk_nope_head_dim = 4;
  c.qk_rope_head_dim = 4;
  c.v_head_dim = 4;
  c.first_k_dense_replace = 1;
  c.n_shared_experts = 1;
  c.n_routed_experts = 4;
  c.num_experts_per_tok = 2;
  c.n_group = 1;
  c.topk_group = 1;
  c.topk_method = TopkMethod::kNoauxTc;
  c.scoring_func = ScoringFunc::kSigmoid;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5;
  c.num_nextn_predict_layers = mtp;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-6;
  return c;
}

}  // namespace whale::testing
