// Training data: token shards written by `whale prepare-data` (raw int32
// tokens plus meta.json), batches of packed windows drawn from them, and
// packed SFT rows of the arithmetic task. Every batch is a pure function of
// (seed, step, micro-batch), so a resumed run sees exactly the same data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/model_train.h"

namespace whale {

class Tokenizer;

// dir/train.bin and dir/val.bin: little-endian int32 token ids.
void WriteTokens(const std::string& path, const std::vector<int32_t>& tokens);
std::vector<int32_t> ReadTokens(const std::string& path);

struct PrepareOptions {
  int64_t block = 2048;         // tokens per split unit
  double val_fraction = 0.05;   // every round(1/f)-th block goes to validation
};
// Encodes the files (each one document, EOS after it), splits into blocks
// and writes train.bin, val.bin and meta.json into out_dir. Returns the
// meta.json content. Throws Error on an empty or too-small corpus.
std::string PrepareData(const std::vector<std::string>& files, const Tokenizer& tok, const std::string& out_dir,
                        const PrepareOptions& opt);

// B windows of T+1 consecutive tokens at random offsets (sequence packing:
// documents run into each other across EOS).
TrainBatch SampleWindows(const std::vector<int32_t>& tokens, int64_t B, int64_t T, uint64_t seed);
// Consecutive windows from the start (validation: the same every time).
TrainBatch SequentialWindows(const std::vector<int32_t>& tokens, int64_t B, int64_t T, int64_t first_row);

// B rows of T tokens packed with arithmetic chat examples; only the
// responses are trained (labels −1 on prompts and padding).
TrainBatch ArithmeticBatch(const Tokenizer& tok, int64_t B, int64_t T, uint64_t seed, bool held_out = false);

}  // namespace whale
