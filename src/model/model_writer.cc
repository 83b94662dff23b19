// Model writers: the tensor table (ForEachTensor) walked once, each tensor
// produced in chunks of rows that are quantised in parallel and appended.
#include "model/model_writer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/gguf_names.h"
#include "kernels/quant.h"
#include "model/gguf_metadata.h"
#include "model/gguf_tokenizer.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

// llama.cpp's use_more_bits (llama-quant.cpp): the first and last eighth of
// the layers and every third one between get the larger type in *_M mixes.
bool UseMoreBits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

int64_t LayerOf(const std::string& name) {
  const std::string p = "model.layers.";
  if (name.compare(0, p.size(), p) != 0) return -1;
  return std::atoll(name.c_str() + p.size());
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A tensor as written: `rows` rows of `cols` values, fetched by row index.
struct OutTensor {
  std::string name;
  std::vector<int64_t> ne;  // GGUF order (folders: unused)
  std::vector<int64_t> shape;  // HF order (GGUF: unused)
  DType type = DType::kF32;
  int64_t rows = 0, cols = 0;
  std::function<void()> prepare, release;
  std::function<void(int64_t r, float* out)> row;
};

// Produces `t` in chunks and hands each chunk's bytes to `sink`.
void Stream(const OutTensor& t, ThreadPool* pool, const std::function<void(const uint8_t*, size_t)>& sink) {
  if (t.prepare) t.prepare();
  const int64_t row_bytes = RowBytes(t.type, t.cols);
  const int64_t chunk = std::max<int64_t>(1, (int64_t(4) << 20) / std::max<int64_t>(1, t.cols));
  std::vector<float> f(size_t(std::min(chunk, std::max<int64_t>(t.rows, 1)) * t.cols));
  std::vector<uint8_t> b(size_t(std::min(chunk, std::max<int64_t>(t.rows, 1)) * row_bytes));
  for (int64_t r0 = 0; r0 < t.rows; r0 += chunk) {
    const int64_t n = std::min(chunk, t.rows - r0);
    auto body = [&](int64_t a, int64_t e) {
      for (int64_t i = a; i < e; ++i) {
        t.row(r0 + i, f.data() + i * t.cols);
        QuantizeRow(t.type, f.data() + i * t.cols, b.data() + i * row_bytes, t.cols);
      }
    };
    if (pool && n > 1) pool->ParallelFor(n, body);
    else body(0, n);
    sink(b.data(), size_t(n * row_bytes));
  }
  if (t.release) t.release();
}

void Count(TypeMix& mix, const OutTensor& t) {
  auto& e = mix.by_type[std::string(DTypeName(t.type))];
  e.tensors += 1;
  e.params += t.rows * t.cols;
  const uint64_t bytes = uint64_t(t.rows) * uint64_t(RowBytes(t.type, t.cols));
  e.bytes += bytes;
  mix.total_bytes += bytes;
}

// The specs the source has, in table order.
std::vector<TensorSpec> Specs(const ModelConfig& c, const RowSource& src, bool with_mtp) {
  ModelWeights w;
  std::vector<TensorSpec> out;
  ForEachTensor(c, w, with_mtp, [&](const TensorSpec& s) {
    if (s.optional && !(src.has && src.has(s.name))) return;
    TensorSpec copy = s;
    copy.slot = nullptr;
    out.push_back(std::move(copy));
  });
  return out;
}

int64_t Rows(const TensorSpec& s) { return s.shape.size() == 2 ? s.shape[0] : 1; }

// GGUF tensors from the HF table: experts stacked, kv_b_proj split into
// attn_k_b (per head W_UKᵀ) and attn_v_b (GGUF.md "The kv_b split").
std::vector<OutTensor> GgufPlan(const ModelConfig& c, const RowSource& src, QuantScheme scheme) {
  std::vector<OutTensor> plan;
  std::map<std::string, size_t> experts;  // merged tensor -> plan index
  std::map<size_t, std::shared_ptr<std::vector<std::string>>> parts;
  for (const TensorSpec& s : Specs(c, src, false)) {
    const auto target = HfToGguf(s.name);
    if (!target) continue;
    const int64_t cols = s.shape.back(), rows = Rows(s);
    if (EndsWith(s.name, "self_attn.kv_b_proj.weight")) {
      const int64_t H = c.num_attention_heads, Dn = c.qk_nope_head_dim, Dv = c.v_head_dim, R = c.kv_lora_rank;
      const std::string blk = "blk." + std::to_string(target->layer) + ".";
      auto kv = std::make_shared<std::vector<float>>();
      OutTensor kb;
      kb.name = blk + "attn_k_b.weight";
      kb.ne = {Dn, R, H};
      kb.rows = H * R, kb.cols = Dn;
      kb.type = ChooseStorageType(scheme, c, s, Dn);
      const std::string name = s.name;
      kb.prepare = [kv, name, rows, cols, &src] {
        kv->resize(size_t(rows * cols));
        src.rows(name, 0, rows, kv->data());
      };
      kb.release = [kv] { std::vector<float>().swap(*kv); };
      kb.row = [kv, Dn, Dv, R](int64_t r, float* out) {  // row (h, latent index)
        const int64_t h = r / R, l = r % R;
        for (int64_t i = 0; i < Dn; ++i) out[i] = (*kv)[size_t((h * (Dn + Dv) + i) * R + l)];
      };
      plan.push_back(std::move(kb));
      OutTensor vb;
      vb.name = blk + "attn_v_b.weight";
      vb.ne = {R, Dv, H};
      vb.rows = H * Dv, vb.cols = R;
      vb.type = ChooseStorageType(scheme, c, s, R);
      vb.row = [name, Dn, Dv, &src](int64_t r, float* out) {
        src.rows(name, (r / Dv) * (Dn + Dv) + Dn + r % Dv, 1, out);
      };
      plan.push_back(std::move(vb));
      continue;
    }
    if (target->expert >= 0) {
      auto it = experts.find(target->name);
      if (it == experts.end()) {
        OutTensor t;
        t.name = target->name;
        t.ne = {cols, rows, c.n_routed_experts};
        t.rows = rows * c.n_routed_experts, t.cols = cols;
        t.type = ChooseStorageType(scheme, c, s, cols);
        auto names = std::make_shared<std::vector<std::string>>(size_t(c.n_routed_experts));
        t.row = [names, rows, &src](int64_t r, float* out) { src.rows((*names)[size_t(r / rows)], r % rows, 1, out); };
        it = experts.emplace(target->name, plan.size()).first;
        parts[plan.size()] = names;
        plan.push_back(std::move(t));
      }
      (*parts[it->second])[size_t(target->expert)] = s.name;
      continue;
    }
    OutTensor t;
    t.name = target->name;
    t.ne = s.shape.size() == 2 ? std::vector<int64_t>{cols, rows} : std::vector<int64_t>{cols};
    t.rows = rows, t.cols = cols;
    t.type = ChooseStorageType(scheme, c, s, cols);
    const std::string name = s.name;
    t.row = [name, &src](int64_t r, float* out) { src.rows(name, r, 1, out); };
    plan.push_back(std::move(t));
  }
  return plan;
}

}  // namespace

