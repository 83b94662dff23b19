#include "model/model.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "io/error.h"

namespace whale {
namespace fs = std::filesystem;

const uint8_t* TensorStore::Own(std::vector<uint8_t> bytes) {
  owned.push_back(std::move(bytes));
  return owned.back().data();
}

namespace {

std::string ShapeStr(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

bool IsFloatWeight(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kF8E4M3:
    case DType::kQ8_0: case DType::kQ4_K: case DType::kQ5_0: case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

void AddSafetensors(TensorStore& store, const std::string& file, Residency residency) {
  auto st = std::make_shared<SafetensorsFile>(file, residency);
  for (auto& [name, t] : st->tensors()) {
    if (store.tensors.count(name)) throw Error(file + ": tensor " + name + " appears in more than one file");
    store.tensors[name] = t;
  }
  store.in_ram = store.in_ram && st->in_ram();
  store.keepalive.push_back(st);
}

}  // namespace

void BindWeights(Model& model, bool with_mtp) {
  const ModelConfig& c = model.config;
  TensorStore& store = model.store;
  ForEachTensor(c, model.weights, with_mtp, [&](const TensorSpec& spec) {
    const TensorView* t = store.find(spec.name);
    if (!t) {
      if (spec.optional) return;
      throw Error(store.origin + ": tensor " + spec.name + " is missing (expected shape " + ShapeStr(spec.shape) + ")");
    }
    // 1-D tensors are [1, n] views; 2-D are [rows, cols].
    std::vector<int64_t> want = spec.shape;
    if (t->shape != want)
      throw Error(t->file + ": tensor " + spec.name + " has shape " + ShapeStr(t->shape) + ", config implies " +
                  ShapeStr(want));
    if (!IsFloatWeight(t->dtype))
      throw Error(t->file + ": tensor " + spec.name + " has dtype " + std::string(DTypeName(t->dtype)) +
                  ", not a weight type");
    WeightView& v = *spec.slot;
    v.dtype = t->dtype;
    v.rows = want.size() == 2 ? want[0] : 1;
    v.cols = want.back();
    const BlockInfo bi = GetBlockInfo(v.dtype);
    if (v.cols % bi.block_elems)
      throw Error(t->file + ": tensor " + spec.name + ": row length " + std::to_string(v.cols) +
                  " is not a multiple of the " + std::string(DTypeName(v.dtype)) + " block");
    v.data = t->data;
    if (v.dtype == DType::kF8E4M3) {
      const std::string sname = spec.name + "_scale_inv";
      const TensorView* s = store.find(sname);
      if (!s) throw Error(store.origin + ": tensor " + sname + " is missing (FP8 weight " + spec.name + " needs it)");
      const int64_t b = c.weight_block_size > 0 ? c.weight_block_size : 128;
      const std::vector<int64_t> sshape = {(v.rows + b - 1) / b, (v.cols + b - 1) / b};
      if (s->shape != sshape)
        throw Error(s->file + ": tensor " + sname + " has shape " + ShapeStr(s->shape) + ", expected " +
                    ShapeStr(sshape) + " for " + std::to_string(b) + "x" + std::to_string(b) + " blocks");
      if (s->dtype == DType::kF32 && reinterpret_cast<uintptr_t>(s->data) % 4 == 0) {
        v.scale = reinterpret_cast<const float*>(s->data);
      } else if (s->dtype == DType::kF32 || s->dtype == DType::kBF16 || s->dtype == DType::kF16) {
        WeightView sv{s->dtype, 1, s->numel(), s->data};
        std::vector<uint8_t> buf(s->numel() * 4);
        DecodeRow(sv, 0, reinterpret_cast<float*>(buf.data()));
        v.scale = reinterpret_cast<const float*>(store.Own(std::move(buf)));
      } else {
        throw Error(s->file + ": tensor " + sname + " has dtype " + std::string(DTypeName(s->dtype)) +
                    "; expected F32");
      }
      v.scale_block = b;
    }
  });
  if (c.tie_word_embeddings && model.weights.lm_head.empty()) model.weights.lm_head = model.weights.embed_tokens;
}

std::unique_ptr<Model> LoadHfFolder(const std::string& dir, bool with_mtp, Residency residency) {
  if (!fs::is_directory(dir)) throw Error(dir + ": not a model folder (no such directory)");
  auto model = std::make_unique<Model>();
  model->path = dir;
  model->store.origin = dir;
  model->config = LoadModelConfig((fs::path(dir) / "config.json").string());

  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single = fs::path(dir) / "model.safetensors";
  if (fs::exists(index)) {
    std::ifstream f(index);
    nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error(index.string() + ": invalid index (needs a weight_map object)");
    std::set<std::string> files;
    for (auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string()) throw Error(index.string() + ": weight_map entry " + name + " is not a file name");
      const std::string fname = file.get<std::string>();
      if (fname.find('/') != std::string::npos || fname.find("..") != std::string::npos)
        throw Error(index.string() + ": weight_map entry " + name + " names a file outside the folder");
      files.insert(fname);
    }
    for (const auto& file : files) AddSafetensors(model->store, (fs::path(dir) / file).string(), residency);
    for (auto& [name, file] : j["weight_map"].items())
      if (!model->store.find(name))
        throw Error(index.string() + ": tensor " + name + " is listed in " + file.get<std::string>() +
                    " but not found there");
  } else if (fs::exists(single)) {
    AddSafetensors(model->store, single.string(), residency);
  } else {
    throw Error(dir + ": no model.safetensors or model.safetensors.index.json");
  }
  // Only load MTP modules the folder has (HF conversions often drop them).
  const bool mtp = with_mtp && model->config.num_nextn_predict_layers > 0 &&
                   model->store.find("model.layers." + std::to_string(model->config.num_hidden_layers) +
                                     ".eh_proj.weight");
  BindWeights(*model, mtp);
  return model;
}

std::unique_ptr<Model> LoadModel(const std::string& path, bool with_mtp, Residency residency) {
  if (path.size() > 5 && path.substr(path.size() - 5) == ".gguf") {
    return LoadGgufModel(path, with_mtp, residency);
  }
  return LoadHfFolder(path, with_mtp, residency);
}

}  // namespace whale
