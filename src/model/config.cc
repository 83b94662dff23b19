#include "model/config.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/error.h"

namespace whale {
namespace {

using nlohmann::json;

struct Reader {
  const json& j;
  const std::string& path;

  [[noreturn]] void Fail(const std::string& field, const std::string& why) const {
    throw Error(path + ": field \"" + field + "\" " + why);
  }
  int64_t Int(const std::string& f) const {
    if (!j.contains(f)) Fail(f, "is missing");
    if (!j[f].is_number_integer()) Fail(f, "must be an integer");
    return j[f].get<int64_t>();
  }
  int64_t Int(const std::string& f, int64_t def) const {
    if (!j.contains(f) || j[f].is_null()) return def;
    return Int(f);
  }
  double Num(const json& o, const std::string& f, double def, const std::string& prefix = "") const {
    if (!o.contains(f) || o[f].is_null()) return def;
    if (!o[f].is_number()) Fail(prefix + f, "must be a number");
    return o[f].get<double>();
  }
  double Num(const std::string& f, double def) const { return Num(j, f, def); }
  bool Bool(const std::string& f, bool def) const {
    if (!j.contains(f) || j[f].is_null()) return def;
    if (!j[f].is_boolean()) Fail(f, "must be true or false");
    return j[f].get<bool>();
  }
  std::string Str(const std::string& f, const std::string& def) const {
    if (!j.contains(f) || j[f].is_null()) return def;
    if (!j[f].is_string()) Fail(f, "must be a string");
    return j[f].get<std::string>();
  }
};

}  // namespace

ModelConfig ParseModelConfig(const json& j, const std::string& path) {
  if (!j.is_object()) throw Error(path + ": config is not a JSON object");
  Reader r{j, path};
  ModelConfig c;
  c.model_type = r.Str("model_type", "");
  if (c.model_type != "deepseek_v2" && c.model_type != "deepseek_v3")
    r.Fail("model_type", "is \"" + c.model_type + "\"; supported: deepseek_v2, deepseek_v3");
  const bool v3 = c.model_type == "deepseek_v3";
  c.vocab_size = r.Int("vocab_size");
  c.hidden_size = r.Int("hidden_size");
  c.intermediate_size = r.Int("intermediate_size");
  c.num_hidden_layers = r.Int("num_hidden_layers");
  c.num_attention_heads = r.Int("num_attention_heads");
  c.q_lora_rank = r.Int("q_lora_rank", 0);
  c.kv_lora_rank = r.Int("kv_lora_rank");
  c.qk_nope_head_dim = r.Int("qk_nope_head_dim");
  c.qk_rope_head_dim = r.Int("qk_rope_head_dim");
  c.v_head_dim = r.Int("v_head_dim");
  c.n_routed_experts = r.Int("n_routed_experts", 0);
  c.moe_intermediate_size = c.n_routed_experts ? r.Int("moe_intermediate_size") : 0;
  c.first_k_dense_replace = r.Int("first_k_dense_replace", 0);
  c.moe_layer_freq = r.Int("moe_layer_freq", 1);
  c.n_shared_experts = r.Int("n_shared_experts", 0);
  c.num_experts_per_tok = c.n_routed_experts ? r.Int("num_experts_per_tok") : 0;
  c.n_group = r.Int("n_group", 1);
  c.topk_group = r.Int("topk_group", 1);
  const std::string tm = r.Str("topk_method", v3 ? "noaux_tc" : "greedy");
  if (tm == "greedy") c.topk_method = TopkMethod::kGreedy;
  else if (tm == "group_limited_greedy") c.topk_method = TopkMethod::kGroupLimitedGreedy;
  else if (tm == "noaux_tc") c.topk_method = TopkMethod::kNoauxTc;
  else r.Fail("topk_method", "is \"" + tm + "\"; supported: greedy, group_limited_greedy, noaux_tc");
  const std::string sf = r.Str("scoring_func", v3 ? "sigmoid" : "softmax");
  if (sf == "softmax") c.scoring_func = ScoringFunc::kSoftmax;
  else if (sf == "sigmoid") c.scoring_func = ScoringFunc::kSigmoid;
  else r.Fail("scoring_func", "is \"" + sf + "\"; supported: softmax, sigmoid");
  c.norm_topk_prob = r.Bool("norm_topk_prob", false);
  // DeepSeek-V2's remote code scales only when it does not normalise; V3 always scales.
  c.route_scaling = v3 ? RouteScaling::kScaleAlways : RouteScaling::kNormOrScale;
  c.routed_scaling_factor = r.Num("routed_scaling_factor", 1.0);
  c.rope_theta = r.Num("rope_theta", 10000.0);
  c.rms_norm_eps = r.Num("rms_norm_eps", 1e-6);
  c.num_nextn_predict_layers = r.Int("num_nextn_predict_layers", 0);
  c.max_position_embeddings = r.Int("max_position_embeddings", 4096);
  c.tie_word_embeddings = r.Bool("tie_word_embeddings", false);
  c.bos_token_id = r.Int("bos_token_id", 0);
  if (j.contains("eos_token_id") && j["eos_token_id"].is_array()) {  // some configs list several
    const json& e = j["eos_token_id"];
    if (e.empty() || !e[0].is_number_integer()) r.Fail("eos_token_id", "must be an integer or a list of integers");
    c.eos_token_id = e[0].get<int64_t>();
  } else {
    c.eos_token_id = r.Int("eos_token_id", 1);
  }

  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const json& rs = j["rope_scaling"];
    if (!rs.is_object()) r.Fail("rope_scaling", "must be an object or null");
    std::string type = rs.contains("type") && rs["type"].is_string() ? rs["type"].get<std::string>()
                       : rs.contains("rope_type") && rs["rope_type"].is_string() ? rs["rope_type"].get<std::string>()
                                                                                 : "";
    if (type != "yarn") r.Fail("rope_scaling.type", "is \"" + type + "\"; supported: yarn");
    RopeScaling& y = c.rope_scaling;
    y.yarn = true;
    y.factor = r.Num(rs, "factor", 1.0, "rope_scaling.");
    if (!rs.contains("original_max_position_embeddings")) r.Fail("rope_scaling.original_max_position_embeddings", "is missing");
    y.original_max_position_embeddings = int64_t(r.Num(rs, "original_max_position_embeddings", 4096, "rope_scaling."));
    y.beta_fast = r.Num(rs, "beta_fast", 32, "rope_scaling.");
    y.beta_slow = r.Num(rs, "beta_slow", 1, "rope_scaling.");
    y.mscale = r.Num(rs, "mscale", 1.0, "rope_scaling.");
    y.mscale_all_dim = r.Num(rs, "mscale_all_dim", 0.0, "rope_scaling.");
  }
  if (j.contains("quantization_config") && j["quantization_config"].is_object()) {
    const json& q = j["quantization_config"];
    const std::string method = q.contains("quant_method") && q["quant_method"].is_string()
                                   ? q["quant_method"].get<std::string>() : "";
    if (method != "fp8") r.Fail("quantization_config.quant_method", "is \"" + method + "\"; supported: fp8");
    if (q.contains("fmt") && q["fmt"] != "e4m3") r.Fail("quantization_config.fmt", "must be e4m3");
    if (!q.contains("weight_block_size") || !q["weight_block_size"].is_array() || q["weight_block_size"].size() != 2 ||
        q["weight_block_size"][0] != q["weight_block_size"][1] || !q["weight_block_size"][0].is_number_integer())
      r.Fail("quantization_config.weight_block_size", "must be [n, n]");
    c.weight_block_size = q["weight_block_size"][0].get<int64_t>();
  }
  c.Validate(path);
  return c;
}

