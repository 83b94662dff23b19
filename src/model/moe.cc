// DeepSeekMoE: shared experts always on, routed experts chosen per token.
// model.py: Gate.forward and MoE.forward; HF: MoEGate.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/ops.h"
#include "model/routing.h"
#include "model/transformer.h"

namespace whale {

// s = softmax|sigmoid(router logits); selection uses s + e_score_correction_bias
// (when the checkpoint has one), restricted to the best topk_group groups;
// the weights are the unbiased s of the chosen experts, then normalised and
// scaled as the config says.
void Transformer::Route(const MoeWeights& w, const float* router_logits, int64_t n, int32_t* experts,
                        float* weights) {
  const int64_t E = c_.n_routed_experts, k = c_.num_experts_per_tok;
  ws_.route_s.resize(E);
  const float* bias = nullptr;
  if (!w.e_score_correction_bias.empty()) {
    ws_.route_bias.resize(E);
    DecodeRow(w.e_score_correction_bias, 0, ws_.route_bias.data());
    bias = ws_.route_bias.data();
  }
  for (int64_t t = 0; t < n; ++t) {
    RouterScores(c_, router_logits + t * E, ws_.route_s.data());
    SelectExperts(c_, ws_.route_s.data(), bias, experts + t * k);
    ExpertWeights(c_, ws_.route_s.data(), experts + t * k, weights + t * k);
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

  if (n == 1 && k <= 64) {
    MoeOneToken(w, x, out);
    return;
  }
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

// Decode of one token: the shared experts' and all chosen experts' gate and
// up rows in one pass over the pool, then all their down rows in another, so
// both threads stream weights the whole time with two wake-ups per layer.
void Transformer::MoeOneToken(const MoeWeights& w, const float* x, float* out) {
  const int64_t H = c_.hidden_size, k = c_.num_experts_per_tok;
  const MlpWeights* mlps[64 + 1];
  const int64_t count = k + (w.shared_experts.gate_proj.empty() ? 0 : 1);  // k <= 64: see Moe()
  int64_t m = 0;
  if (!w.shared_experts.gate_proj.empty()) mlps[m++] = &w.shared_experts;
  for (int64_t j = 0; m < count; ++j) mlps[m++] = &w.experts[ws_.experts[j]];
  int64_t width = 0;
  for (int64_t i = 0; i < count; ++i) width += mlps[i]->gate_proj.rows;
  ws_.mlp_gate.resize(width);
  ws_.mlp_up.resize(width);
  ws_.expert_out.resize(count * H);
  ws_.jobs.resize(2 * count);
  int64_t off = 0;
  for (int64_t i = 0; i < count; ++i) {
    ws_.jobs[2 * i] = {x, mlps[i]->gate_proj, ws_.mlp_gate.data() + off};
    ws_.jobs[2 * i + 1] = {x, mlps[i]->up_proj, ws_.mlp_up.data() + off};
    off += mlps[i]->gate_proj.rows;
  }
  MatVecMany(ws_.jobs.data(), 2 * count, pool_);
  SiluMul(ws_.mlp_gate.data(), ws_.mlp_up.data(), width, ws_.mlp_gate.data());
  off = 0;
  for (int64_t i = 0; i < count; ++i) {
    ws_.jobs[i] = {ws_.mlp_gate.data() + off, mlps[i]->down_proj, ws_.expert_out.data() + i * H};
    off += mlps[i]->gate_proj.rows;
  }
  MatVecMany(ws_.jobs.data(), count, pool_);
  const int64_t shared = w.shared_experts.gate_proj.empty() ? 0 : 1;
  if (shared) std::copy(ws_.expert_out.data(), ws_.expert_out.data() + H, out);
  else std::fill(out, out + H, 0.0f);
  for (int64_t i = shared; i < count; ++i) Axpy(ws_.expert_w[i - shared], ws_.expert_out.data() + i * H, out, H);
}

}  // namespace whale
