#include "train/arith_eval.h"

#include <algorithm>
#include <random>
#include <vector>

#include "model/model.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"
#include "train/arithmetic.h"

namespace whale {

ArithEvalResult EvalArithmetic(const std::string& model_dir, int64_t problems, uint64_t seed, int threads) {
  auto model = LoadHfFolder(model_dir, false);
  const Tokenizer tok = Tokenizer::FromModelDir(model_dir);
  ThreadPool pool(threads);
  Transformer tr(*model, &pool);
  const int64_t V = model->config.vocab_size, kBatch = 32, kMaxNew = 240;
  std::mt19937_64 rng(seed);
  ArithEvalResult r;
  for (int64_t done = 0; done < problems; done += kBatch) {
    const int64_t n = std::min(kBatch, problems - done);
    std::vector<ArithProblem> ps;
    std::vector<std::vector<int32_t>> prompts, out(n);
    int64_t max_prompt = 0;
    for (int64_t i = 0; i < n; ++i) {
      ps.push_back(DrawProblem(rng, true));
      prompts.push_back(tok.Encode(ArithPrompt(ps.back()), false));
      max_prompt = std::max<int64_t>(max_prompt, prompts.back().size());
    }
    LatentCache cache(model->config, tr.cache_layers(), n, max_prompt + kMaxNew + 1);
    std::vector<int32_t> toks, seq, pos;
    std::vector<int64_t> last(n), len(n);
    for (int64_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < prompts[i].size(); ++j) toks.push_back(prompts[i][j]), seq.push_back(int32_t(i)), pos.push_back(int32_t(j));
      last[i] = int64_t(toks.size()) - 1;
      len[i] = int64_t(prompts[i].size());
    }
    std::vector<bool> active(n, true);
    for (int64_t stepi = 0; stepi <= kMaxNew; ++stepi) {
      std::vector<float> logits(toks.size() * V);
      tr.Forward(Batch{toks, seq, pos}, cache, logits.data());
      std::vector<int32_t> nt, ns, np;
      for (int64_t i = 0; i < n; ++i) {
        if (!active[i]) continue;
        const float* l = logits.data() + last[i] * V;
        const int32_t next = int32_t(std::max_element(l, l + V) - l);
        if (next == tok.eos_id() || stepi == kMaxNew) {
          active[i] = false;
          continue;
        }
        out[i].push_back(next);
        last[i] = int64_t(nt.size());
        nt.push_back(next), ns.push_back(int32_t(i)), np.push_back(int32_t(len[i]++));
      }
      if (nt.empty()) break;
      toks = nt, seq = ns, pos = np;
    }
    for (int64_t i = 0; i < n; ++i) {
      const std::string text = tok.Decode(out[i]);
      const bool ok = ArithCorrect(ps[i], text);
      const int op = ps[i].op == '+' ? 0 : ps[i].op == '-' ? 1 : 2;
      r.correct += ok, r.total++;
      r.by_op_correct[op] += ok, r.by_op_total[op]++;
      if (r.example.empty()) r.example = ps[i].Question() + "\n" + text;
    }
  }
  return r;
}

}  // namespace whale
