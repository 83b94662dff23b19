#include "runtime/chat_model.h"

#include <filesystem>

#include "io/error.h"
#include "runtime/reasoning.h"

namespace whale {
namespace fs = std::filesystem;

std::string DefaultModelDir() { return std::string(WHALE_SOURCE_DIR) + "/models/whale-tiny"; }

std::unique_ptr<ChatModel> ChatModel::Load(const std::string& dir) {
  if (!fs::exists(dir))
    throw Error(dir + ": no such model folder" +
                (dir == DefaultModelDir() ? " (the bundled model is not there yet; pass --model DIR)" : ""));
  if (!fs::is_directory(dir)) throw Error(dir + ": chat needs a model folder with tokenizer.json");
  if (!fs::exists(fs::path(dir) / "tokenizer.json")) throw Error(dir + ": tokenizer.json is missing");
  std::unique_ptr<ChatModel> m(new ChatModel);
  m->tok_.emplace(Tokenizer::FromModelDir(dir));
  m->model_ = LoadModel(dir, /*with_mtp=*/false);
  m->name_ = fs::path(dir).lexically_normal().filename().string();
  if (m->name_.empty()) m->name_ = fs::path(dir).lexically_normal().parent_path().filename().string();
  m->reasoning_ = ReasoningSplitter::PromptOpensThinking(m->RenderChat(nlohmann::json::array()));
  return m;
}

// DeepSeek-V3/R1 conversation format. Thinking of earlier assistant turns is
// dropped, as R1's template does.
std::string ChatModel::RenderChat(const nlohmann::json& messages) const {
  const std::string& tmpl = tok_->chat_template();
  std::string out = tok_->bos_token(), system;
  for (const auto& m : messages)
    if (m.at("role") == "system") system += (system.empty() ? "" : "\n\n") + m.at("content").get<std::string>();
  out += system;
  for (const auto& m : messages) {
    const std::string role = m.at("role"), content = m.at("content");
    if (role == "user") {
      out += "<｜User｜>" + content;
    } else if (role == "assistant") {
      std::string c = content;
      const size_t close = c.find("</think>");
      if (close != std::string::npos) c = c.substr(c.find_first_not_of(" \t\r\n", close + 8) == std::string::npos ? c.size() : c.find_first_not_of(" \t\r\n", close + 8));
      out += "<｜Assistant｜>" + c + tok_->eos_token();
    }
  }
  out += "<｜Assistant｜>";
  if (tmpl.find("<think>\\n") != std::string::npos || tmpl.find("<think>\n") != std::string::npos) out += "<think>\n";
  return out;
}

std::vector<int32_t> ChatModel::EncodeChat(const nlohmann::json& messages) const {
  return tok_->Encode(RenderChat(messages), /*add_special_tokens=*/false);
}

std::vector<int32_t> ChatModel::EncodeText(const std::string& text) const { return tok_->Encode(text, true); }

std::string ChatModel::Decode(std::span<const int32_t> ids) const { return tok_->Decode(ids); }

}  // namespace whale
