#include "serve/openai_api.h"

#include <chrono>
#include <random>

namespace whale::serve {
namespace {

using nlohmann::json;

ApiError Bad(const std::string& param, const std::string& message, const std::string& code = "") {
  return ApiError(400, message, "invalid_request_error", param, code);
}

// A present, non-null member (OpenAI clients send null for "unset").
const json* Get(const json& j, const char* name) {
  auto it = j.find(name);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

double Number(const json& j, const char* name, double lo, double hi) {
  const json& v = j.at(name);
  if (!v.is_number()) throw Bad(name, std::string("'") + name + "' must be a number");
  const double d = v.get<double>();
  if (!(d >= lo && d <= hi))
    throw Bad(name, std::string("'") + name + "' must be between " + json(lo).dump() + " and " + json(hi).dump());
  return d;
}

int64_t Integer(const json& j, const char* name, int64_t lo) {
  const json& v = j.at(name);
  const bool integral_float = v.is_number_float() && v.get<double>() == double(int64_t(v.get<double>()));
  if (!v.is_number_integer() && !integral_float) throw Bad(name, std::string("'") + name + "' must be an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) return INT64_MAX;
  const int64_t i = v.is_number_float() ? int64_t(v.get<double>()) : v.get<int64_t>();
  if (i < lo) throw Bad(name, std::string("'") + name + "' must be >= " + std::to_string(lo));
  return i;
}

bool Bool(const json& j, const char* name) {
  const json& v = j.at(name);
  if (!v.is_boolean()) throw Bad(name, std::string("'") + name + "' must be a boolean");
  return v.get<bool>();
}

json ParseBody(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Bad("", "the request body is not valid JSON", "invalid_json");
  if (!j.is_object()) throw Bad("", "the request body must be a JSON object");
  return j;
}

// Fields shared by both endpoints.
void ParseCommon(const json& j, ApiRequest* r, int64_t default_max_tokens) {
  if (const json* m = Get(j, "model")) {
    if (!m->is_string()) throw Bad("model", "'model' must be a string");
    r->model = m->get<std::string>();
  }
  if (Get(j, "n") && Integer(j, "n", 1) != 1) throw Bad("n", "only n = 1 is supported", "unsupported_parameter");
  if (Get(j, "best_of") && Integer(j, "best_of", 1) != 1) throw Bad("best_of", "only best_of = 1 is supported");
  if (Get(j, "logprobs") && j["logprobs"].is_boolean() && j["logprobs"].get<bool>())
    throw Bad("logprobs", "logprobs are not supported", "unsupported_parameter");
  SamplingParams& s = r->gen.sampling;
  if (Get(j, "temperature")) s.temperature = float(Number(j, "temperature", 0, 2));
  if (Get(j, "top_p")) {
    s.top_p = float(Number(j, "top_p", 0, 1));
    if (s.top_p <= 0) throw Bad("top_p", "'top_p' must be greater than 0");
  }
  if (Get(j, "top_k")) s.top_k = Integer(j, "top_k", 0);
  if (Get(j, "min_p")) s.min_p = float(Number(j, "min_p", 0, 1));
  if (Get(j, "repetition_penalty")) {
    s.repetition_penalty = float(Number(j, "repetition_penalty", 0, 10));
    if (s.repetition_penalty <= 0) throw Bad("repetition_penalty", "'repetition_penalty' must be greater than 0");
  }
  if (Get(j, "frequency_penalty")) s.frequency_penalty = float(Number(j, "frequency_penalty", -2, 2));
  if (Get(j, "presence_penalty")) s.presence_penalty = float(Number(j, "presence_penalty", -2, 2));
  if (Get(j, "seed")) {
    const json& v = j["seed"];
    if (!v.is_number_integer()) throw Bad("seed", "'seed' must be an integer");
    s.seed = v.is_number_unsigned() ? v.get<uint64_t>() : uint64_t(v.get<int64_t>());
  }
  r->gen.max_tokens = default_max_tokens;
  if (Get(j, "max_tokens")) r->gen.max_tokens = Integer(j, "max_tokens", 1);
  if (Get(j, "max_completion_tokens")) r->gen.max_tokens = Integer(j, "max_completion_tokens", 1);
  if (const json* st = Get(j, "stop")) {
    if (st->is_string()) {
      r->gen.stop = {st->get<std::string>()};
    } else if (st->is_array()) {
      if (st->size() > 16) throw Bad("stop", "'stop' may hold at most 16 strings");
      for (const auto& e : *st) {
        if (!e.is_string()) throw Bad("stop", "'stop' must be a string or an array of strings");
        r->gen.stop.push_back(e.get<std::string>());
      }
    } else {
      throw Bad("stop", "'stop' must be a string or an array of strings");
    }
  }
  if (Get(j, "stream")) r->stream = Bool(j, "stream");
  if (const json* so = Get(j, "stream_options")) {
    if (!so->is_object()) throw Bad("stream_options", "'stream_options' must be an object");
    if (Get(*so, "include_usage")) {
      if (!(*so)["include_usage"].is_boolean())
        throw Bad("stream_options.include_usage", "'stream_options.include_usage' must be a boolean");
      r->include_usage = (*so)["include_usage"].get<bool>();
    }
  }
  if (Get(j, "ignore_eos")) r->gen.ignore_eos = Bool(j, "ignore_eos");
}

// Content as a string: plain, or an array of {"type": "text", "text"} parts.
std::string Content(const json& m, const std::string& where, bool may_be_null) {
  auto it = m.find("content");
  if (it == m.end() || it->is_null()) {
    if (may_be_null) return "";
    throw Bad(where + ".content", "'" + where + ".content' is missing");
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    std::string s;
    for (const auto& part : *it) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
        throw Bad(where + ".content", "'" + where + ".content' parts must be {\"type\": \"text\", \"text\": string}");
      s += part["text"].get<std::string>();
    }
    return s;
  }
  throw Bad(where + ".content", "'" + where + ".content' must be a string or an array of text parts");
}

}  // namespace

json ErrorBody(const ApiError& e) {
  auto orNull = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"error", {{"message", e.what()}, {"type", e.type}, {"param", orNull(e.param)}, {"code", orNull(e.code)}}}};
}

