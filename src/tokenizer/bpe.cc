#include "tokenizer/bpe.h"

#include <algorithm>
#include <optional>

#include "io/error.h"
#include "tokenizer/byte_level.h"

namespace whale {
namespace {

using nlohmann::json;

void RequireNullOr(const json& model, const char* key, const json& allowed) {
  auto it = model.find(key);
  if (it == model.end() || it->is_null() || *it == allowed) return;
  throw Error(std::string("tokenizer.json: BPE option \"") + key + "\" = " + it->dump() + " is not supported");
}

}  // namespace

Bpe::Bpe(const json& model, BpeData&& data) {
  if (!model.is_object()) throw Error("tokenizer.json: \"model\" is missing or not an object");
  std::string type = model.value("type", "BPE");
  if (type != "BPE") throw Error("tokenizer.json: model type \"" + type + "\" is not supported (only BPE)");
  RequireNullOr(model, "dropout", json(0.0));
  RequireNullOr(model, "continuing_subword_prefix", json(""));
  RequireNullOr(model, "end_of_word_suffix", json(""));
  RequireNullOr(model, "byte_fallback", json(false));
  RequireNullOr(model, "ignore_merges", json(false));
  // unk_token and fuse_unk never matter: every byte is in a byte-level vocab.

  if (!data.has_vocab) throw Error("tokenizer.json: model.vocab is missing or not an object");
  if (!data.has_merges) throw Error("tokenizer.json: model.merges is missing or not an array");
  for (auto& [token, id] : data.vocab) {
    if (id < 0 || id > 10'000'000) throw Error("tokenizer.json: model.vocab[\"" + token + "\"] has id out of range");
    if (static_cast<size_t>(id) >= id_to_token_.size()) id_to_token_.resize(id + 1);
    id_to_token_[id] = std::move(token);
  }
  token_to_id_.Build(&id_to_token_);
  for (int b = 0; b < 256; ++b)  // a missing byte is dropped, as the reference does
    byte_id_[b] = token_to_id_.Find(BytesToAlphabet(std::string(1, static_cast<char>(b))));
  merges_.Reserve(data.merges.size());
  std::string joined;
  for (size_t i = 0; i < data.merges.size(); ++i) {
    const auto& [a, b] = data.merges[i];
    int32_t ia = token_to_id_.Find(a), ib = token_to_id_.Find(b);
    joined.assign(a).append(b);
    int32_t ij = token_to_id_.Find(joined);
    if (ia < 0 || ib < 0 || ij < 0)
      throw Error("tokenizer.json: merges[" + std::to_string(i) + "] (\"" + a + "\", \"" + b +
                  "\") uses a token that is not in the vocab");
    merges_.Put(Key(ia, ib), Merge{static_cast<int32_t>(i), ij});
  }
  data = BpeData();
}

std::optional<int32_t> Bpe::Find(std::string_view token) const {
  int32_t id = token_to_id_.Find(token);
  if (id < 0) return std::nullopt;
  return id;
}

void Bpe::Encode(std::string_view piece, bool prefix_space, std::vector<int32_t>& out) const {
  std::string tmp;
  if (prefix_space) {
    tmp.reserve(piece.size() + 1);
    tmp.assign(" ").append(piece);
    piece = tmp;
  }
  if (piece.size() <= kCacheMaxWord) {
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      auto it = cache_.find(piece);
      if (it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    size_t start = out.size();
    MergeWord(piece, out);
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() < kCacheMax) cache_.emplace(std::string(piece), std::vector<int32_t>(out.begin() + start, out.end()));
    return;
  }
  MergeWord(piece, out);
}

// Repeatedly merges the adjacent pair of lowest rank (leftmost on ties), with
// a heap over candidate pairs and a linked list of symbols: O(n log n), so
// huge pieces (a megabyte of spaces) stay fast.
void Bpe::MergeWord(std::string_view bytes, std::vector<int32_t>& out) const {
  struct Sym {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  struct Cand {
    int32_t rank, pos, result;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  thread_local std::vector<Sym> syms;
  thread_local std::vector<Cand> heap;
  syms.clear();
  heap.clear();
  for (unsigned char c : bytes) {
    if (byte_id_[c] < 0) continue;
    int32_t i = static_cast<int32_t>(syms.size());
    syms.push_back({byte_id_[c], i - 1, i + 1, true});
  }
  if (syms.empty()) return;
  syms.back().next = -1;
  auto push = [&](int32_t pos) {
    int32_t nx = syms[pos].next;
    if (nx < 0) return;
    const Merge* m = merges_.Find(Key(syms[pos].id, syms[nx].id));
    if (!m) return;
    heap.push_back({m->rank, pos, m->result});
    std::push_heap(heap.begin(), heap.end(), std::greater<Cand>());
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<Cand>());
    Cand c = heap.back();
    heap.pop_back();
    Sym& s = syms[c.pos];
    if (!s.alive || s.next < 0) continue;
    const Merge* m = merges_.Find(Key(s.id, syms[s.next].id));
    if (!m || m->result != c.result) continue;  // stale candidate
    Sym& r = syms[s.next];
    s.id = c.result;
    r.alive = false;
    s.next = r.next;
    if (s.next >= 0) syms[s.next].prev = c.pos;
    if (s.prev >= 0) push(s.prev);
    push(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
}

}  // namespace whale
