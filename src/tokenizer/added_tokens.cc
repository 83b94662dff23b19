#include "tokenizer/added_tokens.h"

#include "tokenizer/utf8.h"

namespace whale {
namespace {

// Rust's char::is_whitespace (Unicode White_Space), for lstrip/rstrip.
bool IsSpaceAt(std::string_view s, size_t i, size_t* len) {
  size_t k = Utf8CharLen(s, i);
  *len = k;
  if (k == 0) return false;
  unsigned char c = s[i];
  if (k == 1) return (c >= 9 && c <= 13) || c == ' ';
  uint32_t cp = k == 2 ? ((c & 0x1F) << 6) | (s[i + 1] & 0x3F)
              : k == 3 ? ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F)
                       : 0;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Approximation of the reference's word-character test (alphanumeric or
// '_'): ASCII word characters and any non-ASCII byte.
bool IsWordByte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

}  // namespace

void AddedTokenMatcher::Trie::Add(std::string_view s, int32_t token) {
  if (s.empty()) return;
  first_byte[static_cast<unsigned char>(s[0])] = true;
  int32_t node = 0;
  for (unsigned char c : s) {
    uint64_t key = (uint64_t(node) << 8) | c;
    auto it = edges.find(key);
    if (it == edges.end()) {
      int32_t n = static_cast<int32_t>(token_at.size());
      token_at.push_back(-1);
      it = edges.emplace(key, n).first;
    }
    node = it->second;
  }
  if (token_at[node] < 0) token_at[node] = token;  // duplicates: the first wins
}

int32_t AddedTokenMatcher::Trie::LongestAt(std::string_view text, size_t i, size_t* len) const {
  int32_t node = 0, best = -1;
  for (size_t j = i; j < text.size(); ++j) {
    auto it = edges.find((uint64_t(node) << 8) | static_cast<unsigned char>(text[j]));
    if (it == edges.end()) break;
    node = it->second;
    if (token_at[node] >= 0) {
      best = token_at[node];
      *len = j + 1 - i;
    }
  }
  return best;
}

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) : tokens_(tokens) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].normalized) {
      normalized_.Add(tokens_[i].content, static_cast<int32_t>(i));
      has_normalized_ = true;
    } else {
      raw_.Add(tokens_[i].content, static_cast<int32_t>(i));
      has_raw_ = true;
    }
  }
}

void AddedTokenMatcher::Split(std::string_view text, std::vector<Segment>& out) const {
  out.clear();
  if (!has_raw_) {
    SplitWith(normalized_, text, 0, text.size(), out);
    return;
  }
  std::vector<Segment> first;
  SplitWith(raw_, text, 0, text.size(), first);
  for (const Segment& s : first) {
    if (s.id >= 0 || !has_normalized_) out.push_back(s);
    else SplitWith(normalized_, text, s.begin, s.end, out);
  }
}

void AddedTokenMatcher::SplitWith(const Trie& trie, std::string_view full, size_t begin, size_t end,
                                  std::vector<Segment>& out) const {
  std::string_view text = full.substr(0, end);
  size_t start_offset = begin;  // end of the last emitted token
  size_t i = begin;
  while (i < end) {
    if (!trie.first_byte[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    size_t len = 0;
    int32_t t = trie.LongestAt(text, i, &len);
    if (t < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = tokens_[t];
    size_t b = i, e = i + len;
    i = e;  // matches never overlap
    if (tok.single_word) {
      bool left_ok = b == begin || !IsWordByte(text[b - 1]);
      bool right_ok = e == end || !IsWordByte(text[e]);
      if (!left_ok || !right_ok) continue;
    }
    if (tok.lstrip) {
      // Back over white space, but not into what a previous token took.
      size_t nb = b;
      while (nb > start_offset) {
        size_t p = nb - 1, k = 0;
        while (p > start_offset && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
        if (!IsSpaceAt(text, p, &k) || p + k != nb) break;
        nb = p;
      }
      b = nb;
    }
    if (tok.rstrip) {
      size_t k = 0;
      while (e < end && IsSpaceAt(text, e, &k)) e += k;
      i = e;
    }
    if (b > start_offset) out.push_back({start_offset, b, -1});
    out.push_back({b, e, tok.id});
    start_offset = e;
  }
  if (start_offset < end) out.push_back({start_offset, end, -1});
}

}  // namespace whale
