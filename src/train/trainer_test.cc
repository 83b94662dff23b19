// End-to-end training checks on a tiny model: the loss falls, the checkpoint
// loads through LoadHfFolder and gives the training forward's logits, an
// interrupted-and-resumed run repeats the uninterrupted loss curve exactly,
// and bad input stops with a clear error (NaN keeps the last good checkpoint).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "io/error.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "model/transformer.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/model_train.h"
#include "train/test_util.h"
#include "train/trainer.h"

namespace whale {
namespace {
namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("whale_train_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// A learnable corpus: a noisy counting sequence over a 32-token vocabulary.
std::string MakeData(const std::string& dir) {
  std::mt19937 rng(1);
  std::vector<int32_t> train, val;
  int32_t v = 0;
  for (int i = 0; i < 6000; ++i) {
    v = (rng() % 8 == 0) ? int32_t(rng() % 32) : (v + 1) % 32;
    (i < 5000 ? train : val).push_back(v);
  }
  WriteTokens(dir + "/train.bin", train);
  WriteTokens(dir + "/val.bin", val);
  return dir;
}

TrainConfig TinyRun(const std::string& data, const std::string& out) {
  TrainConfig c;
  c.model = testing::TinyConfig(true, 1);
  c.data = data;
  c.out = out;
  c.seq_len = 16;
  c.batch_size = 4;
  c.grad_accum = 2;
  c.steps = 40;
  c.adamw.lr = 1e-2;
  c.schedule.warmup = 5;
  c.schedule.total = c.steps;
  c.eval_every = 10;
  c.eval_batches = 2;
  c.save_every = 10;
  c.threads = 2;
  c.balance_alpha = 1e-3;
  return c;
}

std::vector<std::string> CsvColumn(const std::string& path, int col) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> out;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string f;
    for (int i = 0; i <= col; ++i) std::getline(ss, f, ',');
    out.push_back(f);
  }
  return out;
}

TEST(TrainerTest, LossFallsAndCheckpointLoads) {
  const std::string dir = TempDir("smoke");
  const std::string data = MakeData(dir);
  TrainConfig c = TinyRun(data, dir + "/run");
  const TrainResult r = Train(c, false);
  EXPECT_EQ(r.steps_done, 40);
  const auto loss = CsvColumn(c.out + "/train.csv", 2);
  ASSERT_EQ(loss.size(), 40u);
  EXPECT_LT(std::stod(loss.back()), std::stod(loss.front()) - 1.0) << "loss did not fall";
  EXPECT_TRUE(fs::exists(c.out + "/loss.svg"));
  EXPECT_TRUE(fs::exists(c.out + "/expert_load.csv"));

  // The checkpoint is an HF folder: the inference forward gives the logits the trainer computes.
  auto model = LoadHfFolder(c.out + "/checkpoint");
  EXPECT_EQ(model->config.model_type, "deepseek_v3");
  Params p(c.model, true);
  LoadWeights(c.out + "/checkpoint", p);
  ThreadPool pool(2);
  TrainModel tm(p, &pool);
  TrainBatch b = SequentialWindows(ReadTokens(data + "/val.bin"), 1, 16, 0);
  tm.Step(b, 1.0f, false);
  Transformer tr(*model, &pool);
  LatentCache cache(model->config, tr.cache_layers(), 1, 16);
  std::vector<int32_t> seq(16, 0), pos(16);
  for (int i = 0; i < 16; ++i) pos[i] = i;
  std::vector<float> logits(16 * model->config.vocab_size);
  tr.Forward(Batch{b.inputs, seq, pos}, cache, logits.data());
  for (size_t i = 0; i < logits.size(); ++i) ASSERT_NEAR(logits[i], tm.logits()[i], 1e-4);

  // And `whale logits`, the program, loads it and gives the same logits.
  std::vector<uint8_t> ids(b.inputs.size() * 4);
  std::memcpy(ids.data(), b.inputs.data(), ids.size());
  WriteSafetensors(dir + "/ids.safetensors", {{"input_ids", {DType::kI32, {16}, ids}}}, {});
  const std::string cmd = std::string(WHALE_EXE) + " logits --model " + c.out + "/checkpoint --input " + dir +
                          "/ids.safetensors --out " + dir + "/out.safetensors";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  SafetensorsFile out(dir + "/out.safetensors");
  const TensorView* l = out.find("logits");
  ASSERT_TRUE(l && l->dtype == DType::kF32 && l->numel() == int64_t(logits.size()));
  for (size_t i = 0; i < logits.size(); ++i)
    ASSERT_NEAR(reinterpret_cast<const float*>(l->data)[i], tm.logits()[i], 1e-4) << i;
  fs::remove_all(dir);
}

TEST(TrainerTest, ResumeRepeatsTheLossCurve) {
  const std::string dir = TempDir("resume");
  const std::string data = MakeData(dir);
  TrainConfig whole = TinyRun(data, dir + "/whole");
  whole.steps = whole.schedule.total = 20;
  Train(whole, false);
  TrainConfig part = TinyRun(data, dir + "/part");
  part.steps = part.schedule.total = 20;
  part.stop_after = 10;
  Train(part, false);
  part.stop_after = -1;
  part.resume = true;
  Train(part, false);
  const auto a = CsvColumn(whole.out + "/train.csv", 1), b = CsvColumn(part.out + "/train.csv", 1);
  ASSERT_EQ(a.size(), 20u);
  EXPECT_EQ(a, b);
  fs::remove_all(dir);
}

TEST(TrainerTest, BadInput) {
  const std::string dir = TempDir("bad");
  const std::string data = MakeData(dir);
  TrainConfig c = TinyRun(data, dir + "/run");
  c.model.num_experts_per_tok = 9;  // more than n_routed_experts
  EXPECT_THROW(Train(c, false), Error);

  c = TinyRun(dir + "/nothing", dir + "/run");
  fs::create_directories(dir + "/nothing");
  WriteTokens(dir + "/nothing/train.bin", {});
  WriteTokens(dir + "/nothing/val.bin", {});
  try {
    Train(c, false);
    ADD_FAILURE() << "empty corpus accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too small"), std::string::npos) << e.what();
  }

  // Resume with a different model config.
  c = TinyRun(data, dir + "/run");
  c.steps = c.schedule.total = 10;
  Train(c, false);
  c.model.hidden_size = 24;
  c.resume = true;
  try {
    Train(c, false);
    ADD_FAILURE() << "resumed a checkpoint of another config";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hidden_size"), std::string::npos) << e.what();
  }

  // A diverging run stops with an error and keeps the last good checkpoint.
  c = TinyRun(data, dir + "/nan");
  c.adamw.lr = 1e30;
  c.adamw.clip = 0;
  c.schedule.warmup = 0;
  c.save_every = 1;
  try {
    Train(c, false);
    ADD_FAILURE() << "diverging run did not stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("loss is"), std::string::npos) << e.what();
  }
  auto model = LoadHfFolder(dir + "/nan/checkpoint");
  EXPECT_TRUE(model != nullptr);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace whale
