// The chat format whale's trained checkpoints use: DeepSeek-R1's.
#pragma once

namespace whale {

extern const char* const kR1ChatTemplate;

// R1's special tokens, as the tokenizer writes them.
inline constexpr const char* kBosToken = "<｜begin▁of▁sentence｜>";
inline constexpr const char* kEosToken = "<｜end▁of▁sentence｜>";
inline constexpr const char* kUserToken = "<｜User｜>";
inline constexpr const char* kAssistantToken = "<｜Assistant｜>";

}  // namespace whale
