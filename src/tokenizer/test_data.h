// Shared helpers for the tokenizer tests: the reference files in
// shared/tokenizer and a once-per-process DeepSeek-V3 tokenizer.
#pragma once
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

namespace whale::testing {

inline std::string SharedTok(const std::string& rel) { return std::string(WHALE_SHARED_DIR) + "/tokenizer/" + rel; }

inline std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// tokenizer.json.gz gunzipped into the build folder once; written to a
// unique name and renamed so parallel test processes never see half a file.
inline std::string V3TokenizerJson() {
  namespace fs = std::filesystem;
  std::string out = std::string(WHALE_BINARY_DIR) + "/tokenizer_test_deepseek-v3.json";
  if (fs::exists(out) && fs::file_size(out) == 7847652) return out;
  std::string tmp = out + ".tmp" + std::to_string(::getpid());
  gzFile in = gzopen(SharedTok("deepseek-v3/tokenizer.json.gz").c_str(), "rb");
  if (!in) throw std::runtime_error("cannot open tokenizer.json.gz");
  FILE* f = std::fopen(tmp.c_str(), "wb");
  char buf[1 << 16];
  int n;
  while ((n = gzread(in, buf, sizeof buf)) > 0) std::fwrite(buf, 1, n, f);
  std::fclose(f);
  gzclose(in);
  fs::rename(tmp, out);
  return out;
}

inline const Tokenizer& V3() {
  static const Tokenizer t = Tokenizer::FromFile(V3TokenizerJson(), SharedTok("deepseek-v3/tokenizer_config.json"));
  return t;
}

// JSON Lines split on '\n' only: U+2028 etc. occur raw inside strings.
inline std::vector<nlohmann::json> ReadJsonl(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::string all = ReadAll(path);
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) nl = all.size();
    if (nl > pos) rows.push_back(nlohmann::json::parse(all.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return rows;
}

inline std::string IdsStr(const std::vector<int32_t>& ids) { return nlohmann::json(ids).dump(); }

// A tiny byte-level tokenizer: the 256 byte tokens (id = byte), a few merges
// and added tokens, for behaviour and bad-input tests.
inline nlohmann::json ToyTokenizerJson() {
  using nlohmann::json;
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[BytesToAlphabet(std::string(1, static_cast<char>(b)))] = b;
  vocab["he"] = 256;
  vocab["ll"] = 257;
  vocab["hell"] = 258;
  vocab["hello"] = 259;
  vocab["Ġw"] = 260;
  json j = {
      {"version", "1.0"},
      {"added_tokens",
       json::array({json{{"id", 261}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                    json{{"id", 262}, {"content", "</s>"}, {"special", true}, {"normalized", false}},
                    json{{"id", 263}, {"content", "[X]"}, {"special", false}, {"normalized", true}, {"lstrip", true},
                         {"rstrip", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({json{{"type", "Split"}, {"pattern", {{"Regex", "\\p{N}{1,3}"}}}, {"behavior", "Isolated"}, {"invert", false}},
                      json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}})}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", json::array({json{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {261}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"vocab", vocab},
        {"merges", json::array({"h e", json::array({"l", "l"}), "he ll", "hell o", "Ġ w"})}}}};
  return j;
}

}  // namespace whale::testing
