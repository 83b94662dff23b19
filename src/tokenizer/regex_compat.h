// Makes a tokenizer.json regex (written for Oniguruma) match in PCRE2 the
// way it does in the reference: `\s` is exactly Unicode White_Space (PCRE2
// also matches U+180E) and \p{L}, \p{M}, \p{N}, \p{P}, \p{S} include the
// code points assigned after Unicode 14 up to Unicode 16.
#pragma once
#include <string>
#include <string_view>

namespace whale {

struct UnicodeAddition {
  const char* category;  // "L", "M", "N", "P" or "S"
  const char* ranges;    // PCRE2 class body: \x{..}-\x{..}...
};
extern const UnicodeAddition kUnicodeAdditions[5];

// Rewrites the escapes above; everything else is copied unchanged. Inside a
// character class, \S and \P{..} cannot be widened and stay PCRE2's.
std::string OnigurumaToPcre2(std::string_view pattern);

}  // namespace whale
