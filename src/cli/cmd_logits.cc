// whale logits: run a model over token ids and write every position's logits,
// the tool for checking the engine against another implementation.
#include <cstring>
#include <memory>

#include "cli/command.h"
#include "io/error.h"
#include "io/safetensors.h"
#include "model/transformer.h"

namespace whale::cli {
namespace {

struct Opts {
  std::string model, input, out;
  int64_t prefill = -1;
  bool mtp = false;
  bool naive = false;
  std::string mmap = "auto";
};

int RunLogits(const Opts& o) {
  SafetensorsFile in(o.input);
  const TensorView* t = in.find("input_ids");
  if (!t) throw Error(o.input + ": tensor input_ids is missing");
  if (t->dtype != DType::kI64 && t->dtype != DType::kI32)
    throw Error(o.input + ": tensor input_ids must be I64 or I32, not " + std::string(DTypeName(t->dtype)));
  if (t->shape.empty() || t->shape.size() > 2) throw Error(o.input + ": tensor input_ids must be [T] or [B, T]");
  const int64_t B = t->shape.size() == 2 ? t->shape[0] : 1, T = t->shape.back();
  if (B <= 0 || T <= 0) throw Error(o.input + ": tensor input_ids is empty");
  std::vector<int32_t> ids(B * T);
  for (int64_t i = 0; i < B * T; ++i) {
    int64_t v;
    if (t->dtype == DType::kI64) std::memcpy(&v, t->data + 8 * i, 8);
    else { int32_t w; std::memcpy(&w, t->data + 4 * i, 4); v = w; }
    ids[i] = int32_t(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX));
    if (v < 0 || v >= INT32_MAX) ids[i] = -1;  // reported as out of vocabulary below
  }

  auto model = LoadModel(o.model, o.mtp, ParseResidency(o.mmap));
  const ModelConfig& c = model->config;
  for (int64_t i = 0; i < B * T; ++i)
    if (ids[i] < 0 || ids[i] >= c.vocab_size)
      throw Error(o.input + ": input_ids[" + std::to_string(i / T) + ", " + std::to_string(i % T) +
                  "] is outside the vocabulary (vocab_size " + std::to_string(c.vocab_size) + ")");
  if (o.mtp && !model->has_mtp()) throw Error(o.model + ": --mtp given but the model has no MTP module");
  const int64_t P = o.prefill < 0 ? T : o.prefill;
  if (P > T) throw Error("--prefill " + std::to_string(P) + " is longer than the input (" + std::to_string(T) + ")");

  Transformer tf(*model, &DefaultPool());
  if (o.naive) tf.attn_path = AttnPath::kNaive;
  LatentCache cache(c, tf.cache_layers(), B, T);
  const int64_t V = c.vocab_size, H = c.hidden_size;
  std::vector<float> logits(B * T * V), hidden(B * T * H);

  // Positions [p0, p1) of every sequence in one call.
  auto step = [&](int64_t p0, int64_t p1) {
    std::vector<int32_t> tok, seq, pos;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t p = p0; p < p1; ++p) tok.push_back(ids[b * T + p]), seq.push_back(int32_t(b)), pos.push_back(int32_t(p));
    std::vector<float> lg(tok.size() * V), hd(tok.size() * H);
    tf.Forward({tok, seq, pos}, cache, lg.data(), hd.data());
    for (size_t i = 0; i < tok.size(); ++i) {
      const int64_t at = seq[i] * T + pos[i];
      std::memcpy(&logits[at * V], &lg[i * V], sizeof(float) * V);
      std::memcpy(&hidden[at * H], &hd[i * H], sizeof(float) * H);
    }
  };
  if (P > 0) step(0, P);
  for (int64_t p = P; p < T; ++p) step(p, p + 1);

  std::map<std::string, OwnedTensor> out;
  auto put = [&](const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v) {
    OwnedTensor ot{DType::kF32, std::move(shape), std::vector<uint8_t>(v.size() * 4)};
    std::memcpy(ot.bytes.data(), v.data(), ot.bytes.size());
    out[name] = std::move(ot);
  };
  put("logits", {B, T, V}, logits);
  if (o.mtp && T > 1) {
    // vLLM semantics: index i pairs the final hidden state at i with ids[i+1].
    std::vector<int32_t> tok, seq, pos;
    std::vector<float> h;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i + 1 < T; ++i) {
        tok.push_back(ids[b * T + i + 1]), seq.push_back(int32_t(b)), pos.push_back(int32_t(i));
        h.insert(h.end(), hidden.begin() + (b * T + i) * H, hidden.begin() + (b * T + i + 1) * H);
      }
    std::vector<float> ml(tok.size() * V);
    tf.ForwardMtp(0, {tok, seq, pos}, h.data(), cache, ml.data(), /*mask_pos0=*/true);
    put("mtp.logits", {B, T - 1, V}, ml);
  }
  WriteSafetensors(o.out, out, {{"model", o.model}, {"prefill_len", std::to_string(P)}});
  return 0;
}

Register logits("logits", "Write the logits of every position for token ids (checks the engine)", [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("--model", o->model, "Hugging Face model folder or .gguf file")->required();
  app.add_option("--input", o->input, "safetensors file with input_ids [T] or [B, T] (I64 or I32)")->required();
  app.add_option("--out", o->out, "output safetensors file: logits [B, T, vocab] F32")->required();
  app.add_option("--prefill", o->prefill, "prefill this many positions in one pass, decode the rest one by one");
  app.add_flag("--mtp", o->mtp, "also write mtp.logits [B, T-1, vocab] from the MTP module (vLLM semantics)");
  AddMmapOption(app, &o->mmap);
  app.add_flag("--naive", o->naive, "use the expanded-K/V attention oracle instead of the absorbed form");
  return [o] { return RunLogits(*o); };
});

}  // namespace
}  // namespace whale::cli
