// The tokenizer stored in a llama.cpp GGUF (tokenizer.ggml.*, GGUF.md
// section 7) rebuilt as a Hugging Face tokenizer.json object, so one
// tokenizer implementation serves folders and GGUF files alike.
#include "model/gguf_tokenizer.h"

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/gguf.h"

namespace whale {
namespace {

using nlohmann::json;

// llama.cpp's pre-tokenizer regexes (llama-vocab.cpp), applied in order as
// HF's Sequence of Split(behavior=Isolated). Copied as C++ literals.
const char* const kDeepseekV3[] = {
    "\\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
};
const char* const kDeepseekLlm[] = {
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
};

// llama_token_type (GGUF.md section 7).
enum TokenType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

}  // namespace

json GgufTokenizerJson(const GgufFile& f) {
  auto fail = [&](const std::string& key, const std::string& why) -> void {
    throw Error(f.path() + ": key " + key + " " + why);
  };
  const auto model = f.GetString("tokenizer.ggml.model");
  if (!model) fail("tokenizer.ggml.model", "is missing (the file has no tokenizer)");
  if (*model != "gpt2") fail("tokenizer.ggml.model", "is \"" + *model + "\"; supported: gpt2 (byte-level BPE)");
  const std::string pre = f.GetString("tokenizer.ggml.pre").value_or("");
  std::vector<const char*> regexes;
  if (pre == "deepseek-v3") regexes.assign(std::begin(kDeepseekV3), std::end(kDeepseekV3));
  else if (pre == "deepseek-llm") regexes.assign(std::begin(kDeepseekLlm), std::end(kDeepseekLlm));
  else fail("tokenizer.ggml.pre", "is \"" + pre + "\"; supported: deepseek-v3, deepseek-llm");

  const GgufValue* tokens = f.Find("tokenizer.ggml.tokens");
  if (!tokens || tokens->type != GgufType::kArray || tokens->elem_type != GgufType::kString)
    fail("tokenizer.ggml.tokens", "is missing or not an array of strings");
  const GgufValue* types = f.Find("tokenizer.ggml.token_type");
  if (types && (types->type != GgufType::kArray || types->ints.size() != tokens->strings.size()))
    fail("tokenizer.ggml.token_type", "must be an integer array as long as tokenizer.ggml.tokens");
  const GgufValue* merges = f.Find("tokenizer.ggml.merges");
  if (!merges || merges->type != GgufType::kArray || merges->elem_type != GgufType::kString)
    fail("tokenizer.ggml.merges", "is missing or not an array of strings");

  json vocab = json::object(), added = json::array();
  for (size_t id = 0; id < tokens->strings.size(); ++id) {
    const std::string& t = tokens->strings[id];
    const int64_t type = types ? types->ints[id] : int64_t(kNormal);
    // Unused fill ([PAD{id}]) stays in the vocabulary so ids are dense; no
    // merge ever produces it.
    if (!vocab.contains(t)) vocab[t] = id;
    if (type == kControl || type == kUserDefined) {
      added.push_back({{"id", id}, {"content", t}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", type == kUserDefined}, {"special", type == kControl}});
    }
  }
  json pretok = json::array();
  for (const char* r : regexes)
    pretok.push_back({{"type", "Split"}, {"pattern", {{"Regex", r}}}, {"behavior", "Isolated"}, {"invert", false}});
  pretok.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});

  json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", json::array()}};
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", pretok}};
  j["post_processor"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  j["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                {"vocab", vocab}, {"merges", merges->strings}};
  // What tokenizer_config.json would carry; HF readers ignore unknown keys.
  json extra = {{"pre", pre}, {"vocab_size", tokens->strings.size()}};
  for (const char* k : {"bos_token_id", "eos_token_id", "padding_token_id", "unknown_token_id"})
    if (auto v = f.GetInt(std::string("tokenizer.ggml.") + k)) extra[k] = *v;
  for (const char* k : {"add_bos_token", "add_eos_token"})
    if (auto v = f.GetBool(std::string("tokenizer.ggml.") + k)) extra[k] = *v;
  if (auto t = f.GetString("tokenizer.chat_template")) extra["chat_template"] = *t;
  j["whale_gguf"] = extra;
  return j;
}

json GgufTokenizerJson(const std::string& gguf_path) { return GgufTokenizerJson(GgufFile(gguf_path)); }

}  // namespace whale