QuantScheme ParseQuantScheme(const std::string& s, const std::string& where) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  if (l == "f32") return QuantScheme::kF32;
  if (l == "f16") return QuantScheme::kF16;
  if (l == "bf16") return QuantScheme::kBF16;
  if (l == "q8_0") return QuantScheme::kQ8_0;
  if (l == "q6_k") return QuantScheme::kQ6_K;
  if (l == "q4_k_m") return QuantScheme::kQ4_K_M;
  throw Error(where + ": type \"" + s + "\" is not supported (f32, f16, bf16, q8_0, q6_k, q4_k_m)");
}

std::string QuantSchemeName(QuantScheme s) {
  switch (s) {
    case QuantScheme::kF32: return "f32";
    case QuantScheme::kF16: return "f16";
    case QuantScheme::kBF16: return "bf16";
    case QuantScheme::kQ8_0: return "q8_0";
    case QuantScheme::kQ6_K: return "q6_k";
    case QuantScheme::kQ4_K_M: return "q4_k_m";
  }
  return "?";
}

uint32_t LlamaFileType(QuantScheme s) {
  switch (s) {
    case QuantScheme::kF32: return 0;
    case QuantScheme::kF16: return 1;
    case QuantScheme::kBF16: return 32;
    case QuantScheme::kQ8_0: return 7;
    case QuantScheme::kQ6_K: return 18;
    case QuantScheme::kQ4_K_M: return 15;
  }
  return 0;
}

DType ChooseStorageType(QuantScheme scheme, const ModelConfig& c, const TensorSpec& spec, int64_t cols) {
  if (spec.role == TensorRole::kNorm || spec.role == TensorRole::kRouter || spec.role == TensorRole::kBias ||
      spec.shape.size() < 2)
    return DType::kF32;
  DType want = DType::kF32;
  switch (scheme) {
    case QuantScheme::kF32: return DType::kF32;
    case QuantScheme::kF16: return DType::kF16;
    case QuantScheme::kBF16: return DType::kBF16;
    case QuantScheme::kQ8_0: want = DType::kQ8_0; break;
    case QuantScheme::kQ6_K: want = DType::kQ6_K; break;
    case QuantScheme::kQ4_K_M: {
      const int64_t layer = LayerOf(spec.name);
      const bool down = EndsWith(spec.name, "down_proj.weight");
      const bool more = spec.role == TensorRole::kHead ||
                        (down && layer >= 0 && UseMoreBits(layer, c.num_hidden_layers));
      want = more ? DType::kQ6_K : DType::kQ4_K;
      break;
    }
  }
  // Fallbacks for rows that split a block, as llama-quantize makes them.
  while (cols % GetBlockInfo(want).block_elems) {
    if (want == DType::kQ4_K) want = DType::kQ5_0;
    else if (want == DType::kQ6_K) want = DType::kQ8_0;
    else return DType::kF16;
  }
  return want;
}

