// DeepSeekMoE expert selection for one token, as free functions so the
// inference forward (model/moe.cc) and the trainer (train/moe_train.cc) share
// one definition. model.py: Gate.forward; HF: MoEGate / DeepseekV3TopkRouter.
#pragma once
#include <cstdint>

#include "model/config.h"

namespace whale {

// s[E] = softmax or sigmoid of the router logits, as scoring_func says.
void RouterScores(const ModelConfig& c, const float* logits, float* s);

// Chooses num_experts_per_tok experts (written ascending) by s + bias
// (bias may be null: no e_score_correction_bias), restricted to the best
// topk_group groups when topk_method groups.
void SelectExperts(const ModelConfig& c, const float* s, const float* bias, int32_t* experts);

// The routed weights: the unbiased s of the chosen experts, normalised when
// norm_topk_prob, scaled by routed_scaling_factor as route_scaling says.
void ExpertWeights(const ModelConfig& c, const float* s, const int32_t* experts, float* weights);

// True when ExpertWeights normalises / scales (the trainer differentiates them).
bool RouteNormalises(const ModelConfig& c);
bool RouteScales(const ModelConfig& c);

}  // namespace whale
