// Tokenizer speed: encoding mixed English/Korean/code text single-threaded
// (reported as bytes/s) and loading DeepSeek-V3's 8 MB tokenizer.json.
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

std::string Shared(const std::string& rel) { return std::string(WHALE_SHARED_DIR) + "/tokenizer/" + rel; }

// The gzipped tokenizer.json, unpacked next to the benchmark's temp files.
const std::string& TokenizerJsonPath() {
  static const std::string path = [] {
    std::string out = (std::filesystem::temp_directory_path() / "whale_bench_deepseek-v3_tokenizer.json").string();
    gzFile in = gzopen(Shared("deepseek-v3/tokenizer.json.gz").c_str(), "rb");
    if (!in) throw std::runtime_error("cannot open tokenizer.json.gz");
    FILE* f = std::fopen(out.c_str(), "wb");
    char buf[1 << 16];
    int n;
    while ((n = gzread(in, buf, sizeof buf)) > 0) std::fwrite(buf, 1, n, f);
    std::fclose(f);
    gzclose(in);
    return out;
  }();
  return path;
}

const Tokenizer& V3() {
  static const Tokenizer t = Tokenizer::FromFile(TokenizerJsonPath(), Shared("deepseek-v3/tokenizer_config.json"));
  return t;
}

// bench-mixed.txt repeated to about 3 MB.
const std::string& MixedText() {
  static const std::string text = [] {
    std::ifstream f(Shared("bench-mixed.txt"), std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    std::string one = ss.str(), all;
    while (all.size() < 3'000'000) all += one;
    return all;
  }();
  return text;
}

void BM_TokenizerEncodeMixed(benchmark::State& state) {
  const Tokenizer& t = V3();
  const std::string& text = MixedText();
  size_t ids = 0;
  for (auto _ : state) {
    auto v = t.Encode(text, false);
    ids = v.size();
    benchmark::DoNotOptimize(v.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["ids"] = static_cast<double>(ids);
}
BENCHMARK(BM_TokenizerEncodeMixed)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TokenizerDecodeMixed(benchmark::State& state) {
  const Tokenizer& t = V3();
  auto ids = t.Encode(MixedText(), false);
  for (auto _ : state) benchmark::DoNotOptimize(t.Decode(ids).size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * MixedText().size()));
}
BENCHMARK(BM_TokenizerDecodeMixed)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TokenizerLoad(benchmark::State& state) {
  const std::string& path = TokenizerJsonPath();
  std::string cfg = Shared("deepseek-v3/tokenizer_config.json");
  for (auto _ : state) benchmark::DoNotOptimize(Tokenizer::FromFile(path, cfg).vocab_size());
}
BENCHMARK(BM_TokenizerLoad)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace whale
