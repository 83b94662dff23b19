// whale quantize IN OUT --type T: converts a Hugging Face folder (BF16/F16/
// F32/FP8) or a GGUF file into a GGUF file (OUT ends in .gguf, loadable by
// llama.cpp) or a folder, choosing storage per tensor as llama-quantize does,
// and prints the mix it chose.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "io/error.h"
#include "io/gguf.h"
#include "model/model.h"
#include "model/model_writer.h"

namespace whale::cli {
namespace {

namespace fs = std::filesystem;

bool IsGguf(const std::string& p) { return p.size() > 5 && p.substr(p.size() - 5) == ".gguf"; }

int RunQuantize(const std::string& in, const std::string& out, const std::string& type, bool verbose) {
  const QuantScheme scheme = ParseQuantScheme(type, "--type");
  if (fs::exists(out) && fs::equivalent(in, out)) throw Error(out + ": output would overwrite the input");
  const bool to_gguf = IsGguf(out);
  const auto t0 = std::chrono::steady_clock::now();
  auto model = LoadModel(in, /*with_mtp=*/true);
  const ModelConfig& c = model->config;
  for (const auto& n : model->notes) std::printf("note: %s\n", n.c_str());

  // Every HF-named weight of the input, decoded row by row (FP8 scales applied).
  std::map<std::string, WeightView> views;
  ModelWeights w = model->weights;
  ForEachTensor(c, w, model->has_mtp(), [&](const TensorSpec& s) {
    if (!s.slot->empty()) views[s.name] = *s.slot;
  });
  RowSource src;
  src.has = [&](const std::string& name) { return views.count(name) > 0; };
  src.rows = [&](const std::string& name, int64_t r0, int64_t n, float* dst) {
    const WeightView& v = views.at(name);
    for (int64_t i = 0; i < n; ++i) DecodeRow(v, r0 + i, dst + i * v.cols);
  };

  WriteOptions o;
  o.scheme = scheme;
  o.name = fs::path(in).filename().replace_extension("").string();
  o.with_mtp = model->has_mtp();
  o.pool = &DefaultPool();
  if (verbose) o.log = [](const std::string& s) { std::printf("%s\n", s.c_str()); };
  std::unique_ptr<GgufFile> gguf_in;
  nlohmann::json tok;
  if (IsGguf(in)) {
    gguf_in = std::make_unique<GgufFile>(in);
    if (gguf_in->Find("tokenizer.ggml.tokens")) o.tokenizer_gguf = gguf_in.get();
  } else if (fs::exists(fs::path(in) / "tokenizer.json")) {
    std::ifstream f(fs::path(in) / "tokenizer.json");
    tok = nlohmann::json::parse(f, nullptr, false);
    if (tok.is_discarded()) throw Error((fs::path(in) / "tokenizer.json").string() + ": invalid JSON");
    o.tokenizer_json = &tok;
  }
  if (to_gguf && model->has_mtp()) std::printf("note: the MTP module is not written (deepseek2 GGUF has none)\n");

  const TypeMix mix = to_gguf ? WriteGgufModel(out, c, src, o) : WriteHfFolder(out, c, src, o);
  if (!to_gguf && !IsGguf(in))
    for (const char* extra : {"tokenizer_config.json", "generation_config.json"})
      if (fs::exists(fs::path(in) / extra))
        fs::copy_file(fs::path(in) / extra, fs::path(out) / extra, fs::copy_options::overwrite_existing);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s (%s) in %.1f s; storage mix:\n%s\n", out.c_str(), QuantSchemeName(scheme).c_str(), s,
              mix.Format().c_str());
  return 0;
}

const Register kRegister{"quantize", "Convert a model (HF folder or GGUF) to GGUF or a folder in another type",
                         [](CLI::App& app) {
                           auto in = std::make_shared<std::string>();
                           auto out = std::make_shared<std::string>();
                           auto type = std::make_shared<std::string>();
                           auto verbose = std::make_shared<bool>(false);
                           app.add_option("IN", *in, "HF model folder or .gguf file")->required();
                           app.add_option("OUT", *out, "output folder, or a path ending in .gguf")->required();
                           app.add_option("--type", *type, "q8_0 | q4_k_m | q6_k | bf16 | f16 | f32")->required();
                           app.add_flag("-v,--verbose", *verbose, "print every tensor as it is written");
                           return [=] { return RunQuantize(*in, *out, *type, *verbose); };
                         }};

}  // namespace
}  // namespace whale::cli
