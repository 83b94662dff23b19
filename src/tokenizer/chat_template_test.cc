// DeepSeek-V3/R1 chat rendering against shared/tokenizer/chat_cases.jsonl
// (transformers' apply_chat_template output), and bad messages.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include "io/error.h"
#include "tokenizer/test_data.h"

namespace whale {
namespace {

using nlohmann::json;
using testing::ReadJsonl;
using testing::SharedTok;
using testing::V3;

json Config(const std::string& name) { return json::parse(testing::ReadAll(SharedTok(name + "/tokenizer_config.json"))); }

ChatTemplate FromConfig(const std::string& name) {
  json c = Config(name);
  return ChatTemplate::FromJinja(c["chat_template"], c["bos_token"]["content"], c["eos_token"]["content"]);
}

TEST(ChatTemplate, RecognisesTheShippedTemplates) {
  EXPECT_EQ(FromConfig("deepseek-v3").name(), "deepseek-v3");
  EXPECT_EQ(FromConfig("deepseek-r1").name(), "deepseek-r1");
  EXPECT_EQ(ChatTemplate::ForTokenizer(V3()).name(), "deepseek-v3");
}

TEST(ChatTemplate, AllCasesRenderExactly) {
  auto rows = ReadJsonl(SharedTok("chat_cases.jsonl"));
  ASSERT_EQ(rows.size(), 80u);
  ChatTemplate v3 = FromConfig("deepseek-v3"), r1 = FromConfig("deepseek-r1");
  ChatTemplate v3n = ChatTemplate::Named("deepseek-v3"), r1n = ChatTemplate::Named("deepseek-r1");
  int bad = 0;
  for (const json& row : rows) {
    bool is_v3 = row["template"] == "deepseek-v3";
    bool gen = row["add_generation_prompt"];
    std::string text = (is_v3 ? v3 : r1).Render(row["messages"], gen);
    std::string named = (is_v3 ? v3n : r1n).Render(row["messages"], gen);
    auto ids = V3().Encode(text, false);
    bool ok = text == row["text"] && named == text && json(ids) == row["ids"];
    if (!ok && ++bad <= 10)
      ADD_FAILURE() << row["template"] << " " << row["name"] << ": " << json(text).dump() << "\nwant "
                    << row["text"].dump();
  }
  EXPECT_EQ(bad, 0);
}

TEST(ChatTemplate, R1StripsThinkAndOpensThinking) {
  ChatTemplate r1 = ChatTemplate::Named("deepseek-r1");
  json m = json::parse(R"([{"role":"user","content":"q"},{"role":"assistant","content":"<think>x</think>y"}])");
  EXPECT_EQ(r1.Render(m, true), "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜>y<｜end▁of▁sentence｜><｜Assistant｜><think>\n");
}

std::string RenderError(const std::string& messages) {
  try {
    ChatTemplate::Named("deepseek-v3").Render(json::parse(messages), true);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ChatTemplate, BadMessagesNameIndexAndField) {
  EXPECT_EQ(RenderError(R"([{"role":"user","content":"a"},{"content":"b"}])"), "chat message 1: \"role\" is missing");
  EXPECT_EQ(RenderError(R"([{"role":"wizard","content":"b"}])"),
            "chat message 0: \"role\" is \"wizard\" (expected system, user, assistant or tool)");
  EXPECT_EQ(RenderError(R"([{"role":"user","content":3}])"), "chat message 0: \"content\" is not a string");
  EXPECT_EQ(RenderError(R"([{"role":"user"}])"), "chat message 0: \"content\" is missing");
  EXPECT_EQ(RenderError(R"([{"role":7,"content":"x"}])"), "chat message 0: \"role\" is not a string");
  EXPECT_EQ(RenderError(R"([{"role":"assistant","content":null}])"),
            "chat message 0: \"tool_calls\" must be an array when content is null");
  EXPECT_NE(RenderError(R"([{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":{}}}]}])")
                .find("arguments"),
            std::string::npos);
  EXPECT_EQ(RenderError(R"(["hi"])"), "chat message 0 is not an object");
  EXPECT_EQ(RenderError(R"({"role":"user"})"), "chat messages are not a JSON array");
}

TEST(ChatTemplate, UnknownTemplatesAreRefused) {
  EXPECT_THROW(ChatTemplate::FromJinja("{% for m in messages %}{{ m['content'] }}{% endfor %}", "<s>", "</s>"), Error);
  EXPECT_THROW(ChatTemplate::Named("chatml"), Error);
}

}  // namespace
}  // namespace whale
