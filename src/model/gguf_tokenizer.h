// A GGUF file's embedded tokenizer as a Hugging Face tokenizer.json object.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace whale {

class GgufFile;

// Rebuilds tokenizer.json from the tokenizer.ggml.* keys (gpt2 byte-level
// BPE with the deepseek-v3 or deepseek-llm pre-tokenizer). CONTROL tokens
// become special added tokens, USER_DEFINED ones non-special added tokens;
// UNUSED fill ([PAD{id}]) stays in model.vocab (ids are dense). The object also has a "whale_gguf"
// member with what tokenizer_config.json would hold: bos_token_id,
// eos_token_id, padding_token_id, add_bos_token, add_eos_token,
// chat_template, pre, vocab_size. Throws Error naming the key at fault.
nlohmann::json GgufTokenizerJson(const std::string& gguf_path);
nlohmann::json GgufTokenizerJson(const GgufFile& f);

}  // namespace whale
