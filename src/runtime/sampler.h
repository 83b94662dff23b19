// Turns one row of logits into the next token: penalties, then temperature,
// then the top-k / top-p / min-p filters, then a draw from a seeded RNG (or
// argmax when temperature is 0). Owns its scratch buffers so a decode step
// allocates nothing.
#pragma once
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace whale {

struct SamplingParams {
  float temperature = 1.0f;  // 0: greedy
  int64_t top_k = 0;         // 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off; keeps tokens with p >= min_p * p_max
  // HF/llama.cpp style: logits of tokens seen in prompt or output are
  // divided (if > 0) or multiplied (if < 0) by it. 1: off.
  float repetition_penalty = 1.0f;
  // OpenAI style, over generated tokens: logit -= count * frequency + (count > 0) * presence.
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  std::optional<uint64_t> seed;  // unset: a random seed

  void Validate() const;  // throws Error naming the parameter
};

class Sampler {
 public:
  Sampler(const SamplingParams& p, int64_t vocab_size);

  // Tokens that count for the repetition penalty but not for frequency/presence.
  void AddPrompt(std::span<const int32_t> prompt);
  // Picks a token from logits[vocab_size] (modified in place) and records it.
  int32_t Sample(float* logits);

  const SamplingParams& params() const { return p_; }

 private:
  void ApplyPenalties(float* logits) const;
  int32_t Draw(float* logits);
  double Uniform();  // [0, 1), identical on every platform for a given seed

  SamplingParams p_;
  int64_t vocab_;
  std::mt19937_64 rng_;
  std::vector<int32_t> counts_;       // generated-token counts (only when a penalty is on)
  std::vector<uint8_t> in_prompt_;    // for the repetition penalty
  std::vector<int32_t> touched_;      // tokens with counts_ or in_prompt_ set
  std::vector<std::pair<float, int32_t>> cand_;  // scratch: (prob, token)
};

}  // namespace whale
