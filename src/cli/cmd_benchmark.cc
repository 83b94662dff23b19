// (Named cmd_benchmark.cc: CMake treats *_bench.cc as a Google Benchmark source.)
// whale bench: prefill and decode speed of a model on this machine, next to
// the roofline that memory bandwidth allows. Decode reads every activated
// weight once per token, so tok/s <= read bandwidth / bytes touched per token;
// both are measured here (the bandwidth by a timed multi-threaded SIMD sum over
// a buffer far larger than the caches), and decode is reported as % of it.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli/command.h"
#include "io/error.h"
#include "kernels/hwy/matmul.h"
#include "model/transformer.h"

namespace whale::cli {
namespace {

struct Opts {
  std::string model;
  int64_t prompt = 512, gen = 128, reps = 3;
  int threads = 0;
  bool json = false;
  std::string mmap = "auto";
};

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Peak resident set (VmHWM), in bytes; getrusage when /proc is missing.
int64_t PeakRss() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return int64_t(ru.ru_maxrss) * 1024;
}

// Bytes a decode step reads from a weight: the whole matrix plus F8 block scales.
int64_t Bytes(const WeightView& w) {
  if (w.empty()) return 0;
  int64_t b = w.rows * w.row_bytes();
  if (w.scale && w.scale_block > 0)
    b += ((w.rows + w.scale_block - 1) / w.scale_block) * ((w.cols + w.scale_block - 1) / w.scale_block) * 4;
  return b;
}
int64_t Bytes(const MlpWeights& m) { return Bytes(m.gate_proj) + Bytes(m.up_proj) + Bytes(m.down_proj); }

// Weights touched per generated token: attention, dense MLP or router +
// shared experts + num_experts_per_tok routed experts (their mean size),
// norms, the final norm, lm_head in full and one embedding row.
int64_t BytesPerToken(const Model& m) {
  const ModelWeights& w = m.weights;
  const ModelConfig& c = m.config;
  int64_t total = Bytes(w.norm) + Bytes(w.lm_head) + w.embed_tokens.row_bytes();
  for (const LayerWeights& l : w.layers) {
    const MlaWeights& a = l.self_attn;
    total += Bytes(l.input_layernorm) + Bytes(l.post_attention_layernorm);
    total += Bytes(a.q_proj) + Bytes(a.q_a_proj) + Bytes(a.q_a_layernorm) + Bytes(a.q_b_proj);
    total += Bytes(a.kv_a_proj_with_mqa) + Bytes(a.kv_a_layernorm) + Bytes(a.kv_b_proj) + Bytes(a.o_proj);
    if (!l.is_moe) {
      total += Bytes(l.mlp);
      continue;
    }
    total += Bytes(l.moe.gate) + Bytes(l.moe.e_score_correction_bias) + Bytes(l.moe.shared_experts);
    int64_t experts = 0;
    for (const MlpWeights& e : l.moe.experts) experts += Bytes(e);
    if (!l.moe.experts.empty()) total += experts * c.num_experts_per_tok / int64_t(l.moe.experts.size());
  }
  return total;
}

struct Rep {
  double prefill_s, decode_s;
};

int RunBench(const Opts& o) {
  if (o.prompt < 1) throw Error("-p must be at least 1");
  if (o.gen < 1) throw Error("-n must be at least 1");
  if (o.reps < 1) throw Error("-r must be at least 1");
  ThreadPool pool(o.threads);

  const auto t_load = std::chrono::steady_clock::now();
  std::unique_ptr<Model> model = LoadModel(o.model, /*with_mtp=*/false, ParseResidency(o.mmap));
  const double load_s = Seconds(t_load);
  const ModelConfig& c = model->config;
  if (o.prompt + o.gen > c.max_position_embeddings)
    throw Error("-p + -n = " + std::to_string(o.prompt + o.gen) + " exceeds max_position_embeddings " +
                std::to_string(c.max_position_embeddings));

  Transformer tf(*model, &pool);
  const int64_t H = c.hidden_size, V = c.vocab_size, P = o.prompt, N = o.gen;
  LatentCache cache(c, tf.cache_layers(), 1, P + N);
  std::vector<float> hidden(P * H), logits(V);
  std::vector<int32_t> prompt(P), seq(P, 0), pos(P);
  std::mt19937 rng(42);
  for (int64_t i = 0; i < P; ++i) prompt[i] = int32_t(rng() % uint32_t(V)), pos[i] = int32_t(i);

  // Prefill: one Forward over P tokens, logits for the last one only (as a
  // generation engine needs). Decode: N single-token Forwards, greedy.
  auto run = [&](int64_t p, int64_t n) {
    Rep r{};
    auto t0 = std::chrono::steady_clock::now();
    tf.Forward({std::span<const int32_t>(prompt.data(), p), std::span<const int32_t>(seq.data(), p),
                std::span<const int32_t>(pos.data(), p)},
               cache, nullptr, hidden.data());
    MatMul(hidden.data() + (p - 1) * H, 1, model->weights.lm_head, logits.data(), &pool);
    r.prefill_s = Seconds(t0);
    int32_t tok = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) {
      const int32_t s = 0, ps = int32_t(p + i);
      tf.Forward({std::span<const int32_t>(&tok, 1), std::span<const int32_t>(&s, 1), std::span<const int32_t>(&ps, 1)},
                 cache, logits.data());
      tok = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    r.decode_s = Seconds(t0);
    return r;
  };

  run(std::min<int64_t>(P, 32), std::min<int64_t>(N, 2));  // warm-up: faults the mapped weights in
  std::vector<double> prefill, decode;
  for (int64_t i = 0; i < o.reps; ++i) {
    const Rep r = run(P, N);
    prefill.push_back(double(P) / r.prefill_s);
    decode.push_back(double(N) / r.decode_s);
  }
  const int64_t peak_rss = PeakRss();
  // After the peak RSS is read, so the probe's buffer does not count.
  const double bandwidth = MeasureReadBandwidth(&pool, int64_t(512) << 20, 5);
  const int64_t bpt = BytesPerToken(*model);
  const double prefill_tok_s = Median(prefill), decode_tok_s = Median(decode);
  const double roofline_tok_s = bandwidth * 1e9 / double(bpt);
  const double roofline_pct = 100.0 * decode_tok_s / roofline_tok_s;

  const char* weights_in = model->store.in_ram ? "ram" : "mmap";
  if (o.json) {
    nlohmann::json j = {
        {"model", o.model},
        {"threads", pool.size()},
        {"prompt_tokens", P},
        {"gen_tokens", N},
        {"reps", o.reps},
        {"kernel_target", MatMulHwyTarget()},
        {"prefill_tok_s", prefill_tok_s},
        {"decode_tok_s", decode_tok_s},
        {"prefill_tok_s_all", prefill},
        {"decode_tok_s_all", decode},
        {"peak_rss_bytes", peak_rss},
        {"load_s", load_s},
        {"weights_in", weights_in},
        {"bandwidth_gbs", bandwidth},
        {"bytes_per_token", bpt},
        {"roofline_tok_s", roofline_tok_s},
        {"roofline_pct", roofline_pct},
    };
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("model          %s\n", o.model.c_str());
  std::printf("threads        %d (kernels: %s)\n", pool.size(), MatMulHwyTarget().c_str());
  std::printf("load           %.2f s (weights: %s)\n", load_s, weights_in);
  std::printf("prefill        %.2f tok/s  (pp%lld, median of %lld)\n", prefill_tok_s, (long long)P, (long long)o.reps);
  std::printf("decode         %.2f tok/s  (tg%lld, median of %lld)\n", decode_tok_s, (long long)N, (long long)o.reps);
  std::printf("peak RSS       %.2f GiB\n", double(peak_rss) / double(1 << 30));
  std::printf("bandwidth      %.1f GB/s read, measured\n", bandwidth);
  std::printf("bytes/token    %.3f GB of weights touched per generated token\n", double(bpt) / 1e9);
  std::printf("roofline       %.2f tok/s; decode at %.1f %%\n", roofline_tok_s, roofline_pct);
  return 0;
}

Register bench("bench", "Prefill and decode speed, peak RSS, and decode as % of the memory-bandwidth roofline",
               [](CLI::App& app) {
                 auto o = std::make_shared<Opts>();
                 app.add_option("--model,-m", o->model, "Hugging Face model folder or .gguf file")->required();
                 app.add_option("-p,--prompt", o->prompt, "prompt tokens for the prefill test")->capture_default_str();
                 app.add_option("-n,--gen", o->gen, "tokens to generate for the decode test")->capture_default_str();
                 app.add_option("-t,--threads", o->threads, "threads (default: all cores)");
                 app.add_option("-r,--reps", o->reps, "repetitions; medians are reported")->capture_default_str();
                 app.add_flag("--json", o->json, "print one JSON object");
                 AddMmapOption(app, &o->mmap);
                 return [o] { return RunBench(*o); };
               });

}  // namespace
}  // namespace whale::cli
