#include "tokenizer/bpe.h"

#include <algorithm>
#include <optional>

#include "io/error.h"
#include "tokenizer/byte_level.h"

namespace whale {
namespace {

using nlohmann::json;

// A merge entry: "a b" (older files) or ["a", "b"] (newer ones).
std::pair<std::string, std::string> ParseMerge(const json& m, size_t i) {
  if (m.is_string()) {
    const std::string& s = m.get_ref<const std::string&>();
    size_t sp = s.find(' ');
    if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
      throw Error("tokenizer.json: merges[" + std::to_string(i) + "] \"" + s + "\" is not two tokens separated by one space");
    return {s.substr(0, sp), s.substr(sp + 1)};
  }
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
    return {m[0].get<std::string>(), m[1].get<std::string>()};
  throw Error("tokenizer.json: merges[" + std::to_string(i) + "] is neither \"a b\" nor [\"a\", \"b\"]");
}

void RequireNullOr(const json& model, const char* key, const json& allowed) {
  auto it = model.find(key);
  if (it == model.end() || it->is_null() || *it == allowed) return;
  throw Error(std::string("tokenizer.json: BPE option \"") + key + "\" = " + it->dump() + " is not supported");
}

}  // namespace

Bpe::Bpe(const json& model) {
  if (!model.is_object()) throw Error("tokenizer.json: \"model\" is missing or not an object");
  std::string type = model.value("type", "BPE");
  if (type != "BPE") throw Error("tokenizer.json: model type \"" + type + "\" is not supported (only BPE)");
  RequireNullOr(model, "dropout", json(0.0));
  RequireNullOr(model, "continuing_subword_prefix", json(""));
  RequireNullOr(model, "end_of_word_suffix", json(""));
  RequireNullOr(model, "byte_fallback", json(false));
  RequireNullOr(model, "ignore_merges", json(false));
  // unk_token and fuse_unk never matter: every byte is in a byte-level vocab.

  auto vit = model.find("vocab");
  if (vit == model.end() || !vit->is_object()) throw Error("tokenizer.json: model.vocab is missing or not an object");
  const json& vocab = *vit;
  token_to_id_.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) throw Error("tokenizer.json: model.vocab[\"" + it.key() + "\"] is not an integer id");
    int64_t id = it.value().get<int64_t>();
    if (id < 0 || id > 10'000'000) throw Error("tokenizer.json: model.vocab[\"" + it.key() + "\"] has id out of range");
    if (static_cast<size_t>(id) >= id_to_token_.size()) id_to_token_.resize(id + 1);
    id_to_token_[id] = it.key();
    token_to_id_.emplace(it.key(), static_cast<int32_t>(id));
  }
  for (int b = 0; b < 256; ++b) {
    auto it = token_to_id_.find(BytesToAlphabet(std::string(1, static_cast<char>(b))));
    byte_id_[b] = it == token_to_id_.end() ? -1 : it->second;  // missing: dropped, as the reference does
  }

  auto mit = model.find("merges");
  if (mit == model.end() || !mit->is_array()) throw Error("tokenizer.json: model.merges is missing or not an array");
  const json& merges = *mit;
  merges_.reserve(merges.size());
  std::string joined;
  for (size_t i = 0; i < merges.size(); ++i) {
    auto [a, b] = ParseMerge(merges[i], i);
    auto ia = token_to_id_.find(a), ib = token_to_id_.find(b);
    joined.assign(a).append(b);
    auto ij = token_to_id_.find(joined);
    if (ia == token_to_id_.end() || ib == token_to_id_.end() || ij == token_to_id_.end())
      throw Error("tokenizer.json: merges[" + std::to_string(i) + "] (\"" + a + "\", \"" + b +
                  "\") uses a token that is not in the vocab");
    merges_.insert_or_assign(Key(ia->second, ib->second), Merge{static_cast<int32_t>(i), ij->second});
  }
}

std::optional<int32_t> Bpe::Find(std::string_view token) const {
  auto it = token_to_id_.find(std::string(token));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

void Bpe::Encode(std::string_view piece, bool prefix_space, std::vector<int32_t>& out) const {
  std::string tmp;
  if (prefix_space) {
    tmp.reserve(piece.size() + 1);
    tmp.assign(" ").append(piece);
    piece = tmp;
  }
  if (piece.size() <= kCacheMaxWord) {
    std::string key(piece);
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      auto it = cache_.find(key);
      if (it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    size_t start = out.size();
    MergeWord(piece, out);
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() < kCacheMax) cache_.emplace(std::move(key), std::vector<int32_t>(out.begin() + start, out.end()));
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
    auto it = merges_.find(Key(syms[pos].id, syms[nx].id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, pos, it->second.result});
    std::push_heap(heap.begin(), heap.end(), std::greater<Cand>());
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<Cand>());
    Cand c = heap.back();
    heap.pop_back();
    Sym& s = syms[c.pos];
    if (!s.alive || s.next < 0) continue;
    auto it = merges_.find(Key(s.id, syms[s.next].id));
    if (it == merges_.end() || it->second.result != c.result) continue;  // stale candidate
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
