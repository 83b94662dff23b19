#include "runtime/chat_model.h"

#include <filesystem>

#include "io/error.h"
#include "model/gguf_tokenizer.h"
#include "runtime/reasoning.h"

namespace whale {
namespace fs = std::filesystem;

std::string DefaultModelDir() { return std::string(WHALE_SOURCE_DIR) + "/models/whale-tiny"; }

static bool IsGguf(const std::string& path) { return fs::path(path).extension() == ".gguf"; }

Tokenizer LoadModelTokenizer(const std::string& path) {
  if (IsGguf(path)) return Tokenizer::FromJson(GgufTokenizerJson(path));
  if (!fs::exists(fs::path(path) / "tokenizer.json")) throw Error(path + ": tokenizer.json is missing");
  return Tokenizer::FromModelDir(path);
}

std::unique_ptr<ChatModel> ChatModel::Load(const std::string& dir, const std::string& template_name,
                                           Residency residency) {
  if (!fs::exists(dir))
    throw Error(dir + ": no such model folder or file" +
                (dir == DefaultModelDir() ? " (the bundled model is not there yet; pass --model DIR)" : ""));
  if (!fs::is_directory(dir) && !IsGguf(dir))
    throw Error(dir + ": a model is a folder with tokenizer.json or a .gguf file");
  std::unique_ptr<ChatModel> m(new ChatModel);
  m->tok_.emplace(LoadModelTokenizer(dir));
  // A folder without a chat template (or with one we do not know) talks the
  // DeepSeek-V3 format, which every DeepSeek chat model understands.
  if (!template_name.empty())
    m->template_.emplace(ChatTemplate::Named(template_name, m->tok_->bos_token(), m->tok_->eos_token()));
  else if (m->tok_->chat_template().empty())
    m->template_.emplace(ChatTemplate::Named("deepseek-v3", m->tok_->bos_token(), m->tok_->eos_token()));
  else
    m->template_.emplace(ChatTemplate::ForTokenizer(*m->tok_));
  m->model_ = LoadModel(dir, /*with_mtp=*/false, residency);
  if (int64_t(m->tok_->vocab_size()) > m->model_->config.vocab_size)
    throw Error(dir + ": tokenizer.json has " + std::to_string(m->tok_->vocab_size()) + " tokens but config.json's vocab_size is " +
                std::to_string(m->model_->config.vocab_size));
  m->name_ = fs::path(dir).lexically_normal().filename().string();
  if (IsGguf(dir)) m->name_ = fs::path(dir).stem().string();
  if (m->name_.empty()) m->name_ = fs::path(dir).lexically_normal().parent_path().filename().string();
  m->reasoning_ = ReasoningSplitter::PromptOpensThinking(m->RenderChat(nlohmann::json::parse(R"([{"role": "user", "content": "?"}])")));
  return m;
}

std::string ChatModel::RenderChat(const nlohmann::json& messages) const {
  return template_->Render(messages, /*add_generation_prompt=*/true);
}

std::vector<int32_t> ChatModel::EncodeChat(const nlohmann::json& messages) const {
  return tok_->Encode(RenderChat(messages), /*add_special_tokens=*/false);
}

std::vector<int32_t> ChatModel::EncodeText(const std::string& text) const { return tok_->Encode(text, true); }

std::string ChatModel::Decode(std::span<const int32_t> ids) const { return tok_->Decode(ids); }

}  // namespace whale
