#include "model/routing.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

namespace whale {

void RouterScores(const ModelConfig& c, const float* logits, float* s) {
  const int64_t E = c.n_routed_experts;
  if (c.scoring_func == ScoringFunc::kSoftmax) {
    float mx = logits[0];
    for (int64_t e = 1; e < E; ++e) mx = std::max(mx, logits[e]);
    double sum = 0;
    for (int64_t e = 0; e < E; ++e) sum += (s[e] = std::exp(logits[e] - mx));
    const float inv = float(1.0 / sum);
    for (int64_t e = 0; e < E; ++e) s[e] *= inv;
  } else {
    for (int64_t e = 0; e < E; ++e) s[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  }
}

void SelectExperts(const ModelConfig& c, const float* s, const float* bias, int32_t* experts) {
  const int64_t E = c.n_routed_experts, k = c.num_experts_per_tok;
  const int64_t G = c.n_group, per_group = E / G;
  thread_local std::vector<float> choice, gscore;
  thread_local std::vector<int64_t> order;
  thread_local std::vector<char> kept;
  choice.resize(E);
  gscore.resize(G);
  order.resize(std::max(E, G));
  kept.assign(G, 1);
  for (int64_t e = 0; e < E; ++e) choice[e] = s[e] + (bias ? bias[e] : 0.0f);
  if (c.topk_method != TopkMethod::kGreedy && G > 1) {
    for (int64_t g = 0; g < G; ++g) {
      const float* cg = choice.data() + g * per_group;
      if (c.topk_method == TopkMethod::kNoauxTc && bias) {  // V3: sum of the two best
        float b0 = -INFINITY, b1 = -INFINITY;  // the two largest, without a copy
        for (int64_t e = 0; e < per_group; ++e) {
          const float v = cg[e];
          if (v > b0) b1 = b0, b0 = v;
          else if (v > b1) b1 = v;
        }
        gscore[g] = b0 + b1;
      } else {  // V2 (and unbiased V3): the best score in the group
        gscore[g] = *std::max_element(cg, cg + per_group);
      }
    }
    std::iota(order.begin(), order.begin() + G, 0);
    std::stable_sort(order.begin(), order.begin() + G, [&](int64_t a, int64_t b) { return gscore[a] > gscore[b]; });
    std::fill(kept.begin(), kept.end(), 0);
    for (int64_t i = 0; i < c.topk_group; ++i) kept[order[i]] = 1;
  }
  std::iota(order.begin(), order.begin() + E, 0);
  std::stable_sort(order.begin(), order.begin() + E, [&](int64_t a, int64_t b) {
    const bool ka = kept[a / per_group], kb = kept[b / per_group];
    if (ka != kb) return ka;
    return choice[a] > choice[b];
  });
  // Ascending expert order: the layout the fixtures (and the observer) use.
  std::sort(order.begin(), order.begin() + k);
  for (int64_t j = 0; j < k; ++j) experts[j] = int32_t(order[j]);
}

bool RouteNormalises(const ModelConfig& c) { return c.norm_topk_prob && c.num_experts_per_tok > 1; }
bool RouteScales(const ModelConfig& c) {
  return c.route_scaling == RouteScaling::kScaleAlways || !c.norm_topk_prob;
}

void ExpertWeights(const ModelConfig& c, const float* s, const int32_t* experts, float* weights) {
  const int64_t k = c.num_experts_per_tok;
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += (weights[j] = s[experts[j]]);
  const bool normalise = RouteNormalises(c), scale = RouteScales(c);
  for (int64_t j = 0; j < k; ++j) {
    if (normalise) weights[j] = float(weights[j] / (sum + 1e-20));
    if (scale) weights[j] *= float(c.routed_scaling_factor);
  }
}

}  // namespace whale
