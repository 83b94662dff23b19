// Rotary frequencies with YaRN, and the attention scale that goes with them.
#pragma once
#include <vector>

#include "model/config.h"

namespace whale {

// inv_freq[i], i < qk_rope_head_dim/2: the angle of position 1 for pair i
// (YaRN-corrected when rope_scaling is yarn; applied at every position).
std::vector<float> RopeInvFreq(const ModelConfig& c);

// (qk_nope_head_dim + qk_rope_head_dim)^-0.5, times mscale² under YaRN.
float SoftmaxScale(const ModelConfig& c);

}  // namespace whale
