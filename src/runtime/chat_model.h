// A model folder ready to chat: weights, tokenizer and chat template loaded
// together, and the few text <-> token steps the front ends (whale run,
// whale chat, whale serve) share.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "runtime/token_text.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale {

class ChatModel : public TokenText {
 public:
  // A folder or a .gguf file. Throws Error naming what is missing.
  // template_name (deepseek-v3 | deepseek-r1) overrides the model's own template.
  // residency: where the weights live (io/mmap_file.h).
  static std::unique_ptr<ChatModel> Load(const std::string& dir, const std::string& template_name = "",
                                         Residency residency = Residency::kAuto);

  // messages: [{"role": system|user|assistant, "content": string}], already
  // validated. Ends with the assistant's opening (and R1's "<think>\n").
  std::string RenderChat(const nlohmann::json& messages) const;
  std::vector<int32_t> EncodeChat(const nlohmann::json& messages) const;
  // A raw prompt (/v1/completions, whale run --raw): BOS + text.
  std::vector<int32_t> EncodeText(const std::string& text) const;
  std::string Decode(std::span<const int32_t> ids) const override;

  // Whether replies start inside <think> (R1-style templates).
  bool reasoning() const { return reasoning_; }
  const Model& model() const { return *model_; }
  const std::string& name() const { return name_; }

 private:
  ChatModel() = default;
  std::unique_ptr<Model> model_;
  std::optional<Tokenizer> tok_;
  std::optional<ChatTemplate> template_;
  std::string name_;
  bool reasoning_ = false;
};

// The tokenizer of a model folder (tokenizer.json + tokenizer_config.json) or
// the one a .gguf file carries.
Tokenizer LoadModelTokenizer(const std::string& path);

// models/whale-tiny under the source tree: the model `--model` defaults to.
std::string DefaultModelDir();

}  // namespace whale