ApiRequest ParseChatRequest(const std::string& body) {
  const json j = ParseBody(body);
  ApiRequest r;
  const json* msgs = Get(j, "messages");
  if (!msgs) throw Bad("messages", "missing required parameter: 'messages'", "missing_required_parameter");
  if (!msgs->is_array()) throw Bad("messages", "'messages' must be an array");
  if (msgs->empty()) throw Bad("messages", "'messages' must contain at least one message");
  r.messages = json::array();
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw Bad(where, "'" + where + "' must be an object");
    if (!m.contains("role") || !m["role"].is_string()) throw Bad(where + ".role", "'" + where + ".role' must be a string");
    std::string role = m["role"];
    if (role == "developer") role = "system";  // OpenAI's newer name for it
    if (role != "system" && role != "user" && role != "assistant")
      throw Bad(where + ".role", "'" + where + ".role': unknown role '" + m["role"].get<std::string>() +
                                     "' (expected system, user or assistant)");
    r.messages.push_back({{"role", role}, {"content", Content(m, where, role == "assistant")}});
  }
  ParseCommon(j, &r, /*default_max_tokens=*/-1);
  return r;
}

ApiRequest ParseCompletionRequest(const std::string& body) {
  const json j = ParseBody(body);
  ApiRequest r;
  const json* p = Get(j, "prompt");
  if (!p) throw Bad("prompt", "missing required parameter: 'prompt'", "missing_required_parameter");
  if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) p = &(*p)[0];
  if (!p->is_string()) throw Bad("prompt", "'prompt' must be a string");
  r.prompt = p->get<std::string>();
  if (r.prompt.empty()) throw Bad("prompt", "'prompt' must not be empty");
  ParseCommon(j, &r, /*default_max_tokens=*/16);  // OpenAI's default for completions
  return r;
}

json UsageJson(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

ResponseBuilder::ResponseBuilder(std::string model, bool chat) : model_(std::move(model)), chat_(chat) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[25];
  std::snprintf(hex, sizeof hex, "%016llx%08x", (unsigned long long)rng(), unsigned(rng()));
  id_ = std::string(chat ? "chatcmpl-" : "cmpl-") + hex;
  created_ = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json ResponseBuilder::Completion(const std::string& reasoning, const std::string& content, const char* finish,
                                 const Usage& u, bool reasoning_model) const {
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}};
  if (chat_) {
    json msg = {{"role", "assistant"}, {"content", content}};
    if (reasoning_model) msg["reasoning_content"] = reasoning;
    choice["message"] = msg;
  } else {
    choice["text"] = content;
  }
  return {{"id", id_},       {"object", chat_ ? "chat.completion" : "text_completion"},
          {"created", created_}, {"model", model_},
          {"choices", json::array({choice})}, {"usage", UsageJson(u)}};
}

json ResponseBuilder::Chunk(json choice) const {
  return {{"id", id_},
          {"object", chat_ ? "chat.completion.chunk" : "text_completion"},
          {"created", created_},
          {"model", model_},
          {"choices", choice.is_null() ? json::array() : json::array({choice})}};
}

json ResponseBuilder::RoleChunk() const {
  return Chunk({{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}});
}

json ResponseBuilder::DeltaChunk(const std::string& reasoning, const std::string& content) const {
  if (!chat_) return Chunk({{"index", 0}, {"text", content}, {"logprobs", nullptr}, {"finish_reason", nullptr}});
  json delta = json::object();
  if (!reasoning.empty()) delta["reasoning_content"] = reasoning;
  if (!content.empty()) delta["content"] = content;
  return Chunk({{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", nullptr}});
}

json ResponseBuilder::FinishChunk(const char* finish) const {
  if (!chat_) return Chunk({{"index", 0}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", finish}});
  return Chunk({{"index", 0}, {"delta", json::object()}, {"logprobs", nullptr}, {"finish_reason", finish}});
}

json ResponseBuilder::UsageChunk(const Usage& u) const {
  json c = Chunk(nullptr);
  c["usage"] = UsageJson(u);
  return c;
}

std::string SseData(const json& j) {
  return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

}  // namespace whale::serve
