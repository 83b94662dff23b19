// The trainer's parameters: one fp32 arena for the weights and one for their
// gradients, laid out by ForEachTensor (the model's one table of tensors), so
// the optimizer is a loop over a flat array and checkpoints use HF names.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "model/model.h"

namespace whale {

struct ParamTensor {
  std::string name;
  std::vector<int64_t> shape;
  TensorRole role;
  int64_t offset = 0, size = 0;
  bool trainable = true;  // the router bias moves by the balancing rule, not by gradient
  bool decay = true;      // weight decay on matrices only (not norms, not biases)
};

class Params {
 public:
  Params(const ModelConfig& c, bool with_mtp);
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;

  // Linear and embedding weights ~ N(0, std), norms 1, biases 0; output
  // projections (o_proj, down_proj) scaled by 1/sqrt(2·layers) as GPT-2 does.
  void Init(uint64_t seed, double std = 0.02);

  // Pointers into the arenas for a view handed out by `weights`.
  float* P(const WeightView& v) { return data.data() + Offset(v); }
  float* G(const WeightView& v) { return grad.data() + Offset(v); }
  const float* P(const WeightView& v) const { return data.data() + Offset(v); }
  void ZeroGrad();

  // A Model whose weights are views of this arena: what Transformer::Forward
  // and the checkpoint writer read.
  const Model& model() const { return model_; }
  const ModelWeights& weights() const { return model_.weights; }
  const ModelConfig& config() const { return model_.config; }

  std::vector<ParamTensor> tensors;
  std::vector<float> data, grad;

 private:
  int64_t Offset(const WeightView& v) const {
    return reinterpret_cast<const float*>(v.data) - data.data();
  }
  Model model_;
};

}  // namespace whale
