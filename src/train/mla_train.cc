// MLA (DeepSeek-V2 §2.1) forward with the activations kept, and its backward.
// The forward is the expanded ("naive") form of model/mla.cc: K/V are
// expanded from the latent c^KV by kv_b_proj, the rope key k^R is shared by
// all heads, attention is causal within each packed row.
#include <algorithm>
#include <cstring>

#include "kernels/backward.h"
#include "kernels/ops.h"
#include "train/layers.h"

namespace whale {
namespace {

// One (row b, head h)'s operands as contiguous copies: q [T, dn + dr],
// k = [k_nope | k_rope] [T, dn + dr], v [T, dv] and/or vᵀ [dv, T] (null: skipped).
void GatherHead(const MlaActs& a, int64_t b, int64_t h, int64_t T, int64_t nh, int64_t dn, int64_t dr, int64_t dv,
                float* q, float* k, float* v, float* vt) {
  const int64_t dqk = dn + dr, kvw = dn + dv;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t ti = b * T + t;
    std::memcpy(q + t * dqk, a.q.data() + (ti * nh + h) * dqk, sizeof(float) * dqk);
    const float* kv = a.kv.data() + (ti * nh + h) * kvw;
    std::memcpy(k + t * dqk, kv, sizeof(float) * dn);
    std::memcpy(k + t * dqk + dn, a.kpe.data() + ti * dr, sizeof(float) * dr);
    if (v) std::memcpy(v + t * dv, kv + dn, sizeof(float) * dv);
    if (vt)
      for (int64_t e = 0; e < dv; ++e) vt[e * T + t] = kv[dn + e];
  }
}

}  // namespace

void MlaForward(StepContext& s, const MlaWeights& w, MlaActs& a, const float* x, float* out) {
  const ModelConfig& c = s.c;
  const int64_t N = s.N(), T = s.T, nh = c.num_attention_heads;
  const int64_t dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim, dqk = dn + dr, dv = c.v_head_dim;
  const int64_t r = c.kv_lora_rank, kvw = dn + dv;

  // q = q_b(q_a_norm(q_a(x))) or q_proj(x); the rope part rotated at each position.
  a.q.resize(N * nh * dqk);
  if (c.q_lora_rank > 0) {
    a.qa.resize(N * c.q_lora_rank);
    a.qan.resize(N * c.q_lora_rank);
    MatMul(x, N, w.q_a_proj, a.qa.data(), s.pool);
    RmsNorm(a.qa.data(), N, c.q_lora_rank, w.q_a_layernorm, c.rms_norm_eps, a.qan.data());
    MatMul(a.qan.data(), N, w.q_b_proj, a.q.data(), s.pool);
  } else {
    MatMul(x, N, w.q_proj, a.q.data(), s.pool);
  }
  for (int64_t t = 0; t < N; ++t)
    for (int64_t h = 0; h < nh; ++h) RopeInterleaved(a.q.data() + (t * nh + h) * dqk + dn, dr, t % T, s.inv_freq);

  // [c^KV | k^R] = kv_a_proj_with_mqa(x); c = kv_a_layernorm(c^KV), k^R roped.
  a.kva.resize(N * (r + dr));
  a.c.resize(N * r);
  a.kpe.resize(N * dr);
  MatMul(x, N, w.kv_a_proj_with_mqa, a.kva.data(), s.pool);
  for (int64_t t = 0; t < N; ++t) {
    const float* row = a.kva.data() + t * (r + dr);
    RmsNorm(row, 1, r, w.kv_a_layernorm, c.rms_norm_eps, a.c.data() + t * r);
    std::memcpy(a.kpe.data() + t * dr, row + r, sizeof(float) * dr);
    RopeInterleaved(a.kpe.data() + t * dr, dr, t % T, s.inv_freq);
  }
  // [k_nope | v] per head = kv_b_proj(c).
  a.kv.resize(N * nh * kvw);
  MatMul(a.c.data(), N, w.kv_b_proj, a.kv.data(), s.pool);

  // probs [B, nh, T, T] (row t holds j <= t, zeros after), attn [N, nh·dv].
  // Per (row, head) the products are T x T matrices through the SIMD MatMul
  // on gathered per-head copies (the causal half above the diagonal is
  // computed and dropped: still far cheaper than Dot/Axpy per pair).
  a.probs.resize(s.B * nh * T * T);
  a.attn.resize(N * nh * dv);
  s.pool->ParallelFor(s.B * nh, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> qh, kh, vt, sc, oh;
    qh.resize(T * dqk), kh.resize(T * dqk), vt.resize(dv * T), sc.resize(T * T), oh.resize(T * dv);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / nh, h = i % nh;
      GatherHead(a, b, h, T, nh, dn, dr, dv, qh.data(), kh.data(), nullptr, vt.data());
      MatMul(qh.data(), T, F32View(kh.data(), T, dqk), sc.data(), nullptr);  // sc[t, j] = q_t · k_j
      float* P = a.probs.data() + i * T * T;
      for (int64_t t = 0; t < T; ++t) {
        float* p = P + t * T;
        for (int64_t j = 0; j <= t; ++j) p[j] = sc[t * T + j] * s.softmax_scale;
        Softmax(p, t + 1);
        std::fill(p + t + 1, p + T, 0.0f);
      }
      MatMul(P, T, F32View(vt.data(), dv, T), oh.data(), nullptr);  // o_t = Σ_j p[t, j] v_j
      for (int64_t t = 0; t < T; ++t)
        std::memcpy(a.attn.data() + ((b * T + t) * nh + h) * dv, oh.data() + t * dv, sizeof(float) * dv);
    }
  });
  MatMul(a.attn.data(), N, w.o_proj, out, s.pool);
}

