// Added tokens (specials like <｜begin▁of▁sentence｜>, chat markers): found in
// the raw text before any pre-tokenization, leftmost-longest, exact bytes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace whale {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
};

// A stretch of input: an added token (id >= 0) or plain text (id < 0).
struct Segment {
  size_t begin, end;
  int32_t id;
};

class AddedTokenMatcher {
 public:
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);

  // Splits text into plain and added-token segments, in order. Like the
  // reference, tokens with normalized=false are found first, then those with
  // normalized=true in the plain stretches left (the normalizer being empty,
  // both see the same text); lstrip/rstrip swallow adjacent white space and
  // single_word tokens only match between non-word characters.
  void Split(std::string_view text, std::vector<Segment>& out) const;

 private:
  struct Trie {
    std::unordered_map<uint64_t, int32_t> edges;  // (node << 8 | byte) -> node
    std::vector<int32_t> token_at;                // node -> index in tokens_, or -1
    bool first_byte[256] = {};
    Trie() : token_at(1, -1) {}
    void Add(std::string_view s, int32_t token);
    // Longest token starting at text[i]: its index, and its length in *len.
    int32_t LongestAt(std::string_view text, size_t i, size_t* len) const;
  };
  void SplitWith(const Trie& trie, std::string_view text, size_t begin, size_t end, std::vector<Segment>& out) const;

  std::vector<AddedToken> tokens_;
  Trie raw_, normalized_;
  bool has_raw_ = false, has_normalized_ = false;
};

}  // namespace whale
