// Feed-forward layers with their backward: the dense SwiGLU MLP and
// DeepSeekMoE (shared experts + routed experts chosen by model/routing.h).
// Gradients reach the router only through the gate values of the chosen
// experts (and the sequence-wise balance loss); e_score_correction_bias only
// steers selection and is moved by the balancing rule in the trainer.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/backward.h"
#include "kernels/ops.h"
#include "model/routing.h"
#include "train/layers.h"

namespace whale {

// out = down(silu(gate(x)) · up(x))
void MlpForward(StepContext& s, const MlpWeights& w, MlpActs& a, const float* x, int64_t n, float* out) {
  const int64_t I = w.gate_proj.rows;
  a.gate.resize(n * I);
  a.up.resize(n * I);
  a.h.resize(n * I);
  MatMul(x, n, w.gate_proj, a.gate.data(), s.pool);
  MatMul(x, n, w.up_proj, a.up.data(), s.pool);
  SiluMul(a.gate.data(), a.up.data(), n * I, a.h.data());
  MatMul(a.h.data(), n, w.down_proj, out, s.pool);
}

void MlpBackward(StepContext& s, const MlpWeights& w, MlpActs& a, const float* x, int64_t n, const float* dout,
                 float* dx) {
  const int64_t I = w.gate_proj.rows, H = w.gate_proj.cols;
  Params& P = s.p;
  std::vector<float> dh(n * I, 0.0f), dgate(n * I), dup(n * I);
  MatMulBackward(dout, a.h.data(), n, F32(w.down_proj), H, I, dh.data(), P.G(w.down_proj), s.pool);
  SiluMulBackward(a.gate.data(), a.up.data(), dh.data(), n * I, dgate.data(), dup.data());
  MatMulBackward(dgate.data(), x, n, F32(w.gate_proj), I, H, dx, P.G(w.gate_proj), s.pool);
  MatMulBackward(dup.data(), x, n, F32(w.up_proj), I, H, dx, P.G(w.up_proj), s.pool);
}

void MoeForward(StepContext& s, const MoeWeights& w, MoeActs& a, const float* x, float* out) {
  const ModelConfig& c = s.c;
  const int64_t N = s.N(), T = s.T, H = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  std::vector<float> logits(N * E);
  MatMul(x, N, w.gate, logits.data(), s.pool);
  a.s.resize(N * E);
  a.experts.resize(N * K);
  a.weights.resize(N * K);
  const float* bias = w.e_score_correction_bias.empty() ? nullptr : F32(w.e_score_correction_bias);
  for (int64_t t = 0; t < N; ++t) {
    RouterScores(c, logits.data() + t * E, a.s.data() + t * E);
    SelectExperts(c, a.s.data() + t * E, bias, a.experts.data() + t * K);
    ExpertWeights(c, a.s.data() + t * E, a.experts.data() + t * K, a.weights.data() + t * K);
  }

  if (!w.shared_experts.gate_proj.empty()) MlpForward(s, w.shared_experts, a.shared, x, N, out);
  else std::fill(out, out + N * H, 0.0f);

  a.slots.assign(E, {});
  a.load.assign(E, 0);
  for (int64_t i = 0; i < N * K; ++i) a.slots[a.experts[i]].push_back(int32_t(i));
  a.in.resize(E);
  a.out.resize(E);
  a.ex.resize(E);
  for (int64_t e = 0; e < E; ++e) {
    const auto& sl = a.slots[e];
    const int64_t m = int64_t(sl.size());
    a.load[e] = m;
    if (!m) continue;
    a.in[e].resize(m * H);
    a.out[e].resize(m * H);
    for (int64_t i = 0; i < m; ++i) std::memcpy(a.in[e].data() + i * H, x + (sl[i] / K) * H, sizeof(float) * H);
    MlpForward(s, w.experts[e], a.ex[e], a.in[e].data(), m, a.out[e].data());
    for (int64_t i = 0; i < m; ++i) Axpy(a.weights[sl[i]], a.out[e].data() + i * H, out + (sl[i] / K) * H, H);
  }

  // Sequence-wise balance loss (V3 eq. 17-20): α Σ_i f_i P_i per row, with
  // f_i = E/(K·T) · #tokens routed to i, P_i = mean_t of s normalised over experts.
  a.balance_loss = 0;
  a.f.assign(s.B * E, 0.0f);
  if (s.balance_alpha <= 0) return;
  for (int64_t b = 0; b < s.B; ++b) {
    float* f = a.f.data() + b * E;
    for (int64_t t = b * T; t < (b + 1) * T; ++t)
      for (int64_t j = 0; j < K; ++j) f[a.experts[t * K + j]] += float(E) / float(K * T);
    std::vector<double> p(E, 0.0);
    for (int64_t t = b * T; t < (b + 1) * T; ++t) {
      const float* st = a.s.data() + t * E;
      double sum = 0;
      for (int64_t e = 0; e < E; ++e) sum += st[e];
      for (int64_t e = 0; e < E; ++e) p[e] += st[e] / sum / double(T);
    }
    for (int64_t e = 0; e < E; ++e) a.balance_loss += s.balance_alpha * f[e] * p[e] / double(s.B);
  }
}

void MoeBackward(StepContext& s, const MoeWeights& w, MoeActs& a, const float* x, const float* dout, float* dx) {
  const ModelConfig& c = s.c;
  Params& P = s.p;
  const int64_t N = s.N(), T = s.T, H = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  if (!w.shared_experts.gate_proj.empty()) MlpBackward(s, w.shared_experts, a.shared, x, N, dout, dx);

  // Routed experts: out[t] += g_tj · expert(x_t). ∂g_tj = dout_t · expert(x_t).
  std::vector<float> dweights(N * K, 0.0f);
  for (int64_t e = 0; e < E; ++e) {
    const auto& sl = a.slots[e];
    const int64_t m = int64_t(sl.size());
    if (!m) continue;
    std::vector<float> de(m * H), din(m * H, 0.0f);
    for (int64_t i = 0; i < m; ++i) {
      const float* d = dout + (sl[i] / K) * H;
      dweights[sl[i]] = Dot(d, a.out[e].data() + i * H, H);
      const float g = a.weights[sl[i]];
      for (int64_t k = 0; k < H; ++k) de[i * H + k] = g * d[k];
    }
    MlpBackward(s, w.experts[e], a.ex[e], a.in[e].data(), m, de.data(), din.data());
    for (int64_t i = 0; i < m; ++i) Axpy(1.0f, din.data() + i * H, dx + (sl[i] / K) * H, H);
  }

  // Gate values → affinities s → router logits.
  const bool normalise = RouteNormalises(c);
  const float scale = RouteScales(c) ? float(c.routed_scaling_factor) : 1.0f;
  std::vector<float> ds(N * E, 0.0f), dlogits(N * E);
  for (int64_t t = 0; t < N; ++t) {
    const int32_t* ex = a.experts.data() + t * K;
    const float* st = a.s.data() + t * E;
    const float* dw = dweights.data() + t * K;
    float* dst = ds.data() + t * E;
    if (normalise) {  // g_j = scale · s_j / Σ_chosen s
      double sum = 0, dot = 0;
      for (int64_t j = 0; j < K; ++j) sum += st[ex[j]], dot += double(dw[j]) * st[ex[j]];
      for (int64_t j = 0; j < K; ++j) dst[ex[j]] += float(scale * (dw[j] / sum - dot / (sum * sum)));
    } else {
      for (int64_t j = 0; j < K; ++j) dst[ex[j]] += scale * dw[j];
    }
    if (s.balance_alpha > 0) {  // ∂L_bal/∂s'_e = α f_e / (T·B), s' = s / Σ s
      const float* f = a.f.data() + (t / T) * E;
      double sum = 0, dot = 0;
      for (int64_t e = 0; e < E; ++e) sum += st[e];
      for (int64_t e = 0; e < E; ++e) dot += s.balance_alpha * f[e] / double(T * s.B) * st[e] / sum;
      for (int64_t e = 0; e < E; ++e) dst[e] += float((s.balance_alpha * f[e] / double(T * s.B) - dot) / sum);
    }
    float* dl = dlogits.data() + t * E;
    if (c.scoring_func == ScoringFunc::kSoftmax) SoftmaxBackward(st, dst, E, dl);
    else for (int64_t e = 0; e < E; ++e) dl[e] = dst[e] * st[e] * (1.0f - st[e]);
  }
  MatMulBackward(dlogits.data(), x, N, F32(w.gate), E, H, dx, P.G(w.gate), s.pool);
}

// h += Mla(input_layernorm(h)); h += Ffn(post_attention_layernorm(h)), as Transformer::Block.
void BlockForward(StepContext& s, const LayerWeights& w, BlockActs& a, float* x) {
  const ModelConfig& c = s.c;
  const int64_t N = s.N(), H = c.hidden_size;
  a.x_in.assign(x, x + N * H);
  a.xn1.resize(N * H);
  a.attn_out.resize(N * H);
  RmsNorm(x, N, H, w.input_layernorm, c.rms_norm_eps, a.xn1.data());
  MlaForward(s, w.self_attn, a.a, a.xn1.data(), a.attn_out.data());
  Axpy(1.0f, a.attn_out.data(), x, N * H);
  a.x_mid.assign(x, x + N * H);
  a.xn2.resize(N * H);
  RmsNorm(x, N, H, w.post_attention_layernorm, c.rms_norm_eps, a.xn2.data());
  if (w.is_moe) MoeForward(s, w.moe, a.moe, a.xn2.data(), a.attn_out.data());
  else MlpForward(s, w.mlp, a.mlp, a.xn2.data(), N, a.attn_out.data());
  Axpy(1.0f, a.attn_out.data(), x, N * H);
}

void BlockBackward(StepContext& s, const LayerWeights& w, BlockActs& a, float* dx) {
  const ModelConfig& c = s.c;
  Params& P = s.p;
  const int64_t N = s.N(), H = c.hidden_size;
  std::vector<float> dn(N * H, 0.0f);
  if (w.is_moe) MoeBackward(s, w.moe, a.moe, a.xn2.data(), dx, dn.data());
  else MlpBackward(s, w.mlp, a.mlp, a.xn2.data(), N, dx, dn.data());
  RmsNormBackward(a.x_mid.data(), N, H, F32(w.post_attention_layernorm), c.rms_norm_eps, dn.data(), dx,
                  P.G(w.post_attention_layernorm));
  std::fill(dn.begin(), dn.end(), 0.0f);
  MlaBackward(s, w.self_attn, a.a, a.xn1.data(), dx, dn.data());
  RmsNormBackward(a.x_in.data(), N, H, F32(w.input_layernorm), c.rms_norm_eps, dn.data(), dx,
                  P.G(w.input_layernorm));
}

}  // namespace whale
