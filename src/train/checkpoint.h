// Checkpoints in the Hugging Face layout, so every whale tool loads them:
// config.json (model_type deepseek_v3), model.safetensors (fp32, HF names),
// tokenizer.json + tokenizer_config.json; beside them optimizer.safetensors
// (AdamW moments) and trainer_state.json (step), which resume reads.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "train/optimizer.h"
#include "train/params.h"

namespace whale {

// Writes into dir (created), atomically enough: files go to dir.tmp first and
// the folder is renamed, so a crash never leaves a half-written checkpoint.
// tokenizer_dir may be empty (byte-vocab runs have no tokenizer).
void SaveCheckpoint(const std::string& dir, const Params& p, const AdamW* opt, const nlohmann::json& state,
                    const std::string& tokenizer_dir);

// Loads weights by HF name into p; throws Error if dir's config.json differs
// from p's config (naming the first differing field) or a tensor is missing.
void LoadWeights(const std::string& dir, Params& p);

// Loads AdamW moments and returns trainer_state.json.
nlohmann::json LoadOptimizer(const std::string& dir, const Params& p, AdamW& opt);

}  // namespace whale
