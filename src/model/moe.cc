// DeepSeekMoE: shared experts always on, routed experts chosen per token.
// model.py: Gate.forward and MoE.forward; HF: MoEGate.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/ops.h"
#include "model/transformer.h"

namespace whale {

// s = softmax|sigmoid(router logits); selection uses s + e_score_correction_bias
// (when the checkpoint has one), restricted to the best topk_group groups;
// the weights are the unbiased s of the chosen experts, then normalised and
// scaled as the config says.
void Transformer::Route(const MoeWeights& w, const float* router_logits, int64_t n, int32_t* experts,
                        float* weights) {
  const int64_t E = c_.n_routed_experts, k = c_.num_experts_per_tok;
  const int64_t G = c_.n_group, per_group = E / G;
  std::vector<float> bias(E, 0.0f);
  const bool biased = !w.e_score_correction_bias.empty();
  if (biased) DecodeRow(w.e_score_correction_bias, 0, bias.data());
  std::vector<float> s(E), choice(E), gscore(G);
  std::vector<int64_t> order(std::max(E, G));
  std::vector<char> kept(G);
  for (int64_t t = 0; t < n; ++t) {
    std::copy(router_logits + t * E, router_logits + (t + 1) * E, s.begin());
    if (c_.scoring_func == ScoringFunc::kSoftmax) Softmax(s.data(), E);
    else for (auto& v : s) v = 1.0f / (1.0f + std::exp(-v));
    for (int64_t e = 0; e < E; ++e) choice[e] = s[e] + bias[e];

    std::fill(kept.begin(), kept.end(), 1);
    if (c_.topk_method != TopkMethod::kGreedy && G > 1) {
      for (int64_t g = 0; g < G; ++g) {
        const float* cg = choice.data() + g * per_group;
        if (c_.topk_method == TopkMethod::kNoauxTc && biased) {  // V3: sum of the two best
          std::vector<float> v(cg, cg + per_group);
          std::partial_sort(v.begin(), v.begin() + 2, v.end(), std::greater<float>());
          gscore[g] = v[0] + v[1];
        } else {  // V2 (and unbiased V3): the best score in the group
          gscore[g] = *std::max_element(cg, cg + per_group);
        }
      }
      std::iota(order.begin(), order.begin() + G, 0);
      std::stable_sort(order.begin(), order.begin() + G, [&](int64_t a, int64_t b) { return gscore[a] > gscore[b]; });
      std::fill(kept.begin(), kept.end(), 0);
      for (int64_t i = 0; i < c_.topk_group; ++i) kept[order[i]] = 1;
    }
    std::iota(order.begin(), order.begin() + E, 0);
    std::stable_sort(order.begin(), order.begin() + E, [&](int64_t a, int64_t b) {
      const bool ka = kept[a / per_group], kb = kept[b / per_group];
      if (ka != kb) return ka;
      return choice[a] > choice[b];
    });
    // Ascending expert order: the layout the fixtures (and the observer) use.
    std::sort(order.begin(), order.begin() + k);
    int32_t* ex = experts + t * k;
    float* wt = weights + t * k;
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) {
      ex[j] = int32_t(order[j]);
      wt[j] = s[order[j]];
      sum += wt[j];
    }
    const bool normalise = c_.norm_topk_prob && k > 1;
    const bool scale = c_.route_scaling == RouteScaling::kScaleAlways || !c_.norm_topk_prob;
    for (int64_t j = 0; j < k; ++j) {
      if (normalise) wt[j] = float(wt[j] / (sum + 1e-20));
      if (scale) wt[j] *= float(c_.routed_scaling_factor);
    }
  }
}

void Transformer::Moe(const MoeWeights& w, int64_t layer, const float* x, int64_t n, float* out) {
  const int64_t H = c_.hidden_size, E = c_.n_routed_experts, k = c_.num_experts_per_tok;
  ws_.router.resize(n * E);
  MatMul(x, n, w.gate, ws_.router.data(), pool_);
  ws_.experts.resize(n * k);
  ws_.expert_w.resize(n * k);
  Route(w, ws_.router.data(), n, ws_.experts.data(), ws_.expert_w.data());
  if (observer) observer->Routing(layer, ws_.experts.data(), ws_.expert_w.data(), n, k);

  // Shared experts see every token, unweighted.
  if (!w.shared_experts.gate_proj.empty()) Mlp(w.shared_experts, x, n, out);
  else std::fill(out, out + n * H, 0.0f);

  // Group tokens by expert so each expert's weights are read once per batch;
  // experts nobody chose are never touched.
  ws_.by_expert.resize(E);
  for (auto& v : ws_.by_expert) v.clear();
  for (int64_t t = 0; t < n; ++t)
    for (int64_t j = 0; j < k; ++j) ws_.by_expert[ws_.experts[t * k + j]].push_back({int32_t(t), ws_.expert_w[t * k + j]});
  for (int64_t e = 0; e < E; ++e) {
    const auto& toks = ws_.by_expert[e];
    if (toks.empty()) continue;
    const int64_t m = int64_t(toks.size());
    ws_.expert_in.resize(m * H);
    ws_.expert_out.resize(m * H);
    for (int64_t i = 0; i < m; ++i) std::copy(x + toks[i].first * H, x + (toks[i].first + 1) * H, ws_.expert_in.begin() + i * H);
    Mlp(w.experts[e], ws_.expert_in.data(), m, ws_.expert_out.data());
    for (int64_t i = 0; i < m; ++i) Axpy(toks[i].second, ws_.expert_out.data() + i * H, out + toks[i].first * H, H);
  }
}

}  // namespace whale
