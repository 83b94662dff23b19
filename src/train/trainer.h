// The training loop behind `whale train`: data, micro-batches and gradient
// accumulation, AdamW with the schedule, DeepSeek-V3's auxiliary-loss-free
// balancing (bias ± γ toward balanced load after each step), evaluation,
// progress line, CSV log, SVG loss plot and HF checkpoints with resume.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "train/optimizer.h"

namespace whale {

struct TrainConfig {
  ModelConfig model;
  std::string data;            // prepare-data folder, or "arithmetic" (SFT task)
  std::string tokenizer;       // folder with tokenizer.json (+ tokenizer_config.json); "" for a byte vocab
  std::string out = "runs/train";
  std::string init_from;       // checkpoint folder whose weights start this run (SFT after pretraining)
  int64_t seq_len = 256, batch_size = 8, grad_accum = 1, steps = 1000;
  AdamWConfig adamw;
  Schedule schedule;
  double bias_update_speed = 1e-3;  // γ of aux-loss-free balancing
  double balance_alpha = 1e-4;      // α of the sequence-wise balance loss
  double mtp_lambda = 0.3;          // λ of the MTP loss
  int64_t eval_every = 100, eval_batches = 4, save_every = 200, log_every = 10;
  uint64_t seed = 1;
  int threads = 0;
  bool resume = false;
  int64_t stop_after = -1;          // stop (as if interrupted) after this step; tests use it

  // Checks everything a run needs before it starts; throws Error naming the field.
  void Validate() const;
};

// Parses TRAIN.json: {"model": {HF config fields}, "seq_len": ..., ...}.
TrainConfig ParseTrainConfig(const nlohmann::json& j, const std::string& where);

struct TrainResult {
  int64_t steps_done = 0;
  double last_loss = 0, last_val = 0;
  double tokens_per_s = 0;
};

// Runs (or resumes) training; writes out/checkpoint, out/train.csv,
// out/expert_load.csv and out/loss.svg. Throws Error on bad input and on a
// non-finite loss (after which out/checkpoint is the last good one).
TrainResult Train(const TrainConfig& cfg, bool verbose = true);

// Writes an SVG with the train and validation curves from train.csv.
void WriteLossPlot(const std::string& csv_path, const std::string& svg_path, const std::string& title);

}  // namespace whale
