// Loader behaviour on a tiny hand-made tokenizer.json: the features the
// DeepSeek file does not exercise, and clear errors for malformed files.
#include <gtest/gtest.h>

#include <fstream>

#include "io/error.h"
#include "tokenizer/test_data.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

using nlohmann::json;
using testing::IdsStr;
using testing::ToyTokenizerJson;

std::string LoadError(const json& j) {
  try {
    Tokenizer::FromJson(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TokenizerToy, MergesBothFormsTemplateAndAddedTokenFlags) {
  Tokenizer t = Tokenizer::FromJson(ToyTokenizerJson());
  // "hello" via h e -> he, l l -> ll, he ll -> hell, hell o -> hello.
  EXPECT_EQ(IdsStr(t.Encode("hello", false)), "[259]");
  EXPECT_EQ(IdsStr(t.Encode("hello", true)), "[261,259]");  // TemplateProcessing adds <s>
  EXPECT_EQ(IdsStr(t.Encode(" w", false)), "[260]");
  // Digits are cut 3 by 3 before the GPT-2 split.
  EXPECT_EQ(IdsStr(t.Encode("1234", false)), "[49,50,51,52]");
  // [X] has lstrip and rstrip: the spaces around it belong to it.
  EXPECT_EQ(IdsStr(t.Encode("a  [X]  b", false)), "[97,263,98]");
  EXPECT_EQ(t.Decode(t.Encode("a  [X]  b", false)), "a[X]b");
  EXPECT_EQ(t.Decode(t.Encode("<s>hi</s>", false), true), "hi");
}

TEST(TokenizerToy, SplitBehaviours) {
  auto with = [](const std::string& behavior, bool invert) {
    json j = ToyTokenizerJson();
    j["pre_tokenizer"]["pretokenizers"][0] = {
        {"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}};
    j["pre_tokenizer"]["pretokenizers"][1]["use_regex"] = false;
    j["model"]["vocab"]["a-"] = 264;
    j["model"]["vocab"]["-b"] = 265;
    j["model"]["merges"].push_back("a -");
    j["model"]["merges"].push_back("- b");
    return Tokenizer::FromJson(j).Encode("a-b", false);
  };
  EXPECT_EQ(IdsStr(with("Isolated", false)), "[97,45,98]");
  EXPECT_EQ(IdsStr(with("Removed", false)), "[97,98]");
  EXPECT_EQ(IdsStr(with("MergedWithPrevious", false)), "[264,98]");
  EXPECT_EQ(IdsStr(with("MergedWithNext", false)), "[97,265]");
  EXPECT_EQ(IdsStr(with("Contiguous", false)), "[97,45,98]");
  EXPECT_EQ(IdsStr(with("Removed", true)), "[45]");
}

TEST(TokenizerToy, ByteLevelPrefixSpace) {
  json j = ToyTokenizerJson();
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  EXPECT_EQ(IdsStr(Tokenizer::FromJson(j).Encode("w", false)), "[260]");  // " w"
}

TEST(TokenizerBadInput, ClearErrors) {
  json j = ToyTokenizerJson();
  auto with = [&](auto edit) {
    json k = j;
    edit(k);
    return LoadError(k);
  };
  EXPECT_NE(with([](json& k) { k["model"]["type"] = "Unigram"; }).find("model type \"Unigram\""), std::string::npos);
  EXPECT_NE(with([](json& k) { k.erase("model"); }).find("model"), std::string::npos);
  EXPECT_NE(with([](json& k) { k["model"]["merges"].push_back("zz q"); }).find("merges[5]"), std::string::npos);
  EXPECT_NE(with([](json& k) { k["model"]["merges"].push_back("abc"); }).find("merges[5]"), std::string::npos);
  EXPECT_NE(with([](json& k) { k["model"]["merges"].push_back(json::array({"a"})); }).find("merges[5]"), std::string::npos);
  EXPECT_NE(with([](json& k) { k["model"]["vocab"]["x"] = "y"; }).find("model.vocab[\"x\"]"), std::string::npos);
  EXPECT_NE(with([](json& k) { k["model"]["dropout"] = 0.1; }).find("dropout"), std::string::npos);
  EXPECT_NE(with([](json& k) { k["normalizer"] = {{"type", "NFC"}}; }).find("normalizer \"NFC\""), std::string::npos);
  EXPECT_NE(with([](json& k) { k["pre_tokenizer"]["pretokenizers"][0]["type"] = "Metaspace"; }).find("\"Metaspace\""),
            std::string::npos);
  EXPECT_NE(with([](json& k) { k["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Regex", "(unclosed"}}; })
                .find("does not compile"),
            std::string::npos);
  EXPECT_NE(with([](json& k) { k["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways"; }).find("Sideways"),
            std::string::npos);
  EXPECT_NE(with([](json& k) { k["pre_tokenizer"]["pretokenizers"].erase(1); }).find("without ByteLevel"),
            std::string::npos);
  EXPECT_NE(with([](json& k) { k["decoder"] = {{"type", "WordPiece"}}; }).find("decoder \"WordPiece\""), std::string::npos);
  EXPECT_NE(with([](json& k) { k["post_processor"] = {{"type", "BertProcessing"}}; }).find("BertProcessing"),
            std::string::npos);
  EXPECT_NE(with([](json& k) { k["added_tokens"][0].erase("id"); }).find("added_tokens[0]"), std::string::npos);
  EXPECT_NE(with([](json& k) { k["added_tokens"][1]["special"] = "yes"; }).find("added_tokens[1]"), std::string::npos);
}

TEST(TokenizerBadInput, FilesThatAreNotTokenizers) {
  std::string dir = WHALE_BINARY_DIR;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name, std::ios::binary) << text;
    return dir + "/" + name;
  };
  EXPECT_THROW(Tokenizer::FromFile(dir + "/no-such-tokenizer.json"), Error);
  EXPECT_THROW(Tokenizer::FromFile(write("tok_bad_truncated.json", ToyTokenizerJson().dump().substr(0, 500))), Error);
  EXPECT_THROW(Tokenizer::FromFile(write("tok_bad_array.json", "[1,2,3]")), Error);
  EXPECT_THROW(Tokenizer::FromFile(write("tok_bad_empty.json", "")), Error);
  std::string good = write("tok_good.json", ToyTokenizerJson().dump());
  EXPECT_THROW(Tokenizer::FromFile(good, write("tok_bad_config.json", "{\"add_bos_token\": true}")), Error);
  EXPECT_THROW(Tokenizer::FromFile(good, write("tok_bad_config2.json", "{oops")), Error);
  Tokenizer t = Tokenizer::FromFile(good, write("tok_config.json", R"({"add_bos_token": true, "bos_token": "</s>"})"));
  EXPECT_EQ(IdsStr(t.Encode("hello", true)), "[262,259]");
  EXPECT_THROW(Tokenizer::FromModelDir(dir + "/no-such-dir"), Error);
}

}  // namespace
}  // namespace whale
