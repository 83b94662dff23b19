// Seeded random mutations: the loader either loads or throws whale::Error,
// and Encode/Decode take any bytes. Small and fast enough for ASan runs.
#include <gtest/gtest.h>

#include <random>

#include "io/error.h"
#include "tokenizer/test_data.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

TEST(TokenizerFuzz, MutatedTokenizerJsonLoadsOrThrowsError) {
  const std::string base = testing::ToyTokenizerJson().dump();
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]\":,0123456789-. abcnulltruefalse\\";
  int loaded = 0;
  for (int round = 0; round < 100; ++round) {
    std::string s = base;
    int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: s.erase(pos, 1 + rng() % 8); break;
        case 2: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 3: s[pos] = static_cast<char>(rng()); break;
      }
      if (s.empty()) s = "{";
    }
    std::string path = std::string(WHALE_BINARY_DIR) + "/tok_fuzz.json";
    {
      std::ofstream f(path, std::ios::binary);
      f << s;
    }
    try {
      Tokenizer t = Tokenizer::FromFile(path);
      ++loaded;
      auto ids = t.Encode("hello world 123 <s>[X]\xff", true);
      t.Decode(ids, true);
    } catch (const Error&) {
    }
  }
  EXPECT_GT(loaded, 0);
}

TEST(TokenizerFuzz, RandomBytesEncodeLosslessly) {
  const Tokenizer& t = testing::V3();
  std::mt19937 rng(99);
  // Biased toward UTF-8 lead/continuation bytes, spaces, digits and '<'.
  const std::string pool = std::string("\xe2\x80\x8b\xea\xb0\x80\xf0\x9f\x99\x82 \n\t1<|>a.") + "\xc3\xa9";
  for (int round = 0; round < 300; ++round) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) c = rng() % 3 ? pool[rng() % pool.size()] : static_cast<char>(rng());
    auto ids = t.Encode(s, round % 2);
    std::string bytes;
    for (size_t i = round % 2; i < ids.size(); ++i) bytes += t.TokenBytes(ids[i]);
    ASSERT_EQ(bytes, s);
    std::string text = t.Decode(ids);
    ASSERT_FALSE(text.empty() && !s.empty());
  }
}

}  // namespace
}  // namespace whale
