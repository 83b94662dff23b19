// Bad model folders: each gets a one-line whale::Error naming the file,
// tensor or field — never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "io/error.h"
#include "model/model.h"
#include "model/transformer.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSrc = fs::path(WHALE_SHARED_DIR) / "fixtures" / "v2-lite";

// A private copy of the v2-lite fixture whose config.json `edit` may change.
fs::path CopyFixture(const std::string& name, const std::function<void(json&)>& edit = {}) {
  const fs::path dir = fs::path(WHALE_BINARY_DIR) / ("bad_model_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(kSrc / "model.safetensors", dir / "model.safetensors");
  std::ifstream in(kSrc / "config.json");
  json c = json::parse(in);
  if (edit) edit(c);
  std::ofstream(dir / "config.json") << c.dump(1);
  return dir;
}

std::string LoadError(const fs::path& dir) {
  try {
    LoadHfFolder(dir.string());
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  return "";
}

TEST(ModelLoad, ConfigProblemsNameTheField) {
  struct Case { std::string name; std::function<void(json&)> edit; std::string expect; };
  const std::vector<Case> cases = {
      {"no_hidden", [](json& c) { c.erase("hidden_size"); }, "\"hidden_size\" is missing"},
      {"model_type", [](json& c) { c["model_type"] = "llama"; }, "\"model_type\" is \"llama\""},
      {"topk_method", [](json& c) { c["topk_method"] = "random"; }, "\"topk_method\" is \"random\""},
      {"scoring", [](json& c) { c["scoring_func"] = "relu"; }, "scoring_func"},
      {"topk", [](json& c) { c["num_experts_per_tok"] = 99; }, "num_experts_per_tok"},
      {"group", [](json& c) { c["n_group"] = 3; }, "n_group"},
      {"rope_odd", [](json& c) { c["qk_rope_head_dim"] = 15; }, "qk_rope_head_dim"},
      {"type", [](json& c) { c["kv_lora_rank"] = "big"; }, "\"kv_lora_rank\" must be an integer"},
      {"yarn", [](json& c) { c["rope_scaling"]["type"] = "dynamic"; }, "rope_scaling.type"},
      {"huge", [](json& c) { c["hidden_size"] = int64_t(1) << 40; }, "hidden_size"},
  };
  for (const auto& c : cases) {
    const std::string err = LoadError(CopyFixture(c.name, c.edit));
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.name << ": " << err;
    EXPECT_NE(err.find("config.json"), std::string::npos) << c.name << ": " << err;
  }
}

TEST(ModelLoad, WeightProblemsNameTheTensor) {
  // Config and checkpoint disagree on a size: the shape check names the tensor.
  std::string err = LoadError(CopyFixture("shape", [](json& c) { c["kv_lora_rank"] = 32; }));
  EXPECT_NE(err.find("kv_a_proj_with_mqa"), std::string::npos) << err;
  EXPECT_NE(err.find("shape"), std::string::npos) << err;
  // One more layer than the file has: the first tensor of it is missing.
  err = LoadError(CopyFixture("layers", [](json& c) { c["num_hidden_layers"] = 4; }));
  EXPECT_NE(err.find("model.layers.3."), std::string::npos) << err;
  EXPECT_NE(err.find("missing"), std::string::npos) << err;
  // A truncated weights file.
  fs::path dir = CopyFixture("truncated");
  fs::resize_file(dir / "model.safetensors", fs::file_size(dir / "model.safetensors") / 2);
  err = LoadError(dir);
  EXPECT_NE(err.find("model.safetensors"), std::string::npos) << err;
  // No weights at all, no config at all.
  dir = CopyFixture("noweights");
  fs::remove(dir / "model.safetensors");
  EXPECT_NE(LoadError(dir).find("no model.safetensors"), std::string::npos);
  dir = CopyFixture("noconfig");
  fs::remove(dir / "config.json");
  EXPECT_NE(LoadError(dir).find("config.json: cannot open"), std::string::npos);
  EXPECT_NE(LoadError(dir / "nowhere").find("no such directory"), std::string::npos);
}

TEST(ModelLoad, TokenOutsideTheVocabularyIsAnError) {
  auto model = LoadHfFolder(kSrc.string());
  Transformer tf(*model, &DefaultPool());
  LatentCache cache(model->config, tf.cache_layers(), 1, 4);
  std::vector<float> logits(model->config.vocab_size);
  for (int32_t id : {-1, int32_t(model->config.vocab_size)}) {
    std::vector<int32_t> tok = {id}, seq = {0}, pos = {0};
    try {
      tf.Forward({tok, seq, pos}, cache, logits.data());
      ADD_FAILURE() << "no error for id " << id;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos);
    }
  }
  std::vector<int32_t> tok = {5}, seq = {0}, pos = {4};
  EXPECT_THROW(tf.Forward({tok, seq, pos}, cache, logits.data()), Error);  // beyond the context
}

// Seeded random edits of config.json: load or throw whale::Error, never crash.
TEST(ModelLoad, FuzzConfigNeverCrashes) {
  std::ifstream in(kSrc / "config.json");
  const json base = json::parse(in);
  std::mt19937_64 rng(99);
  const std::vector<json> values = {json(nullptr), json(-1), json(0), json(1), json(3), json(1.5), json("x"),
                                    json(true), json::array(), json::object(), json(int64_t(1) << 33)};
  std::vector<std::string> keys;
  for (auto& [k, v] : base.items()) keys.push_back(k);
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 150; ++iter) {
    const fs::path dir = CopyFixture("fuzz", [&](json& c) {
      for (int k = 0; k < 1 + int(rng() % 3); ++k) {
        const std::string& key = keys[rng() % keys.size()];
        if (rng() % 5 == 0) c.erase(key);
        else c[key] = values[rng() % values.size()];
      }
    });
    try {
      auto m = LoadHfFolder(dir.string());
      ++loaded;
    } catch (const Error&) {
      ++rejected;
    }
  }
  std::printf("config fuzz: %d loaded, %d rejected\n", loaded, rejected);
  EXPECT_GT(rejected, 50);
}

}  // namespace
}  // namespace whale
