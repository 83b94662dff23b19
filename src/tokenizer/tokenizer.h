// A Hugging Face tokenizer.json (+ tokenizer_config.json) for byte-level BPE
// models such as DeepSeek-V3/R1, reproducing the Rust `tokenizers` library
// id for id, with transformers' BOS rule (see docs/TOKENIZER.md).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace whale {

class PreTokenizer;
struct BpeData;

class Tokenizer {
 public:
  // Throws Error naming the file and the field or feature at fault.
  static Tokenizer FromFile(const std::string& tokenizer_json, const std::string& tokenizer_config_json = "");
  // dir/tokenizer.json, plus dir/tokenizer_config.json when present.
  static Tokenizer FromModelDir(const std::string& dir);
  // `config` may be null. A tokenizer object with a "whale_gguf" member (see
  // model/gguf_tokenizer.h) supplies the config itself when config is null.
  static Tokenizer FromJson(const nlohmann::json& tokenizer, const nlohmann::json& config = nullptr);

  // add_special_tokens adds what the post-processor adds: BOS (and EOS) per
  // tokenizer_config.json's add_bos_token/add_eos_token when it has them,
  // else tokenizer.json's TemplateProcessing. Any bytes are accepted; invalid
  // UTF-8 is encoded byte by byte.
  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens) const;

  // Lossy UTF-8 of the tokens' bytes (unknown ids are skipped, as in the
  // reference); skip_special_tokens drops added tokens marked special.
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;
  std::string Decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const {
    return Decode(std::span<const int32_t>(ids), skip_special_tokens);
  }

  // The raw bytes one token decodes to (empty for an unknown id).
  const std::string& TokenBytes(int32_t id) const;
  bool IsSpecial(int32_t id) const;

  // An added token's content, or a vocab entry in the byte alphabet ("Ġthe").
  std::optional<int32_t> TokenId(std::string_view token) const;
  std::string IdToToken(int32_t id) const;

  int32_t bos_id() const;  // -1 when unknown
  int32_t eos_id() const;
  const std::string& bos_token() const;
  const std::string& eos_token() const;
  size_t vocab_size() const;
  // tokenizer_config.json's chat_template ("" when none).
  const std::string& chat_template() const;

  const PreTokenizer& pre_tokenizer() const;

 private:
  Tokenizer() = default;
  static Tokenizer Build(const nlohmann::json& tokenizer, BpeData&& bpe, const nlohmann::json& config);
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace whale
