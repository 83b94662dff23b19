// Open-addressing hash tables for the BPE's two hot lookups (token text ->
// id at load, pair -> merge at encode): one flat array each, far fewer cache
// misses than std::unordered_map's node lists.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace whale {

// uint64 key -> value; key ~0 is reserved as "empty".
template <class V>
class FlatU64Map {
 public:
  void Reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    keys_.assign(cap, kEmpty);
    vals_.assign(cap, V{});
    mask_ = cap - 1;
    size_ = 0;
  }
  // Inserts or overwrites.
  void Put(uint64_t key, const V& v) {
    if ((size_ + 1) * 2 > keys_.size()) Grow();
    size_t i = Slot(key);
    if (keys_[i] == kEmpty) ++size_;
    keys_[i] = key;
    vals_[i] = v;
  }
  const V* Find(uint64_t key) const {
    if (keys_.empty()) return nullptr;
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &vals_[i];
      if (keys_[i] == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t Hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  size_t Slot(uint64_t key) const {
    size_t i = Hash(key) & mask_;
    while (keys_[i] != kEmpty && keys_[i] != key) i = (i + 1) & mask_;
    return i;
  }
  void Grow() {
    std::vector<uint64_t> keys = std::move(keys_);
    std::vector<V> vals = std::move(vals_);
    Reserve(keys.empty() ? 8 : keys.size());
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] != kEmpty) Put(keys[i], vals[i]);
  }
  std::vector<uint64_t> keys_;
  std::vector<V> vals_;
  size_t mask_ = 0, size_ = 0;
};

// String -> id where the strings live in an external id -> string table.
class FlatStringIndex {
 public:
  // Indexes every non-empty strings[id]; a repeated string keeps its first id.
  void Build(const std::vector<std::string>* strings) {
    strings_ = strings;
    size_t cap = 16;
    while (cap < strings->size() * 2) cap <<= 1;
    slots_.assign(cap, -1);
    mask_ = cap - 1;
    for (size_t id = 0; id < strings->size(); ++id) {
      const std::string& s = (*strings)[id];
      if (s.empty()) continue;
      size_t i = std::hash<std::string_view>()(s) & mask_;
      while (slots_[i] >= 0 && (*strings_)[slots_[i]] != s) i = (i + 1) & mask_;
      if (slots_[i] < 0) slots_[i] = static_cast<int32_t>(id);
    }
  }
  int32_t Find(std::string_view s) const {
    if (slots_.empty()) return -1;
    for (size_t i = std::hash<std::string_view>()(s) & mask_;; i = (i + 1) & mask_) {
      int32_t id = slots_[i];
      if (id < 0) return -1;
      if ((*strings_)[id] == s) return id;
    }
  }

 private:
  const std::vector<std::string>* strings_ = nullptr;
  std::vector<int32_t> slots_;
  size_t mask_ = 0;
};

}  // namespace whale
