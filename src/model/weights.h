// Every weight of a DeepSeek-V2/V3 model, named as the Hugging Face
// checkpoints name them. ForEachTensor is the one table of tensors: loading,
// writing, quantising and the optimiser all walk it.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "kernels/ops.h"
#include "model/config.h"

namespace whale {

// What a tensor is, so converters can choose its storage (norms and the
// router stay F32 when quantising, as llama.cpp does).
enum class TensorRole { kEmbedding, kNorm, kRouter, kBias, kLinear, kHead };

struct MlpWeights {  // down(silu(gate(x)) * up(x))
  WeightView gate_proj, up_proj, down_proj;
};

struct MlaWeights {
  WeightView q_proj;                                  // q_lora_rank == 0
  WeightView q_a_proj, q_a_layernorm, q_b_proj;       // q_lora_rank > 0
  WeightView kv_a_proj_with_mqa, kv_a_layernorm;      // -> [c (kv_lora_rank) | k_pe]
  WeightView kv_b_proj;                               // head-major [k_nope | v] rows
  WeightView o_proj;
};

struct MoeWeights {
  WeightView gate;                     // router [n_routed_experts, hidden]
  WeightView e_score_correction_bias;  // [n_routed_experts] or empty; selection only
  std::vector<MlpWeights> experts;
  MlpWeights shared_experts;           // width moe_intermediate_size * n_shared_experts
};

struct LayerWeights {
  WeightView input_layernorm, post_attention_layernorm;
  MlaWeights self_attn;
  bool is_moe = false;
  MlpWeights mlp;  // dense layers
  MoeWeights moe;  // MoE layers
};

// Multi-token prediction module k (checkpoint layer num_hidden_layers + k).
struct MtpWeights {
  WeightView embed_tokens, enorm, hnorm, eh_proj;
  LayerWeights layer;
  WeightView shared_head_norm, shared_head_head;
};

struct ModelWeights {
  WeightView embed_tokens, norm, lm_head;
  std::vector<LayerWeights> layers;
  std::vector<MtpWeights> mtp;
};

struct TensorSpec {
  std::string name;             // Hugging Face name
  std::vector<int64_t> shape;   // as the checkpoint stores it
  TensorRole role;
  bool optional = false;        // e.g. e_score_correction_bias in V2
  WeightView* slot;
};

// Calls fn for every tensor `c` implies (MTP modules included when
// `with_mtp`), with the slot in `w` it loads into. Sizes vectors in `w`.
void ForEachTensor(const ModelConfig& c, ModelWeights& w, bool with_mtp,
                   const std::function<void(const TensorSpec&)>& fn);

}  // namespace whale
