// Byte-level BPE training (Sennrich et al.; GPT-2's byte alphabet) on text
// files, written as a Hugging Face tokenizer.json that whale's Tokenizer and
// HF `tokenizers` load. Digits are split one by one (so arithmetic sees
// single digits), then GPT-2's pre-tokenizer regex; R1's special tokens
// come first (ids 0..5: BOS, EOS, User, Assistant, <think>, </think>).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace whale {

struct BpeOptions {
  int64_t vocab_size = 2048;  // specials + 256 bytes + merges
  int64_t min_frequency = 2;  // a pair seen fewer times is never merged
};

// Throws Error if no text is found or vocab_size is below specials + 256.
nlohmann::json TrainBpe(const std::vector<std::string>& files, const BpeOptions& opt);

// tokenizer_config.json for a tokenizer from TrainBpe: BOS added, R1's chat template.
nlohmann::json TrainedTokenizerConfig();

// The pre_tokenizer TrainBpe writes (exposed so training and encoding agree).
nlohmann::json BpePreTokenizerJson();

}  // namespace whale
