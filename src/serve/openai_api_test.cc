#include "serve/openai_api.h"

#include <gtest/gtest.h>

namespace whale::serve {
namespace {

using nlohmann::json;

// The status, param and a piece of the message of the ApiError `body` raises.
void ExpectBad(const std::string& body, const std::string& param, const std::string& says, bool chat = true) {
  try {
    chat ? ParseChatRequest(body) : ParseCompletionRequest(body);
    ADD_FAILURE() << "accepted: " << body;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.param, param) << body;
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    const json j = ErrorBody(e);
    for (const char* k : {"message", "type", "param", "code"}) EXPECT_TRUE(j["error"].contains(k)) << k;
  }
}

TEST(OpenAiApi, RejectsBadChatRequests) {
  ExpectBad("{not json", "", "not valid JSON");
  ExpectBad("[1,2]", "", "JSON object");
  ExpectBad("{}", "messages", "missing required parameter");
  ExpectBad(R"({"messages": "hi"})", "messages", "must be an array");
  ExpectBad(R"({"messages": []})", "messages", "at least one");
  ExpectBad(R"({"messages": [{"role": "wizard", "content": "x"}]})", "messages[0].role", "unknown role");
  ExpectBad(R"({"messages": [{"content": "x"}]})", "messages[0].role", "must be a string");
  ExpectBad(R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content", "must be a string");
  ExpectBad(R"({"messages": [{"role": "user"}]})", "messages[0].content", "missing");
  const std::string ok = R"("messages": [{"role": "user", "content": "hi"}])";
  ExpectBad("{" + ok + R"(, "n": 2})", "n", "n = 1");
  ExpectBad("{" + ok + R"(, "temperature": "hot"})", "temperature", "number");
  ExpectBad("{" + ok + R"(, "temperature": 3})", "temperature", "between");
  ExpectBad("{" + ok + R"(, "top_p": 0})", "top_p", "greater than 0");
  ExpectBad("{" + ok + R"(, "max_tokens": 0})", "max_tokens", ">= 1");
  ExpectBad("{" + ok + R"(, "max_tokens": 1.5})", "max_tokens", "integer");
  ExpectBad("{" + ok + R"(, "stop": [1]})", "stop", "array of strings");
  ExpectBad("{" + ok + R"(, "stream": "yes"})", "stream", "boolean");
  ExpectBad("{" + ok + R"(, "seed": "x"})", "seed", "integer");
  ExpectBad("{" + ok + R"(, "frequency_penalty": 5})", "frequency_penalty", "between");
  ExpectBad("{" + ok + R"(, "stream_options": {"include_usage": 1}})", "stream_options.include_usage", "boolean");
  ExpectBad(R"({"prompt": 3})", "prompt", "string", false);
  ExpectBad(R"({"max_tokens": 3})", "prompt", "missing", false);
}

TEST(OpenAiApi, ParsesAFullChatRequest) {
  const ApiRequest r = ParseChatRequest(R"({
    "model": "m", "messages": [{"role": "developer", "content": "be brief"},
                               {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                               {"role": "assistant", "content": null}],
    "temperature": 0.5, "top_p": 0.9, "max_completion_tokens": 7, "stop": "END", "seed": 42, "stream": true,
    "stream_options": {"include_usage": true}, "frequency_penalty": 0.5, "presence_penalty": -0.5, "n": 1,
    "user": "ignored", "max_tokens": null})");
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(r.messages[1]["content"], "ab");
  EXPECT_EQ(r.messages[2]["content"], "");
  EXPECT_FLOAT_EQ(r.gen.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.gen.sampling.top_p, 0.9f);
  EXPECT_EQ(r.gen.max_tokens, 7);
  EXPECT_EQ(r.gen.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(*r.gen.sampling.seed, 42u);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_FLOAT_EQ(r.gen.sampling.frequency_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.gen.sampling.presence_penalty, -0.5f);
  const ApiRequest c = ParseCompletionRequest(R"({"prompt": ["once upon"], "stop": ["a", "b"]})");
  EXPECT_EQ(c.prompt, "once upon");
  EXPECT_EQ(c.gen.max_tokens, 16);
  EXPECT_EQ(c.gen.stop.size(), 2u);
}

TEST(OpenAiApi, ResponsesHaveOpenAiShape) {
  ResponseBuilder chat("whale-tiny", true);
  const json full = chat.Completion("hmm", "4", "stop", {10, 3, 2}, true);
  EXPECT_EQ(full["object"], "chat.completion");
  EXPECT_EQ(full["choices"][0]["message"]["reasoning_content"], "hmm");
  EXPECT_EQ(full["choices"][0]["message"]["content"], "4");
  EXPECT_EQ(full["usage"]["total_tokens"], 13);
  EXPECT_EQ(full["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
  EXPECT_EQ(std::string(full["id"]).rfind("chatcmpl-", 0), 0u);
  const json d = chat.DeltaChunk("r", "");
  EXPECT_EQ(d["object"], "chat.completion.chunk");
  EXPECT_EQ(d["id"], full["id"]);
  EXPECT_EQ(d["choices"][0]["delta"]["reasoning_content"], "r");
  EXPECT_FALSE(d["choices"][0]["delta"].contains("content"));
  EXPECT_EQ(chat.FinishChunk("length")["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(chat.UsageChunk({1, 2, 0})["choices"].empty());
  EXPECT_EQ(SseData(json{{"a", 1}}), "data: {\"a\":1}\n\n");
  ResponseBuilder text("m", false);
  EXPECT_EQ(text.DeltaChunk("", "x")["choices"][0]["text"], "x");
  EXPECT_EQ(text.Completion("", "y", "length", {}, false)["object"], "text_completion");
}

}  // namespace
}  // namespace whale::serve
