#include "train/bpe_trainer.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "io/error.h"
#include "tokenizer/pre_tokenizer.h"
#include "train/chat_template.h"

namespace whale {
namespace {

using nlohmann::json;

const char* const kSpecials[] = {kBosToken, kEosToken, kUserToken, kAssistantToken, "<think>", "</think>"};
constexpr int64_t kNumSpecials = 6;

void AppendUtf8(std::string& s, uint32_t cp) {
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
}

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest
// map to U+0100 onwards, so every token is a printable string.
std::vector<std::string> ByteAlphabet() {
  std::vector<std::string> out(256);
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    AppendUtf8(out[b], printable ? uint32_t(b) : next++);
  }
  return out;
}

}  // namespace

json BpePreTokenizerJson() {
  const char* gpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
  return {{"type", "Sequence"},
          {"pretokenizers",
           json::array({{{"type", "Split"}, {"pattern", {{"Regex", "\\p{N}"}}}, {"behavior", "Isolated"}, {"invert", false}},
                        {{"type", "Split"}, {"pattern", {{"Regex", gpt2}}}, {"behavior", "Isolated"}, {"invert", false}},
                        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}})}};
}

json TrainBpe(const std::vector<std::string>& files, const BpeOptions& opt) {
  if (opt.vocab_size < kNumSpecials + 256)
    throw Error("train-tokenizer: vocab_size " + std::to_string(opt.vocab_size) + " is below the " +
                std::to_string(kNumSpecials + 256) + " specials and bytes");
  // Word frequencies after pre-tokenization (per line: pieces never span lines).
  PreTokenizer pre(BpePreTokenizerJson());
  std::unordered_map<std::string, int64_t> freq;
  std::vector<Piece> pieces;
  int64_t bytes = 0;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) throw Error(f + ": cannot open");
    std::string line;
    while (std::getline(in, line)) {
      line += '\n';
      bytes += int64_t(line.size());
      pre.Split(line, pieces);
      for (const Piece& p : pieces) freq[(p.prefix_space ? " " : "") + line.substr(p.begin, p.end - p.begin)]++;
    }
  }
  if (bytes == 0) throw Error("train-tokenizer: no text in the input files");

  // Words as symbol sequences; symbol ids index `tokens` (bytes first).
  std::vector<std::string> tokens(256);  // raw bytes of each symbol
  for (int b = 0; b < 256; ++b) tokens[b] = std::string(1, char(b));
  std::vector<std::pair<std::vector<int32_t>, int64_t>> words;
  for (auto& [w, n] : freq) {
    std::vector<int32_t> syms;
    for (unsigned char ch : w) syms.push_back(ch);
    words.push_back({std::move(syms), n});
  }
  std::sort(words.begin(), words.end());  // deterministic order
  std::vector<std::pair<int32_t, int32_t>> merges;
  const int64_t target_merges = opt.vocab_size - kNumSpecials - 256;
  std::unordered_map<uint64_t, int64_t> pairs;
  while (int64_t(merges.size()) < target_merges) {
    pairs.clear();
    for (auto& [syms, n] : words)
      for (size_t i = 0; i + 1 < syms.size(); ++i) pairs[(uint64_t(uint32_t(syms[i])) << 32) | uint32_t(syms[i + 1])] += n;
    uint64_t best = 0;
    int64_t best_n = 0;
    for (auto& [k, n] : pairs)
      if (n > best_n || (n == best_n && k < best)) best = k, best_n = n;
    if (best_n < opt.min_frequency) break;
    const int32_t a = int32_t(best >> 32), b = int32_t(best & 0xffffffff), id = int32_t(tokens.size());
    tokens.push_back(tokens[a] + tokens[b]);
    merges.push_back({a, b});
    for (auto& [syms, n] : words) {
      size_t o = 0;
      for (size_t i = 0; i < syms.size(); ++i) {
        if (i + 1 < syms.size() && syms[i] == a && syms[i + 1] == b) syms[o++] = id, ++i;
        else syms[o++] = syms[i];
      }
      syms.resize(o);
    }
  }

  // tokenizer.json: specials at 0..5, bytes at 6..261, merges after.
  const std::vector<std::string> alpha = ByteAlphabet();
  auto visible = [&](const std::string& raw) {
    std::string s;
    for (unsigned char ch : raw) s += alpha[ch];
    return s;
  };
  json vocab = json::object(), added = json::array();
  for (int64_t i = 0; i < kNumSpecials; ++i) {
    vocab[kSpecials[i]] = i;
    added.push_back({{"id", i}, {"content", kSpecials[i]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", i >= 4}, {"special", i < 2}});
  }
  for (size_t t = 0; t < tokens.size(); ++t) vocab[visible(tokens[t])] = int64_t(kNumSpecials + t);
  json jm = json::array();
  for (auto& [a, b] : merges) jm.push_back(visible(tokens[a]) + " " + visible(tokens[b]));
  json bl = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", BpePreTokenizerJson()},
          {"post_processor", bl},
          {"decoder", bl},
          {"model",
           {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
            {"vocab", vocab}, {"merges", jm}}}};
}

json TrainedTokenizerConfig() {
  auto tok = [](const char* s) {
    return json{{"__type", "AddedToken"}, {"content", s}, {"lstrip", false}, {"normalized", true},
                {"rstrip", false}, {"single_word", false}};
  };
  return {{"add_bos_token", true},          {"add_eos_token", false},
          {"bos_token", tok(kBosToken)},    {"eos_token", tok(kEosToken)},
          {"pad_token", tok(kEosToken)},    {"unk_token", nullptr},
          {"clean_up_tokenization_spaces", false}, {"legacy", true},
          {"model_max_length", 16384},      {"tokenizer_class", "LlamaTokenizerFast"},
          {"chat_template", kR1ChatTemplate}};
}

}  // namespace whale
