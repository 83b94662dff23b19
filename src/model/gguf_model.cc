// llama.cpp `deepseek2` GGUF files as whale models: the config rebuilt from
// the metadata (with what GGUF does not record inferred and noted), and every
// GGUF tensor exposed under its Hugging Face name, in place (mapped), shapes
// in HF [rows, cols] order. Mapping and pitfalls: shared/fixtures/GGUF.md
// sections 3, 4 and 8.
#include <cmath>
#include <cstring>
#include <set>

#include "io/error.h"
#include "io/gguf.h"
#include "io/gguf_names.h"
#include "kernels/quant.h"
#include "model/model.h"

namespace whale {
namespace {

const char* kArch = "deepseek2";

struct Meta {
  const GgufFile& f;  // the part holding the metadata
  std::vector<std::string>& notes;

  std::string Key(const std::string& k) const { return std::string(kArch) + "." + k; }
  [[noreturn]] void Fail(const std::string& key, const std::string& why) const {
    throw Error(f.path() + ": key " + Key(key) + " " + why);
  }
  int64_t Int(const std::string& k) const {
    auto v = f.GetInt(Key(k));
    if (!v) Fail(k, "is missing");
    return *v;
  }
  std::optional<int64_t> OptInt(const std::string& k) const { return f.GetInt(Key(k)); }
  std::optional<double> OptFloat(const std::string& k) const { return f.GetFloat(Key(k)); }
};

// The config from the deepseek2 keys (GGUF.md section 3), with the tensors
// consulted where the keys are ambiguous (legacy vs split attention layout).
ModelConfig ConfigFromGguf(const GgufSplit& split, std::vector<std::string>& notes) {
  const GgufFile& f = split.meta();
  Meta m{f, notes};
  const auto arch = f.GetString("general.architecture");
  if (!arch) throw Error(f.path() + ": key general.architecture is missing");
  if (*arch != kArch) throw Error(f.path() + ": architecture \"" + *arch + "\" is not supported (only deepseek2)");

  ModelConfig c;
  c.num_hidden_layers = m.Int("block_count");
  c.hidden_size = m.Int("embedding_length");
  c.intermediate_size = m.Int("feed_forward_length");
  c.num_attention_heads = m.Int("attention.head_count");
  c.kv_lora_rank = m.Int("attention.kv_lora_rank");
  c.q_lora_rank = m.OptInt("attention.q_lora_rank").value_or(0);
  c.qk_rope_head_dim = m.Int("rope.dimension_count");
  c.max_position_embeddings = m.OptInt("context_length").value_or(4096);
  c.rms_norm_eps = m.OptFloat("attention.layer_norm_rms_epsilon").value_or(1e-6);
  c.rope_theta = m.OptFloat("rope.freq_base").value_or(10000.0);
  c.first_k_dense_replace = m.OptInt("leading_dense_block_count").value_or(0);
  c.n_routed_experts = m.OptInt("expert_count").value_or(0);
  c.num_experts_per_tok = m.OptInt("expert_used_count").value_or(0);
  c.n_shared_experts = m.OptInt("expert_shared_count").value_or(0);
  c.moe_intermediate_size = m.OptInt("expert_feed_forward_length").value_or(0);

  // q_lora_rank: decided by the tensors (GGUF.md pitfall 2), the key checked against them.
  const bool has_q = split.FindTensor("blk.0.attn_q.weight") != nullptr;
  if (has_q && c.q_lora_rank) {
    notes.push_back("file has attn_q and q_lora_rank " + std::to_string(c.q_lora_rank) + ": using attn_q (no query LoRA)");
    c.q_lora_rank = 0;
  }

  // Head sizes: the _mla keys (split layout) or the legacy key_length/value_length.
  const int64_t rope = c.qk_rope_head_dim;
  auto kl_mla = m.OptInt("attention.key_length_mla"), vl_mla = m.OptInt("attention.value_length_mla");
  const GgufTensorInfo* kb = split.FindTensor("blk.0.attn_k_b.weight");
  const GgufTensorInfo* vb = split.FindTensor("blk.0.attn_v_b.weight");
  if (kl_mla && vl_mla) {
    c.qk_nope_head_dim = *kl_mla - rope;
    c.v_head_dim = *vl_mla;
  } else if (kb && vb && kb->ne.size() == 3 && vb->ne.size() == 3) {
    c.qk_nope_head_dim = kb->ne[0];
    c.v_head_dim = vb->ne[1];
    notes.push_back("no key_length_mla/value_length_mla keys: head sizes taken from attn_k_b/attn_v_b");
  } else {
    c.qk_nope_head_dim = m.Int("attention.key_length") - rope;
    c.v_head_dim = m.Int("attention.value_length");
  }

  // Vocabulary: the key, else the tokenizer, else the embedding.
  if (auto v = m.OptInt("vocab_size")) {
    c.vocab_size = *v;
  } else if (const GgufValue* tok = f.Find("tokenizer.ggml.tokens")) {
    c.vocab_size = int64_t(tok->array_size());
    notes.push_back("no vocab_size key: taken from tokenizer.ggml.tokens");
  } else if (const GgufTensorInfo* e = split.FindTensor("token_embd.weight"); e && e->ne.size() == 2) {
    c.vocab_size = e->ne[1];
    notes.push_back("no vocab_size key: taken from token_embd");
  }

  // Routing (GGUF.md section 3 "What a loader should infer", pitfalls 4 and 5).
  bool biased = false;
  for (int64_t l = 0; l < c.num_hidden_layers && !biased; ++l)
    biased = split.FindTensor("blk." + std::to_string(l) + ".exp_probs_b.bias") != nullptr;
  const int64_t gating = m.OptInt("expert_gating_func").value_or(0);
  if (gating == 2) c.scoring_func = ScoringFunc::kSigmoid;
  else if (gating == 0 || gating == 1) c.scoring_func = ScoringFunc::kSoftmax;
  else m.Fail("expert_gating_func", "is " + std::to_string(gating) + "; supported: 1 (softmax), 2 (sigmoid)");
  if (gating == 0 && c.n_routed_experts > 0)
    notes.push_back("no expert_gating_func: softmax scoring assumed (llama.cpp's rule for V2 files)");
  auto groups = m.OptInt("expert_group_count"), groups_used = m.OptInt("expert_group_used_count");
  if (groups && groups_used) {
    c.n_group = *groups;
    c.topk_group = *groups_used;
  } else if (c.n_routed_experts == 256 && biased) {
    c.n_group = 8, c.topk_group = 4;
    notes.push_back("no expert_group_count: n_group 8, topk_group 4 assumed (DeepSeek-V3/R1 shape)");
  } else if (c.n_routed_experts == 160) {
    c.n_group = 8, c.topk_group = 3;
    notes.push_back("no expert_group_count: n_group 8, topk_group 3 assumed (DeepSeek-V2/V2.5 shape)");
  } else if (c.n_routed_experts > 0) {
    notes.push_back("no expert_group_count: no group limiting assumed (n_group 1)");
  }
  if (c.n_group <= 0) c.n_group = 1;
  if (c.topk_group <= 0) c.topk_group = 1;
  if (biased) {
    c.topk_method = TopkMethod::kNoauxTc;
    c.model_type = "deepseek_v3";
    notes.push_back("exp_probs_b present: V3 routing (noaux_tc, group score = sum of the top-2 biased scores)");
  } else {
    c.topk_method = c.n_group > 1 ? TopkMethod::kGroupLimitedGreedy : TopkMethod::kGreedy;
    c.model_type = "deepseek_v2";
    if (c.n_group > 1)
      notes.push_back("no exp_probs_b: V2 group_limited_greedy routing (group score = max, as DeepSeek; llama.cpp uses top-2 sum)");
  }
  c.norm_topk_prob = f.GetBool(m.Key("expert_weights_norm")).value_or(false);
  const double scale = m.OptFloat("expert_weights_scale").value_or(0.0);
  c.routed_scaling_factor = scale == 0.0 ? 1.0 : scale;  // llama.cpp applies it only when not 0 or 1
  c.route_scaling = RouteScaling::kScaleAlways;        // llama.cpp: normalise, then scale

  // YaRN (GGUF.md section 5, pitfall 3).
  const auto rs_type = f.GetString(m.Key("rope.scaling.type"));
  if (rs_type && *rs_type == "yarn") {
    RopeScaling& y = c.rope_scaling;
    y.yarn = true;
    y.factor = m.OptFloat("rope.scaling.factor").value_or(1.0);
    y.original_max_position_embeddings = m.OptInt("rope.scaling.original_context_length").value_or(4096);
    // llama.cpp's deepseek2 ignores the beta keys and uses DeepSeek's 32 / 1.
    y.beta_fast = 32, y.beta_slow = 1;
    auto bf = m.OptFloat("rope.scaling.yarn_beta_fast"), bs = m.OptFloat("rope.scaling.yarn_beta_slow");
    if ((bf && *bf != 32) || (bs && *bs != 1))
      notes.push_back("yarn_beta_fast/slow keys differ from 32/1; using 32/1 as llama.cpp does");
    if (auto lm = m.OptFloat("rope.scaling.yarn_log_multiplier")) {
      y.mscale_all_dim = *lm / 0.1;  // the key stores 0.1·mscale_all_dim
      y.mscale = y.mscale_all_dim;
      notes.push_back("rope_scaling.mscale not stored: assumed equal to mscale_all_dim (" +
                      std::to_string(y.mscale_all_dim) + "), as in every official config");
    } else {
      y.mscale_all_dim = 0, y.mscale = 1;
      notes.push_back("yarn without yarn_log_multiplier: mscale_all_dim 0 assumed (no score scaling); "
                      "llama.cpp would scale by 1 + 0.1 ln(factor)");
    }
  } else if (rs_type && *rs_type != "none") {
    m.Fail("rope.scaling.type", "is \"" + *rs_type + "\"; supported: yarn, none");
  }

  // Bounds before anything is sized from these counts: every layer and
  // every expert needs tensors in the file.
  if (c.num_hidden_layers > int64_t(split.num_tensors()))
    m.Fail("block_count", "is " + std::to_string(c.num_hidden_layers) + " but the file has only " +
                              std::to_string(split.num_tensors()) + " tensors");
  if (c.n_routed_experts > (int64_t(1) << 20)) m.Fail("expert_count", "is implausibly large");

  c.tie_word_embeddings = split.FindTensor("output.weight") == nullptr;
  if (c.tie_word_embeddings) notes.push_back("no output.weight: lm_head tied to token_embd");
  c.bos_token_id = f.GetInt("tokenizer.ggml.bos_token_id").value_or(0);
  c.eos_token_id = f.GetInt("tokenizer.ggml.eos_token_id").value_or(1);
  c.num_nextn_predict_layers = 0;
  c.Validate(f.path());
  return c;
}

// Binds GGUF tensors to HF names in the store (GGUF.md section 4 table).
class TensorMapper {
 public:
  TensorMapper(const GgufSplit& f, const ModelConfig& c, TensorStore& store, std::vector<std::string>& notes)
      : f_(f), c_(c), store_(store), notes_(notes) {}

