// Multi-head Latent Attention (DeepSeek-V2 §2.1). Both forms side by side:
// the absorbed form used for inference, and the naive form (K/V expanded from
// the latent) kept as the oracle. model.py: MLA.forward.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/ops.h"
#include "model/transformer.h"

namespace whale {
namespace {
// From this many tokens of one sequence, o_lat = P·Ĉ runs as a matrix product
// on a transposed copy of Ĉ.
constexpr int64_t kLatentGemmTokens = 8;
}  // namespace

void Transformer::Mla(const MlaWeights& w, int64_t layer, const Batch& b, LatentCache& cache, const float* x,
                      float* out) {
  const int64_t n = int64_t(b.size()), nh = c_.num_attention_heads;
  const int64_t dn = c_.qk_nope_head_dim, dr = c_.qk_rope_head_dim, dqk = dn + dr;
  const int64_t r = c_.kv_lora_rank;

  // Query: q_proj(x), or q_b_proj(q_a_layernorm(q_a_proj(x))) with a low-rank query.
  ws_.q.resize(n * nh * dqk);
  if (c_.q_lora_rank > 0) {
    ws_.qa.resize(n * c_.q_lora_rank);
    MatMul(x, n, w.q_a_proj, ws_.qa.data(), pool_);
    RmsNorm(ws_.qa.data(), n, c_.q_lora_rank, w.q_a_layernorm, c_.rms_norm_eps, ws_.qa.data());
    MatMul(ws_.qa.data(), n, w.q_b_proj, ws_.q.data(), pool_);
  } else if (n == 1) {  // decode: the query and the latent in one pass over the pool
    ws_.kva.resize(n * (r + dr));
    const MatVecJob jobs[2] = {{x, w.q_proj, ws_.q.data()}, {x, w.kv_a_proj_with_mqa, ws_.kva.data()}};
    MatVecMany(jobs, 2, pool_);
  } else {
    MatMul(x, n, w.q_proj, ws_.q.data(), pool_);
  }
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < nh; ++h) RopeInterleaved(ws_.q.data() + (t * nh + h) * dqk + dn, dr, b.pos[t], inv_freq_.data());

  // Latent: [c | k_pe] = kv_a_proj_with_mqa(x); the cache keeps kv_a_layernorm(c)
  // and the roped k_pe (k_pe is shared by all heads and never normalised).
  if (c_.q_lora_rank > 0 || n != 1) {
    ws_.kva.resize(n * (r + dr));
    MatMul(x, n, w.kv_a_proj_with_mqa, ws_.kva.data(), pool_);
  }
  for (int64_t t = 0; t < n; ++t) {
    float* e = cache.entry(layer, b.seq[t], b.pos[t]);
    const float* a = ws_.kva.data() + t * (r + dr);
    RmsNorm(a, 1, r, w.kv_a_layernorm, c_.rms_norm_eps, e);
    std::memcpy(e + r, a + r, sizeof(float) * dr);
    RopeInterleaved(e + r, dr, b.pos[t], inv_freq_.data());
  }

  ws_.attn.resize(n * nh * c_.v_head_dim);
  if (attn_path == AttnPath::kAbsorbed) AttendAbsorbed(w, layer, b, cache, ws_.q.data(), ws_.attn.data());
  else AttendNaive(w, layer, b, cache, ws_.q.data(), ws_.attn.data());
  MatMul(ws_.attn.data(), n, w.o_proj, out, pool_);
}

