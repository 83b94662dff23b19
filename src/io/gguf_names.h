// The one translation table between llama.cpp's deepseek2 tensor names and
// Hugging Face's (shared/fixtures/GGUF.md section 4). The GGUF loader and the
// GGUF writer both walk it, so the two directions cannot drift apart.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace whale {

struct GgufNamePair {
  const char* gguf;  // after "blk.N." for per-layer tensors
  const char* hf;    // after "model.layers.N." for per-layer tensors
};

// Whole-model tensors (no layer prefix).
const std::vector<GgufNamePair>& GgufGlobalNames();
// Per-layer tensors other than the routed experts.
const std::vector<GgufNamePair>& GgufLayerNames();
// Routed experts: ffn_{proj}_exps.weight <-> mlp.experts.{e}.{proj}_proj.weight.
inline const char* const kGgufExpertProjs[] = {"gate", "up", "down"};

// Where an HF tensor goes in a GGUF file: its name there, and for a routed
// expert its index in the merged [.., .., n_experts] tensor (-1 otherwise).
struct GgufTarget {
  std::string name;
  int64_t layer = -1;
  int64_t expert = -1;
};
std::optional<GgufTarget> HfToGguf(const std::string& hf_name);

}  // namespace whale
