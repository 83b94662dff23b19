// Splits R1-style output into reasoning (inside <think>...</think>) and the
// answer after it, as DeepSeek's API returns reasoning_content and content.
// R1's generation prompt already opens "<think>\n", so a stream may start
// inside the thinking; a tag split across chunks is held until decided.
#pragma once
#include <string>

namespace whale {

struct ReasoningDelta {
  std::string reasoning, content;
};

class ReasoningSplitter {
 public:
  // starts_thinking: the prompt ended inside an open <think> block.
  explicit ReasoningSplitter(bool starts_thinking);
  ReasoningDelta Push(const std::string& text);
  ReasoningDelta Flush();

  // Whether a rendered prompt leaves the model inside an open <think>.
  static bool PromptOpensThinking(const std::string& prompt);

 private:
  enum class State { kStart, kThinking, kAnswer };
  State state_;
  bool trim_reasoning_start_, trim_answer_start_;
  std::string held_;
};

}  // namespace whale
