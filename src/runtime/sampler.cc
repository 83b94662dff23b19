#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "io/error.h"

namespace whale {

void SamplingParams::Validate() const {
  auto bad = [](const std::string& what) { throw Error(what); };
  if (!(temperature >= 0.0f) || temperature > 100.0f) bad("temperature must be between 0 and 100");
  if (top_k < 0) bad("top_k must be >= 0");
  if (!(top_p > 0.0f && top_p <= 1.0f)) bad("top_p must be in (0, 1]");
  if (!(min_p >= 0.0f && min_p <= 1.0f)) bad("min_p must be in [0, 1]");
  if (!(repetition_penalty > 0.0f)) bad("repetition_penalty must be > 0");
  if (!(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f)) bad("frequency_penalty must be between -2 and 2");
  if (!(presence_penalty >= -2.0f && presence_penalty <= 2.0f)) bad("presence_penalty must be between -2 and 2");
}

Sampler::Sampler(const SamplingParams& p, int64_t vocab_size)
    : p_(p), vocab_(vocab_size), rng_(p.seed ? *p.seed : std::random_device{}()) {
  cand_.reserve(size_t(vocab_size));
  const bool penalties = p.repetition_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f;
  if (penalties) {
    counts_.assign(size_t(vocab_size), 0);
    in_prompt_.assign(size_t(vocab_size), 0);
  }
}

void Sampler::AddPrompt(std::span<const int32_t> prompt) {
  if (in_prompt_.empty()) return;
  for (int32_t t : prompt) {
    if (t < 0 || t >= vocab_) continue;
    if (!in_prompt_[t] && !counts_[t]) touched_.push_back(t);
    in_prompt_[t] = 1;
  }
}

void Sampler::ApplyPenalties(float* logits) const {
  for (int32_t t : touched_) {
    float& l = logits[t];
    if (p_.repetition_penalty != 1.0f) l = l > 0 ? l / p_.repetition_penalty : l * p_.repetition_penalty;
    if (counts_[t] > 0) l -= float(counts_[t]) * p_.frequency_penalty + p_.presence_penalty;
  }
}

double Sampler::Uniform() { return double(rng_() >> 11) * 0x1.0p-53; }

int32_t Sampler::Draw(float* logits) {
  const int64_t V = vocab_;
  if (p_.temperature <= 0.0f) return int32_t(std::max_element(logits, logits + V) - logits);

  const float inv_t = 1.0f / p_.temperature;
  float mx = -INFINITY;
  for (int64_t i = 0; i < V; ++i) mx = std::max(mx, logits[i]);
  if (!std::isfinite(mx)) return int32_t(std::max_element(logits, logits + V) - logits);
  // Unnormalised probabilities relative to the best token (which gets 1), so
  // min_p compares against 1 and no second pass is needed for the max.
  cand_.clear();
  for (int64_t i = 0; i < V; ++i) {
    const float pr = std::exp((logits[i] - mx) * inv_t);
    if (pr > 0.0f) cand_.emplace_back(pr, int32_t(i));
  }
  auto by_prob = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  if (p_.min_p > 0.0f) {
    std::erase_if(cand_, [&](const auto& c) { return c.first < p_.min_p; });
  }
  if (p_.top_k > 0 && size_t(p_.top_k) < cand_.size()) {
    std::nth_element(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), by_prob);
    cand_.resize(size_t(p_.top_k));
  }
  double total = 0;
  for (const auto& c : cand_) total += c.first;
  if (p_.top_p < 1.0f) {
    // Sort only as far as needed: the nucleus is usually a few dozen tokens.
    size_t sorted = 0;
    double cum = 0;
    size_t keep = cand_.size();
    for (size_t chunk = 64; sorted < cand_.size(); chunk *= 8) {
      const size_t end = std::min(cand_.size(), sorted + chunk);
      std::partial_sort(cand_.begin() + sorted, cand_.begin() + end, cand_.end(), by_prob);
      bool done = false;
      for (; sorted < end; ++sorted) {
        cum += cand_[sorted].first;
        if (cum >= p_.top_p * total) { keep = sorted + 1; done = true; break; }
      }
      if (done) break;
    }
    cand_.resize(keep);
    total = cum;
  }
  double u = Uniform() * total;
  for (const auto& c : cand_) {
    u -= c.first;
    if (u < 0) return c.second;
  }
  return cand_.back().second;
}

int32_t Sampler::Sample(float* logits) {
  if (!counts_.empty()) ApplyPenalties(logits);
  const int32_t t = Draw(logits);
  if (!counts_.empty()) {
    if (!in_prompt_[t] && !counts_[t]) touched_.push_back(t);
    ++counts_[t];
  }
  return t;
}

}  // namespace whale
