#include "serve/server.h"

#include <chrono>
#include <thread>

#include "runtime/reasoning.h"
#include "serve/openai_api.h"
#include "serve/third_party/cpp-httplib/httplib.h"
#include "serve/web_page.h"

namespace whale::serve {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void SendError(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(Dump(ErrorBody(e)), "application/json");
}

// Engine refusals as HTTP answers.
ApiError FromEngine(const std::exception& e, const char* param) {
  if (dynamic_cast<const ContextError*>(&e)) return ApiError(400, e.what(), "invalid_request_error", param, "context_length_exceeded");
  if (dynamic_cast<const QueueFullError*>(&e)) return ApiError(429, e.what(), "rate_limit_error", "", "queue_full");
  if (std::string(e.what()).find("shutting down") != std::string::npos)
    return ApiError(503, e.what(), "server_error", "", "shutting_down");
  return ApiError(400, e.what(), "invalid_request_error", "", "");
}

// One request's generation as the client sees it: text split into reasoning
// and answer, and the final usage.
struct Reply {
  std::shared_ptr<Job> job;
  ReasoningSplitter split;
  Usage usage;
  const char* finish = nullptr;
  std::string error;
  bool done = false;

  Reply(std::shared_ptr<Job> j, bool thinking) : job(std::move(j)), split(thinking) {}
  // Waits for the next event (up to `wait`); returns the new text.
  ReasoningDelta Next(std::chrono::milliseconds wait) {
    GenerateEvent ev;
    if (done || !job->Next(&ev, wait)) return {};
    ReasoningDelta d = split.Push(ev.text);
    if (ev.done) {
      done = true;
      ReasoningDelta f = split.Flush();
      d.reasoning += f.reasoning, d.content += f.content;
      usage = {ev.prompt_tokens, ev.completion_tokens, ev.cached_tokens};
      finish = ev.finish == FinishReason::kLength ? "length" : "stop";
      if (ev.finish == FinishReason::kCancelled) error = "the generation was cancelled (server shutting down)";
      if (ev.finish == FinishReason::kError) error = "generation failed: " + ev.error;
    }
    return d;
  }
};

}  // namespace

Server::Server(const ChatModel& model, ServeOptions opt)
    : model_(model), opt_(std::move(opt)), http_(std::make_unique<httplib::Server>()) {
  engine_ = std::make_unique<Engine>(model_.model(), model_, opt_.engine, &DefaultPool());
  Routes();
}

Server::~Server() = default;

int Server::Bind() {
  if (opt_.port == 0) {
    const int port = http_->bind_to_any_port(opt_.host);
    if (port < 0) throw Error("cannot listen on " + opt_.host);
    return port;
  }
  if (!http_->bind_to_port(opt_.host, opt_.port))
    throw Error("cannot listen on " + opt_.host + ":" + std::to_string(opt_.port) + " (in use, or not an address of this machine)");
  return opt_.port;
}

void Server::Run() { http_->listen_after_bind(); }

void Server::Stop() {
  engine_->Shutdown();
  // Cancelled streams still have to write their last event and [DONE]; the
  // listener's stop() would cut them off mid-response.
  for (int i = 0; i < 100 && in_flight_.load() > 0; ++i) std::this_thread::sleep_for(50ms);
  http_->stop();
}

