// Training forward and backward of one decoder block (MLA, dense MLP,
// DeepSeekMoE), over fp32 activations kept for the backward pass. The
// forward mirrors model/transformer.cc op for op through the same kernels
// (ops.h) and routing (model/routing.h); a test holds them to equal logits.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/thread_pool.h"
#include "model/weights.h"
#include "train/params.h"

namespace whale {

// What every layer needs to know about the step: B rows of T packed tokens,
// token t of a row sits at position t.
struct StepContext {
  const ModelConfig& c;
  Params& p;
  ThreadPool* pool;
  int64_t B = 0, T = 0;
  const float* inv_freq = nullptr;
  float softmax_scale = 1.0f;
  double balance_alpha = 0.0;  // sequence-wise balance loss weight (V3 §2.1.2, eq. 17)
  bool backward = true;
  int64_t N() const { return B * T; }
};

struct MlaActs {
  std::vector<float> qa, qan, q, kva, c, kpe, kv, probs, attn;
};
struct MlpActs {
  std::vector<float> gate, up, h;
};
struct MoeActs {
  std::vector<float> s;                       // [N, E] router affinities
  std::vector<int32_t> experts;               // [N, K] chosen, ascending
  std::vector<float> weights;                 // [N, K] gate values
  std::vector<std::vector<int32_t>> slots;    // per expert: t·K + j of each routed token
  std::vector<std::vector<float>> in, out;    // per expert: gathered inputs, expert outputs
  std::vector<MlpActs> ex;
  MlpActs shared;
  std::vector<float> f;                       // [B, E] load fractions f_i of the balance loss
  double balance_loss = 0;
  std::vector<int64_t> load;                  // [E] tokens routed to each expert this step
};
struct BlockActs {
  std::vector<float> x_in, xn1, attn_out, x_mid, xn2;
  MlaActs a;
  MlpActs mlp;
  MoeActs moe;
};

// x [N, hidden] is updated in place: x += Mla(norm(x)); x += Ffn(norm(x)).
void BlockForward(StepContext& s, const LayerWeights& w, BlockActs& a, float* x);
// dx [N, hidden]: in, ∂L/∂(block output); out, ∂L/∂(block input).
void BlockBackward(StepContext& s, const LayerWeights& w, BlockActs& a, float* dx);

void MlaForward(StepContext& s, const MlaWeights& w, MlaActs& a, const float* x, float* out);
void MlaBackward(StepContext& s, const MlaWeights& w, MlaActs& a, const float* x, const float* dout, float* dx);

void MlpForward(StepContext& s, const MlpWeights& w, MlpActs& a, const float* x, int64_t n, float* out);
void MlpBackward(StepContext& s, const MlpWeights& w, MlpActs& a, const float* x, int64_t n, const float* dout,
                 float* dx);

void MoeForward(StepContext& s, const MoeWeights& w, MoeActs& a, const float* x, float* out);
void MoeBackward(StepContext& s, const MoeWeights& w, MoeActs& a, const float* x, const float* dout, float* dx);

// A WeightView's fp32 data as a plain pointer (trainer weights are always fp32).
inline const float* F32(const WeightView& v) { return reinterpret_cast<const float*>(v.data); }

}  // namespace whale