  void Run() {
    std::set<std::string> used;
    auto put = [&](const std::string& gguf, const std::string& hf) {
      if (const GgufTensorInfo* t = f_.FindTensor(gguf)) {
        Plain(*t, hf);
        used.insert(gguf);
      }
    };
    for (const auto& p : GgufGlobalNames()) put(p.gguf, p.hf);
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
      const std::string b = "blk." + std::to_string(l) + ".";
      const std::string h = "model.layers." + std::to_string(l) + ".";
      const std::string a = h + "self_attn.";
      for (const auto& p : GgufLayerNames()) put(b + p.gguf, h + p.hf);
      for (const char* p : kGgufExpertProjs) {
        const std::string g = b + "ffn_" + p + "_exps.weight";
        if (const GgufTensorInfo* t = f_.FindTensor(g)) {
          Experts(*t, h, std::string(p) + "_proj", 0, 1);
          used.insert(g);
        }
      }
      if (const GgufTensorInfo* t = f_.FindTensor(b + "ffn_gate_up_exps.weight")) {
        Experts(*t, h, "gate_proj", 0, 2);  // per expert: Fe gate rows, then Fe up rows
        Experts(*t, h, "up_proj", 1, 2);
        used.insert(t->name);
      }
      const GgufTensorInfo* kb = f_.FindTensor(b + "attn_k_b.weight");
      const GgufTensorInfo* vb = f_.FindTensor(b + "attn_v_b.weight");
      if (kb || vb) {
        if (!kb || !vb) throw Error(f_.path() + ": layer " + std::to_string(l) + " has only one of attn_k_b / attn_v_b");
        if (!store_.find(a + "kv_b_proj.weight")) RebuildKvB(*kb, *vb, a + "kv_b_proj.weight");
        // The absorbed form as stored, for kernels that want it without the
        // rebuilt copy: k_b rows (h, r) of qk_nope_head_dim values (W_UK[h]ᵀ),
        // v_b rows (h, j) of kv_lora_rank values (W_UV[h]). Views, no copy.
        AbsorbedView(*kb, a + "k_b_proj.weight");
        AbsorbedView(*vb, a + "v_b_proj.weight");
        used.insert(kb->name);
        used.insert(vb->name);
      }
    }
    std::vector<std::string> unused;
    for (const GgufTensorInfo* t : f_.tensors())
      if (!used.count(t->name)) unused.push_back(t->name);
    if (!unused.empty())
      notes_.push_back(std::to_string(unused.size()) + " GGUF tensors not used by the deepseek2 mapping, e.g. " +
                       unused.front());
  }

