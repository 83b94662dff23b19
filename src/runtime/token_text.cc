#include "runtime/token_text.h"

namespace whale {

size_t CompleteUtf8Prefix(const std::string& s) {
  // Walk back over at most 3 continuation bytes to the lead byte.
  size_t n = s.size(), i = n, back = 0;
  while (i > 0 && back < 4 && (uint8_t(s[i - 1]) & 0xC0) == 0x80) --i, ++back;
  if (i == 0) return n;  // only continuation bytes: nothing to wait for
  const uint8_t lead = uint8_t(s[i - 1]);
  size_t need = 0;
  if ((lead & 0xE0) == 0xC0) need = 2;
  else if ((lead & 0xF0) == 0xE0) need = 3;
  else if ((lead & 0xF8) == 0xF0) need = 4;
  else return n;  // ASCII or invalid lead: complete as far as we can tell
  return back + 1 < need ? i - 1 : n;
}

std::string Utf8Stream::Push(int32_t id) {
  pending_.push_back(id);
  std::string s = text_->Decode(pending_);
  // A decoder that maps broken bytes to U+FFFD shows an unfinished character
  // that way; one that keeps raw bytes shows a truncated sequence. Hold
  // either, but never more than a character's worth of tokens.
  static const std::string kReplacement = "\xEF\xBF\xBD";
  const bool replacement_tail = s.size() >= 3 && s.compare(s.size() - 3, 3, kReplacement) == 0;
  if (pending_.size() < 4 && (replacement_tail || CompleteUtf8Prefix(s) != s.size())) return {};
  pending_.clear();
  return s;
}

std::string Utf8Stream::Flush() {
  if (pending_.empty()) return {};
  std::string s = text_->Decode(pending_);
  pending_.clear();
  return s;
}

}  // namespace whale
