// The OpenAI wire format: request bodies in (checked field by field, every
// mistake an ApiError that becomes a 4xx with OpenAI's error object) and
// completion / chunk objects out, with DeepSeek's reasoning_content.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/engine.h"

namespace whale::serve {

struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string type = "invalid_request_error", std::string param = "",
           std::string code = "")
      : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)),
        code(std::move(code)) {}
  int status;
  std::string type, param, code;
};

// {"error": {"message", "type", "param", "code"}}; empty param/code are null.
nlohmann::json ErrorBody(const ApiError& e);

struct ApiRequest {
  std::string model;
  nlohmann::json messages;  // chat: [{"role", "content": string}], normalised
  std::string prompt;       // completions
  GenerateRequest gen;      // everything but the prompt tokens
  bool stream = false;
  bool include_usage = false;
};

// POST /v1/chat/completions and POST /v1/completions bodies.
ApiRequest ParseChatRequest(const std::string& body);
ApiRequest ParseCompletionRequest(const std::string& body);

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
};
nlohmann::json UsageJson(const Usage& u);

// Builds the objects of one response; ids and timestamps stay fixed across chunks.
class ResponseBuilder {
 public:
  ResponseBuilder(std::string model, bool chat);

  // Non-streaming.
  nlohmann::json Completion(const std::string& reasoning, const std::string& content, const char* finish,
                            const Usage& u, bool reasoning_model) const;
  // Streaming chunks (chat: delta objects; completions: text).
  nlohmann::json RoleChunk() const;
  nlohmann::json DeltaChunk(const std::string& reasoning, const std::string& content) const;
  nlohmann::json FinishChunk(const char* finish) const;
  nlohmann::json UsageChunk(const Usage& u) const;

 private:
  nlohmann::json Chunk(nlohmann::json choice) const;
  std::string id_, model_;
  int64_t created_;
  bool chat_;
};

// One server-sent event line pair.
std::string SseData(const nlohmann::json& j);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace whale::serve
