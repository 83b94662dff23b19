// A loaded model: its config, its weights (views into memory-mapped files),
// and whatever keeps those views alive.
#pragma once
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"
#include "model/weights.h"

namespace whale {

// Named tensors from one or more files, plus buffers for tensors that had to
// be converted on load (e.g. non-F32 block scales). Format readers (HF
// safetensors folder, GGUF) fill one of these.
struct TensorStore {
  std::map<std::string, TensorView> tensors;
  std::vector<std::shared_ptr<void>> keepalive;  // mapped files
  std::deque<std::vector<uint8_t>> owned;        // converted tensors
  std::string origin;                            // folder or file, for messages
  bool in_ram = true;                            // every file read into RAM (not mapped)

  const TensorView* find(const std::string& name) const {
    auto it = tensors.find(name);
    return it == tensors.end() ? nullptr : &it->second;
  }
  // Copies `bytes` into owned storage and returns a stable pointer.
  const uint8_t* Own(std::vector<uint8_t> bytes);
};

struct Model {
  ModelConfig config;
  ModelWeights weights;
  TensorStore store;
  std::string path;
  std::vector<std::string> notes;  // what a loader had to infer (GGUF)

  bool has_mtp() const { return !weights.mtp.empty(); }
};

// Reads a Hugging Face folder (config.json + model.safetensors or an index of
// shards). Throws Error naming the file, tensor or field at fault.
std::unique_ptr<Model> LoadHfFolder(const std::string& dir, bool with_mtp = true,
                                    Residency residency = Residency::kMap);

// Reads a folder or a .gguf file, whichever `path` is. `residency`: where the
// weight bytes live (io/mmap_file.h); run/chat/serve/bench default to kAuto.
std::unique_ptr<Model> LoadModel(const std::string& path, bool with_mtp = true,
                                 Residency residency = Residency::kMap);

// Fills model->weights from model->store, checking every tensor's shape and
// dtype against the config.
void BindWeights(Model& model, bool with_mtp);

// Reads a llama.cpp GGUF file of architecture deepseek2 (model/gguf_model.cc).
std::unique_ptr<Model> LoadGgufModel(const std::string& path, bool with_mtp = true,
                                     Residency residency = Residency::kMap);

}  // namespace whale
