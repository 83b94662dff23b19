// Exactness against the reference cases in shared/tokenizer (Rust
// `tokenizers` + transformers' BOS rule).
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <thread>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/test_data.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

using nlohmann::json;
using testing::IdsStr;
using testing::ReadJsonl;
using testing::SharedTok;
using testing::V3;

TEST(TokenizerV3, Basics) {
  const Tokenizer& t = V3();
  EXPECT_EQ(IdsStr(t.Encode("Hello!", true)), "[0,19923,3]");
  EXPECT_EQ(IdsStr(t.Encode("", true)), "[0]");
  EXPECT_EQ(IdsStr(t.Encode("", false)), "[]");
  EXPECT_EQ(t.bos_id(), 0);
  EXPECT_EQ(t.eos_id(), 1);
  EXPECT_EQ(t.vocab_size(), 128815u);
  EXPECT_EQ(t.TokenId("<｜User｜>").value_or(-1), 128803);
  EXPECT_EQ(t.TokenId("Ġworld").value_or(-1), 2058);
  EXPECT_FALSE(t.TokenId("no such token").has_value());
  EXPECT_EQ(t.IdToToken(128804), "<｜Assistant｜>");
  EXPECT_EQ(t.IdToToken(2058), "Ġworld");
  EXPECT_TRUE(t.IsSpecial(0));
  EXPECT_FALSE(t.IsSpecial(128803));
}

// Runs every row, then reports the first failures in one go.
template <class F>
void CheckRows(const std::vector<json>& rows, F&& check) {
  int bad = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string why = check(rows[i]);
    if (!why.empty() && ++bad <= 10) ADD_FAILURE() << "row " << i << ": " << why;
  }
  EXPECT_EQ(bad, 0) << "of " << rows.size();
}

std::string CheckEncode(const json& row) {
  auto ids = V3().Encode(row["text"].get<std::string>(), row["add_special_tokens"].get<bool>());
  if (json(ids) == row["ids"]) return "";
  return row["text"].dump() + " -> " + IdsStr(ids) + ", want " + row["ids"].dump();
}

TEST(TokenizerV3, EncodeCases) {
  auto rows = ReadJsonl(SharedTok("deepseek-v3/cases.jsonl"));
  ASSERT_EQ(rows.size(), 1000u);
  CheckRows(rows, CheckEncode);
}

TEST(TokenizerV3, LlamaCppVectors) {
  auto rows = ReadJsonl(SharedTok("deepseek-v3/llamacpp-vectors.jsonl"));
  ASSERT_EQ(rows.size(), 48u);
  CheckRows(rows, CheckEncode);
}

TEST(TokenizerV3, DecodeCases) {
  auto rows = ReadJsonl(SharedTok("deepseek-v3/decode_cases.jsonl"));
  ASSERT_EQ(rows.size(), 190u);
  CheckRows(rows, [](const json& row) -> std::string {
    std::string text = V3().Decode(row["ids"].get<std::vector<int32_t>>(), row["skip_special_tokens"].get<bool>());
    if (text == row["text"]) return "";
    return row["ids"].dump() + " -> " + json(text).dump() + ", want " + row["text"].dump();
  });
}

// The pre-tokenizer alone: pieces (byte alphabet) and code-point offsets.
TEST(TokenizerV3, PreTokenizeCases) {
  auto rows = ReadJsonl(SharedTok("deepseek-v3/pretokenize.jsonl"));
  ASSERT_EQ(rows.size(), 463u);
  CheckRows(rows, [](const json& row) -> std::string {
    std::string text = row["text"];
    std::vector<Piece> pieces;
    V3().pre_tokenizer().Split(text, pieces);
    json got = json::array(), offsets = json::array();
    for (const Piece& p : pieces) {
      std::string bytes = (p.prefix_space ? " " : "") + text.substr(p.begin, p.end - p.begin);
      got.push_back(BytesToAlphabet(bytes));
      offsets.push_back({Utf8CountChars(std::string_view(text).substr(0, p.begin)),
                         Utf8CountChars(std::string_view(text).substr(0, p.end))});
    }
    if (got == row["pieces"] && offsets == row["offsets"]) return "";
    return json(text).dump() + " -> " + got.dump() + " " + offsets.dump() + ", want " + row["pieces"].dump() + " " +
           row["offsets"].dump();
  });
}

// Where other implementations disagree we follow Rust `tokenizers`.
TEST(TokenizerV3, DivergentCasesFollowRust) {
  auto rows = ReadJsonl(SharedTok("deepseek-v3/divergent_cases.jsonl"));
  ASSERT_EQ(rows.size(), 86u);
  CheckRows(rows, [](const json& row) -> std::string {
    if (row["op"] == "encode") {
      auto ids = V3().Encode(row["text"].get<std::string>(), row["add_special_tokens"].get<bool>());
      if (json(ids) == row["rust_tokenizers"]) return "";
      return row["text"].dump() + " -> " + IdsStr(ids) + ", want " + row["rust_tokenizers"].dump();
    }
    if (row["op"] == "decode") {
      std::string text = V3().Decode(row["ids"].get<std::vector<int32_t>>(), row["skip_special_tokens"].get<bool>());
      if (json(text) == row["rust_tokenizers"]) return "";
      return row["ids"].dump() + " -> " + json(text).dump() + ", want " + row["rust_tokenizers"].dump();
    }
    return "unknown op " + row["op"].dump();
  });
}

TEST(TokenizerV3, BenchTextIdCountAndRoundTrip) {
  std::string text = testing::ReadAll(SharedTok("bench-mixed.txt"));
  auto ids = V3().Encode(text, false);
  EXPECT_EQ(ids.size(), 85114u);
  EXPECT_EQ(V3().Decode(ids), text);
}

// Bytes that are not UTF-8 are encoded byte-wise: the tokens' bytes give
// back exactly the input.
TEST(TokenizerV3, InvalidUtf8IsEncodedBytewise) {
  const Tokenizer& t = V3();
  for (std::string s : {std::string("\xff\xfe abc \x80"), std::string("caf\xc3"), std::string("\xed\xa0\x80x"),
                        std::string("a\0b", 3), std::string("\xea\xb0<｜User｜>\x80"), std::string("12\xf4\x90\x80\x80" "345")}) {
    auto ids = t.Encode(s, false);
    std::string bytes;
    for (int32_t id : ids) bytes += t.TokenBytes(id);
    EXPECT_EQ(bytes, s) << IdsStr(ids);
  }
  EXPECT_EQ(t.Decode(t.Encode("\xea\xb0", false)), "\xEF\xBF\xBD");
}

// One Tokenizer shared by threads (the BPE cache is locked, scratch space is
// per thread): same ids as a single thread.
TEST(TokenizerV3, ConcurrentEncodeAgrees) {
  std::string text = testing::ReadAll(SharedTok("bench-mixed.txt")).substr(0, 60000);
  auto want = V3().Encode(text, true);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&, i] { got[i] = V3().Encode(text, true); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

}  // namespace
}  // namespace whale