void MlaBackward(StepContext& s, const MlaWeights& w, MlaActs& a, const float* x, const float* dout, float* dx) {
  const ModelConfig& c = s.c;
  Params& P = s.p;
  const int64_t N = s.N(), T = s.T, H = c.hidden_size, nh = c.num_attention_heads;
  const int64_t dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim, dqk = dn + dr, dv = c.v_head_dim;
  const int64_t r = c.kv_lora_rank, kvw = dn + dv;

  std::vector<float> dattn(N * nh * dv, 0.0f);
  MatMulBackward(dout, a.attn.data(), N, F32(w.o_proj), H, nh * dv, dattn.data(), P.G(w.o_proj), s.pool);

  // Attention: each (row, head) owns its slices of dq and dkv; the shared
  // rope key gets one buffer per head, summed after. The same T x T products
  // as the forward, through the SIMD MatMul:
  //   dP = dO·Vᵀ, dV = Pᵀ·dO, dS = softmax'(dP)·scale, dQ = dS·K, dK = dSᵀ·Q.
  std::vector<float> dq(N * nh * dqk, 0.0f), dkv(N * nh * kvw, 0.0f), dkpe_h(nh * N * dr, 0.0f);
  s.pool->ParallelFor(s.B * nh, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> qh, kh, vh, doh, dot, xt, ds, res, qt, kt;
    qh.resize(T * dqk), kh.resize(T * dqk), vh.resize(T * dv), doh.resize(T * dv), dot.resize(dv * T);
    xt.resize(T * T), ds.resize(T * T), res.resize(T * dqk), qt.resize(dqk * T), kt.resize(dqk * T);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / nh, h = i % nh;
      GatherHead(a, b, h, T, nh, dn, dr, dv, qh.data(), kh.data(), vh.data(), nullptr);
      for (int64_t t = 0; t < T; ++t)
        std::memcpy(doh.data() + t * dv, dattn.data() + ((b * T + t) * nh + h) * dv, sizeof(float) * dv);
      const float* P = a.probs.data() + i * T * T;
      // dV = Pᵀ·dO.
      Transpose(P, T, T, xt.data());
      Transpose(doh.data(), T, dv, dot.data());
      MatMul(xt.data(), T, F32View(dot.data(), dv, T), res.data(), nullptr);
      for (int64_t j = 0; j < T; ++j) {
        float* d = dkv.data() + ((b * T + j) * nh + h) * kvw + dn;
        for (int64_t e = 0; e < dv; ++e) d[e] += res[j * dv + e];
      }
      // dP = dO·Vᵀ, then the softmax backward row by row (zeros above the diagonal).
      MatMul(doh.data(), T, F32View(vh.data(), T, dv), ds.data(), nullptr);
      for (int64_t t = 0; t < T; ++t) {
        float* d = ds.data() + t * T;
        SoftmaxBackward(P + t * T, d, t + 1, d);
        for (int64_t j = 0; j <= t; ++j) d[j] *= s.softmax_scale;
        std::fill(d + t + 1, d + T, 0.0f);
      }
      // dQ = dS·K (this (row, head) owns dq's slice: written).
      Transpose(kh.data(), T, dqk, kt.data());
      MatMul(ds.data(), T, F32View(kt.data(), dqk, T), res.data(), nullptr);
      for (int64_t t = 0; t < T; ++t)
        std::memcpy(dq.data() + ((b * T + t) * nh + h) * dqk, res.data() + t * dqk, sizeof(float) * dqk);
      // dK = dSᵀ·Q: the nope part into dkv, the rope part into this head's dkpe buffer.
      Transpose(ds.data(), T, T, xt.data());
      Transpose(qh.data(), T, dqk, qt.data());
      MatMul(xt.data(), T, F32View(qt.data(), dqk, T), res.data(), nullptr);
      for (int64_t j = 0; j < T; ++j) {
        const int64_t tj = b * T + j;
        float* d = dkv.data() + (tj * nh + h) * kvw;
        for (int64_t e = 0; e < dn; ++e) d[e] += res[j * dqk + e];
        float* dk = dkpe_h.data() + (h * N + tj) * dr;
        for (int64_t e = 0; e < dr; ++e) dk[e] += res[j * dqk + dn + e];
      }
    }
  });
  std::vector<float> dkva(N * (r + dr), 0.0f);
  for (int64_t h = 0; h < nh; ++h)
    for (int64_t t = 0; t < N; ++t) Axpy(1.0f, dkpe_h.data() + (h * N + t) * dr, dkva.data() + t * (r + dr) + r, dr);

  // Undo the rotations (the rope gradient is the inverse rotation).
  for (int64_t t = 0; t < N; ++t) {
    RopeInterleavedBackward(dkva.data() + t * (r + dr) + r, dr, t % T, s.inv_freq);
    for (int64_t h = 0; h < nh; ++h) RopeInterleavedBackward(dq.data() + (t * nh + h) * dqk + dn, dr, t % T, s.inv_freq);
  }

  // Latent path: kv = kv_b(c), c = norm(c^KV).
  std::vector<float> dc(N * r, 0.0f);
  MatMulBackward(dkv.data(), a.c.data(), N, F32(w.kv_b_proj), nh * kvw, r, dc.data(), P.G(w.kv_b_proj), s.pool);
  for (int64_t t = 0; t < N; ++t)
    RmsNormBackward(a.kva.data() + t * (r + dr), 1, r, F32(w.kv_a_layernorm), c.rms_norm_eps, dc.data() + t * r,
                    dkva.data() + t * (r + dr), P.G(w.kv_a_layernorm));
  MatMulBackward(dkva.data(), x, N, F32(w.kv_a_proj_with_mqa), r + dr, H, dx, P.G(w.kv_a_proj_with_mqa), s.pool);

  // Query path.
  if (c.q_lora_rank > 0) {
    const int64_t rq = c.q_lora_rank;
    std::vector<float> dqan(N * rq, 0.0f), dqa(N * rq, 0.0f);
    MatMulBackward(dq.data(), a.qan.data(), N, F32(w.q_b_proj), nh * dqk, rq, dqan.data(), P.G(w.q_b_proj), s.pool);
    RmsNormBackward(a.qa.data(), N, rq, F32(w.q_a_layernorm), c.rms_norm_eps, dqan.data(), dqa.data(),
                    P.G(w.q_a_layernorm));
    MatMulBackward(dqa.data(), x, N, F32(w.q_a_proj), rq, H, dx, P.G(w.q_a_proj), s.pool);
  } else {
    MatMulBackward(dq.data(), x, N, F32(w.q_proj), nh * dqk, H, dx, P.G(w.q_proj), s.pool);
  }
}

}  // namespace whale
