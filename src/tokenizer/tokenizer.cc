#include "tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "io/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/json_load.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace whale {

using nlohmann::json;

struct Tokenizer::Impl {
  std::unique_ptr<Bpe> bpe;
  std::unique_ptr<PreTokenizer> pre;
  std::unique_ptr<AddedTokenMatcher> matcher;
  std::vector<AddedToken> added;
  std::unordered_map<std::string, int32_t> added_by_content;
  std::vector<std::string> decode_bytes;  // per id
  std::vector<uint8_t> special;           // per id
  std::vector<int32_t> prefix_ids, suffix_ids;  // added by add_special_tokens
  int32_t bos_id = -1, eos_id = -1;
  std::string bos_token, eos_token, chat_template;
};

namespace {

const json& Field(const json& j, const char* key) {
  static const json null;
  auto it = j.find(key);
  return it == j.end() ? null : *it;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error(path + ": cannot open");
  std::string s(static_cast<size_t>(f.tellg()), '\0');
  f.seekg(0);
  if (!f.read(s.data(), static_cast<std::streamsize>(s.size()))) throw Error(path + ": read failed");
  return s;
}

json ParseJson(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(what + ": not valid JSON: " + e.what());
  }
}

// "content" of a config token: a plain string or an AddedToken object.
std::string ConfigToken(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"];
  throw Error(std::string("tokenizer_config.json: \"") + key + "\" is neither a string nor a token object");
}

void CheckNormalizer(const json& n) {
  if (n.is_null()) return;
  std::string type = n.is_object() ? n.value("type", "") : "";
  if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
    for (const json& x : n["normalizers"]) CheckNormalizer(x);
    return;
  }
  throw Error("tokenizer.json: normalizer \"" + (type.empty() ? n.dump() : type) + "\" is not supported");
}

void CheckDecoder(const json& d) {
  std::string type = d.is_object() ? d.value("type", "") : "";
  if (type == "ByteLevel") return;
  if (type == "Sequence" && d.contains("decoders") && d["decoders"].is_array() && d["decoders"].size() == 1) {
    CheckDecoder(d["decoders"][0]);
    return;
  }
  throw Error("tokenizer.json: decoder " + (type.empty() ? d.dump() : "\"" + type + "\"") +
              " is not supported (only ByteLevel)");
}

// TemplateProcessing's "single": special tokens before and after $A.
void ParsePostProcessor(const json& p, std::vector<int32_t>& prefix, std::vector<int32_t>& suffix) {
  if (p.is_null()) return;
  std::string type = p.is_object() ? p.value("type", "") : "";
  if (type == "ByteLevel") return;  // offsets only
  if (type == "Sequence" && p.contains("processors") && p["processors"].is_array()) {
    for (const json& x : p["processors"]) ParsePostProcessor(x, prefix, suffix);
    return;
  }
  if (type == "TemplateProcessing" && p.contains("single") && p["single"].is_array()) {
    bool seen_a = false;
    for (const json& item : p["single"]) {
      if (item.contains("Sequence")) {
        seen_a = true;
        continue;
      }
      if (!item.contains("SpecialToken") || !item["SpecialToken"].contains("id"))
        throw Error("tokenizer.json: post_processor TemplateProcessing item " + item.dump() + " is not supported");
      std::string name = item["SpecialToken"]["id"];
      const json& st = p.value("special_tokens", json::object());
      if (!st.contains(name) || !st[name].contains("ids") || !st[name]["ids"].is_array())
        throw Error("tokenizer.json: post_processor special token \"" + name + "\" has no ids");
      for (const json& id : st[name]["ids"]) (seen_a ? suffix : prefix).push_back(id.get<int32_t>());
    }
    return;
  }
  throw Error("tokenizer.json: post_processor \"" + type + "\" is not supported");
}

}  // namespace

Tokenizer Tokenizer::FromFile(const std::string& tokenizer_json, const std::string& tokenizer_config_json) {
  json config = nullptr;
  if (!tokenizer_config_json.empty()) config = ParseJson(ReadFile(tokenizer_config_json), tokenizer_config_json);
  try {
    BpeData data;
    json tok = ParseTokenizerJson(ReadFile(tokenizer_json), &data);
    return Build(tok, std::move(data), config);
  } catch (const json::exception& e) {
    throw Error(tokenizer_json + ": " + e.what());
  } catch (const Error& e) {
    throw Error(tokenizer_json + ": " + e.what());
  }
}

