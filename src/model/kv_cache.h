// The MLA latent cache: per sequence slot, layer and position it keeps only
// the normalised compressed kv (kv_lora_rank values) and the rotated rope key
// (qk_rope_head_dim values) — MLA's whole point. Sized once, up front.
#pragma once
#include <cstdint>
#include <vector>

#include "model/config.h"

namespace whale {

class LatentCache {
 public:
  // `layers` counts main layers plus MTP layers that need a cache.
  LatentCache(const ModelConfig& c, int64_t layers, int64_t max_seqs, int64_t max_len)
      : kv_lora_rank_(c.kv_lora_rank),
        rope_dim_(c.qk_rope_head_dim),
        layers_(layers),
        max_seqs_(max_seqs),
        max_len_(max_len),
        data_(size_t(layers * max_seqs * max_len * (c.kv_lora_rank + c.qk_rope_head_dim)), 0.0f) {}

  int64_t kv_lora_rank() const { return kv_lora_rank_; }
  int64_t rope_dim() const { return rope_dim_; }
  int64_t max_seqs() const { return max_seqs_; }
  int64_t max_len() const { return max_len_; }
  int64_t layers() const { return layers_; }
  int64_t entry_floats() const { return kv_lora_rank_ + rope_dim_; }

  // [kv_lora_rank latent | rope_dim roped key] at (layer, seq, pos); entries
  // of one (layer, seq) are contiguous over positions.
  float* entry(int64_t layer, int64_t seq, int64_t pos) {
    return data_.data() + ((layer * max_seqs_ + seq) * max_len_ + pos) * entry_floats();
  }
  const float* entry(int64_t layer, int64_t seq, int64_t pos) const {
    return const_cast<LatentCache*>(this)->entry(layer, seq, pos);
  }
  size_t bytes() const { return data_.size() * sizeof(float); }

 private:
  int64_t kv_lora_rank_, rope_dim_, layers_, max_seqs_, max_len_;
  std::vector<float> data_;
};

}  // namespace whale
