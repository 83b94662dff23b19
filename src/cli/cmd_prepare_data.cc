// whale prepare-data: text files -> token shards (train.bin, val.bin) with a
// held-out validation split, for whale train.
#include <cstdio>

#include "cli/command.h"
#include "tokenizer/tokenizer.h"
#include "train/data.h"

namespace whale::cli {
namespace {

Register prepare_cmd("prepare-data", "Tokenize text files into training shards with a validation split",
                     [](CLI::App& app) -> std::function<int()> {
  auto files = std::make_shared<std::vector<std::string>>();
  auto tok = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto opt = std::make_shared<PrepareOptions>();
  app.add_option("files", *files, "Text files (each is one document)")->required();
  app.add_option("--tokenizer", *tok, "Folder with tokenizer.json")->required();
  app.add_option("--out", *out, "Output folder")->required();
  app.add_option("--val-fraction", opt->val_fraction, "Fraction of blocks held out for validation");
  app.add_option("--block", opt->block, "Tokens per split block");
  return [=]() {
    const Tokenizer t = Tokenizer::FromModelDir(*tok);
    std::printf("%s\n", PrepareData(*files, t, *out, *opt).c_str());
    return 0;
  };
});

}  // namespace
}  // namespace whale::cli