Tokenizer Tokenizer::FromModelDir(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::path tok = fs::path(dir) / "tokenizer.json", cfg = fs::path(dir) / "tokenizer_config.json";
  if (!fs::exists(tok)) throw Error(dir + ": no tokenizer.json in the model folder");
  return FromFile(tok.string(), fs::exists(cfg) ? cfg.string() : "");
}

Tokenizer Tokenizer::FromJson(const json& tok, const json& config) {
  if (!tok.is_object()) throw Error("tokenizer.json: top level is not an object");
  const json& model = Field(tok, "model");
  try {
    return Build(tok, model.is_object() ? BpeDataFromJson(model) : BpeData(), config);
  } catch (const json::exception& e) {
    throw Error(std::string("tokenizer.json: ") + e.what());
  }
}

Tokenizer Tokenizer::Build(const json& tok, BpeData&& bpe_data, const json& config_in) {
  if (!tok.is_object()) throw Error("tokenizer.json: top level is not an object");
  auto impl = std::make_shared<Impl>();
  CheckNormalizer(Field(tok, "normalizer"));
  impl->bpe = std::make_unique<Bpe>(Field(tok, "model"), std::move(bpe_data));
  impl->pre = std::make_unique<PreTokenizer>(Field(tok, "pre_tokenizer"));
  CheckDecoder(Field(tok, "decoder"));

  size_t n = impl->bpe->vocab_size();
  static const json kNoTokens = json::array();
  const json& added = Field(tok, "added_tokens").is_null() ? kNoTokens : Field(tok, "added_tokens");
  if (!added.is_array()) throw Error("tokenizer.json: added_tokens is not an array");
  for (size_t i = 0; i < added.size(); ++i) {
    const json& a = added[i];
    std::string where = "tokenizer.json: added_tokens[" + std::to_string(i) + "]";
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
        !a["content"].is_string())
      throw Error(where + " needs an integer \"id\" and a string \"content\"");
    AddedToken t;
    int64_t id = a["id"].get<int64_t>();
    if (id < 0 || id > 10'000'000) throw Error(where + ": id out of range");
    t.id = static_cast<int32_t>(id);
    t.content = a["content"];
    if (t.content.empty()) throw Error(where + ": empty content");
    auto flag = [&](const char* k, bool def) {
      auto it = a.find(k);
      if (it == a.end() || it->is_null()) return def;
      if (!it->is_boolean()) throw Error(where + ": \"" + k + "\" is not a boolean");
      return it->get<bool>();
    };
    t.special = flag("special", false);
    t.single_word = flag("single_word", false);
    t.lstrip = flag("lstrip", false);
    t.rstrip = flag("rstrip", false);
    t.normalized = flag("normalized", !t.special);
    n = std::max(n, static_cast<size_t>(t.id) + 1);
    impl->added_by_content.emplace(t.content, t.id);
    impl->added.push_back(std::move(t));
  }
  impl->matcher = std::make_unique<AddedTokenMatcher>(impl->added);

  impl->decode_bytes.resize(n);
  impl->special.assign(n, 0);
  for (size_t id = 0; id < impl->bpe->vocab_size(); ++id)
    if (!impl->bpe->token(id).empty()) impl->decode_bytes[id] = AlphabetToBytes(impl->bpe->token(id));
  for (const AddedToken& t : impl->added) {
    impl->decode_bytes[t.id] = AlphabetToBytes(t.content);
    impl->special[t.id] = t.special;
  }

  // The config: tokenizer_config.json, or what a GGUF file carried.
  json config = config_in;
  if (config.is_null() && tok.contains("whale_gguf") && tok["whale_gguf"].is_object()) {
    const json& g = tok["whale_gguf"];
    config = json::object();
    auto id_token = [&](const char* key) -> json {
      if (!g.contains(key) || !g[key].is_number_integer()) return nullptr;
      int64_t id = g[key];
      return id >= 0 && static_cast<size_t>(id) < n ? json(impl->decode_bytes[id]) : json(nullptr);
    };
    config["bos_token"] = id_token("bos_token_id");
    config["eos_token"] = id_token("eos_token_id");
    for (const char* k : {"add_bos_token", "add_eos_token", "chat_template"})
      if (g.contains(k)) config[k] = g[k];
  }
  if (!config.is_null() && !config.is_object()) throw Error("tokenizer_config.json: top level is not an object");

  auto lookup = [&](const std::string& s) -> int32_t {
    if (s.empty()) return -1;
    auto it = impl->added_by_content.find(s);
    if (it != impl->added_by_content.end()) return it->second;
    auto v = impl->bpe->Find(s);
    return v ? *v : -1;
  };
  if (config.is_object()) {
    impl->bos_token = ConfigToken(config, "bos_token");
    impl->eos_token = ConfigToken(config, "eos_token");
    if (config.contains("chat_template")) {
      const json& ct = config["chat_template"];
      if (ct.is_string()) impl->chat_template = ct;
      else if (!ct.is_null()) throw Error("tokenizer_config.json: chat_template is not a string (named templates are not supported)");
    }
  }
  impl->bos_id = lookup(impl->bos_token);
  impl->eos_id = lookup(impl->eos_token);

  // transformers' LlamaTokenizerFast rebuilds the post-processor from
  // add_bos_token/add_eos_token; without those, tokenizer.json's rules.
  if (config.is_object() && (config.contains("add_bos_token") || config.contains("add_eos_token"))) {
    auto flag = [&](const char* k, bool def) {
      if (!config.contains(k) || config[k].is_null()) return def;
      if (!config[k].is_boolean()) throw Error(std::string("tokenizer_config.json: \"") + k + "\" is not a boolean");
      return config[k].get<bool>();
    };
    if (flag("add_bos_token", true)) {
      if (impl->bos_id < 0) throw Error("tokenizer_config.json: add_bos_token is set but bos_token is not a known token");
      impl->prefix_ids.push_back(impl->bos_id);
    }
    if (flag("add_eos_token", false)) {
      if (impl->eos_id < 0) throw Error("tokenizer_config.json: add_eos_token is set but eos_token is not a known token");
      impl->suffix_ids.push_back(impl->eos_id);
    }
  } else {
    ParsePostProcessor(Field(tok, "post_processor"), impl->prefix_ids, impl->suffix_ids);
  }
  for (int32_t id : impl->prefix_ids)
    if (id < 0 || static_cast<size_t>(id) >= n) throw Error("tokenizer.json: post_processor id " + std::to_string(id) + " out of range");
  for (int32_t id : impl->suffix_ids)
    if (id < 0 || static_cast<size_t>(id) >= n) throw Error("tokenizer.json: post_processor id " + std::to_string(id) + " out of range");

  Tokenizer t;
  t.impl_ = std::move(impl);
  return t;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  const Impl& m = *impl_;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special_tokens) out.insert(out.end(), m.prefix_ids.begin(), m.prefix_ids.end());
  thread_local std::vector<Segment> segments;
  thread_local std::vector<Piece> pieces;
  m.matcher->Split(text, segments);
  for (const Segment& s : segments) {
    if (s.id >= 0) {
      out.push_back(s.id);
      continue;
    }
    std::string_view seg = text.substr(s.begin, s.end - s.begin);
    if (seg.empty()) continue;
    m.pre->Split(seg, pieces);
    for (const Piece& p : pieces) m.bpe->Encode(seg.substr(p.begin, p.end - p.begin), p.prefix_space, out);
  }
  if (add_special_tokens) out.insert(out.end(), m.suffix_ids.begin(), m.suffix_ids.end());
  return out;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& m = *impl_;
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= m.decode_bytes.size()) continue;
    if (skip_special_tokens && m.special[id]) continue;
    bytes += m.decode_bytes[id];
  }
  return Utf8Lossy(bytes);
}

const std::string& Tokenizer::TokenBytes(int32_t id) const {
  static const std::string empty;
  if (id < 0 || static_cast<size_t>(id) >= impl_->decode_bytes.size()) return empty;
  return impl_->decode_bytes[id];
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->special.size() && impl_->special[id];
}

std::optional<int32_t> Tokenizer::TokenId(std::string_view token) const {
  auto it = impl_->added_by_content.find(std::string(token));
  if (it != impl_->added_by_content.end()) return it->second;
  return impl_->bpe->Find(token);
}

std::string Tokenizer::IdToToken(int32_t id) const {
  for (const AddedToken& t : impl_->added)
    if (t.id == id) return t.content;
  if (id >= 0 && static_cast<size_t>(id) < impl_->bpe->vocab_size()) return impl_->bpe->token(id);
  return "";
}

int32_t Tokenizer::bos_id() const { return impl_->bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->eos_id; }
const std::string& Tokenizer::bos_token() const { return impl_->bos_token; }
const std::string& Tokenizer::eos_token() const { return impl_->eos_token; }
size_t Tokenizer::vocab_size() const { return impl_->decode_bytes.size(); }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
const PreTokenizer& Tokenizer::pre_tokenizer() const { return *impl_->pre; }

}  // namespace whale
