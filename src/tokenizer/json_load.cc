#include "tokenizer/json_load.h"

#include "io/error.h"

namespace whale {
namespace {

using nlohmann::json;

// Forwards every event to nlohmann's DOM builder except inside model.vocab
// and model.merges, whose entries it collects itself.
class Handler {
 public:
  Handler(json& root, BpeData* data) : dom_(root, true), data_(data) {}

  bool null() { return Value() && dom_.null(); }
  bool boolean(bool v) { return Value() && dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) {
    if (mode_ == kVocab && depth_ == mode_depth_) {
      data_->vocab.emplace_back(std::move(key_), v);
      return true;
    }
    return Value() && dom_.number_integer(v);
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (mode_ == kVocab && depth_ == mode_depth_) {
      data_->vocab.emplace_back(std::move(key_), static_cast<int64_t>(v));
      return true;
    }
    return Value() && dom_.number_unsigned(v);
  }
  bool number_float(json::number_float_t v, const std::string& s) { return Value() && dom_.number_float(v, s); }
  bool string(std::string& v) {
    if (mode_ == kMerges) {
      if (depth_ == mode_depth_) {
        size_t sp = v.find(' ');
        if (sp == std::string::npos || v.find(' ', sp + 1) != std::string::npos)
          throw Error("tokenizer.json: merges[" + std::to_string(data_->merges.size()) + "] \"" + v +
                      "\" is not two tokens separated by one space");
        data_->merges.emplace_back(v.substr(0, sp), v.substr(sp + 1));
        return true;
      }
      if (depth_ == mode_depth_ + 1 && pair_.size() < 2) {
        pair_.push_back(std::move(v));
        return true;
      }
    }
    return Value() && dom_.string(v);
  }
  bool binary(json::binary_t& v) { return Value() && dom_.binary(v); }
  bool start_object(std::size_t n) {
    if (mode_ != kNone) BadEntry();
    ++depth_;
    if (depth_ == 3 && path_[1] == "model" && path_[2] == "vocab") {
      mode_ = kVocab;
      mode_depth_ = depth_;
      data_->has_vocab = true;
      data_->vocab.reserve(1 << 17);
    }
    path_.resize(depth_ + 1);
    path_[depth_].clear();
    return dom_.start_object(mode_ == kVocab ? 0 : n);
  }
  bool key(std::string& k) {
    if (mode_ == kVocab) {
      key_ = std::move(k);
      return true;
    }
    path_[depth_] = k;
    return dom_.key(k);
  }
  bool end_object() {
    if (mode_ == kVocab && depth_ == mode_depth_) mode_ = kNone;
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    ++depth_;
    if (mode_ == kMerges) {
      if (depth_ != mode_depth_ + 1) BadEntry();
      pair_.clear();
      return true;
    }
    if (mode_ != kNone) BadEntry();
    if (depth_ == 3 && path_[1] == "model" && path_[2] == "merges") {
      mode_ = kMerges;
      mode_depth_ = depth_;
      data_->has_merges = true;
      data_->merges.reserve(1 << 17);
      path_.resize(depth_ + 1);
      path_[depth_].clear();
      return dom_.start_array(0);
    }
    path_.resize(depth_ + 1);
    path_[depth_].clear();
    return dom_.start_array(n);
  }
  bool end_array() {
    if (mode_ == kMerges && depth_ == mode_depth_ + 1) {
      if (pair_.size() != 2) BadEntry();
      data_->merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      --depth_;
      return true;
    }
    if (mode_ == kMerges && depth_ == mode_depth_) mode_ = kNone;
    --depth_;
    return dom_.end_array();
  }
  bool parse_error(std::size_t pos, const std::string& tok, const nlohmann::detail::exception& e) {
    throw Error("tokenizer.json: not valid JSON: " + std::string(e.what()));
  }

 private:
  enum Mode { kNone, kVocab, kMerges };
  // A scalar where vocab wants an id or merges a pair: reject it.
  bool Value() {
    if (mode_ != kNone) BadEntry();
    return true;
  }
  [[noreturn]] void BadEntry() {
    if (mode_ == kVocab) throw Error("tokenizer.json: model.vocab[\"" + key_ + "\"] is not an integer id");
    throw Error("tokenizer.json: merges[" + std::to_string(data_->merges.size()) +
                "] is neither \"a b\" nor [\"a\", \"b\"]");
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  BpeData* data_;
  std::vector<std::string> path_ = std::vector<std::string>(1);
  int depth_ = 0, mode_depth_ = 0;
  Mode mode_ = kNone;
  std::string key_;
  std::vector<std::string> pair_;
};

}  // namespace

json ParseTokenizerJson(const std::string& text, BpeData* data) {
  json root;
  Handler h(root, data);
  json::sax_parse(text, &h);
  return root;
}

BpeData BpeDataFromJson(const json& model) {
  BpeData d;
  auto vit = model.find("vocab");
  if (vit != model.end() && vit->is_object()) {
    d.has_vocab = true;
    for (auto it = vit->begin(); it != vit->end(); ++it) {
      if (!it.value().is_number_integer()) throw Error("tokenizer.json: model.vocab[\"" + it.key() + "\"] is not an integer id");
      d.vocab.emplace_back(it.key(), it.value().get<int64_t>());
    }
  }
  auto mit = model.find("merges");
  if (mit != model.end() && mit->is_array()) {
    d.has_merges = true;
    for (size_t i = 0; i < mit->size(); ++i) {
      const json& m = (*mit)[i];
      if (m.is_string()) {
        const std::string& s = m.get_ref<const std::string&>();
        size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          throw Error("tokenizer.json: merges[" + std::to_string(i) + "] \"" + s +
                      "\" is not two tokens separated by one space");
        d.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        d.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        throw Error("tokenizer.json: merges[" + std::to_string(i) + "] is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
  }
  return d;
}

}  // namespace whale
