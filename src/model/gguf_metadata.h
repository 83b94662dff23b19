// The deepseek2 metadata llama.cpp expects, written from a ModelConfig (the
// inverse of the GGUF loader's config inference; GGUF.md section 3, current
// split-attention layout), and a tokenizer for files that need one.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "io/gguf.h"
#include "model/config.h"

namespace whale {

// general.* and deepseek2.* keys. file_type: llama_ftype (0 F32, 1 F16,
// 7 Q8_0, 15 Q4_K_M, 18 Q6_K, 32 BF16).
void AddDeepseek2Metadata(GgufWriter& w, const ModelConfig& c, const std::string& name, uint32_t file_type);

// Copies every tokenizer.* key of `src`.
void CopyGgufTokenizer(GgufWriter& w, const GgufFile& src);

// tokenizer.ggml.* from a Hugging Face tokenizer.json (byte-level BPE);
// padded with [PAD{id}] to vocab_size. Throws Error naming `where`.
void AddHfTokenizer(GgufWriter& w, const ModelConfig& c, const nlohmann::json& tokenizer_json,
                    const std::string& where);

// A minimal valid gpt2 tokenizer of exactly vocab_size tokens (the 256
// byte symbols, BOS/EOS as control tokens, one merge, [PAD{id}] fill), so
// llama.cpp loads random-weight and tokenizer-less models.
void AddSyntheticTokenizer(GgufWriter& w, const ModelConfig& c);

}  // namespace whale
