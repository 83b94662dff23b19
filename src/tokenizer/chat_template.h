// DeepSeek-V3 / R1 chat prompts, rendered natively (no Jinja): the known
// templates are recognised by their content in tokenizer_config.json and
// reproduced exactly, quirks included (see docs/TOKENIZER.md).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace whale {

class Tokenizer;

class ChatTemplate {
 public:
  // "deepseek-v3" or "deepseek-r1"; throws Error for other names.
  static ChatTemplate Named(const std::string& name, const std::string& bos_token = "<｜begin▁of▁sentence｜>",
                            const std::string& eos_token = "<｜end▁of▁sentence｜>");
  // Recognises the Jinja source of a DeepSeek V3/R1-family template; throws
  // Error for any other template.
  static ChatTemplate FromJinja(const std::string& source, const std::string& bos_token, const std::string& eos_token);
  // The tokenizer's chat_template, BOS and EOS.
  static ChatTemplate ForTokenizer(const Tokenizer& tok);

  // messages: [{"role": "system"|"user"|"assistant"|"tool", "content": ...,
  // "tool_calls": [...]}]. Throws Error naming the message index and field.
  std::string Render(const nlohmann::json& messages, bool add_generation_prompt) const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string bos_, eos_;
  bool join_systems_ = true;   // V3: all system prompts joined by "\n\n"; R1: the last one
  bool strip_think_ = false;   // R1: assistant content after the last </think>
  bool think_prompt_ = false;  // R1: generation prompt opens "<think>\n"
};

}  // namespace whale
