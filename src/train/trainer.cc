#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "io/error.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/model_train.h"

namespace whale {
namespace fs = std::filesystem;

TrainConfig ParseTrainConfig(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a JSON object");
  if (!j.contains("model")) throw Error(where + ": field \"model\" (the model's config.json fields) is missing");
  nlohmann::json m = j["model"];
  if (!m.contains("model_type")) m["model_type"] = "deepseek_v3";
  TrainConfig c;
  c.model = ParseModelConfig(m, where + ": model");
  try {
    c.data = j.value("data", c.data);
    c.tokenizer = j.value("tokenizer", c.tokenizer);
    c.out = j.value("out", c.out);
    c.init_from = j.value("init_from", c.init_from);
    c.seq_len = j.value("seq_len", c.seq_len);
    c.batch_size = j.value("batch_size", c.batch_size);
    c.grad_accum = j.value("grad_accum", c.grad_accum);
    c.steps = j.value("steps", c.steps);
    c.adamw.lr = j.value("lr", c.adamw.lr);
    c.adamw.beta1 = j.value("beta1", c.adamw.beta1);
    c.adamw.beta2 = j.value("beta2", c.adamw.beta2);
    c.adamw.weight_decay = j.value("weight_decay", c.adamw.weight_decay);
    c.adamw.clip = j.value("grad_clip", c.adamw.clip);
    c.schedule.kind = j.value("schedule", c.schedule.kind);
    c.schedule.warmup = j.value("warmup", c.schedule.warmup);
    c.schedule.min_ratio = j.value("min_lr_ratio", c.schedule.min_ratio);
    c.schedule.decay_fraction = j.value("decay_fraction", c.schedule.decay_fraction);
    c.bias_update_speed = j.value("bias_update_speed", c.bias_update_speed);
    c.balance_alpha = j.value("balance_alpha", c.balance_alpha);
    c.mtp_lambda = j.value("mtp_lambda", c.mtp_lambda);
    c.eval_every = j.value("eval_every", c.eval_every);
    c.eval_batches = j.value("eval_batches", c.eval_batches);
    c.save_every = j.value("save_every", c.save_every);
    c.log_every = j.value("log_every", c.log_every);
    c.seed = j.value("seed", c.seed);
    c.threads = j.value("threads", c.threads);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": " + e.what());
  }
  c.schedule.total = c.steps;
  return c;
}

void TrainConfig::Validate() const {
  auto fail = [](const std::string& f, const std::string& why) { throw Error("train config: \"" + f + "\" " + why); };
  model.Validate("train config: model");
  if (seq_len < 2) fail("seq_len", "must be at least 2");
  if (seq_len > model.max_position_embeddings) fail("seq_len", "exceeds model.max_position_embeddings");
  if (batch_size < 1) fail("batch_size", "must be positive");
  if (grad_accum < 1) fail("grad_accum", "must be positive");
  if (steps < 1) fail("steps", "must be positive");
  if (!(adamw.lr > 0)) fail("lr", "must be positive");
  if (adamw.beta1 < 0 || adamw.beta1 >= 1 || adamw.beta2 < 0 || adamw.beta2 >= 1) fail("beta1/beta2", "must be in [0, 1)");
  if (schedule.kind != "cosine" && schedule.kind != "wsd" && schedule.kind != "constant")
    fail("schedule", "must be cosine, wsd or constant");
  if (model.num_nextn_predict_layers > 1) fail("model.num_nextn_predict_layers", "must be 0 or 1 for training");
  if (model.topk_method == TopkMethod::kNoauxTc && model.n_routed_experts == 0)
    fail("model.topk_method", "noaux_tc needs routed experts");
  if (data.empty()) fail("data", "is missing (a prepare-data folder or \"arithmetic\")");
  if (data == "arithmetic" && tokenizer.empty()) fail("tokenizer", "is required for the arithmetic task");
  if (eval_every < 1 || save_every < 1 || log_every < 1) fail("eval_every/save_every/log_every", "must be positive");
}

namespace {

uint64_t Mix(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^ c * 0x94D049BB133111EBull;
  h ^= h >> 31;
  h *= 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 32);
}

std::string Duration(double s) {
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), int(std::fmod(s, 3600) / 60));
  else std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(std::fmod(s, 60)));
  return buf;
}

struct Data {
  std::unique_ptr<Tokenizer> tok;
  std::vector<int32_t> train, val;
  double bytes_per_token = 0;  // 0: unknown (no bits-per-byte)
};

