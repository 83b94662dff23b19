// The one forward definition of DeepSeek-V2/V3: embedding, decoder layers
// (MLA attention, dense MLP or DeepSeekMoE), final norm, lm_head, and the MTP
// modules. Reads like Transformer.forward in DeepSeek's inference/model.py.
//
// A forward call takes any set of tokens from any sequences (prefill, chunked
// prefill, decode, or a mix of sequences at different lengths): each token
// writes its latent kv into the cache at (seq, pos), then attends over its
// sequence's cache entries 0..pos.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/thread_pool.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace whale {

enum class AttnPath {
  kAbsorbed,  // W_UK folded into the query, W_UV applied after attention (decode form)
  kNaive,     // K and V expanded from the latent by kv_b_proj: the test oracle
};

// Sees intermediate results (tests, diagnostics). Layer indices are the
// checkpoint's: MTP module k reports as layer num_hidden_layers + k.
struct ForwardObserver {
  virtual ~ForwardObserver() = default;
  // Residual stream after decoder layer `layer` (before any final norm).
  virtual void Hidden(int64_t layer, const float* h, int64_t n, int64_t d) {}
  // Chosen routed experts (ascending) and their weights, [n, k] each.
  virtual void Routing(int64_t layer, const int32_t* experts, const float* weights, int64_t n, int64_t k) {}
};

struct Batch {
  std::span<const int32_t> tokens;  // [n]
  std::span<const int32_t> seq;     // [n] cache slot of each token
  std::span<const int32_t> pos;     // [n] position of each token in its sequence
  size_t size() const { return tokens.size(); }
};

class Transformer {
 public:
  Transformer(const Model& model, ThreadPool* pool);

  // Cache layers this model needs: main layers plus MTP modules.
  int64_t cache_layers() const;

  // logits [n, vocab_size] and/or hidden [n, hidden_size] (after the final
  // norm: what lm_head and the MTP module read); either may be null.
  void Forward(const Batch& b, LatentCache& cache, float* logits, float* hidden = nullptr);

  // MTP module k (vLLM semantics): for token i at position p, b.tokens[i] is
  // the token after it (ids[p+1]) and prev_hidden[i] the main model's final
  // hidden state at p; the embedding is zeroed at position 0 when mask_pos0.
  // Writes logits [n, vocab_size] predicting the token at p+2.
  void ForwardMtp(int64_t k, const Batch& b, const float* prev_hidden, LatentCache& cache, float* logits,
                  bool mask_pos0 = true, float* mtp_hidden = nullptr);

  AttnPath attn_path = AttnPath::kAbsorbed;
  ForwardObserver* observer = nullptr;

  const ModelConfig& config() const { return c_; }
  const std::vector<float>& inv_freq() const { return inv_freq_; }
  float softmax_scale() const { return softmax_scale_; }

 private:
  void Block(const LayerWeights& w, int64_t layer, const Batch& b, LatentCache& cache, float* x);
  void Mla(const MlaWeights& w, int64_t layer, const Batch& b, LatentCache& cache, const float* x, float* out);
  void AttendAbsorbed(const MlaWeights& w, int64_t layer, const Batch& b, const LatentCache& cache,
                      const float* q, float* o);
  void AttendLatentGemm(int64_t layer, const Batch& b, const LatentCache& cache, const float* q,
                        const float* q_lat, float* o_lat);
  void AttendNaive(const MlaWeights& w, int64_t layer, const Batch& b, const LatentCache& cache, const float* q,
                   float* o);
  void Mlp(const MlpWeights& w, const float* x, int64_t n, float* out);
  void Moe(const MoeWeights& w, int64_t layer, const float* x, int64_t n, float* out);
  void MoeOneToken(const MoeWeights& w, const float* x, float* out);
  void Route(const MoeWeights& w, const float* router_logits, int64_t n, int32_t* experts, float* weights);
  void Embed(const WeightView& table, const Batch& b, float* x);

  // The GGUF's absorbed-form views per cache layer (empty when the model has
  // none): k_b [H·R, Dn] (W_UK[h]ᵀ) and v_b [H·Dv, R] (W_UV[h]).
  struct AbsorbedKvB {
    WeightView k_b, v_b;
  };
  std::vector<AbsorbedKvB> absorbed_;

  const Model& model_;
  const ModelConfig& c_;
  ThreadPool* pool_;
  std::vector<float> inv_freq_;
  float softmax_scale_;

  // Activations, grown on demand and reused: steady-state decode allocates nothing.
  struct Workspace {
    std::vector<float> x, xn, tmp, q, qa, kva, attn, attn_out;
    std::vector<float> router, mlp_gate, mlp_up, expert_in, expert_out;
    std::vector<float> q_lat, o_lat, kv_full, latent;
    std::vector<float> att_q, att_s, att_ct, att_o;  // AttendLatentGemm
    std::vector<int32_t> att_tokens;
    std::vector<int32_t> experts;
    std::vector<float> expert_w;
    std::vector<float> route_s, route_bias;
    std::vector<MatVecJob> jobs;
    std::vector<std::vector<std::pair<int32_t, float>>> by_expert;
  } ws_;
};

}  // namespace whale
