// whale info: what a model is, what it costs to hold and to run.
#include <filesystem>
#include <map>
#include <memory>

#include "cli/command.h"
#include "model/model.h"

namespace whale::cli {
namespace {

std::string Human(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

std::string Count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

int RunInfo(const std::string& path) {
  auto model = LoadModel(path);
  const ModelConfig& c = model->config;
  // Parameters: total, and activated per token (non-expert weights plus the
  // shared experts and num_experts_per_tok routed experts of each MoE layer).
  int64_t total = 0, active = 0, mtp = 0;
  std::map<std::string, std::pair<int64_t, int64_t>> by_dtype;  // tensors, bytes
  ModelWeights w;
  ForEachTensor(c, w, model->has_mtp(), [&](const TensorSpec& s) {
    const TensorView* t = model->store.find(s.name);
    if (!t) return;
    int64_t n = 1;
    for (auto d : s.shape) n *= d;
    const bool is_mtp = s.name.rfind("model.layers." + std::to_string(c.num_hidden_layers), 0) == 0 &&
                        c.num_nextn_predict_layers > 0 &&
                        s.name.size() > 13 + std::to_string(c.num_hidden_layers).size() &&
                        s.name[13 + std::to_string(c.num_hidden_layers).size()] == '.';
    if (is_mtp) { mtp += n; return; }
    total += n;
    const size_t pos = s.name.find(".mlp.experts.");
    if (pos == std::string::npos) active += n;
    else if (c.n_routed_experts) active += n * c.num_experts_per_tok / c.n_routed_experts;
  });

  for (auto& [name, t] : model->store.tensors) {
    auto& d = by_dtype[std::string(DTypeName(t.dtype))];
    d.first++, d.second += int64_t(t.nbytes);
  }
  std::printf("model        %s\n", path.c_str());
  std::printf("architecture %s: %lld layers (%lld dense, %lld MoE), hidden %lld, vocab %lld\n", c.model_type.c_str(),
              (long long)c.num_hidden_layers, (long long)std::min(c.first_k_dense_replace, c.num_hidden_layers),
              (long long)(c.num_hidden_layers - std::min(c.first_k_dense_replace, c.num_hidden_layers)),
              (long long)c.hidden_size, (long long)c.vocab_size);
  std::printf("attention    MLA: %lld heads, q_lora_rank %s, kv_lora_rank %lld, qk_nope %lld + qk_rope %lld, v %lld\n",
              (long long)c.num_attention_heads, c.q_lora_rank ? std::to_string(c.q_lora_rank).c_str() : "none (q_proj)",
              (long long)c.kv_lora_rank, (long long)c.qk_nope_head_dim, (long long)c.qk_rope_head_dim,
              (long long)c.v_head_dim);
  if (c.n_routed_experts)
    std::printf("experts      %lld routed (top-%lld, %s, %s, %lld groups keep %lld) + %lld shared, width %lld\n",
                (long long)c.n_routed_experts, (long long)c.num_experts_per_tok,
                c.topk_method == TopkMethod::kGreedy ? "greedy"
                : c.topk_method == TopkMethod::kGroupLimitedGreedy ? "group_limited_greedy" : "noaux_tc",
                c.scoring_func == ScoringFunc::kSoftmax ? "softmax" : "sigmoid", (long long)c.n_group,
                (long long)c.topk_group, (long long)c.n_shared_experts, (long long)c.moe_intermediate_size);
  std::printf("parameters   %s total, %s activated per token", Count(double(total)).c_str(), Count(double(active)).c_str());
  if (mtp) std::printf(", MTP module %s", Count(double(mtp)).c_str());
  std::printf("\n");
  const int64_t latent = c.latent_cache_floats_per_token(), full = c.full_kv_floats_per_token();
  std::printf("kv cache     %s per token (latent: %lld values x %lld layers, fp32 as whale stores it; %s at bf16)\n",
              Human(double(latent * 4)).c_str(), (long long)(c.kv_lora_rank + c.qk_rope_head_dim),
              (long long)c.num_hidden_layers, Human(double(latent * 2)).c_str());
  std::printf("             full multi-head K/V would need %s per token (%.1fx more)\n", Human(double(full * 4)).c_str(),
              double(full) / double(latent));
  std::printf("dtypes      ");
  for (auto& [name, d] : by_dtype) std::printf(" %s: %lld tensors, %s;", name.c_str(), (long long)d.first, Human(double(d.second)).c_str());
  std::printf("\n");
  namespace fs = std::filesystem;
  int64_t files = 0;
  if (fs::is_directory(path)) {
    for (auto& e : fs::directory_iterator(path))
      if (e.is_regular_file()) files += int64_t(e.file_size());
  } else {
    files = int64_t(fs::file_size(path));
  }
  std::printf("files        %s on disk\n", Human(double(files)).c_str());
  for (auto& note : model->notes) std::printf("note         %s\n", note.c_str());
  return 0;
}

Register info("info", "Describe a model: architecture, parameters, KV-cache bytes per token, dtypes", [](CLI::App& app) {
  auto path = std::make_shared<std::string>();
  app.add_option("model", *path, "Hugging Face model folder or .gguf file")->required();
  return [path] { return RunInfo(*path); };
});

}  // namespace
}  // namespace whale::cli
