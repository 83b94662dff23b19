// The model's hyper-parameters, named as DeepSeek's config.json names them.
// Every field that changes the math is read and validated here; quirks of a
// checkpoint family become named fields, never guesses from tensor shapes.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace whale {

enum class TopkMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };
enum class ScoringFunc { kSoftmax, kSigmoid };
// How the routed weights are post-processed (see MoE routing in model/moe.cc).
//  kScaleAlways: normalise if norm_topk_prob, then always scale (V3, transformers' V2).
//  kNormOrScale: DeepSeek-V2 remote code: normalise if norm_topk_prob, else scale.
enum class RouteScaling { kScaleAlways, kNormOrScale };

struct RopeScaling {
  bool yarn = false;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 4096;
  double beta_fast = 32, beta_slow = 1;
  double mscale = 1.0, mscale_all_dim = 0.0;
};

struct ModelConfig {
  std::string model_type;  // deepseek_v2 | deepseek_v3
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t moe_intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t q_lora_rank = 0;  // 0: no query compression (q_proj)
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  int64_t n_shared_experts = 0;
  int64_t n_routed_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  TopkMethod topk_method = TopkMethod::kGreedy;
  ScoringFunc scoring_func = ScoringFunc::kSoftmax;
  bool norm_topk_prob = false;
  RouteScaling route_scaling = RouteScaling::kScaleAlways;
  double routed_scaling_factor = 1.0;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  double rms_norm_eps = 1e-6;
  int64_t num_nextn_predict_layers = 0;
  int64_t max_position_embeddings = 4096;
  bool tie_word_embeddings = false;
  int64_t bos_token_id = 0, eos_token_id = 1;
  // FP8 release format: weights carry *_scale_inv block scales of this size.
  int64_t weight_block_size = 0;

  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  bool is_moe_layer(int64_t layer) const {
    return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
  }
  // Bytes per token of the latent cache (fp32 entries) and of full K/V.
  int64_t latent_cache_floats_per_token() const {
    return num_hidden_layers * (kv_lora_rank + qk_rope_head_dim);
  }
  int64_t full_kv_floats_per_token() const {
    return num_hidden_layers * num_attention_heads * (qk_head_dim() + v_head_dim);
  }

  void Validate(const std::string& where) const;  // throws Error
};

// Reads a Hugging Face config.json; `path` names the file in errors.
ModelConfig ParseModelConfig(const nlohmann::json& j, const std::string& path);
ModelConfig LoadModelConfig(const std::string& path);
nlohmann::json ModelConfigToJson(const ModelConfig& c);

}  // namespace whale
