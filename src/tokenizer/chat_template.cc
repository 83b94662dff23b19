#include "tokenizer/chat_template.h"

#include "io/error.h"
#include "tokenizer/tokenizer.h"

namespace whale {

using nlohmann::json;

ChatTemplate ChatTemplate::Named(const std::string& name, const std::string& bos, const std::string& eos) {
  ChatTemplate t;
  t.name_ = name;
  t.bos_ = bos;
  t.eos_ = eos;
  if (name == "deepseek-v3") {
    t.join_systems_ = true;
  } else if (name == "deepseek-r1") {
    t.join_systems_ = false;
    t.strip_think_ = true;
    t.think_prompt_ = true;
  } else {
    throw Error("unknown chat template \"" + name + "\" (known: deepseek-v3, deepseek-r1)");
  }
  return t;
}

ChatTemplate ChatTemplate::FromJinja(const std::string& src, const std::string& bos, const std::string& eos) {
  auto has = [&](const char* s) { return src.find(s) != std::string::npos; };
  // The skeleton every DeepSeek V3/R1 template shares.
  bool deepseek = has("<｜User｜>") && has("<｜Assistant｜>") && has("<｜tool▁calls▁begin｜>") &&
                  has("<｜tool▁outputs▁begin｜>") && has("ns.is_output_first") && has("ns.system_prompt");
  // Later templates (V3.1 thinking switch, tool lists in the prompt) are
  // other formats: refuse them rather than render them wrong.
  bool other = has("thinking") || has("tools") || has("<｜tool▁calls｜>") || has("</think>' + ");
  if (!deepseek || other)
    throw Error("chat_template in tokenizer_config.json is not a known DeepSeek-V3/R1 template; "
                "pass --template deepseek-v3 or deepseek-r1 to choose one");
  ChatTemplate t;
  t.bos_ = bos;
  t.eos_ = eos;
  t.join_systems_ = has("is_first_sp");
  t.strip_think_ = has("split('</think>')");
  t.think_prompt_ = has("<｜Assistant｜><think>");
  t.name_ = t.strip_think_ ? "deepseek-r1" : "deepseek-v3";
  return t;
}

ChatTemplate ChatTemplate::ForTokenizer(const Tokenizer& tok) {
  if (tok.chat_template().empty()) throw Error("the tokenizer has no chat_template (tokenizer_config.json)");
  return FromJinja(tok.chat_template(), tok.bos_token(), tok.eos_token());
}

namespace {

std::string Where(size_t i, const char* field) {
  return "chat message " + std::to_string(i) + ": \"" + field + "\"";
}

const std::string& StringField(const json& m, size_t i, const char* field) {
  auto it = m.find(field);
  if (it == m.end()) throw Error(Where(i, field) + " is missing");
  if (!it->is_string()) throw Error(Where(i, field) + " is not a string");
  return it->get_ref<const std::string&>();
}

}  // namespace

std::string ChatTemplate::Render(const json& messages, bool add_generation_prompt) const {
  if (!messages.is_array()) throw Error("chat messages are not a JSON array");
  // Validate first: an error names the first bad message, nothing half-rendered.
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    if (!m.is_object()) throw Error("chat message " + std::to_string(i) + " is not an object");
    const std::string& role = StringField(m, i, "role");
    if (role == "assistant" && m.contains("content") && m["content"].is_null()) {
      auto tc = m.find("tool_calls");
      if (tc == m.end() || !tc->is_array())
        throw Error(Where(i, "tool_calls") + " must be an array when content is null");
      for (size_t k = 0; k < tc->size(); ++k) {
        const json& call = (*tc)[k];
        std::string f = "tool_calls[" + std::to_string(k) + "]";
        if (!call.is_object() || !call.contains("type") || !call["type"].is_string() || !call.contains("function") ||
            !call["function"].is_object())
          throw Error(Where(i, f.c_str()) + " needs a string \"type\" and a \"function\" object");
        const json& fn = call["function"];
        if (!fn.contains("name") || !fn["name"].is_string())
          throw Error(Where(i, (f + ".function.name").c_str()) + " is missing or not a string");
        if (!fn.contains("arguments") || !fn["arguments"].is_string())
          throw Error(Where(i, (f + ".function.arguments").c_str()) + " is missing or not a string (JSON text)");
      }
    } else if (role == "system" || role == "user" || role == "assistant" || role == "tool") {
      StringField(m, i, "content");
    } else {
      throw Error(Where(i, "role") + " is \"" + role + "\" (expected system, user, assistant or tool)");
    }
  }

  std::string system;
  bool first_system = true;
  for (const json& m : messages) {
    if (m["role"] != "system") continue;
    const std::string& c = m["content"].get_ref<const std::string&>();
    if (!join_systems_) system = c;
    else if (first_system) system += c;
    else system += "\n\n" + c;
    first_system = false;
  }

  // The templates write EOS as a literal, only BOS comes from bos_token.
  // The template's namespace flags; is_first and is_output_first are never
  // reset, which the reference output depends on.
  bool is_first = false, is_tool = false, is_output_first = true;
  std::string out = bos_ + system;
  for (const json& m : messages) {
    const std::string& role = m["role"].get_ref<const std::string&>();
    if (role == "user") {
      is_tool = false;
      out += "<｜User｜>" + m["content"].get<std::string>();
    } else if (role == "assistant" && m["content"].is_null()) {
      is_tool = false;
      for (const json& call : m["tool_calls"]) {
        const json& fn = call["function"];
        std::string body = call["type"].get<std::string>() + "<｜tool▁sep｜>" + fn["name"].get<std::string>() +
                           "\n```json\n" + fn["arguments"].get<std::string>() + "\n```<｜tool▁call▁end｜>";
        if (!is_first) {
          out += "<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>" + body;
          is_first = true;
        } else {
          out += "\n<｜tool▁call▁begin｜>" + body + "<｜tool▁calls▁end｜><｜end▁of▁sentence｜>";
        }
      }
    } else if (role == "assistant") {
      std::string content = m["content"];
      if (is_tool) {
        out += "<｜tool▁outputs▁end｜>" + content + "<｜end▁of▁sentence｜>";
        is_tool = false;
      } else {
        if (strip_think_) {
          size_t p = content.rfind("</think>");
          if (p != std::string::npos) content = content.substr(p + 8);
        }
        out += "<｜Assistant｜>" + content + "<｜end▁of▁sentence｜>";
      }
    } else if (role == "tool") {
      is_tool = true;
      if (is_output_first) {
        out += "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>" + m["content"].get<std::string>() + "<｜tool▁output▁end｜>";
        is_output_first = false;
      } else {
        out += "\n<｜tool▁output▁begin｜>" + m["content"].get<std::string>() + "<｜tool▁output▁end｜>";
      }
    }
  }
  if (is_tool) out += "<｜tool▁outputs▁end｜>";
  if (add_generation_prompt && !is_tool) out += think_prompt_ ? "<｜Assistant｜><think>\n" : "<｜Assistant｜>";
  return out;
}

}  // namespace whale
