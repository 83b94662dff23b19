// The pre-tokenizer of a byte-level BPE tokenizer.json: Split (regex or
// string, every behaviour, invert), Digits and ByteLevel (add_prefix_space,
// use_regex), alone or in a Sequence. Each step splits every piece the
// previous step made; steps never see across piece boundaries.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace whale {

class Regex;

// A span of the input; prefix_space means ByteLevel(add_prefix_space)
// put a space in front of it.
struct Piece {
  uint32_t begin;
  uint32_t end;
  bool prefix_space = false;
};

class PreTokenizer {
 public:
  // Throws Error naming any unsupported type or option. The pipeline must
  // contain a ByteLevel step, as the last one: the BPE works on bytes.
  explicit PreTokenizer(const nlohmann::json& j);
  ~PreTokenizer();

  // Replaces `pieces` with the pieces of text, left to right.
  void Split(std::string_view text, std::vector<Piece>& pieces) const;

 private:
  enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
  struct Step {
    std::unique_ptr<Regex> regex;  // null: the step only adds the prefix space
    Behavior behavior = Behavior::kIsolated;
    bool invert = false;
    bool prefix_space = false;
  };
  void AddStep(const nlohmann::json& j, bool last);
  void ApplyStep(const Step& step, std::string_view text, std::vector<Piece>& in, std::vector<Piece>& out) const;

  std::vector<Step> steps_;
  bool has_byte_level_ = false;
};

}  // namespace whale
