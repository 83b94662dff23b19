#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace whale {
namespace {

struct Tables {
  std::array<uint32_t, 256> to_cp{};
  // Inverse for code points below 0x200 (all stand-ins are below 0x144).
  std::array<int16_t, 0x200> from_cp{};
  Tables() {
    from_cp.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? b : next++;
      from_cp[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& T() {
  static const Tables t;
  return t;
}

}  // namespace

uint32_t ByteToAlphabet(uint8_t b) { return T().to_cp[b]; }

std::string AlphabetToBytes(std::string_view token, bool* all_mapped) {
  std::string out;
  out.reserve(token.size());
  const auto& from = T().from_cp;
  for (size_t i = 0; i < token.size();) {
    size_t k = Utf8CharLen(token, i);
    uint32_t cp = 0x200;
    if (k == 1) {
      cp = static_cast<uint8_t>(token[i]);
    } else if (k == 2) {
      cp = ((token[i] & 0x1F) << 6) | (token[i + 1] & 0x3F);
    }
    if (cp >= 0x200 || from[cp] < 0) {
      if (all_mapped) *all_mapped = false;
      return std::string(token);
    }
    out += static_cast<char>(from[cp]);
    i += k;
  }
  if (all_mapped) *all_mapped = true;
  return out;
}

std::string BytesToAlphabet(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) AppendUtf8(out, T().to_cp[c]);
  return out;
}

}  // namespace whale