// score_j = (q_nope·W_UK[h]·ĉ_j + q_pe·k_pe_j)·scale;  o_h = W_UV[h]·Σ_j p_j ĉ_j
void Transformer::AttendAbsorbed(const MlaWeights& w, int64_t layer, const Batch& b, const LatentCache& cache,
                                 const float* q, float* o) {
  const int64_t n = int64_t(b.size()), nh = c_.num_attention_heads;
  const int64_t dn = c_.qk_nope_head_dim, dr = c_.qk_rope_head_dim, dqk = dn + dr, dv = c_.v_head_dim;
  const int64_t r = c_.kv_lora_rank, head_rows = dn + dv;
  ws_.q_lat.resize(n * nh * r);
  ws_.o_lat.resize(n * nh * r);
  float* q_lat = ws_.q_lat.data();
  float* o_lat = ws_.o_lat.data();
  // The GGUF's k_b / v_b views when the model has them (W_UK[h]ᵀ as rows).
  const AbsorbedKvB* ab =
      layer < int64_t(absorbed_.size()) && !absorbed_[layer].k_b.empty() ? &absorbed_[layer] : nullptr;

  // Fold W_UK into the query of head h: q_lat[t,h] = W_UK[h]ᵀ·q_nope[t,h],
  // one product per head on k_b's rows (r rows of dn values).
  auto fold = [&](int64_t h, std::vector<float>& xin, std::vector<float>& yout) {
    xin.resize(n * dn);
    yout.resize(n * r);
    for (int64_t t = 0; t < n; ++t) std::memcpy(xin.data() + t * dn, q + (t * nh + h) * dqk, sizeof(float) * dn);
    MatMul(xin.data(), n, ab->k_b.Rows(h * r, r), yout.data(), nullptr);
    for (int64_t t = 0; t < n; ++t) std::memcpy(q_lat + (t * nh + h) * r, yout.data() + t * r, sizeof(float) * r);
  };
  // Apply W_UV after attention: o[t,h] = W_UV[h]·o_lat[t,h], W_UV[h] the rows
  // kv_b_proj[h·(dn+dv)+dn ..+dv] (or v_b's rows of head h).
  // (FP8 block scales slice only on block boundaries; otherwise row by row.)
  const int64_t sb = w.kv_b_proj.scale ? w.kv_b_proj.scale_block : 0;
  const bool uv_rows = !ab && sb > 0 && (dn % sb || head_rows % sb);
  auto unfold = [&](int64_t h, std::vector<float>& xin, std::vector<float>& yout) {
    if (uv_rows) {
      xin.resize(r);
      for (int64_t v = 0; v < dv; ++v) {
        DecodeRow(w.kv_b_proj, h * head_rows + dn + v, xin.data());
        for (int64_t t = 0; t < n; ++t) o[(t * nh + h) * dv + v] = Dot(xin.data(), o_lat + (t * nh + h) * r, r);
      }
      return;
    }
    xin.resize(n * r);
    yout.resize(n * dv);
    const WeightView wv = ab ? ab->v_b.Rows(h * dv, dv) : w.kv_b_proj.Rows(h * head_rows + dn, dv);
    for (int64_t t = 0; t < n; ++t) std::memcpy(xin.data() + t * r, o_lat + (t * nh + h) * r, sizeof(float) * r);
    MatMul(xin.data(), n, wv, yout.data(), nullptr);
    for (int64_t t = 0; t < n; ++t) std::memcpy(o + (t * nh + h) * dv, yout.data() + t * dv, sizeof(float) * dv);
  };

  if (ab) {
    pool_->ParallelFor(nh, [&](int64_t h0, int64_t h1) {
      thread_local std::vector<float> xin, yout;
      for (int64_t h = h0; h < h1; ++h) fold(h, xin, yout);
    });
  } else {
    // kv_b_proj only (W_UK's rows are W_UK[h]'s columns): each weight row is
    // decoded once and applied to every token.
    std::fill(q_lat, q_lat + n * nh * r, 0.0f);
    pool_->ParallelFor(nh, [&](int64_t h0, int64_t h1) {
      thread_local std::vector<float> row;
      row.resize(r);
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t i = 0; i < dn; ++i) {
          DecodeRow(w.kv_b_proj, h * head_rows + i, row.data());
          for (int64_t t = 0; t < n; ++t) Axpy(q[(t * nh + h) * dqk + i], row.data(), q_lat + (t * nh + h) * r, r);
        }
    });
  }
  AttendLatentGemm(layer, b, cache, q, q_lat, o_lat);
  pool_->ParallelFor(nh, [&](int64_t h0, int64_t h1) {
    thread_local std::vector<float> xin, yout;
    for (int64_t h = h0; h < h1; ++h) unfold(h, xin, yout);
  });
}