Data LoadData(const TrainConfig& cfg) {
  Data d;
  if (!cfg.tokenizer.empty()) {
    d.tok = std::make_unique<Tokenizer>(Tokenizer::FromModelDir(cfg.tokenizer));
    if (int64_t(d.tok->vocab_size()) > cfg.model.vocab_size)
      throw Error("train config: model.vocab_size " + std::to_string(cfg.model.vocab_size) + " is smaller than the tokenizer's " +
                  std::to_string(d.tok->vocab_size()) + " tokens");
  }
  if (cfg.data == "arithmetic") return d;
  d.train = ReadTokens(cfg.data + "/train.bin");
  d.val = ReadTokens(cfg.data + "/val.bin");
  if (int64_t(d.train.size()) < cfg.seq_len + 2)
    throw Error(cfg.data + "/train.bin: corpus too small: " + std::to_string(d.train.size()) +
                " tokens for seq_len " + std::to_string(cfg.seq_len));
  if (int64_t(d.val.size()) < cfg.seq_len + 1) d.val.clear();
  for (const auto* v : {&d.train, &d.val})
    for (int32_t t : *v)
      if (t < 0 || t >= cfg.model.vocab_size)
        throw Error(cfg.data + ": token id " + std::to_string(t) + " outside model.vocab_size " +
                    std::to_string(cfg.model.vocab_size));
  std::ifstream meta(cfg.data + "/meta.json");
  if (meta) {
    auto m = nlohmann::json::parse(meta, nullptr, false);
    if (m.is_object()) d.bytes_per_token = m.value("bytes_per_token", 0.0);
  }
  return d;
}

TrainBatch MakeBatch(const TrainConfig& cfg, const Data& d, int64_t step, int64_t micro) {
  const uint64_t seed = Mix(cfg.seed, uint64_t(step), uint64_t(micro));
  if (cfg.data == "arithmetic") return ArithmeticBatch(*d.tok, cfg.batch_size, cfg.seq_len, seed);
  return SampleWindows(d.train, cfg.batch_size, cfg.seq_len, seed);
}

// Mean main-head cross-entropy on held-out data (nats per token).
double Evaluate(const TrainConfig& cfg, const Data& d, TrainModel& tm) {
  double sum = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < cfg.eval_batches; ++i) {
    TrainBatch b;
    if (cfg.data == "arithmetic") b = ArithmeticBatch(*d.tok, cfg.batch_size, cfg.seq_len, Mix(cfg.seed, 999999, i), true);
    else if (!d.val.empty()) b = SequentialWindows(d.val, cfg.batch_size, cfg.seq_len, i * cfg.batch_size);
    else return NAN;
    const LossParts lp = tm.Step(b, 1.0f, false);
    sum += lp.main * double(lp.main_tokens);
    n += lp.main_tokens;
  }
  return n ? sum / double(n) : NAN;
}

}  // namespace

