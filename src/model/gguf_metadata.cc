#include "model/gguf_metadata.h"

#include <nlohmann/json.hpp>

#include "io/error.h"

namespace whale {
namespace {

constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;

// GPT-2's byte -> printable code point map, as UTF-8 strings.
std::vector<std::string> ByteSymbols() {
  std::vector<int> cp(256, -1);
  for (int b = 33; b <= 126; ++b) cp[b] = b;
  for (int b = 161; b <= 172; ++b) cp[b] = b;
  for (int b = 174; b <= 255; ++b) cp[b] = b;
  int next = 256;
  for (int b = 0; b < 256; ++b)
    if (cp[b] < 0) cp[b] = next++;
  std::vector<std::string> out;
  for (int c : cp) {
    std::string s;
    if (c < 0x80) {
      s += char(c);
    } else {
      s += char(0xC0 | (c >> 6));
      s += char(0x80 | (c & 0x3F));
    }
    out.push_back(s);
  }
  return out;
}

std::string PreFor(const ModelConfig& c) { return c.model_type == "deepseek_v3" ? "deepseek-v3" : "deepseek-llm"; }

void AddTokenizerKeys(GgufWriter& w, const ModelConfig& c, std::vector<std::string> tokens, std::vector<int32_t> types,
                      std::vector<std::string> merges) {
  w.Add("tokenizer.ggml.model", GgufValue::Str("gpt2"));
  w.Add("tokenizer.ggml.pre", GgufValue::Str(PreFor(c)));
  w.Add("tokenizer.ggml.tokens", GgufValue::StrArray(std::move(tokens)));
  w.Add("tokenizer.ggml.token_type", GgufValue::I32Array(std::move(types)));
  w.Add("tokenizer.ggml.merges", GgufValue::StrArray(std::move(merges)));
  w.Add("tokenizer.ggml.bos_token_id", GgufValue::U32(uint32_t(c.bos_token_id)));
  w.Add("tokenizer.ggml.eos_token_id", GgufValue::U32(uint32_t(c.eos_token_id)));
  w.Add("tokenizer.ggml.padding_token_id", GgufValue::U32(uint32_t(c.eos_token_id)));
  w.Add("tokenizer.ggml.add_bos_token", GgufValue::Bool(true));
  w.Add("tokenizer.ggml.add_eos_token", GgufValue::Bool(false));
}

}  // namespace

void AddDeepseek2Metadata(GgufWriter& w, const ModelConfig& c, const std::string& name, uint32_t file_type) {
  auto u32 = [&](const std::string& k, int64_t v) { w.Add("deepseek2." + k, GgufValue::U32(uint32_t(v))); };
  auto f32 = [&](const std::string& k, double v) { w.Add("deepseek2." + k, GgufValue::F32(float(v))); };
  w.Add("general.architecture", GgufValue::Str("deepseek2"));
  w.Add("general.type", GgufValue::Str("model"));
  w.Add("general.name", GgufValue::Str(name));
  w.Add("general.file_type", GgufValue::U32(file_type));
  w.Add("general.quantization_version", GgufValue::U32(2));
  u32("block_count", c.num_hidden_layers);
  u32("context_length", c.max_position_embeddings);
  u32("embedding_length", c.hidden_size);
  u32("feed_forward_length", c.intermediate_size);
  u32("attention.head_count", c.num_attention_heads);
  u32("attention.head_count_kv", 1);  // MLA as MQA over the latent (current layout)
  if (c.q_lora_rank > 0) u32("attention.q_lora_rank", c.q_lora_rank);
  u32("attention.kv_lora_rank", c.kv_lora_rank);
  u32("attention.key_length", c.kv_lora_rank + c.qk_rope_head_dim);
  u32("attention.value_length", c.kv_lora_rank);
  u32("attention.key_length_mla", c.qk_head_dim());
  u32("attention.value_length_mla", c.v_head_dim);
  u32("rope.dimension_count", c.qk_rope_head_dim);
  f32("rope.freq_base", c.rope_theta);
  f32("attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  u32("leading_dense_block_count", c.first_k_dense_replace);
  u32("vocab_size", c.vocab_size);
  if (c.n_routed_experts > 0) {
    u32("expert_count", c.n_routed_experts);
    u32("expert_used_count", c.num_experts_per_tok);
    u32("expert_shared_count", c.n_shared_experts);
    u32("expert_feed_forward_length", c.moe_intermediate_size);
    // llama.cpp normalises, then scales; V2's remote code scales only when
    // it does not normalise, which is the same for every official config.
    const bool scale = c.route_scaling == RouteScaling::kScaleAlways || !c.norm_topk_prob;
    f32("expert_weights_scale", scale ? c.routed_scaling_factor : 1.0);
    if (c.norm_topk_prob) w.Add("deepseek2.expert_weights_norm", GgufValue::Bool(true));
    u32("expert_gating_func", c.scoring_func == ScoringFunc::kSigmoid ? 2 : 1);
    u32("expert_group_count", c.topk_method == TopkMethod::kGreedy ? 1 : c.n_group);
    u32("expert_group_used_count", c.topk_method == TopkMethod::kGreedy ? 1 : c.topk_group);
  }
  if (c.rope_scaling.yarn) {
    const RopeScaling& y = c.rope_scaling;
    w.Add("deepseek2.rope.scaling.type", GgufValue::Str("yarn"));
    f32("rope.scaling.factor", y.factor);
    u32("rope.scaling.original_context_length", y.original_max_position_embeddings);
    f32("rope.scaling.yarn_log_multiplier", 0.1 * y.mscale_all_dim);  // stored as 0.1·mscale_all_dim
    f32("rope.scaling.yarn_beta_fast", y.beta_fast);
    f32("rope.scaling.yarn_beta_slow", y.beta_slow);
  }
}

void CopyGgufTokenizer(GgufWriter& w, const GgufFile& src) {
  for (const auto& [k, v] : src.kv())
    if (k.rfind("tokenizer.", 0) == 0) w.Add(k, v);
}

void AddHfTokenizer(GgufWriter& w, const ModelConfig& c, const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object() || j["model"].value("type", "") != "BPE" ||
      !j["model"].contains("vocab") || !j["model"]["vocab"].is_object())
    throw Error(where + ": not a byte-level BPE tokenizer.json (model.type must be BPE with a vocab)");
  std::vector<std::string> tokens(size_t(c.vocab_size));
  std::vector<int32_t> types(size_t(c.vocab_size), kUnused);
  auto put = [&](const std::string& t, int64_t id, int32_t type) {
    if (id < 0 || id >= c.vocab_size)
      throw Error(where + ": token id " + std::to_string(id) + " is outside vocab_size " + std::to_string(c.vocab_size));
    tokens[size_t(id)] = t;
    types[size_t(id)] = type;
  };
  for (auto& [t, id] : j["model"]["vocab"].items()) {
    if (!id.is_number_integer()) throw Error(where + ": vocab entry \"" + t + "\" has no integer id");
    put(t, id.get<int64_t>(), kNormal);
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const auto& a : j["added_tokens"])
      if (a.is_object() && a.contains("id") && a["id"].is_number_integer() && a.contains("content") &&
          a["content"].is_string())
        put(a["content"].get<std::string>(), a["id"].get<int64_t>(), a.value("special", false) ? kControl : kUserDefined);
  for (size_t i = 0; i < tokens.size(); ++i)
    if (types[i] == kUnused) tokens[i] = "[PAD" + std::to_string(i) + "]";
  std::vector<std::string> merges;
  if (j["model"].contains("merges") && j["model"]["merges"].is_array())
    for (const auto& m : j["model"]["merges"]) {
      if (m.is_string()) merges.push_back(m.get<std::string>());
      else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
        merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());  // newer tokenizers' pair form
    }
  AddTokenizerKeys(w, c, std::move(tokens), std::move(types), std::move(merges));
}

void AddSyntheticTokenizer(GgufWriter& w, const ModelConfig& c) {
  const size_t V = size_t(c.vocab_size);
  std::vector<std::string> tokens(V);
  std::vector<int32_t> types(V, 0);
  auto special = [&](int64_t id, const char* t) {
    if (id >= 0 && size_t(id) < V) tokens[size_t(id)] = t, types[size_t(id)] = kControl;
  };
  special(c.bos_token_id, "<｜begin▁of▁sentence｜>");
  special(c.eos_token_id, "<｜end▁of▁sentence｜>");
  std::vector<std::string> fill = ByteSymbols();
  fill.push_back("Ġt");  // the one merge's result
  size_t next = 0;
  for (const auto& s : fill) {
    while (next < V && types[next]) ++next;
    if (next == V) break;
    tokens[next] = s, types[next] = kNormal;
  }
  for (size_t i = 0; i < V; ++i)
    if (!types[i]) tokens[i] = "[PAD" + std::to_string(i) + "]", types[i] = kUnused;
  AddTokenizerKeys(w, c, std::move(tokens), std::move(types), {"Ġ t"});
}

}  // namespace whale
