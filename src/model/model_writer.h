// Writes a model, tensor by tensor, as a llama.cpp-loadable GGUF file or as a
// Hugging Face-style folder, from any source of weight rows (a loaded model
// being converted, or a random generator). Streaming: at most a chunk of
// rows of one tensor is in memory, so a 16 GB model is written in bounded RAM.
// Per-tensor storage types follow llama-quantize's choices (GGUF.md section 4).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "io/gguf.h"
#include "kernels/thread_pool.h"
#include "model/config.h"
#include "model/weights.h"

namespace whale {

enum class QuantScheme { kF32, kF16, kBF16, kQ8_0, kQ6_K, kQ4_K_M };
QuantScheme ParseQuantScheme(const std::string& s, const std::string& where);  // throws Error
std::string QuantSchemeName(QuantScheme s);
uint32_t LlamaFileType(QuantScheme s);  // general.file_type (llama_ftype)

// The storage type `spec` gets under `scheme`: norms, router and biases F32;
// q4_k_m gives lm_head and the down projections of llama.cpp's "more bits"
// layers Q6_K; rows that do not fit a format's block fall back
// (Q4_K -> Q5_0, Q6_K -> Q8_0, Q8_0/Q5_0 -> F16). `cols` is the row length
// as stored (for GGUF's attn_k_b it is qk_nope_head_dim, not kv_lora_rank).
DType ChooseStorageType(QuantScheme scheme, const ModelConfig& c, const TensorSpec& spec, int64_t cols);

// The weights to write, by HF name (shapes as ForEachTensor gives them).
// `rows` fills out[nrows * cols] with rows [row0, row0 + nrows) of tensor
// `name` and is called from several threads; `has` says whether an optional
// tensor (e_score_correction_bias, lm_head when tied) exists.
struct RowSource {
  std::function<bool(const std::string& name)> has;
  std::function<void(const std::string& name, int64_t row0, int64_t nrows, float* out)> rows;
};

// What was written, by storage type: the mix to print.
struct TypeMix {
  struct Entry {
    int64_t tensors = 0, params = 0;
    uint64_t bytes = 0;
  };
  std::map<std::string, Entry> by_type;
  uint64_t total_bytes = 0;
  std::string Format() const;  // one line per type
};

struct WriteOptions {
  QuantScheme scheme = QuantScheme::kBF16;
  std::string name = "whale";
  bool with_mtp = false;              // HF folders only: GGUF deepseek2 has no MTP
  ThreadPool* pool = nullptr;         // quantise rows in parallel
  // Tokenizer for GGUF output: keys copied from a GGUF, a tokenizer.json, or synthetic.
  const GgufFile* tokenizer_gguf = nullptr;
  const nlohmann::json* tokenizer_json = nullptr;
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

// GGUF of architecture deepseek2 in the current split attention layout
// (attn_k_b / attn_v_b rebuilt from kv_b_proj), experts merged per layer.
TypeMix WriteGgufModel(const std::string& path, const ModelConfig& c, const RowSource& src, const WriteOptions& o);

// config.json + model.safetensors. Block-quantised tensors are stored with
// dtype names Q8_0 / Q4_K / Q5_0 / Q6_K, each row RowBytes(type, cols) bytes.
TypeMix WriteHfFolder(const std::string& dir, const ModelConfig& c, const RowSource& src, const WriteOptions& o);

}  // namespace whale