TrainResult Train(const TrainConfig& cfg, bool verbose) {
  cfg.Validate();
  Data data = LoadData(cfg);
  ThreadPool pool(cfg.threads);
  const ModelConfig& mc = cfg.model;
  Params p(mc, mc.num_nextn_predict_layers > 0);
  p.Init(cfg.seed);
  if (!cfg.init_from.empty()) LoadWeights(cfg.init_from, p);
  AdamW opt(p, cfg.adamw);
  fs::create_directories(cfg.out);
  const std::string ckpt = cfg.out + "/checkpoint", csv_path = cfg.out + "/train.csv";
  const std::string load_path = cfg.out + "/expert_load.csv";
  int64_t start = 0;
  if (cfg.resume) {
    if (!fs::exists(ckpt + "/config.json")) throw Error(ckpt + ": no checkpoint to resume from");
    LoadWeights(ckpt, p);
    start = LoadOptimizer(ckpt, p, opt).value("step", int64_t(0));
  }
  // The CSV keeps the rows up to the resumed step, so it reads as one run.
  std::vector<std::string> kept;
  if (cfg.resume) {
    std::ifstream in(csv_path);
    std::string line;
    while (std::getline(in, line))
      if (kept.empty() || std::stoll(line.substr(0, line.find(','))) <= start) kept.push_back(line);
  }
  std::ofstream csv(csv_path, std::ios::trunc);
  if (kept.empty()) kept.push_back("step,loss,main_loss,mtp_loss,balance_loss,val_loss,val_bpb,lr,grad_norm,tokens_per_s,elapsed_s");
  for (auto& l : kept) csv << l << "\n";
  std::ofstream load_csv(load_path, cfg.resume ? std::ios::app : std::ios::trunc);
  if (!cfg.resume) load_csv << "step,layer,expert,tokens,bias\n";

  TrainModel tm(p, &pool, cfg.mtp_lambda, cfg.balance_alpha);
  const bool tty = verbose && isatty(2);
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t tokens_per_step = cfg.batch_size * cfg.seq_len * cfg.grad_accum;
  TrainResult res;
  auto save = [&](int64_t step) {
    SaveCheckpoint(ckpt, p, &opt, {{"step", step}, {"seed", cfg.seed}}, cfg.tokenizer);
  };
  for (int64_t step = start; step < cfg.steps; ++step) {
    p.ZeroGrad();
    tm.ClearLoad();
    LossParts sum;
    for (int64_t m = 0; m < cfg.grad_accum; ++m) {
      const LossParts lp = tm.Step(MakeBatch(cfg, data, step, m), float(1.0 / double(cfg.grad_accum)));
      sum.total += lp.total / double(cfg.grad_accum);
      sum.main += lp.main / double(cfg.grad_accum);
      sum.mtp += lp.mtp / double(cfg.grad_accum);
      sum.balance += lp.balance / double(cfg.grad_accum);
    }
    if (!std::isfinite(sum.total)) {
      if (tty) std::fputc('\n', stderr);
      throw Error("step " + std::to_string(step + 1) + ": loss is " + std::to_string(sum.total) +
                  "; training stopped. The last good checkpoint is " + ckpt +
                  (fs::exists(ckpt) ? "" : " (none was saved yet)") + " — lower lr or raise warmup");
    }
    const double lr = cfg.adamw.lr * cfg.schedule.LrScale(step);
    const double gnorm = opt.Step(lr);

    // Aux-loss-free balancing (V3 §2.1.2): overloaded experts' bias falls by γ, underloaded rise.
    const ModelWeights& w = p.weights();
    for (size_t l = 0; l < tm.load().size(); ++l) {
      const LayerWeights& lw = l < w.layers.size() ? w.layers[l] : w.mtp[l - w.layers.size()].layer;
      if (!lw.is_moe || lw.moe.e_score_correction_bias.empty()) continue;
      const auto& load = tm.load()[l];
      double mean = 0;
      for (int64_t v : load) mean += double(v) / double(load.size());
      float* bias = p.P(lw.moe.e_score_correction_bias);
      for (size_t e = 0; e < load.size(); ++e)
        bias[e] += float(cfg.bias_update_speed * (double(load[e]) < mean ? 1.0 : double(load[e]) > mean ? -1.0 : 0.0));
    }

    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double tps = double(tokens_per_step) * double(step + 1 - start) / elapsed;
    const bool last = step + 1 == cfg.steps || step + 1 == cfg.stop_after;
    double val = NAN;
    if ((step + 1) % cfg.eval_every == 0 || last) {
      val = Evaluate(cfg, data, tm);
      for (size_t l = 0; l < tm.load().size(); ++l) {
        const LayerWeights& lw = l < w.layers.size() ? w.layers[l] : w.mtp[l - w.layers.size()].layer;
        if (!lw.is_moe) continue;
        const float* bias = lw.moe.e_score_correction_bias.empty() ? nullptr : F32(lw.moe.e_score_correction_bias);
        for (size_t e = 0; e < tm.load()[l].size(); ++e)
          load_csv << step + 1 << "," << l << "," << e << "," << tm.load()[l][e] << "," << (bias ? bias[e] : 0.0f) << "\n";
      }
      load_csv.flush();
    }
    const double bpb = (std::isfinite(val) && data.bytes_per_token > 0) ? val / std::log(2.0) / data.bytes_per_token : NAN;
    char row[512];
    std::snprintf(row, sizeof row, "%lld,%.6f,%.6f,%.6f,%.6g,%s,%s,%.6g,%.4g,%.1f,%.1f", (long long)(step + 1), sum.total,
                  sum.main, sum.mtp, sum.balance, std::isfinite(val) ? std::to_string(val).c_str() : "",
                  std::isfinite(bpb) ? std::to_string(bpb).c_str() : "", lr, gnorm, tps, elapsed);
    csv << row << "\n";
    csv.flush();
    if (verbose && (tty || (step + 1) % cfg.log_every == 0 || std::isfinite(val) || last)) {
      const double eta = double(cfg.steps - step - 1) * double(tokens_per_step) / tps;
      std::fprintf(stderr, "%sstep %lld/%lld | loss %.4f%s | lr %.2e | %.0f tok/s | ETA %s", tty ? "\r" : "",
                   (long long)(step + 1), (long long)cfg.steps, sum.main,
                   std::isfinite(val) ? (" | val " + std::to_string(val).substr(0, 6)).c_str() : "", lr, tps,
                   Duration(eta).c_str());
      if (std::isfinite(val)) {
        // Balance at a glance: each MoE layer's busiest and idlest expert vs. the mean.
        for (size_t l = 0; l < tm.load().size(); ++l) {
          const auto& ld = tm.load()[l];
          int64_t mx = 0, mn = INT64_MAX, tot = 0;
          for (int64_t v : ld) mx = std::max(mx, v), mn = std::min(mn, v), tot += v;
          if (tot) std::fprintf(stderr, " | L%zu load %.2f-%.2f", l, double(mn) * ld.size() / tot, double(mx) * ld.size() / tot);
        }
      }
      std::fprintf(stderr, tty && !std::isfinite(val) ? "   " : "\n");
    }
    res.steps_done = step + 1;
    res.last_loss = sum.main;
    res.tokens_per_s = tps;
    if (std::isfinite(val)) res.last_val = val;
    if ((step + 1) % cfg.save_every == 0 || last) save(step + 1);
    if (step + 1 == cfg.stop_after) break;
  }
  if (tty) std::fputc('\n', stderr);
  csv.close();
  WriteLossPlot(csv_path, cfg.out + "/loss.svg", "whale train: " + cfg.out);
  return res;
}

}  // namespace whale