// The absorbed attention is multi-query attention with 576-wide keys: every
// head of a sequence attends to the same cache rows [ĉ_j | k_pe_j]. So per
// sequence, S = [q_lat | q_pe]·Cᵀ for all its tokens and heads at once, a
// causal softmax per row, and o_lat = P·Ĉ: two matrix products on the
// kernels' tiles instead of a dot and an axpy per (token, head, position).
void Transformer::AttendLatentGemm(int64_t layer, const Batch& b, const LatentCache& cache, const float* q,
                                   const float* q_lat, float* o_lat) {
  const int64_t n = int64_t(b.size()), nh = c_.num_attention_heads;
  const int64_t dn = c_.qk_nope_head_dim, dr = c_.qk_rope_head_dim, dqk = dn + dr;
  const int64_t r = c_.kv_lora_rank, e = r + dr;
  std::vector<int32_t>& toks = ws_.att_tokens;
  for (int64_t first = 0; first < n; ++first) {
    const int32_t s = b.seq[first];
    bool seen = false;  // sequences are handled at their first token
    for (int64_t t = 0; t < first && !seen; ++t) seen = b.seq[t] == s;
    if (seen) continue;
    toks.clear();
    int64_t len = 0;
    for (int64_t t = first; t < n; ++t)
      if (b.seq[t] == s) toks.push_back(int32_t(t)), len = std::max<int64_t>(len, b.pos[t] + 1);
    const int64_t m = int64_t(toks.size()) * nh;
    ws_.att_q.resize(m * e);
    for (int64_t i = 0; i < m; ++i) {
      const int64_t th = toks[i / nh] * nh + i % nh;
      std::memcpy(ws_.att_q.data() + i * e, q_lat + th * r, sizeof(float) * r);
      std::memcpy(ws_.att_q.data() + i * e + r, q + th * dqk + dn, sizeof(float) * dr);
    }
    const float* c = cache.entry(layer, s, 0);
    ws_.att_s.resize(m * len);
    MatMul(ws_.att_q.data(), m, F32View(c, len, e), ws_.att_s.data(), pool_);
    pool_->ParallelFor(m, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        float* row = ws_.att_s.data() + i * len;
        const int64_t valid = b.pos[toks[i / nh]] + 1;
        for (int64_t j = 0; j < valid; ++j) row[j] *= softmax_scale_;
        Softmax(row, valid);
        std::fill(row + valid, row + len, 0.0f);
      }
    });
    ws_.att_o.resize(m * r);
    if (int64_t(toks.size()) >= kLatentGemmTokens) {
      ws_.att_ct.resize(r * len);  // Ĉᵀ: the latent part, one row per latent dim
      pool_->ParallelFor(r, [&](int64_t d0, int64_t d1) {
        for (int64_t d = d0; d < d1; ++d)
          for (int64_t j = 0; j < len; ++j) ws_.att_ct[d * len + j] = c[j * e + d];
      });
      MatMul(ws_.att_s.data(), m, F32View(ws_.att_ct.data(), r, len), ws_.att_o.data(), pool_);
    } else {  // decode: too few rows of P to pay for transposing Ĉ; each ĉ_j meets all rows while in L1
      pool_->ParallelFor(m, [&](int64_t i0, int64_t i1) {
        std::fill(ws_.att_o.begin() + i0 * r, ws_.att_o.begin() + i1 * r, 0.0f);
        for (int64_t j = 0; j < len; ++j)
          for (int64_t i = i0; i < i1; ++i) {
            const float p = ws_.att_s[i * len + j];
            if (p != 0.0f) Axpy(p, c + j * e, ws_.att_o.data() + i * r, r);
          }
      });
    }
    for (int64_t i = 0; i < m; ++i)
      std::memcpy(o_lat + (toks[i / nh] * nh + i % nh) * r, ws_.att_o.data() + i * r, sizeof(float) * r);
  }
}

// K/V expanded per position: [k_nope | v] = kv_b_proj(ĉ_j), k = [k_nope | k_pe].
void Transformer::AttendNaive(const MlaWeights& w, int64_t layer, const Batch& b, const LatentCache& cache,
                              const float* q, float* o) {
  const int64_t n = int64_t(b.size()), nh = c_.num_attention_heads;
  const int64_t dn = c_.qk_nope_head_dim, dr = c_.qk_rope_head_dim, dqk = dn + dr, dv = c_.v_head_dim;
  const int64_t r = c_.kv_lora_rank, head_rows = dn + dv;
  std::vector<int32_t> seqs(b.seq.begin(), b.seq.end());
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  for (int32_t s : seqs) {
    int64_t len = 0;
    for (int64_t t = 0; t < n; ++t)
      if (b.seq[t] == s) len = std::max<int64_t>(len, b.pos[t] + 1);
    ws_.latent.resize(len * r);
    for (int64_t j = 0; j < len; ++j) std::memcpy(ws_.latent.data() + j * r, cache.entry(layer, s, j), sizeof(float) * r);
    ws_.kv_full.resize(len * nh * head_rows);
    MatMul(ws_.latent.data(), len, w.kv_b_proj, ws_.kv_full.data(), pool_);
    std::vector<float> scores;
    for (int64_t t = 0; t < n; ++t) {
      if (b.seq[t] != s) continue;
      const int64_t tl = b.pos[t] + 1;
      scores.resize(tl);
      for (int64_t h = 0; h < nh; ++h) {
        const float* qh = q + (t * nh + h) * dqk;
        for (int64_t j = 0; j < tl; ++j) {
          const float* kv = ws_.kv_full.data() + (j * nh + h) * head_rows;
          scores[j] = (Dot(qh, kv, dn) + Dot(qh + dn, cache.entry(layer, s, j) + r, dr)) * softmax_scale_;
        }
        Softmax(scores.data(), tl);
        float* oh = o + (t * nh + h) * dv;
        std::fill(oh, oh + dv, 0.0f);
        for (int64_t j = 0; j < tl; ++j) Axpy(scores[j], ws_.kv_full.data() + (j * nh + h) * head_rows + dn, oh, dv);
      }
    }
  }
}

}  // namespace whale
