// whale train: trains a DeepSeek-architecture model from scratch (or from a
// checkpoint), and whale eval-arithmetic: held-out accuracy of a chat model
// on the arithmetic task it was fine-tuned on.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "io/error.h"
#include "train/arith_eval.h"
#include "train/trainer.h"

namespace whale::cli {
namespace {

struct TrainArgs {
  std::string config, out, data, init_from, tokenizer;
  int64_t steps = 0, stop_after = -1;
  int threads = 0;
  bool resume = false, quiet = false;
};

Register train_cmd("train", "Train a DeepSeek-style model (MLA, DeepSeekMoE, MTP) from TRAIN.json",
                   [](CLI::App& app) -> std::function<int()> {
  auto a = std::make_shared<TrainArgs>();
  app.add_option("--config", a->config, "TRAIN.json: {\"model\": {config.json fields}, \"data\": ..., ...}")->required();
  app.add_option("--out", a->out, "Output folder (overrides the config)");
  app.add_option("--data", a->data, "prepare-data folder or \"arithmetic\" (overrides the config)");
  app.add_option("--tokenizer", a->tokenizer, "Folder with tokenizer.json (overrides the config)");
  app.add_option("--init-from", a->init_from, "Start from this checkpoint's weights (e.g. SFT after pretraining)");
  app.add_option("--steps", a->steps, "Optimizer steps (overrides the config)");
  app.add_option("--stop-after", a->stop_after, "Stop after this step as if interrupted (resume later)");
  app.add_option("--threads", a->threads, "Threads (default: WHALE_THREADS or all cores)");
  app.add_flag("--resume", a->resume, "Continue from OUT/checkpoint with the same data order");
  app.add_flag("--quiet", a->quiet, "No progress line");
  return [a]() {
    std::ifstream f(a->config);
    if (!f) throw Error(a->config + ": cannot open");
    const auto j = nlohmann::json::parse(f, nullptr, false);
    if (j.is_discarded()) throw Error(a->config + ": invalid JSON");
    TrainConfig c = ParseTrainConfig(j, a->config);
    if (!a->out.empty()) c.out = a->out;
    if (!a->data.empty()) c.data = a->data;
    if (!a->tokenizer.empty()) c.tokenizer = a->tokenizer;
    if (!a->init_from.empty()) c.init_from = a->init_from;
    if (a->steps > 0) c.steps = c.schedule.total = a->steps;
    if (a->threads > 0) c.threads = a->threads;
    c.stop_after = a->stop_after;
    c.resume = a->resume;
    const TrainResult r = Train(c, !a->quiet);
    std::printf("trained %lld steps: loss %.4f, val %.4f, %.0f tokens/s; checkpoint in %s/checkpoint\n",
                (long long)r.steps_done, r.last_loss, r.last_val, r.tokens_per_s, c.out.c_str());
    return 0;
  };
});

Register eval_cmd("eval-arithmetic", "Held-out accuracy of a chat model on whale's arithmetic task",
                  [](CLI::App& app) -> std::function<int()> {
  auto model = std::make_shared<std::string>("models/whale-tiny");
  auto n = std::make_shared<int64_t>(200);
  auto threads = std::make_shared<int>(0);
  app.add_option("--model", *model, "Model folder");
  app.add_option("--problems", *n, "Number of held-out problems");
  app.add_option("--threads", *threads, "Threads");
  return [model, n, threads]() {
    const ArithEvalResult r = EvalArithmetic(*model, *n, 12345, *threads);
    std::printf("held-out accuracy: %lld/%lld = %.1f%%\n", (long long)r.correct, (long long)r.total,
                100.0 * double(r.correct) / double(std::max<int64_t>(1, r.total)));
    const char* ops = "+-*";
    for (int i = 0; i < 3; ++i)
      std::printf("  %c: %lld/%lld\n", ops[i], (long long)r.by_op_correct[i], (long long)r.by_op_total[i]);
    std::printf("example:\n%s\n", r.example.c_str());
    return 0;
  };
});

}  // namespace
}  // namespace whale::cli
