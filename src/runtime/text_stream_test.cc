// Streaming text helpers: UTF-8-safe decoding, stop strings, reasoning split.
#include <gtest/gtest.h>

#include "runtime/reasoning.h"
#include "runtime/stop_strings.h"
#include "runtime/token_text.h"

namespace whale {
namespace {

// Token i is byte i: the worst case for character boundaries.
struct ByteText : TokenText {
  std::string Decode(std::span<const int32_t> ids) const override {
    std::string s;
    for (int32_t i : ids) s += char(i);
    return s;
  }
};

TEST(Utf8Stream, NeverSplitsACharacter) {
  ByteText bt;
  Utf8Stream st(&bt);
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x90\xB3z";  // a é € 🐳 z
  std::vector<std::string> pieces;
  for (unsigned char c : text) {
    std::string p = st.Push(c);
    if (!p.empty()) pieces.push_back(p);
  }
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x90\xB3", "z"}));
  EXPECT_EQ(st.Flush(), "");
  EXPECT_EQ(st.Push(0xE2), "");
  EXPECT_EQ(st.Flush(), "\xE2");
}

TEST(StopMatcher, StopSpanningChunks) {
  StopMatcher m({"END", "\n\n"});
  bool stopped = false;
  std::string out;
  for (const char* piece : {"Hello E", "N", "x ", "wor", "ld E", "ND more"}) {
    out += m.Push(piece, &stopped);
    if (stopped) break;
  }
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out, "Hello ENx world ");
}

TEST(StopMatcher, HeldTextIsReleasedAtTheEnd) {
  StopMatcher m({"STOP"});
  bool stopped = false;
  EXPECT_EQ(m.Push("abc ST", &stopped), "abc ");
  EXPECT_FALSE(stopped);
  EXPECT_EQ(m.Flush(), "ST");
  StopMatcher none({});
  EXPECT_EQ(none.Push("x", &stopped), "x");
}

ReasoningDelta Split(ReasoningSplitter& s, const std::vector<std::string>& pieces) {
  ReasoningDelta all;
  for (const auto& p : pieces) {
    auto d = s.Push(p);
    all.reasoning += d.reasoning, all.content += d.content;
  }
  auto d = s.Flush();
  all.reasoning += d.reasoning, all.content += d.content;
  return all;
}

TEST(Reasoning, R1StartsInsideThink) {
  ReasoningSplitter s(true);
  auto d = Split(s, {"Let me ", "think.</th", "ink>\n\n", "The answer", " is 4."});
  EXPECT_EQ(d.reasoning, "Let me think.");
  EXPECT_EQ(d.content, "The answer is 4.");
}

TEST(Reasoning, ExplicitThinkTagAndPlainAnswers) {
  ReasoningSplitter s(false);
  auto d = Split(s, {"\n<thi", "nk>\nhmm</think>ok"});
  EXPECT_EQ(d.reasoning, "hmm");
  EXPECT_EQ(d.content, "ok");
  ReasoningSplitter plain(false);
  d = Split(plain, {"<b>bold</b>", " and <think> later"});
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "<b>bold</b> and <think> later");
  ReasoningSplitter cut(true);  // stopped mid-thought: all of it is reasoning
  d = Split(cut, {"still thinking </thi"});
  EXPECT_EQ(d.reasoning, "still thinking </thi");
  EXPECT_EQ(d.content, "");
}

TEST(Reasoning, PromptOpensThinking) {
  EXPECT_TRUE(ReasoningSplitter::PromptOpensThinking("<｜User｜>hi<｜Assistant｜><think>\n"));
  EXPECT_FALSE(ReasoningSplitter::PromptOpensThinking("<｜User｜>hi<｜Assistant｜>"));
  EXPECT_FALSE(ReasoningSplitter::PromptOpensThinking("<think>a</think>b"));
}

}  // namespace
}  // namespace whale
