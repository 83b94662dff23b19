// Cross-entropy and its gradient in one pass over the logits: the softmax is
// computed once and turned into (p − onehot)·scale in place.
#include <cmath>
#include <vector>

#include "kernels/backward.h"

namespace whale {

double CrossEntropyForwardBackward(const float* logits, const int32_t* targets, int64_t n, int64_t V, float scale,
                                   float* dlogits, ThreadPool* pool) {
  std::vector<double> loss(n, 0.0);
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* l = logits + t * V;
      float* d = dlogits + t * V;
      const int32_t y = targets[t];
      if (y < 0) {
        for (int64_t i = 0; i < V; ++i) d[i] = 0.0f;
        continue;
      }
      float mx = l[0];
      for (int64_t i = 1; i < V; ++i) mx = l[i] > mx ? l[i] : mx;
      double sum = 0;
      for (int64_t i = 0; i < V; ++i) sum += std::exp(double(l[i]) - mx);
      const double lse = mx + std::log(sum);
      loss[t] = lse - l[y];
      for (int64_t i = 0; i < V; ++i) d[i] = float(std::exp(double(l[i]) - lse)) * scale;
      d[y] -= scale;
    }
  };
  if (pool) pool->ParallelFor(n, body);
  else body(0, n);
  double total = 0;
  for (double v : loss) total += v;
  return total;
}

}  // namespace whale