void Server::Routes() {
  httplib::Server& s = *http_;
  const int threads = opt_.http_threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  s.set_payload_max_length(opt_.max_body_bytes);
  s.set_read_timeout(30, 0);
  s.set_write_timeout(30, 0);
  const size_t max_body = opt_.max_body_bytes;
  // Whatever httplib answers itself (404, 413, ...) still gets OpenAI's error body.
  s.set_error_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = "no route for " + req.method + " " + req.path;
    if (res.status == 413) msg = "the request body is larger than the limit of " + std::to_string(max_body) + " bytes";
    else if (res.status != 404) msg = httplib::status_message(res.status);
    SendError(res, ApiError(res.status, msg, res.status == 404 ? "not_found_error" : "invalid_request_error"));
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string msg = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      msg = e.what();
    } catch (...) {
    }
    SendError(res, ApiError(500, msg, "server_error"));
  });

  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(WebPage()), "text/html; charset=utf-8");
  });
  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const EngineStats st = engine_->stats();
    res.set_content(Dump({{"status", "ok"}, {"model", model_.name()}, {"slots", opt_.engine.slots},
                          {"context_length", engine_->context_length()}, {"active", st.active}, {"queued", st.queued},
                          {"generated_tokens", st.generated_tokens}, {"reused_prompt_tokens", st.reused_tokens}}),
                    "application/json");
  });
  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json m = {{"id", model_.name()}, {"object", "model"}, {"created", 0}, {"owned_by", "whale"},
              {"context_length", engine_->context_length()}};
    res.set_content(Dump({{"object", "list"}, {"data", json::array({m})}}), "application/json");
  });

  auto generate = [this](const httplib::Request& req, httplib::Response& res, bool chat) {
    ApiRequest r;
    try {
      r = chat ? ParseChatRequest(req.body) : ParseCompletionRequest(req.body);
    } catch (const ApiError& e) {
      return SendError(res, e);
    }
    const char* param = chat ? "messages" : "prompt";
    std::shared_ptr<Job> job;
    try {
      r.gen.prompt = chat ? model_.EncodeChat(r.messages) : model_.EncodeText(r.prompt);
      job = engine_->Submit(std::move(r.gen));
    } catch (const std::exception& e) {
      return SendError(res, FromEngine(e, param));
    }
    ++in_flight_;
    auto in_flight = std::shared_ptr<void>(nullptr, [this](void*) { --in_flight_; });  // until the response is written
    auto reply = std::make_shared<Reply>(job, chat && model_.reasoning());
    auto out = std::make_shared<ResponseBuilder>(r.model.empty() ? model_.name() : r.model, chat);
    const bool reasoning_model = model_.reasoning();

    if (!r.stream) {
      std::string reasoning, content;
      while (!reply->done) {
        ReasoningDelta d = reply->Next(200ms);
        reasoning += d.reasoning, content += d.content;
        if (!reply->done && req.is_connection_closed()) {
          job->Cancel();  // nobody is waiting for the answer any more
          return;
        }
      }
      if (!reply->error.empty()) return SendError(res, ApiError(503, reply->error, "server_error"));
      res.set_content(Dump(out->Completion(reasoning, content, reply->finish, reply->usage, reasoning_model)),
                      "application/json");
      return;
    }

    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    const bool include_usage = r.include_usage;
    auto started = std::make_shared<bool>(false);
    res.set_chunked_content_provider(
        "text/event-stream",
        [reply, out, started, include_usage, chat, &req, in_flight](size_t, httplib::DataSink& sink) {
          auto send = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
          if (!*started) {
            *started = true;
            if (chat && !send(SseData(out->RoleChunk()))) return false;
          }
          ReasoningDelta d = reply->Next(200ms);
          if (!d.reasoning.empty() || !d.content.empty())
            if (!send(SseData(out->DeltaChunk(d.reasoning, d.content)))) return false;
          if (!reply->done) return !req.is_connection_closed();  // false: the releaser cancels
          if (!reply->error.empty()) {
            send(SseData(ErrorBody(ApiError(503, reply->error, "server_error"))));
          } else {
            send(SseData(out->FinishChunk(reply->finish)));
            if (include_usage) send(SseData(out->UsageChunk(reply->usage)));
          }
          send(kSseDone);
          sink.done();
          return true;
        },
        [job](bool success) {
          if (!job->finished()) job->Cancel();  // the client went away mid-stream
        });
  };
  s.Post("/v1/chat/completions", [generate](const httplib::Request& q, httplib::Response& r) { generate(q, r, true); });
  s.Post("/v1/completions", [generate](const httplib::Request& q, httplib::Response& r) { generate(q, r, false); });
  s.Options(".*", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  s.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("Access-Control-Allow-Origin", "*");
    res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization");
  });
}

}  // namespace whale::serve
