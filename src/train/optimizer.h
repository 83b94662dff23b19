// AdamW with decoupled weight decay (Loshchilov & Hutter), global-norm
// gradient clipping and the learning-rate schedules (warmup, then cosine or
// warmup-stable-decay). State is two flat arrays beside the parameter arena.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/params.h"

namespace whale {

struct AdamWConfig {
  double lr = 3e-3, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
  double clip = 1.0;  // max global gradient norm; <= 0: no clipping
};

struct Schedule {
  std::string kind = "cosine";  // cosine | wsd | constant
  int64_t warmup = 20, total = 1000;
  double min_ratio = 0.1;       // final lr / peak lr
  double decay_fraction = 0.2;  // wsd: last fraction of steps decays linearly
  double LrScale(int64_t step) const;  // step counts from 0
};

class AdamW {
 public:
  AdamW(Params& p, const AdamWConfig& cfg) : cfg_(cfg), p_(p), m_(p.data.size(), 0.0f), v_(p.data.size(), 0.0f) {}

  // Clips, then updates every trainable tensor. Returns the gradient norm before clipping.
  double Step(double lr);

  int64_t step() const { return t_; }
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }
  void set_step(int64_t t) { t_ = t; }

 private:
  AdamWConfig cfg_;
  Params& p_;
  std::vector<float> m_, v_;
  int64_t t_ = 0;
};

}  // namespace whale
