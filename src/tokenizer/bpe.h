// Byte-level BPE: the model part of tokenizer.json. Works on raw bytes; the
// vocabulary and merges are converted from the byte alphabet at load.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/flat_map.h"
#include "tokenizer/json_load.h"

namespace whale {

class Bpe {
 public:
  // `model` is tokenizer.json's "model" object; throws Error on anything
  // but a plain BPE (no dropout, no unk/byte fallback needed, no prefixes).
  // `data` holds model.vocab and model.merges (moved from).
  Bpe(const nlohmann::json& model, BpeData&& data);

  // Appends the ids of one pre-tokenized piece (with a leading space when
  // prefix_space). Thread-safe.
  void Encode(std::string_view piece, bool prefix_space, std::vector<int32_t>& out) const;

  size_t vocab_size() const { return id_to_token_.size(); }
  // The token as written in tokenizer.json (byte alphabet); empty for gaps.
  const std::string& token(int32_t id) const { return id_to_token_[id]; }
  std::optional<int32_t> Find(std::string_view token) const;

 private:
  struct Merge {
    int32_t rank = 0;
    int32_t result = 0;
  };
  static uint64_t Key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  void MergeWord(std::string_view bytes, std::vector<int32_t>& out) const;

  std::vector<std::string> id_to_token_;
  FlatStringIndex token_to_id_;  // byte-alphabet text -> id
  int32_t byte_id_[256];
  FlatU64Map<Merge> merges_;

  // Per-word cache, like the reference's: text is Zipfian, most pieces repeat.
  static constexpr size_t kCacheMax = 200000;
  static constexpr size_t kCacheMaxWord = 64;
  mutable std::mutex cache_mu_;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  mutable std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> cache_;
};

}  // namespace whale
