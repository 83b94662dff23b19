// whale tokenize / detokenize: text <-> token ids with a model's tokenizer,
// and chat prompts rendered with its template. Batch modes read JSON Lines
// and answer one line per input line, in order.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "cli/command.h"
#include "io/error.h"
#include "runtime/chat_model.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {
namespace {

using nlohmann::json;

struct TokOpts {
  std::string tokenizer, config, model;
};

void AddTokenizerOptions(CLI::App& app, TokOpts& o) {
  app.add_option("--tokenizer", o.tokenizer, "tokenizer.json (tokenizer_config.json beside it is used when present)");
  app.add_option("--config", o.config, "tokenizer_config.json to use with --tokenizer");
  app.add_option("--model", o.model, "model folder with tokenizer.json (+ tokenizer_config.json), or a .gguf file");
}

Tokenizer LoadTokenizer(const TokOpts& o) {
  namespace fs = std::filesystem;
  if (!o.model.empty() && !o.tokenizer.empty()) throw Error("give --tokenizer or --model, not both");
  if (!o.model.empty()) return LoadModelTokenizer(o.model);
  if (o.tokenizer.empty()) throw Error("no tokenizer: give --tokenizer FILE or --model DIR");
  std::string config = o.config;
  if (config.empty()) {
    fs::path beside = fs::path(o.tokenizer).parent_path() / "tokenizer_config.json";
    if (fs::exists(beside)) config = beside.string();
  }
  return Tokenizer::FromFile(o.tokenizer, config);
}

// Ordered, so lines read {"text": ..., "ids": ...} as documented.
std::string Dump(const nlohmann::ordered_json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string ReadStdin() {
  std::ios::sync_with_stdio(false);
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// Calls fn(line_json, where) for each non-empty line of path ("-" = stdin).
template <class F>
void ForEachJsonLine(const std::string& path, F&& fn) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) throw Error(path + ": cannot open");
    in = &file;
  }
  std::string line;
  for (size_t n = 1; std::getline(*in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string where = path + ":" + std::to_string(n);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      throw Error(where + ": not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw Error(where + ": expected a JSON object");
    try {
      fn(j, where);
    } catch (const json::exception& e) {
      throw Error(where + ": " + e.what());
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
  }
}

bool BoolField(const json& j, const char* key, bool def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  if (!it->is_boolean()) throw Error(std::string("\"") + key + "\" is not a boolean");
  return it->get<bool>();
}

std::vector<int32_t> IdsField(const json& j, const char* what) {
  if (!j.is_array()) throw Error(std::string(what) + " is not a JSON array of ids");
  std::vector<int32_t> ids;
  for (const json& x : j) {
    if (!x.is_number_integer()) throw Error(std::string(what) + " holds " + x.dump() + ", not an integer id");
    ids.push_back(x.get<int32_t>());
  }
  return ids;
}

struct TokenizeOpts {
  TokOpts tok;
  bool bos = false;
  std::string jsonl, chat, templ;
};

int RunTokenize(const TokenizeOpts& o) {
  Tokenizer tok = LoadTokenizer(o.tok);
  if (!o.chat.empty()) {
    ChatTemplate t = o.templ.empty() ? ChatTemplate::ForTokenizer(tok)
                                     : ChatTemplate::Named(o.templ, tok.bos_token().empty() ? "<｜begin▁of▁sentence｜>" : tok.bos_token());
    ForEachJsonLine(o.chat, [&](const json& j, const std::string&) {
      if (!j.contains("messages")) throw Error("no \"messages\"");
      std::string text = t.Render(j["messages"], BoolField(j, "add_generation_prompt", false));
      std::cout << Dump({{"text", text}, {"ids", tok.Encode(text, false)}}) << "\n";
    });
  } else if (!o.jsonl.empty()) {
    ForEachJsonLine(o.jsonl, [&](const json& j, const std::string&) {
      auto it = j.find("text");
      if (it == j.end() || !it->is_string()) throw Error("\"text\" is missing or not a string");
      auto ids = tok.Encode(it->get_ref<const std::string&>(), BoolField(j, "add_special_tokens", o.bos));
      std::cout << Dump({{"ids", ids}}) << "\n";
    });
  } else {
    std::cout << Dump(nlohmann::ordered_json(tok.Encode(ReadStdin(), o.bos))) << "\n";
  }
  std::cout.flush();
  return 0;
}

Register tokenize("tokenize", "text -> token ids (stdin, --jsonl, or chat prompts with --chat)", [](CLI::App& app) {
  auto o = std::make_shared<TokenizeOpts>();
  AddTokenizerOptions(app, o->tok);
  app.add_flag("--bos", o->bos, "add BOS (add_special_tokens=true) for stdin text and as the --jsonl default");
  app.add_option("--jsonl", o->jsonl, "JSON Lines of {\"text\", \"add_special_tokens\"} ('-' = stdin) -> {\"ids\"}");
  app.add_option("--chat", o->chat,
                 "JSON Lines of {\"messages\", \"add_generation_prompt\"} ('-' = stdin) -> {\"text\", \"ids\"}");
  app.add_option("--template", o->templ, "chat format instead of the tokenizer's: deepseek-v3 or deepseek-r1");
  return [o]() { return RunTokenize(*o); };
});

struct DetokenizeOpts {
  TokOpts tok;
  bool skip_special = false;
  std::string jsonl;
};

int RunDetokenize(const DetokenizeOpts& o) {
  Tokenizer tok = LoadTokenizer(o.tok);
  if (!o.jsonl.empty()) {
    ForEachJsonLine(o.jsonl, [&](const json& j, const std::string&) {
      if (!j.contains("ids")) throw Error("no \"ids\"");
      std::string text = tok.Decode(IdsField(j["ids"], "\"ids\""), BoolField(j, "skip_special_tokens", o.skip_special));
      std::cout << Dump({{"text", text}}) << "\n";
    });
  } else {
    json j;
    try {
      j = json::parse(ReadStdin());
    } catch (const json::exception& e) {
      throw Error(std::string("stdin: not valid JSON: ") + e.what());
    }
    std::cout << tok.Decode(IdsField(j, "stdin"), o.skip_special);
  }
  std::cout.flush();
  return 0;
}

Register detokenize("detokenize", "token ids (JSON array on stdin, or --jsonl) -> text", [](CLI::App& app) {
  auto o = std::make_shared<DetokenizeOpts>();
  AddTokenizerOptions(app, o->tok);
  app.add_flag("--skip-special", o->skip_special, "drop special tokens (BOS, EOS, ...); the --jsonl default");
  app.add_option("--jsonl", o->jsonl, "JSON Lines of {\"ids\", \"skip_special_tokens\"} ('-' = stdin) -> {\"text\"}");
  return [o]() { return RunDetokenize(*o); };
});

}  // namespace
}  // namespace whale::cli