std::string TypeMix::Format() const {
  std::string s;
  char buf[160];
  for (const auto& [type, e] : by_type) {
    std::snprintf(buf, sizeof buf, "  %-5s %5lld tensors %14lld weights %10.3f MiB (%.1f%%)\n", type.c_str(),
                  (long long)e.tensors, (long long)e.params, double(e.bytes) / (1 << 20),
                  total_bytes ? 100.0 * double(e.bytes) / double(total_bytes) : 0.0);
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "  total %.3f MiB", double(total_bytes) / (1 << 20));
  return s + buf;
}

TypeMix WriteGgufModel(const std::string& path, const ModelConfig& c, const RowSource& src, const WriteOptions& o) {
  std::vector<OutTensor> plan = GgufPlan(c, src, o.scheme);
  GgufWriter w(path);
  AddDeepseek2Metadata(w, c, o.name, LlamaFileType(o.scheme));
  if (o.tokenizer_gguf) CopyGgufTokenizer(w, *o.tokenizer_gguf);
  else if (o.tokenizer_json) AddHfTokenizer(w, c, *o.tokenizer_json, path);
  else AddSyntheticTokenizer(w, c);
  TypeMix mix;
  for (const auto& t : plan) {
    w.AddTensor(t.name, t.ne, GgmlFromDType(t.type));
    Count(mix, t);
  }
  w.WriteHeader();
  for (size_t i = 0; i < plan.size(); ++i) {
    Stream(plan[i], o.pool, [&](const uint8_t* p, size_t n) { w.Append(p, n); });
    if (o.log)
      o.log("[" + std::to_string(i + 1) + "/" + std::to_string(plan.size()) + "] " + plan[i].name + " " +
            std::string(DTypeName(plan[i].type)));
  }
  w.Finish();
  return mix;
}

TypeMix WriteHfFolder(const std::string& dir, const ModelConfig& c, const RowSource& src, const WriteOptions& o) {
  fs::create_directories(dir);
  std::vector<OutTensor> plan;
  for (const TensorSpec& s : Specs(c, src, o.with_mtp)) {
    OutTensor t;
    t.name = s.name;
    t.shape = s.shape;
    t.rows = Rows(s), t.cols = s.shape.back();
    t.type = ChooseStorageType(o.scheme, c, s, t.cols);
    const std::string name = s.name;
    t.row = [name, &src](int64_t r, float* out) { src.rows(name, r, 1, out); };
    plan.push_back(std::move(t));
  }
  nlohmann::json h = nlohmann::json::object();
  h["__metadata__"] = {{"format", "pt"}};
  uint64_t off = 0;
  TypeMix mix;
  for (const auto& t : plan) {
    const uint64_t n = uint64_t(t.rows) * uint64_t(RowBytes(t.type, t.cols));
    h[t.name] = {{"dtype", std::string(DTypeName(t.type))}, {"shape", t.shape}, {"data_offsets", {off, off + n}}};
    off += n;
    Count(mix, t);
  }
  std::string hs = h.dump();
  while (hs.size() % 8) hs.push_back(' ');
  const std::string file = (fs::path(dir) / "model.safetensors").string();
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (!f) throw Error(file + ": cannot open for writing");
  auto put = [&](const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) {
      std::fclose(f);
      throw Error(file + ": write failed");
    }
  };
  const uint64_t hn = hs.size();
  put(&hn, 8);
  put(hs.data(), hs.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    Stream(plan[i], o.pool, put);
    if (o.log)
      o.log("[" + std::to_string(i + 1) + "/" + std::to_string(plan.size()) + "] " + plan[i].name + " " +
            std::string(DTypeName(plan[i].type)));
  }
  if (std::fclose(f) != 0) throw Error(file + ": write failed on close");
  std::ofstream cfg(fs::path(dir) / "config.json");
  cfg << ModelConfigToJson(c).dump(2) << "\n";
  if (!cfg) throw Error(dir + "/config.json: write failed");
  if (o.tokenizer_json || o.tokenizer_gguf) {
    std::ofstream tj(fs::path(dir) / "tokenizer.json");
    tj << (o.tokenizer_json ? *o.tokenizer_json : GgufTokenizerJson(*o.tokenizer_gguf)).dump() << "\n";
  }
  return mix;
}

}  // namespace whale
