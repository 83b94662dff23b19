#include "runtime/reasoning.h"

#include <algorithm>

namespace whale {
namespace {

constexpr std::string_view kOpen = "<think>", kClose = "</think>";

// Length of the longest suffix of s that is a proper prefix of tag.
size_t PartialTagSuffix(const std::string& s, std::string_view tag) {
  for (size_t k = std::min(tag.size() - 1, s.size()); k > 0; --k)
    if (s.compare(s.size() - k, k, tag.substr(0, k)) == 0) return k;
  return 0;
}

// Drops leading newlines/spaces while *trim holds; clears it at the first other character.
void TrimStart(std::string& s, bool* trim) {
  if (!*trim) return;
  const size_t i = s.find_first_not_of(" \t\r\n");
  if (i == std::string::npos) { s.clear(); return; }
  s.erase(0, i);
  *trim = false;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter(bool starts_thinking)
    : state_(starts_thinking ? State::kThinking : State::kStart),
      trim_reasoning_start_(true),
      trim_answer_start_(true) {}

bool ReasoningSplitter::PromptOpensThinking(const std::string& prompt) {
  const size_t open = prompt.rfind(kOpen);
  return open != std::string::npos && prompt.find(kClose, open) == std::string::npos &&
         prompt.find_first_not_of(" \t\r\n", open + kOpen.size()) == std::string::npos;
}

ReasoningDelta ReasoningSplitter::Push(const std::string& text) {
  ReasoningDelta d;
  held_ += text;
  for (;;) {
    if (state_ == State::kStart) {
      const size_t i = held_.find_first_not_of(" \t\r\n");
      if (i == std::string::npos) return d;  // only whitespace so far: undecided
      const std::string_view rest = std::string_view(held_).substr(i);
      if (rest.substr(0, kOpen.size()) == kOpen) {
        held_.erase(0, i + kOpen.size());
        state_ = State::kThinking;
        continue;
      }
      if (rest.size() < kOpen.size() && kOpen.substr(0, rest.size()) == rest) return d;  // maybe "<thi"
      state_ = State::kAnswer;
      continue;
    }
    if (state_ == State::kThinking) {
      const size_t close = held_.find(kClose);
      if (close != std::string::npos) {
        std::string r = held_.substr(0, close);
        TrimStart(r, &trim_reasoning_start_);
        d.reasoning += r;
        held_.erase(0, close + kClose.size());
        state_ = State::kAnswer;
        continue;
      }
      const size_t keep = PartialTagSuffix(held_, kClose);
      std::string r = held_.substr(0, held_.size() - keep);
      held_.erase(0, held_.size() - keep);
      TrimStart(r, &trim_reasoning_start_);
      d.reasoning += r;
      return d;
    }
    TrimStart(held_, &trim_answer_start_);
    d.content += held_;
    held_.clear();
    return d;
  }
}

ReasoningDelta ReasoningSplitter::Flush() {
  ReasoningDelta d;
  if (state_ == State::kThinking) d.reasoning = held_;
  else d.content = held_;
  held_.clear();
  return d;
}

}  // namespace whale
