// whale gen-random: a random-weight model of any DeepSeek config, written
// tensor by tensor (a 16 GB model never sits in memory), so speed can be
// measured without downloading weights. Weights ~ N(0, 0.02) (Irwin-Hall
// approximation), norms 1, router bias uniform in ±0.1. Every row is seeded
// from (seed, tensor, row), so the output does not depend on thread count.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include "cli/command.h"
#include "io/error.h"
#include "model/model_writer.h"

namespace whale::cli {
namespace {

uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : s) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}

// Four 16-bit uniforms per draw: their sum is close to normal (Irwin-Hall).
float Gaussian(uint64_t& s, float std) {
  const uint64_t r = SplitMix(s);
  const float sum = float(r & 0xffff) + float((r >> 16) & 0xffff) + float((r >> 32) & 0xffff) + float(r >> 48);
  return (sum / 65536.0f - 2.0f) * std::sqrt(3.0f) * std;  // variance of the sum of 4 U(0,1) is 1/3
}

struct Spec {
  TensorRole role;
  int64_t cols;
};

int RunGenRandom(const std::string& config, const std::string& out, const std::string& dtype, uint64_t seed,
                 bool verbose) {
  const auto t0 = std::chrono::steady_clock::now();
  const ModelConfig c = LoadModelConfig(config);
  const QuantScheme scheme = ParseQuantScheme(dtype, "--dtype");
  const bool to_gguf = out.size() > 5 && out.substr(out.size() - 5) == ".gguf";

  std::map<std::string, Spec> specs;
  ModelWeights w;
  ForEachTensor(c, w, !to_gguf, [&](const TensorSpec& s) { specs[s.name] = {s.role, s.shape.back()}; });
  RowSource src;
  src.has = [&](const std::string& name) {
    if (specs.at(name).role == TensorRole::kBias) return c.topk_method == TopkMethod::kNoauxTc;
    if (name == "lm_head.weight") return !c.tie_word_embeddings;
    return true;
  };
  src.rows = [&](const std::string& name, int64_t r0, int64_t n, float* dst) {
    const Spec& sp = specs.at(name);
    const uint64_t base = Fnv1a(name) ^ (seed * 0x9e3779b97f4a7c15ull);
    for (int64_t i = 0; i < n; ++i) {
      float* row = dst + i * sp.cols;
      uint64_t s = base ^ (uint64_t(r0 + i) * 0xd1b54a32d192ed03ull);
      for (int64_t k = 0; k < sp.cols; ++k) {
        switch (sp.role) {
          case TensorRole::kNorm: row[k] = 1.0f; break;
          case TensorRole::kBias: row[k] = (float(SplitMix(s) >> 40) / float(1 << 24) - 0.5f) * 0.2f; break;
          default: row[k] = Gaussian(s, 0.02f);
        }
      }
    }
  };
  WriteOptions o;
  o.scheme = scheme;
  o.name = "random";
  o.with_mtp = !to_gguf && c.num_nextn_predict_layers > 0;
  o.pool = &DefaultPool();
  if (verbose) o.log = [](const std::string& s) { std::printf("%s\n", s.c_str()); };
  const TypeMix mix = to_gguf ? WriteGgufModel(out, c, src, o) : WriteHfFolder(out, c, src, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s (%s, seed %llu) in %.1f s; storage mix:\n%s\n", out.c_str(), QuantSchemeName(scheme).c_str(),
              (unsigned long long)seed, secs, mix.Format().c_str());
  return 0;
}

const Register kRegister{"gen-random", "Write a random-weight model of a config (folder, or GGUF if PATH ends in .gguf)",
                         [](CLI::App& app) {
                           auto config = std::make_shared<std::string>();
                           auto out = std::make_shared<std::string>();
                           auto dtype = std::make_shared<std::string>("bf16");
                           auto seed = std::make_shared<uint64_t>(0);
                           auto verbose = std::make_shared<bool>(false);
                           app.add_option("--config", *config, "a DeepSeek config.json")->required();
                           app.add_option("--out", *out, "output folder, or a path ending in .gguf")->required();
                           app.add_option("--dtype", *dtype, "bf16 | q8_0 | q4_k_m | q6_k | f16 | f32 (default bf16)");
                           app.add_option("--seed", *seed, "random seed (default 0)");
                           app.add_flag("-v,--verbose", *verbose, "print every tensor as it is written");
                           return [=] { return RunGenRandom(*config, *out, *dtype, *seed, *verbose); };
                         }};

}  // namespace
}  // namespace whale::cli
