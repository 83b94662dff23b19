#include "train/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/error.h"
#include "io/safetensors.h"
#include "model/config.h"

namespace whale {
namespace fs = std::filesystem;

namespace {

OwnedTensor F32Tensor(const std::vector<int64_t>& shape, const float* src, int64_t n) {
  OwnedTensor t;
  t.dtype = DType::kF32;
  t.shape = shape;
  t.bytes.resize(n * sizeof(float));
  std::memcpy(t.bytes.data(), src, n * sizeof(float));
  return t;
}

void CopyInto(const SafetensorsFile& f, const std::string& name, const ParamTensor& t, float* dst) {
  const TensorView* v = f.find(name);
  if (!v) throw Error(f.path() + ": tensor " + name + " is missing");
  if (v->dtype != DType::kF32 || v->shape != t.shape)
    throw Error(f.path() + ": tensor " + name + " has a different shape or dtype than the model config implies");
  std::memcpy(dst, v->data, t.size * sizeof(float));
}

}  // namespace

void SaveCheckpoint(const std::string& dir, const Params& p, const AdamW* opt, const nlohmann::json& state,
                    const std::string& tokenizer_dir) {
  const std::string tmp = dir + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  nlohmann::json cfg = ModelConfigToJson(p.config());
  cfg["torch_dtype"] = "float32";
  std::ofstream(tmp + "/config.json") << cfg.dump(2) << "\n";
  std::map<std::string, OwnedTensor> w, o;
  for (const ParamTensor& t : p.tensors) {
    w[t.name] = F32Tensor(t.shape, p.data.data() + t.offset, t.size);
    if (opt && t.trainable) {
      o["m." + t.name] = F32Tensor(t.shape, const_cast<AdamW*>(opt)->m().data() + t.offset, t.size);
      o["v." + t.name] = F32Tensor(t.shape, const_cast<AdamW*>(opt)->v().data() + t.offset, t.size);
    }
  }
  WriteSafetensors(tmp + "/model.safetensors", w, {{"format", "pt"}});
  if (opt) WriteSafetensors(tmp + "/optimizer.safetensors", o);
  nlohmann::json st = state;
  if (opt) st["optimizer_step"] = opt->step();
  std::ofstream(tmp + "/trainer_state.json") << st.dump(2) << "\n";
  if (!tokenizer_dir.empty())
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
      if (fs::exists(tokenizer_dir + "/" + f)) fs::copy_file(tokenizer_dir + "/" + f, tmp + "/" + f);
  if (fs::exists(dir)) fs::remove_all(dir);
  fs::rename(tmp, dir);
}

void LoadWeights(const std::string& dir, Params& p) {
  const ModelConfig c = LoadModelConfig(dir + "/config.json");
  nlohmann::json a = ModelConfigToJson(c), b = ModelConfigToJson(p.config());
  for (auto& [k, v] : b.items())
    if (a[k] != v)
      throw Error(dir + "/config.json: field \"" + k + "\" is " + a[k].dump() + " but this run's model has " + v.dump() +
                  " (checkpoint from a different config)");
  SafetensorsFile f(dir + "/model.safetensors");
  for (const ParamTensor& t : p.tensors) CopyInto(f, t.name, t, p.data.data() + t.offset);
}

nlohmann::json LoadOptimizer(const std::string& dir, const Params& p, AdamW& opt) {
  std::ifstream in(dir + "/trainer_state.json");
  if (!in) throw Error(dir + "/trainer_state.json: cannot open (not a resumable checkpoint)");
  nlohmann::json st = nlohmann::json::parse(in, nullptr, false);
  if (st.is_discarded()) throw Error(dir + "/trainer_state.json: invalid JSON");
  SafetensorsFile f(dir + "/optimizer.safetensors");
  for (const ParamTensor& t : p.tensors) {
    if (!t.trainable) continue;
    CopyInto(f, "m." + t.name, t, opt.m().data() + t.offset);
    CopyInto(f, "v." + t.name, t, opt.v().data() + t.offset);
  }
  opt.set_step(st.value("optimizer_step", int64_t(0)));
  return st;
}

}  // namespace whale