void ModelConfig::Validate(const std::string& where) const {
  auto fail = [&](const std::string& field, const std::string& why) {
    throw Error(where + ": field \"" + field + "\" " + why);
  };
  // Upper bounds keep a corrupt config from asking for absurd allocations.
  auto positive = [&](const char* f, int64_t v) {
    if (v <= 0) fail(f, "must be positive");
    if (v > (int64_t(1) << 24)) fail(f, "is implausibly large (" + std::to_string(v) + ")");
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("intermediate_size", intermediate_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("kv_lora_rank", kv_lora_rank);
  positive("qk_nope_head_dim", qk_nope_head_dim);
  positive("qk_rope_head_dim", qk_rope_head_dim);
  positive("v_head_dim", v_head_dim);
  positive("moe_layer_freq", moe_layer_freq);
  if (num_hidden_layers > 4096) fail("num_hidden_layers", "is implausibly large");
  if (n_routed_experts > 65536) fail("n_routed_experts", "is implausibly large");
  if (q_lora_rank < 0) fail("q_lora_rank", "must be null or positive");
  if (qk_rope_head_dim % 2) fail("qk_rope_head_dim", "must be even (RoPE rotates pairs)");
  if (first_k_dense_replace < 0) fail("first_k_dense_replace", "must be >= 0");
  if (n_routed_experts < 0) fail("n_routed_experts", "must be >= 0");
  if (n_routed_experts > 0) {
    positive("moe_intermediate_size", moe_intermediate_size);
    if (num_experts_per_tok <= 0 || num_experts_per_tok > n_routed_experts)
      fail("num_experts_per_tok", "must be in 1..n_routed_experts");
    if (n_group <= 0 || n_routed_experts % n_group)
      fail("n_group", "must divide n_routed_experts");
    if (topk_group <= 0 || topk_group > n_group) fail("topk_group", "must be in 1..n_group");
    if (topk_method != TopkMethod::kGreedy && topk_group * (n_routed_experts / n_group) < num_experts_per_tok)
      fail("topk_group", "keeps fewer experts than num_experts_per_tok");
    if (topk_method == TopkMethod::kNoauxTc && n_routed_experts / n_group < 2)
      fail("n_group", "noaux_tc needs at least 2 experts per group");
  }
  if (n_shared_experts < 0) fail("n_shared_experts", "must be >= 0");
  if (num_nextn_predict_layers < 0 || num_nextn_predict_layers > 16) fail("num_nextn_predict_layers", "must be in 0..16");
  if (!(rms_norm_eps > 0)) fail("rms_norm_eps", "must be positive");
  if (!(rope_theta > 0)) fail("rope_theta", "must be positive");
  if (rope_scaling.yarn) {
    if (!(rope_scaling.factor > 0)) fail("rope_scaling.factor", "must be positive");
    if (rope_scaling.original_max_position_embeddings <= 0)
      fail("rope_scaling.original_max_position_embeddings", "must be positive");
  }
  if (weight_block_size < 0) fail("quantization_config.weight_block_size", "must be positive");
}

ModelConfig LoadModelConfig(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot open");
  json j = json::parse(f, nullptr, false);
  if (j.is_discarded()) throw Error(path + ": invalid JSON");
  return ParseModelConfig(j, path);
}

nlohmann::json ModelConfigToJson(const ModelConfig& c) {
  json j;
  j["model_type"] = c.model_type;
  j["architectures"] = {c.model_type == "deepseek_v3" ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"};
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["moe_intermediate_size"] = c.moe_intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_attention_heads;
  j["q_lora_rank"] = c.q_lora_rank ? json(c.q_lora_rank) : json(nullptr);
  j["kv_lora_rank"] = c.kv_lora_rank;
  j["qk_nope_head_dim"] = c.qk_nope_head_dim;
  j["qk_rope_head_dim"] = c.qk_rope_head_dim;
  j["v_head_dim"] = c.v_head_dim;
  j["first_k_dense_replace"] = c.first_k_dense_replace;
  j["moe_layer_freq"] = c.moe_layer_freq;
  j["n_shared_experts"] = c.n_shared_experts;
  j["n_routed_experts"] = c.n_routed_experts;
  j["num_experts_per_tok"] = c.num_experts_per_tok;
  j["n_group"] = c.n_group;
  j["topk_group"] = c.topk_group;
  j["topk_method"] = c.topk_method == TopkMethod::kGreedy ? "greedy"
                     : c.topk_method == TopkMethod::kGroupLimitedGreedy ? "group_limited_greedy" : "noaux_tc";
  j["scoring_func"] = c.scoring_func == ScoringFunc::kSoftmax ? "softmax" : "sigmoid";
  j["norm_topk_prob"] = c.norm_topk_prob;
  j["routed_scaling_factor"] = c.routed_scaling_factor;
  j["rope_theta"] = c.rope_theta;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["num_nextn_predict_layers"] = c.num_nextn_predict_layers;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["bos_token_id"] = c.bos_token_id;
  j["eos_token_id"] = c.eos_token_id;
  j["hidden_act"] = "silu";
  if (c.rope_scaling.yarn) {
    const auto& y = c.rope_scaling;
    j["rope_scaling"] = {{"type", "yarn"}, {"factor", y.factor},
                         {"original_max_position_embeddings", y.original_max_position_embeddings},
                         {"beta_fast", y.beta_fast}, {"beta_slow", y.beta_slow},
                         {"mscale", y.mscale}, {"mscale_all_dim", y.mscale_all_dim}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  return j;
}

}  // namespace whale
