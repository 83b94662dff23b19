#include "train/model_train.h"

#include <malloc.h>

#include <cstring>
#include <string>

#include "io/error.h"
#include "kernels/backward.h"
#include "kernels/ops.h"
#include "model/rope.h"

namespace whale {

TrainModel::TrainModel(Params& p, ThreadPool* pool, double mtp_lambda, double balance_alpha)
    : mtp_lambda(mtp_lambda),
      balance_alpha(balance_alpha),
      p_(p),
      pool_(pool),
      inv_freq_(RopeInvFreq(p.config())),
      softmax_scale_(SoftmaxScale(p.config())) {
  // The backward allocates its scratch per step; glibc would hand blocks this
  // big back to the kernel on free and page-fault them in again every step
  // (a quarter of the step time, measured). Keep them in the heap instead.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  const ModelConfig& c = p.config();
  acts_.resize(c.num_hidden_layers + p.weights().mtp.size());
  ClearLoad();
}

void TrainModel::ClearLoad() {
  const ModelConfig& c = p_.config();
  load_.assign(acts_.size(), std::vector<int64_t>(c.n_routed_experts, 0));
}

std::vector<int32_t> TrainModel::Routing() const {
  std::vector<int32_t> r;
  for (const BlockActs& a : acts_) r.insert(r.end(), a.moe.experts.begin(), a.moe.experts.end());
  return r;
}

static void EmbedRows(const ModelConfig& c, const WeightView& table, const std::vector<int32_t>& ids, float* x) {
  for (size_t t = 0; t < ids.size(); ++t) {
    if (ids[t] < 0 || ids[t] >= c.vocab_size)
      throw Error("training data: token id " + std::to_string(ids[t]) + " is outside the vocabulary (vocab_size " +
                  std::to_string(c.vocab_size) + ")");
    std::memcpy(x + t * c.hidden_size, F32(table) + int64_t(ids[t]) * c.hidden_size, sizeof(float) * c.hidden_size);
  }
}

LossParts TrainModel::Step(const TrainBatch& b, float grad_scale, bool backward) {
  const ModelConfig& c = p_.config();
  const ModelWeights& w = p_.weights();
  const int64_t N = b.B * b.T, H = c.hidden_size, V = c.vocab_size, L = c.num_hidden_layers;
  StepContext s{c, p_, pool_, b.B, b.T, inv_freq_.data(), softmax_scale_, balance_alpha, backward};
  LossParts out;

  // Main model: embed, blocks, final norm, head.
  x_.resize(N * H);
  EmbedRows(c, w.embed_tokens, b.inputs, x_.data());
  for (int64_t l = 0; l < L; ++l) BlockForward(s, w.layers[l], acts_[l], x_.data());
  hf_.resize(N * H);
  RmsNorm(x_.data(), N, H, w.norm, c.rms_norm_eps, hf_.data());
  logits_.resize(N * V);
  MatMul(hf_.data(), N, w.lm_head, logits_.data(), pool_);
  for (int64_t t = 0; t < N; ++t) out.main_tokens += b.labels[t] >= 0;
  const bool has_mtp = !w.mtp.empty();

  // MTP module 0 at position i: eh_proj([enorm(emb(t_{i+1})) ; hnorm(h_i)]),
  // one block, shared head predicting t_{i+2} (the label one position on).
  std::vector<int32_t> mtp_labels;
  if (has_mtp) {
    const MtpWeights& m = w.mtp[0];
    mtp_labels.assign(N, -1);
    for (int64_t t = 0; t < N; ++t)
      if (t % b.T + 1 < b.T) mtp_labels[t] = b.labels[t + 1];
    for (int64_t t = 0; t < N; ++t) out.mtp_tokens += mtp_labels[t] >= 0;
    me_.resize(N * H), men_.resize(N * H), mhn_.resize(N * H), mcat_.resize(N * 2 * H), mx_.resize(N * H);
    EmbedRows(c, m.embed_tokens, b.next, me_.data());
    RmsNorm(me_.data(), N, H, m.enorm, c.rms_norm_eps, men_.data());
    RmsNorm(hf_.data(), N, H, m.hnorm, c.rms_norm_eps, mhn_.data());
    for (int64_t t = 0; t < N; ++t) {
      std::memcpy(mcat_.data() + t * 2 * H, men_.data() + t * H, sizeof(float) * H);
      std::memcpy(mcat_.data() + t * 2 * H + H, mhn_.data() + t * H, sizeof(float) * H);
    }
    MatMul(mcat_.data(), N, m.eh_proj, mx_.data(), pool_);
    BlockForward(s, m.layer, acts_[L], mx_.data());
    mxh_.resize(N * H);
    RmsNorm(mx_.data(), N, H, m.shared_head_norm, c.rms_norm_eps, mxh_.data());
    mtp_logits_.resize(N * V);
    MatMul(mxh_.data(), N, m.shared_head_head, mtp_logits_.data(), pool_);
  } else {
    mtp_logits_.clear();
  }
  for (size_t l = 0; l < acts_.size(); ++l) {
    const LayerWeights& lw = l < size_t(L) ? w.layers[l] : w.mtp[l - L].layer;
    if (!lw.is_moe) continue;
    out.balance += acts_[l].moe.balance_loss;
    for (int64_t e = 0; e < c.n_routed_experts; ++e) load_[l][e] += acts_[l].moe.load[e];
  }

  // Losses (and their logit gradients, in place when training).
  std::vector<float> scratch;
  auto ce = [&](std::vector<float>& logits, const std::vector<int32_t>& labels, int64_t count, double weight) {
    if (count == 0) return 0.0;
    float* d = logits.data();
    if (!backward) {
      scratch.resize(logits.size());
      d = scratch.data();
    }
    const double sum = CrossEntropyForwardBackward(logits.data(), labels.data(), N, V,
                                                   float(weight * grad_scale / double(count)), d, pool_);
    return sum / double(count);
  };
  out.main = ce(logits_, b.labels, out.main_tokens, 1.0);
  if (has_mtp) out.mtp = ce(mtp_logits_, mtp_labels, out.mtp_tokens, mtp_lambda);
  out.total = out.main + mtp_lambda * out.mtp + out.balance;
  if (!backward) return out;
  // The balance loss's gradient is added in MoeBackward at weight α / (T·B);
  // scale it with the accumulation like the rest.
  s.balance_alpha = balance_alpha * grad_scale;

  Params& P = p_;
  std::vector<float> dhf(N * H, 0.0f);
  if (has_mtp) {
    const MtpWeights& m = w.mtp[0];
    std::vector<float> dmxh(N * H, 0.0f), dmx(N * H, 0.0f), dcat(N * 2 * H, 0.0f);
    MatMulBackward(mtp_logits_.data(), mxh_.data(), N, F32(m.shared_head_head), V, H, dmxh.data(),
                   P.G(m.shared_head_head), pool_);
    RmsNormBackward(mx_.data(), N, H, F32(m.shared_head_norm), c.rms_norm_eps, dmxh.data(), dmx.data(),
                    P.G(m.shared_head_norm));
    BlockBackward(s, m.layer, acts_[L], dmx.data());
    MatMulBackward(dmx.data(), mcat_.data(), N, F32(m.eh_proj), H, 2 * H, dcat.data(), P.G(m.eh_proj), pool_);
    std::vector<float> den(N * H), dhn(N * H), dme(N * H, 0.0f);
    for (int64_t t = 0; t < N; ++t) {
      std::memcpy(den.data() + t * H, dcat.data() + t * 2 * H, sizeof(float) * H);
      std::memcpy(dhn.data() + t * H, dcat.data() + t * 2 * H + H, sizeof(float) * H);
    }
    RmsNormBackward(me_.data(), N, H, F32(m.enorm), c.rms_norm_eps, den.data(), dme.data(), P.G(m.enorm));
    EmbeddingBackward(dme.data(), b.next.data(), N, H, P.G(m.embed_tokens));
    RmsNormBackward(hf_.data(), N, H, F32(m.hnorm), c.rms_norm_eps, dhn.data(), dhf.data(), P.G(m.hnorm));
  }
  MatMulBackward(logits_.data(), hf_.data(), N, F32(w.lm_head), V, H, dhf.data(), P.G(w.lm_head), pool_);
  std::vector<float> dx(N * H, 0.0f);
  RmsNormBackward(x_.data(), N, H, F32(w.norm), c.rms_norm_eps, dhf.data(), dx.data(), P.G(w.norm));
  for (int64_t l = L - 1; l >= 0; --l) BlockBackward(s, w.layers[l], acts_[l], dx.data());
  EmbeddingBackward(dx.data(), b.inputs.data(), N, H, P.G(w.embed_tokens));
  return out;
}

}  // namespace whale
