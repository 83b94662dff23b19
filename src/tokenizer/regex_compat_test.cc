// The Oniguruma -> PCRE2 rewrite gives the reference's answers on the code
// points where PCRE2 10.42 alone differs (shared/tokenizer/README.md).
#include "tokenizer/regex_compat.h"

#include <gtest/gtest.h>

#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

bool WholeMatch(const std::string& onig_pattern, uint32_t cp) {
  Regex re(OnigurumaToPcre2(onig_pattern));
  std::string s;
  AppendUtf8(s, cp);
  std::vector<std::pair<size_t, size_t>> m;
  re.FindAll(s, m);
  return m.size() == 1 && m[0].first == 0 && m[0].second == s.size();
}

TEST(TokenizerRegexCompat, WhiteSpaceIsUnicodeWhiteSpace) {
  for (uint32_t cp : {0x9u, 0xBu, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au, 0x2028u, 0x202Fu, 0x3000u})
    EXPECT_TRUE(WholeMatch("\\s", cp)) << std::hex << cp;
  for (uint32_t cp : {0x180Eu, 0xFEFFu, 0x200Bu, 0x1Cu, 0x41u}) {
    EXPECT_FALSE(WholeMatch("\\s", cp)) << std::hex << cp;
    EXPECT_TRUE(WholeMatch("\\S", cp)) << std::hex << cp;
    EXPECT_TRUE(WholeMatch("[^\\s]", cp)) << std::hex << cp;
  }
}

TEST(TokenizerRegexCompat, CategoriesKnowUnicode16) {
  EXPECT_TRUE(WholeMatch("\\p{L}", 0x1E030));  // Unicode 15, Lm
  EXPECT_TRUE(WholeMatch("\\p{L}", 0x31350));  // Unicode 15, Lo
  EXPECT_TRUE(WholeMatch("\\p{L}", 0x2EBF0));  // Unicode 15.1, Lo
  EXPECT_TRUE(WholeMatch("[\\p{L}\\p{M}]", 0x11F00));  // Unicode 15, Mn
  EXPECT_TRUE(WholeMatch("\\pN", 0x1E4F0));
  EXPECT_TRUE(WholeMatch("\\p{N}", 0x10D40));  // Unicode 16, Nd
  EXPECT_TRUE(WholeMatch("\\p{N}", 0x1CCF0));
  EXPECT_FALSE(WholeMatch("[^\\p{N}]", 0x1CCF0));
  EXPECT_FALSE(WholeMatch("\\P{N}", 0x1CCF0));
  EXPECT_FALSE(WholeMatch("\\p{L}", 0x1E6C0));  // Unicode 17: not yet
}

TEST(TokenizerRegexCompat, OtherSyntaxIsCopied) {
  EXPECT_EQ(OnigurumaToPcre2("a\\\\s[\\]x]\\Q\\s\\E\\d"), "a\\\\s[\\]x]\\Q\\s\\E\\d");
  EXPECT_EQ(OnigurumaToPcre2("[]s]"), "[]s]");
}

}  // namespace
}  // namespace whale
