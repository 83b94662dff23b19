// The whole model's training step: embedding, decoder blocks, final norm,
// lm_head and cross-entropy, plus the MTP module (V3 §2.2) with its loss
// weighted by λ — forward with activations kept, then backward into the
// gradient arena of Params.
#pragma once
#include <cstdint>
#include <vector>

#include "train/layers.h"

namespace whale {

// B rows of T tokens. labels[i] is the token to predict after inputs[i]
// (−1: not trained, e.g. the prompt in SFT); next[i] is the actual token after
// inputs[i] (what MTP embeds), equal to labels[i] wherever that is trained.
struct TrainBatch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> inputs, next, labels;
};

struct LossParts {
  double total = 0;          // what the gradient is of
  double main = 0;           // mean next-token cross-entropy (nats)
  double mtp = 0;            // mean MTP cross-entropy (0 without MTP)
  double balance = 0;        // sum over MoE layers of the sequence-wise balance loss
  int64_t main_tokens = 0, mtp_tokens = 0;
};

class TrainModel {
 public:
  TrainModel(Params& p, ThreadPool* pool, double mtp_lambda = 0.3, double balance_alpha = 0.0);

  // Forward, and with `backward` the backward pass adding grad_scale · ∂total/∂θ
  // into p.grad (grad_scale = 1/accumulation steps).
  LossParts Step(const TrainBatch& b, float grad_scale, bool backward = true);

  // After Step(..., backward = false): logits [B·T, vocab] of the main head
  // and of MTP module 0 (empty without MTP).
  const std::vector<float>& logits() const { return logits_; }
  const std::vector<float>& mtp_logits() const { return mtp_logits_; }

  // Tokens routed to each expert of each MoE layer (checkpoint layer index,
  // MTP included) summed over steps since ClearLoad().
  const std::vector<std::vector<int64_t>>& load() const { return load_; }
  void ClearLoad();
  // The experts chosen for every token in every MoE layer by the last Step
  // (tests use it to tell a routing flip from a wrong gradient).
  std::vector<int32_t> Routing() const;

  double mtp_lambda, balance_alpha;

 private:
  Params& p_;
  ThreadPool* pool_;
  std::vector<float> inv_freq_;
  float softmax_scale_;
  std::vector<BlockActs> acts_;  // main layers, then MTP modules
  std::vector<float> x_, hf_, logits_, mtp_logits_;
  // MTP activations: embedded next token, its norm, normed h, concat, block input.
  std::vector<float> me_, men_, mhn_, mcat_, mx_, mxh_;
  std::vector<std::vector<int64_t>> load_;
};

}  // namespace whale
