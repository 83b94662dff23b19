// whale train-tokenizer: byte-level BPE on text files, written as a Hugging
// Face tokenizer.json (+ tokenizer_config.json with R1's chat template) and
// checked by loading it back with whale's tokenizer.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/command.h"
#include "io/error.h"
#include "tokenizer/tokenizer.h"
#include "train/bpe_trainer.h"

namespace whale::cli {
namespace {

Register tok_cmd("train-tokenizer", "Train a byte-level BPE tokenizer (tokenizer.json) on text files",
                 [](CLI::App& app) -> std::function<int()> {
  auto files = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto opt = std::make_shared<BpeOptions>();
  app.add_option("files", *files, "Text files")->required();
  app.add_option("--out", *out, "Output folder")->required();
  app.add_option("--vocab-size", opt->vocab_size, "Vocabulary size (6 specials + 256 bytes + merges)");
  return [=]() {
    const auto j = TrainBpe(*files, *opt);
    std::filesystem::create_directories(*out);
    std::ofstream(*out + "/tokenizer.json") << j.dump(1) << "\n";
    std::ofstream(*out + "/tokenizer_config.json") << TrainedTokenizerConfig().dump(2) << "\n";
    const Tokenizer t = Tokenizer::FromModelDir(*out);
    const std::string probe = "In the beginning God created the heaven and the earth. What is 308+94?";
    const auto ids = t.Encode(probe, false);
    if (t.Decode(ids) != probe) throw Error(*out + "/tokenizer.json: does not round-trip a probe sentence");
    std::printf("wrote %s/tokenizer.json: %zu tokens; the probe sentence is %zu tokens\n", out->c_str(), t.vocab_size(),
                ids.size());
    return 0;
  };
});

}  // namespace
}  // namespace whale::cli
