#include "train/data.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "io/error.h"
#include "tokenizer/tokenizer.h"
#include "train/arithmetic.h"

namespace whale {

void WriteTokens(const std::string& path, const std::vector<int32_t>& tokens) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(tokens.data()), std::streamsize(tokens.size() * sizeof(int32_t)));
  if (!f) throw Error(path + ": cannot write");
}

std::vector<int32_t> ReadTokens(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error(path + ": cannot open (run `whale prepare-data` first)");
  const auto size = int64_t(f.tellg());
  if (size % 4) throw Error(path + ": size " + std::to_string(size) + " is not a whole number of int32 tokens");
  std::vector<int32_t> t(size / 4);
  f.seekg(0);
  f.read(reinterpret_cast<char*>(t.data()), size);
  return t;
}

std::string PrepareData(const std::vector<std::string>& files, const Tokenizer& tok, const std::string& out_dir,
                        const PrepareOptions& opt) {
  if (files.empty()) throw Error("prepare-data: no input files");
  std::vector<int32_t> all;
  int64_t bytes = 0;
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::string line;
    // Line by line keeps each regex call short; the pre-tokenizer never
    // joins pieces across a newline anyway.
    while (std::getline(in, line)) {
      line += '\n';
      bytes += int64_t(line.size());
      const auto ids = tok.Encode(line, false);
      all.insert(all.end(), ids.begin(), ids.end());
    }
    all.push_back(tok.eos_id());
  }
  const int64_t every = std::max<int64_t>(2, std::llround(1.0 / std::max(1e-6, opt.val_fraction)));
  if (int64_t(all.size()) < 2 * opt.block || bytes < 1024)
    throw Error("prepare-data: corpus too small (" + std::to_string(bytes) + " bytes, " + std::to_string(all.size()) +
                " tokens); need at least " + std::to_string(2 * opt.block) + " tokens");
  std::vector<int32_t> train, val;
  for (int64_t i = 0, blk = 0; i < int64_t(all.size()); i += opt.block, ++blk) {
    auto& dst = (blk % every == every - 1) ? val : train;
    dst.insert(dst.end(), all.begin() + i, all.begin() + std::min<int64_t>(i + opt.block, all.size()));
  }
  std::filesystem::create_directories(out_dir);
  WriteTokens(out_dir + "/train.bin", train);
  WriteTokens(out_dir + "/val.bin", val);
  nlohmann::json meta = {{"files", files},
                         {"bytes", bytes},
                         {"tokens", all.size()},
                         {"train_tokens", train.size()},
                         {"val_tokens", val.size()},
                         {"bytes_per_token", double(bytes) / double(all.size())},
                         {"vocab_size", tok.vocab_size()}};
  std::ofstream(out_dir + "/meta.json") << meta.dump(2) << "\n";
  return meta.dump();
}

static void FillRow(TrainBatch& b, const std::vector<int32_t>& tokens, int64_t start) {
  for (int64_t t = 0; t < b.T; ++t) {
    b.inputs.push_back(tokens[start + t]);
    b.next.push_back(tokens[start + t + 1]);
    b.labels.push_back(tokens[start + t + 1]);
  }
}

TrainBatch SampleWindows(const std::vector<int32_t>& tokens, int64_t B, int64_t T, uint64_t seed) {
  if (int64_t(tokens.size()) < T + 2)
    throw Error("training data has " + std::to_string(tokens.size()) + " tokens, fewer than seq_len + 2 = " +
                std::to_string(T + 2));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> start(0, int64_t(tokens.size()) - T - 1);
  TrainBatch b;
  b.B = B, b.T = T;
  for (int64_t r = 0; r < B; ++r) FillRow(b, tokens, start(rng));
  return b;
}

TrainBatch SequentialWindows(const std::vector<int32_t>& tokens, int64_t B, int64_t T, int64_t first_row) {
  const int64_t rows = (int64_t(tokens.size()) - 1) / T;
  if (rows < 1) throw Error("validation data has fewer than seq_len + 1 tokens");
  TrainBatch b;
  b.B = B, b.T = T;
  for (int64_t r = 0; r < B; ++r) FillRow(b, tokens, ((first_row + r) % rows) * T);
  return b;
}

TrainBatch ArithmeticBatch(const Tokenizer& tok, int64_t B, int64_t T, uint64_t seed, bool held_out) {
  std::mt19937_64 rng(seed);
  TrainBatch b;
  b.B = B, b.T = T;
  const int32_t eos = tok.eos_id();
  for (int64_t r = 0; r < B; ++r) {
    // T+1 tokens per row: the window that gives T inputs and T targets.
    std::vector<int32_t> ids, mask;
    while (int64_t(ids.size()) < T + 1) {
      const ArithProblem p = DrawProblem(rng, held_out);
      const auto prompt = tok.Encode(ArithPrompt(p), false);
      const auto resp = tok.Encode(ArithResponse(p), false);
      if (int64_t(prompt.size() + resp.size()) > T + 1) continue;
      if (int64_t(ids.size() + prompt.size() + resp.size()) > T + 1) {
        mask.resize(T + 1, 0);
        ids.resize(T + 1, eos);  // pad the rest of the row, untrained
        break;
      }
      ids.insert(ids.end(), prompt.begin(), prompt.end());
      mask.insert(mask.end(), prompt.size(), 0);
      ids.insert(ids.end(), resp.begin(), resp.end());
      mask.insert(mask.end(), resp.size(), 1);
    }
    for (int64_t t = 0; t < T; ++t) {
      b.inputs.push_back(ids[t]);
      b.next.push_back(ids[t + 1]);
      b.labels.push_back(mask[t + 1] ? ids[t + 1] : -1);
    }
  }
  return b;
}

}  // namespace whale
