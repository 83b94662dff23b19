#include "tokenizer/utf8.h"

namespace whale {
namespace {

// Valid range of the second byte for a lead byte; the others are 80..BF.
// Returns the sequence length (0 = invalid lead byte).
size_t LeadInfo(uint8_t b, uint8_t& lo, uint8_t& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b == 0xE0) { lo = 0xA0; return 3; }
  if (b >= 0xE1 && b <= 0xEC) return 3;
  if (b == 0xED) { hi = 0x9F; return 3; }  // no surrogates
  if (b >= 0xEE && b <= 0xEF) return 3;
  if (b == 0xF0) { lo = 0x90; return 4; }
  if (b >= 0xF1 && b <= 0xF3) return 4;
  if (b == 0xF4) { hi = 0x8F; return 4; }
  return 0;
}

// How many bytes from s[i] form a valid (possibly incomplete) prefix of a
// character; sets complete when the whole character is there.
size_t ValidPrefix(std::string_view s, size_t i, bool& complete) {
  uint8_t b = static_cast<uint8_t>(s[i]);
  complete = false;
  if (b < 0x80) { complete = true; return 1; }
  uint8_t lo, hi;
  size_t len = LeadInfo(b, lo, hi);
  if (len == 0) return 0;
  size_t k = 1;
  for (; k < len && i + k < s.size(); ++k) {
    uint8_t c = static_cast<uint8_t>(s[i + k]);
    if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return k;
  }
  complete = (k == len);
  return k;
}

}  // namespace

size_t Utf8CharLen(std::string_view s, size_t i) {
  bool complete;
  size_t k = ValidPrefix(s, i, complete);
  return complete ? k : 0;
}

std::string Utf8Lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    bool complete;
    size_t k = ValidPrefix(s, i, complete);
    if (complete) {
      out.append(s.data() + i, k);
      i += k;
    } else {
      out += "\xEF\xBF\xBD";
      i += k == 0 ? 1 : k;  // a maximal invalid subpart
    }
  }
  return out;
}

size_t Utf8StablePrefix(std::string_view s) {
  // A character is at most 4 bytes: only the last 3 can be an open one.
  size_t start = s.size() > 3 ? s.size() - 3 : 0;
  for (size_t i = start; i < s.size(); ++i) {
    uint8_t b = static_cast<uint8_t>(s[i]);
    if ((b & 0xC0) == 0x80) continue;  // continuation: not a start
    bool complete;
    size_t k = ValidPrefix(s, i, complete);
    if (!complete && k > 0 && i + k == s.size()) return i;
  }
  return s.size();
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t Utf8CountChars(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    size_t k = Utf8CharLen(s, i);
    i += k ? k : 1;
  }
  return n;
}

}  // namespace whale
