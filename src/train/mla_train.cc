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

  // probs [B, nh, T, T] (row t holds j <= t), attn [N, nh·dv].
  a.probs.resize(s.B * nh * T * T);
  a.attn.resize(N * nh * dv);
  s.pool->ParallelFor(s.B * nh, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / nh, h = i % nh;
      for (int64_t t = 0; t < T; ++t) {
        const int64_t ti = b * T + t;
        const float* q = a.q.data() + (ti * nh + h) * dqk;
        float* p = a.probs.data() + (i * T + t) * T;
        for (int64_t j = 0; j <= t; ++j) {
          const int64_t tj = b * T + j;
          p[j] = (Dot(q, a.kv.data() + (tj * nh + h) * kvw, dn) + Dot(q + dn, a.kpe.data() + tj * dr, dr)) *
                 s.softmax_scale;
        }
        Softmax(p, t + 1);
        float* o = a.attn.data() + (ti * nh + h) * dv;
        std::fill(o, o + dv, 0.0f);
        for (int64_t j = 0; j <= t; ++j) Axpy(p[j], a.kv.data() + ((b * T + j) * nh + h) * kvw + dn, o, dv);
      }
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
  // rope key gets one buffer per head, summed after.
  std::vector<float> dq(N * nh * dqk, 0.0f), dkv(N * nh * kvw, 0.0f), dkpe_h(nh * N * dr, 0.0f);
  s.pool->ParallelFor(s.B * nh, [&](int64_t i0, int64_t i1) {
    std::vector<float> dp(T);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / nh, h = i % nh;
      float* dkpe = dkpe_h.data() + h * N * dr;
      for (int64_t t = 0; t < T; ++t) {
        const int64_t ti = b * T + t;
        const float* p = a.probs.data() + (i * T + t) * T;
        const float* d_o = dattn.data() + (ti * nh + h) * dv;
        for (int64_t j = 0; j <= t; ++j) {
          const int64_t tj = b * T + j;
          dp[j] = Dot(d_o, a.kv.data() + (tj * nh + h) * kvw + dn, dv);
          Axpy(p[j], d_o, dkv.data() + (tj * nh + h) * kvw + dn, dv);
        }
        SoftmaxBackward(p, dp.data(), t + 1, dp.data());
        const float* q = a.q.data() + (ti * nh + h) * dqk;
        float* dqt = dq.data() + (ti * nh + h) * dqk;
        for (int64_t j = 0; j <= t; ++j) {
          const float g = dp[j] * s.softmax_scale;
          if (g == 0.0f) continue;
          const int64_t tj = b * T + j;
          Axpy(g, a.kv.data() + (tj * nh + h) * kvw, dqt, dn);
          Axpy(g, q, dkv.data() + (tj * nh + h) * kvw, dn);
          Axpy(g, a.kpe.data() + tj * dr, dqt + dn, dr);
          Axpy(g, q + dn, dkpe + tj * dr, dr);
        }
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
