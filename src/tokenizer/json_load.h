// Fast tokenizer.json parsing: model.vocab and model.merges (about 95% of
// the 8 MB file) go straight into flat vectors through a SAX pass instead of
// nlohmann's std::map DOM; everything else becomes an ordinary json DOM.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace whale {

struct BpeData {
  std::vector<std::pair<std::string, int64_t>> vocab;  // token (byte alphabet) -> id, file order
  std::vector<std::pair<std::string, std::string>> merges;
  bool has_vocab = false, has_merges = false;
};

// Parses tokenizer.json text. In the returned DOM model.vocab is {} and
// model.merges is [] when they were captured in *data. Throws Error on
// malformed JSON or on a vocab/merges entry of the wrong type.
nlohmann::json ParseTokenizerJson(const std::string& text, BpeData* data);

// The same data from a DOM (tokenizer.json objects built in memory).
BpeData BpeDataFromJson(const nlohmann::json& model);

}  // namespace whale
