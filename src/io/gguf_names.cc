#include "io/gguf_names.h"

#include <cstdlib>

namespace whale {

const std::vector<GgufNamePair>& GgufGlobalNames() {
  static const std::vector<GgufNamePair> kNames = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  return kNames;
}

const std::vector<GgufNamePair>& GgufLayerNames() {
  static const std::vector<GgufNamePair> kNames = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_q_a.weight", "self_attn.q_a_proj.weight"},
      {"attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight"},
      {"attn_q_b.weight", "self_attn.q_b_proj.weight"},
      {"attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight"},
      {"attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight"},
      {"attn_kv_b.weight", "self_attn.kv_b_proj.weight"},  // legacy; current files split it (attn_k_b / attn_v_b)
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
      {"ffn_gate_inp.weight", "mlp.gate.weight"},
      {"exp_probs_b.bias", "mlp.gate.e_score_correction_bias"},
      {"ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"},
      {"ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"},
      {"ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"},
  };
  return kNames;
}

namespace {

// Parses a decimal index at s[pos..] up to the next '.'; advances pos.
std::optional<int64_t> Index(const std::string& s, size_t& pos) {
  const size_t dot = s.find('.', pos);
  if (dot == std::string::npos || dot == pos) return std::nullopt;
  int64_t v = 0;
  for (size_t i = pos; i < dot; ++i) {
    if (s[i] < '0' || s[i] > '9' || v > (int64_t(1) << 40)) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  pos = dot + 1;
  return v;
}

}  // namespace

std::optional<GgufTarget> HfToGguf(const std::string& hf) {
  for (const auto& p : GgufGlobalNames())
    if (hf == p.hf) return GgufTarget{p.gguf};
  const std::string prefix = "model.layers.";
  if (hf.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  size_t pos = prefix.size();
  const auto layer = Index(hf, pos);
  if (!layer) return std::nullopt;
  const std::string rest = hf.substr(pos);
  const std::string blk = "blk." + std::to_string(*layer) + ".";
  for (const auto& p : GgufLayerNames())
    if (rest == p.hf) return GgufTarget{blk + p.gguf, *layer};
  const std::string ex = "mlp.experts.";
  if (rest.compare(0, ex.size(), ex) == 0) {
    size_t epos = ex.size();
    const auto e = Index(rest, epos);
    if (!e) return std::nullopt;
    const std::string tail = rest.substr(epos);
    for (const char* proj : kGgufExpertProjs)
      if (tail == std::string(proj) + "_proj.weight")
        return GgufTarget{blk + "ffn_" + proj + "_exps.weight", *layer, *e};
  }
  return std::nullopt;
}

}  // namespace whale
