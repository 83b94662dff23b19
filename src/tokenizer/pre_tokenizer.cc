#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <string>

#include "io/error.h"
#include "tokenizer/regex.h"
#include "tokenizer/regex_compat.h"

namespace whale {
namespace {

using nlohmann::json;

// The GPT-2 split ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string EscapeLiteral(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

bool GetBool(const json& j, const char* key, bool def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  if (!it->is_boolean()) throw Error(std::string("tokenizer.json: pre_tokenizer field \"") + key + "\" is not a boolean");
  return it->get<bool>();
}

}  // namespace

PreTokenizer::PreTokenizer(const json& j) {
  if (!j.is_object()) throw Error("tokenizer.json: pre_tokenizer is missing or not an object");
  std::string type = j.value("type", "");
  if (type == "Sequence") {
    const auto it = j.find("pretokenizers");
    if (it == j.end() || !it->is_array()) throw Error("tokenizer.json: pre_tokenizer Sequence has no \"pretokenizers\" array");
    for (size_t i = 0; i < it->size(); ++i) AddStep((*it)[i], i + 1 == it->size());
  } else {
    AddStep(j, true);
  }
  if (!has_byte_level_)
    throw Error("tokenizer.json: pre_tokenizer without ByteLevel is not supported (only byte-level BPE is)");
}

PreTokenizer::~PreTokenizer() = default;

void PreTokenizer::AddStep(const json& j, bool last) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw Error("tokenizer.json: pre_tokenizer step without a \"type\"");
  std::string type = j["type"];
  if (has_byte_level_) throw Error("tokenizer.json: pre_tokenizer " + type + " after ByteLevel is not supported");
  Step step;
  if (type == "Split") {
    const json& pat = j.value("pattern", json());
    std::string re;
    if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string()) {
      re = OnigurumaToPcre2(pat["Regex"].get<std::string>());
    } else if (pat.is_object() && pat.contains("String") && pat["String"].is_string()) {
      re = EscapeLiteral(pat["String"].get<std::string>());
    } else {
      throw Error("tokenizer.json: Split pattern must be {\"Regex\": ...} or {\"String\": ...}");
    }
    std::string b = j.value("behavior", "");
    if (b == "Removed") step.behavior = Behavior::kRemoved;
    else if (b == "Isolated") step.behavior = Behavior::kIsolated;
    else if (b == "MergedWithPrevious") step.behavior = Behavior::kMergedWithPrevious;
    else if (b == "MergedWithNext") step.behavior = Behavior::kMergedWithNext;
    else if (b == "Contiguous") step.behavior = Behavior::kContiguous;
    else throw Error("tokenizer.json: Split behavior \"" + b + "\" is not supported");
    step.invert = GetBool(j, "invert", false);
    step.regex = std::make_unique<Regex>(re);
    steps_.push_back(std::move(step));
  } else if (type == "Digits") {
    step.behavior = GetBool(j, "individual_digits", false) ? Behavior::kIsolated : Behavior::kContiguous;
    step.regex = std::make_unique<Regex>(OnigurumaToPcre2("\\p{N}"));
    steps_.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    if (!last) throw Error("tokenizer.json: ByteLevel must be the last pre_tokenizer step");
    has_byte_level_ = true;
    bool prefix = GetBool(j, "add_prefix_space", true);
    bool use_regex = GetBool(j, "use_regex", true);
    if (prefix) {
      Step p;
      p.prefix_space = true;
      steps_.push_back(std::move(p));
    }
    if (use_regex) {
      step.regex = std::make_unique<Regex>(OnigurumaToPcre2(kGpt2Pattern));
      steps_.push_back(std::move(step));
    }
  } else {
    throw Error("tokenizer.json: pre_tokenizer type \"" + type + "\" is not supported");
  }
}

void PreTokenizer::Split(std::string_view text, std::vector<Piece>& pieces) const {
  pieces.clear();
  pieces.push_back({0, static_cast<uint32_t>(text.size()), false});
  std::vector<Piece> next;
  for (const Step& s : steps_) {
    next.clear();
    ApplyStep(s, text, pieces, next);
    pieces.swap(next);
  }
}

void PreTokenizer::ApplyStep(const Step& step, std::string_view text, std::vector<Piece>& in,
                             std::vector<Piece>& out) const {
  if (!step.regex) {  // add_prefix_space: each piece not starting with ' '
    for (Piece p : in) {
      if (p.end == p.begin) continue;
      if (p.prefix_space || (p.end > p.begin && text[p.begin] == ' ')) {
        out.push_back(p);
      } else {
        p.prefix_space = true;
        out.push_back(p);
      }
    }
    return;
  }
  struct Part {
    size_t b, e;
    bool match;
  };
  std::vector<std::pair<size_t, size_t>> matches;
  std::vector<Part> parts, merged;
  std::string buf;
  for (const Piece& p : in) {
    // A prefixed piece is matched as " " + text; offsets then are shifted by one.
    std::string_view sub = text.substr(p.begin, p.end - p.begin);
    if (p.prefix_space) {
      buf.assign(" ").append(sub);
      sub = buf;
    }
    if (sub.empty()) continue;
    matches.clear();
    step.regex->FindAll(sub, matches);
    parts.clear();
    size_t prev = 0;
    for (auto [b, e] : matches) {
      if (b > prev) parts.push_back({prev, b, step.invert});
      parts.push_back({b, e, !step.invert});
      prev = e;
    }
    if (prev < sub.size()) parts.push_back({prev, sub.size(), step.invert});

    // The reference's SplitDelimiterBehavior, part by part.
    merged.clear();
    bool prev_match = false;
    switch (step.behavior) {
      case Behavior::kIsolated:
        merged = parts;
        break;
      case Behavior::kRemoved:
        for (const Part& x : parts)
          if (!x.match) merged.push_back(x);
        break;
      case Behavior::kMergedWithPrevious:
        for (const Part& x : parts) {
          if (x.match && !prev_match && !merged.empty()) merged.back().e = x.e;
          else merged.push_back(x);
          prev_match = x.match;
        }
        break;
      case Behavior::kMergedWithNext:
        for (size_t i = parts.size(); i-- > 0;) {
          const Part& x = parts[i];
          if (x.match && !prev_match && !merged.empty()) merged.back().b = x.b;
          else merged.push_back(x);
          prev_match = x.match;
        }
        std::reverse(merged.begin(), merged.end());
        break;
      case Behavior::kContiguous:
        for (size_t i = 0; i < parts.size(); ++i) {
          const Part& x = parts[i];
          if (i > 0 && x.match == prev_match) merged.back().e = x.e;
          else merged.push_back(x);
          prev_match = x.match;
        }
        break;
    }
    for (const Part& x : merged) {
      if (x.e <= x.b) continue;
      if (!p.prefix_space) {
        out.push_back({static_cast<uint32_t>(p.begin + x.b), static_cast<uint32_t>(p.begin + x.e), false});
      } else if (x.b == 0) {
        out.push_back({p.begin, static_cast<uint32_t>(p.begin + x.e - 1), true});
      } else {
        out.push_back({static_cast<uint32_t>(p.begin + x.b - 1), static_cast<uint32_t>(p.begin + x.e - 1), false});
      }
    }
  }
}

}  // namespace whale
