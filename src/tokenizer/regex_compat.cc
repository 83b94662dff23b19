#include "tokenizer/regex_compat.h"

#include <cstring>

namespace whale {
namespace {

// Unicode White_Space, the set Oniguruma's \s uses.
constexpr const char* kWhiteSpace =
    "\\x{9}-\\x{D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

const char* Additions(char category) {
  for (const auto& a : kUnicodeAdditions)
    if (a.category[0] == category) return a.ranges;
  return nullptr;
}

}  // namespace

std::string OnigurumaToPcre2(std::string_view p) {
  std::string out;
  out.reserve(p.size() * 2);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      if (e == 'Q') {  // literal run up to \E: copy as is
        size_t end = p.find("\\E", i + 2);
        size_t stop = end == std::string_view::npos ? p.size() : end + 2;
        out.append(p.substr(i, stop - i));
        i = stop - 1;
        continue;
      }
      if (e == 's') {
        if (in_class) out += kWhiteSpace;
        else out.append("[").append(kWhiteSpace).append("]");
        ++i;
        continue;
      }
      if (e == 'S' && !in_class) {
        out.append("[^").append(kWhiteSpace).append("]");
        ++i;
        continue;
      }
      if ((e == 'p' || e == 'P') && i + 2 < p.size()) {
        // \pL or \p{L} / \p{^L}: only the one-letter major categories.
        char cat = 0;
        size_t len = 0;
        if (p[i + 2] == '{' && i + 4 < p.size() && p[i + 4] == '}') {
          cat = p[i + 3];
          len = 5;
        } else if (p[i + 2] != '{') {
          cat = p[i + 2];
          len = 3;
        }
        const char* extra = cat ? Additions(cat) : nullptr;
        if (extra && (e == 'p' || !in_class)) {
          std::string prop = std::string("\\p{") + cat + "}";
          if (in_class) out.append(prop).append(extra);
          else out.append(e == 'p' ? "[" : "[^").append(prop).append(extra).append("]");
          i += len - 1;
          continue;
        }
      }
      out += c;
      out += e;
      ++i;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
      size_t end = p.find(":]", i + 2);  // POSIX class [:alpha:]
      if (end != std::string_view::npos) {
        out.append(p.substr(i, end + 2 - i));
        i = end + 1;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

}  // namespace whale
