// Streaming detokenization never splits a character and adds up to Decode.
#include "tokenizer/stream_decoder.h"

#include <gtest/gtest.h>

#include <random>

#include "tokenizer/test_data.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

using testing::V3;

void CheckStream(const std::vector<int32_t>& ids, bool skip) {
  StreamDecoder sd(V3(), skip);
  std::string all;
  for (int32_t id : ids) {
    std::string piece = sd.Push(id);
    // Every piece is whole UTF-8 on its own.
    EXPECT_EQ(Utf8Lossy(piece), piece);
    all += piece;
  }
  all += sd.Flush();
  EXPECT_EQ(all, V3().Decode(ids, skip));
}

TEST(TokenizerStream, NeverSplitsCharacters) {
  for (const char* text : {"인공지능 뉴스를 세 줄로 요약해 줘.", "🙂👍🏽 family: 👨‍👩‍👧‍👦 flags 🇰🇷",
                           "漢字とひらがな、カタカナ。中文测试", "mixed 한국어 and English 🙂 with 数字 123"}) {
    auto ids = V3().Encode(text, true);
    CheckStream(ids, false);
    CheckStream(ids, true);
  }
}

TEST(TokenizerStream, BrokenBytesMatchDecode) {
  // Byte tokens of an incomplete character, then a special token, then a
  // stray continuation byte: U+FFFD exactly where the full decode has them.
  auto ea = V3().Encode("\xea\xb0", false);
  std::vector<int32_t> ids = ea;
  ids.push_back(0);
  auto tail = V3().Encode("\x80" "x", false);
  ids.insert(ids.end(), tail.begin(), tail.end());
  CheckStream(ids, false);
  CheckStream(ids, true);
  // Cut off mid-character at the end: Flush gives U+FFFD.
  CheckStream(ea, false);
}

TEST(TokenizerStream, RandomIdsAddUp) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(V3().vocab_size()) + 5);
  for (int round = 0; round < 50; ++round) {
    std::vector<int32_t> ids(1 + rng() % 40);
    for (auto& x : ids) x = id(rng);
    CheckStream(ids, round % 2);
  }
}

}  // namespace
}  // namespace whale