 private:
  [[noreturn]] void Fail(const GgufTensorInfo& t, const std::string& why) const {
    throw Error(f_.PartOf(t.name).path() + ": tensor " + t.name + ": " + why);
  }
  DType TypeOf(const GgufTensorInfo& t) const {
    auto d = DTypeFromGgml(t.ggml_type);
    if (!d)
      Fail(t, "ggml type " + GgmlTypeName(t.ggml_type) +
                  " is not supported (whale computes with F32, F16, BF16, Q8_0, Q4_K, Q5_0, Q6_K)");
    return *d;
  }
  TensorView View(const GgufTensorInfo& t, const std::string& hf) const {
    TensorView v;
    v.name = hf;
    v.dtype = TypeOf(t);
    v.file = f_.PartOf(t.name).path() + " (" + t.name + ")";
    v.data = t.data;
    v.nbytes = t.nbytes;
    return v;
  }
  void Add(TensorView v) {
    if (store_.tensors.count(v.name)) throw Error(v.file + ": tensor " + v.name + " is defined twice");
    store_.tensors[v.name] = std::move(v);
  }
  // 1-D and 2-D tensors: HF shape is ne reversed.
  void Plain(const GgufTensorInfo& t, const std::string& hf) {
    if (t.ne.size() > 2) Fail(t, "expected 1 or 2 dimensions, found " + std::to_string(t.ne.size()));
    TensorView v = View(t, hf);
    v.shape.assign(t.ne.rbegin(), t.ne.rend());
    Add(std::move(v));
  }
  // ne [cols, parts·rows, X]: expert e's matrix `part` of `parts` is a
  // contiguous [rows, cols] slice; a view, never a copy.
  void Experts(const GgufTensorInfo& t, const std::string& h, const std::string& proj, int part, int parts) {
    if (t.ne.size() != 3) Fail(t, "expected 3 dimensions [in, out, experts]");
    if (t.ne[2] != c_.n_routed_experts)
      Fail(t, "holds " + std::to_string(t.ne[2]) + " experts, expert_count is " + std::to_string(c_.n_routed_experts));
    if (t.ne[1] % parts) Fail(t, "fused gate/up rows are odd");
    const DType d = TypeOf(t);
    const int64_t cols = t.ne[0], rows = t.ne[1] / parts;
    const uint64_t row_bytes = uint64_t(RowBytes(d, cols));
    for (int64_t e = 0; e < t.ne[2]; ++e) {
      TensorView v = View(t, h + "mlp.experts." + std::to_string(e) + "." + proj + ".weight");
      v.shape = {rows, cols};
      v.nbytes = size_t(uint64_t(rows) * row_bytes);
      v.data = t.data + uint64_t(e * parts + part) * rows * row_bytes;
      Add(std::move(v));
    }
  }
  // A 3-D [cols, rows, heads] tensor as a 2-D [heads·rows, cols] view.
  void AbsorbedView(const GgufTensorInfo& t, const std::string& hf) {
    TensorView v = View(t, hf);
    v.shape = {t.ne[2] * t.ne[1], t.ne[0]};
    Add(std::move(v));
  }
  // kv_b_proj [H·(Dn+Dv), R] from attn_k_b (ne [Dn, R, H]: per head W_UKᵀ,
  // transposed) and attn_v_b (ne [R, Dv, H]): GGUF.md "The kv_b split".
  // Float types are permuted element by element in their own type; block
  // types are decoded to F32, since a transposed block is not a block.
  void RebuildKvB(const GgufTensorInfo& kb, const GgufTensorInfo& vb, const std::string& hf) {
    const int64_t H = c_.num_attention_heads, Dn = c_.qk_nope_head_dim, Dv = c_.v_head_dim, R = c_.kv_lora_rank;
    if (kb.ne != std::vector<int64_t>{Dn, R, H})
      Fail(kb, "shape does not match [qk_nope_head_dim, kv_lora_rank, head_count] = [" + std::to_string(Dn) + ", " +
                   std::to_string(R) + ", " + std::to_string(H) + "]");
    if (vb.ne != std::vector<int64_t>{R, Dv, H})
      Fail(vb, "shape does not match [kv_lora_rank, v_head_dim, head_count] = [" + std::to_string(R) + ", " +
                   std::to_string(Dv) + ", " + std::to_string(H) + "]");
    const DType dk = TypeOf(kb), dv = TypeOf(vb);
    const bool raw = dk == dv && !IsBlockQuantized(dk);
    const DType out = raw ? dk : DType::kF32;
    const size_t es = size_t(GetBlockInfo(out).block_bytes);
    const int64_t rows = H * (Dn + Dv);
    std::vector<uint8_t> buf(size_t(rows * R) * es);
    std::vector<float> tmp(std::max(Dn, R));
    auto dst = [&](int64_t row, int64_t r) { return buf.data() + (size_t(row) * R + r) * es; };
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t r = 0; r < R; ++r) {  // k_b row (h, r) holds W[h(Dn+Dv) + i][r], i < Dn
        const uint8_t* src = kb.data + uint64_t(h * R + r) * RowBytes(dk, Dn);
        if (raw) {
          for (int64_t i = 0; i < Dn; ++i) std::memcpy(dst(h * (Dn + Dv) + i, r), src + i * es, es);
        } else {
          DequantizeRow(dk, src, tmp.data(), Dn);
          for (int64_t i = 0; i < Dn; ++i) std::memcpy(dst(h * (Dn + Dv) + i, r), &tmp[i], 4);
        }
      }
      for (int64_t j = 0; j < Dv; ++j) {  // v_b row (h, j) is W[h(Dn+Dv) + Dn + j]
        const uint8_t* src = vb.data + uint64_t(h * Dv + j) * RowBytes(dv, R);
        if (raw) std::memcpy(dst(h * (Dn + Dv) + Dn + j, 0), src, size_t(R) * es);
        else DequantizeRow(dv, src, reinterpret_cast<float*>(dst(h * (Dn + Dv) + Dn + j, 0)), R);
      }
    }
    TensorView v;
    v.name = hf;
    v.dtype = out;
    v.shape = {rows, R};
    v.file = f_.path() + " (" + kb.name + " + " + vb.name + ")";
    v.nbytes = buf.size();
    v.data = store_.Own(std::move(buf));
    Add(std::move(v));
    if (!noted_kvb_) {
      noted_kvb_ = true;
      notes_.push_back(std::string("split attn_k_b/attn_v_b layout: kv_b_proj rebuilt at load as ") +
                       std::string(DTypeName(out)) + " (" + std::to_string(rows * R * int64_t(es) >> 10) +
                       " KiB per layer)");
    }
  }

  const GgufSplit& f_;
  const ModelConfig& c_;
  TensorStore& store_;
  std::vector<std::string>& notes_;
  bool noted_kvb_ = false;
};

}  // namespace

std::unique_ptr<Model> LoadGgufModel(const std::string& path, bool with_mtp, Residency residency) {
  auto f = std::make_shared<GgufSplit>(path, residency);
  auto model = std::make_unique<Model>();
  model->path = path;
  model->store.origin = path;
  model->config = ConfigFromGguf(*f, model->notes);
  if (f->parts().size() > 1) model->notes.push_back("read from " + std::to_string(f->parts().size()) + " gguf-split parts");
  if (with_mtp) model->notes.push_back("deepseek2 GGUF files never contain the MTP module (take it from the HF safetensors)");
  TensorMapper(*f, model->config, model->store, model->notes).Run();
  model->store.keepalive.push_back(f);
  for (const auto& part : f->parts()) model->store.in_ram = model->store.in_ram && part->in_ram();
  BindWeights(*model, /*with_mtp=*/false);
  return model;
}

}  // namespace whale
