// whale serve: the OpenAI-compatible server and the web chat page.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "cli/command.h"
#include "serve/server.h"

namespace whale::cli {
namespace {

struct Opts {
  std::string model = DefaultModelDir();
  std::string chat_template;
  std::string mmap = "auto";
  serve::ServeOptions serve;
  int64_t ctx = 4096;
};

int RunServe(Opts o) {
  // Only the watcher thread below takes SIGINT/SIGTERM: every thread created
  // from here on (engine, pool, HTTP) inherits the blocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client closing its socket is not our death

  auto model = ChatModel::Load(o.model, o.chat_template, ParseResidency(o.mmap));
  o.serve.engine.max_len = std::min(o.ctx, model->model().config.max_position_embeddings);
  serve::Server server(*model, o.serve);
  const int port = server.Bind();
  std::thread([&server, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "whale serve: %s, cancelling in-flight requests and stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server.Stop();
  }).detach();
  std::fprintf(stderr, "whale serve: %s on http://%s:%d (%lld slots, context %lld tokens%s)\n", model->name().c_str(),
               o.serve.host.c_str(), port, (long long)o.serve.engine.slots, (long long)o.serve.engine.max_len,
               model->reasoning() ? ", reasoning" : "");
  std::fflush(stderr);
  server.Run();
  std::fprintf(stderr, "whale serve: stopped\n");
  return 0;
}

Register serve("serve", "OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions) and web chat at /",
               [](CLI::App& app) {
                 auto o = std::make_shared<Opts>();
                 app.add_option("--model", o->model, "model folder with tokenizer.json, or a .gguf file")->capture_default_str();
                 app.add_option("--template", o->chat_template, "chat format instead of the model's own: deepseek-v3 or deepseek-r1");
                 AddMmapOption(app, &o->mmap);
                 app.add_option("--host", o->serve.host, "address to listen on")->capture_default_str();
                 app.add_option("--port", o->serve.port, "port (0: any free port)")->capture_default_str();
                 app.add_option("--slots", o->serve.engine.slots, "requests decoded together")->capture_default_str()->check(CLI::Range(1, 256));
                 app.add_option("--ctx", o->ctx, "context length per request, in tokens")->capture_default_str()->check(CLI::Range(2, 1 << 22));
                 app.add_option("--max-queue", o->serve.engine.max_queue, "requests waiting for a slot before 429")->capture_default_str();
                 app.add_option("--max-batch-tokens", o->serve.engine.max_batch_tokens, "tokens per forward pass (prefill chunk)")->capture_default_str();
                 app.add_option("--max-body", o->serve.max_body_bytes, "largest request body in bytes")->capture_default_str();
                 return [o] { return RunServe(*o); };
               });

}  // namespace
}  // namespace whale::cli
