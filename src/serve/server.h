// whale serve: an OpenAI-compatible HTTP server over one continuous-batching
// engine. HTTP threads parse, tokenize and wait on their Job; the engine
// thread does all model work, so concurrent clients share every forward pass.
#pragma once
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "runtime/chat_model.h"
#include "runtime/engine.h"

namespace httplib {
class Server;
}

namespace whale::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests)
  EngineOptions engine;
  size_t max_body_bytes = 1 << 20;
  int http_threads = 64;  // each streaming client holds one
};

class Server {
 public:
  Server(const ChatModel& model, ServeOptions opt);
  ~Server();

  // Binds the socket; returns the port. Throws Error when it cannot.
  int Bind();
  // Serves until Stop(); returns when every handler has finished.
  void Run();
  // Stops accepting, cancels queued and running generations (their streams
  // end with an error event), then stops the listener. Any thread, once.
  void Stop();

 private:
  void Routes();
  const ChatModel& model_;
  ServeOptions opt_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<int> in_flight_{0};  // generate handlers still writing a response
};

}  // namespace whale::serve
