// whale chat: an interactive conversation in the terminal. Replies stream as
// they are generated; R1-style thinking is shown dimmed under a "thinking"
// label. Ctrl-C stops the answer, not the session; Ctrl-D leaves. The engine
// keeps the conversation's cache slot, so each turn only computes what is new.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "cli/command.h"
#include "runtime/chat_model.h"
#include "runtime/engine.h"
#include "runtime/reasoning.h"

namespace whale::cli {
namespace {

std::atomic<bool> g_interrupted{false};
void OnSigint(int) { g_interrupted.store(true); }

struct Opts {
  std::string model = DefaultModelDir();
  std::string chat_template;
  std::string mmap = "auto";
  std::string system;
  bool hide_thinking = false;
  int64_t max_tokens = -1, ctx = 4096, seed = -1;
  float temperature = 0.6f, top_p = 0.95f;
};

const char* kHelp =
    "Commands:\n"
    "  /reset         start a new conversation (keeps the system prompt)\n"
    "  /system TEXT   set the system prompt and start over (/system alone clears it)\n"
    "  /help          this text\n"
    "  /exit          leave (or Ctrl-D)\n"
    "Multi-line input: end a line with \\ to continue it, or put \"\"\" on a line\n"
    "before and after a block. Ctrl-C stops the current answer.\n";

class Terminal {
 public:
  Terminal() : color_(isatty(1) && isatty(0)), interactive_(isatty(0)) {}
  std::string Dim(const std::string& s) const { return color_ ? "\x1b[2m" + s + "\x1b[0m" : s; }
  std::string Bold(const std::string& s) const { return color_ ? "\x1b[1m" + s + "\x1b[0m" : s; }
  bool interactive() const { return interactive_; }
  void Out(const std::string& s) const {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
  }

  // One user message (possibly several lines); false at end of input.
  bool ReadMessage(std::string* msg) const {
    msg->clear();
    bool block = false, continued = false;
    for (;;) {
      if (interactive_) Out(Bold(block || continued ? "... " : "> "));
      std::string line;
      if (!ReadLine(&line)) {
        if (g_interrupted.exchange(false)) {  // Ctrl-C at the prompt: drop the line, ask again
          Out("\n");
          msg->clear(), block = continued = false;
          continue;
        }
        return !msg->empty();
      }
      if (line == "\"\"\"") {
        if (block) return true;
        block = true;
        continue;
      }
      continued = !block && !line.empty() && line.back() == '\\';
      if (continued) line.pop_back();
      if (!msg->empty()) *msg += "\n";
      *msg += line;
      if (!block && !continued) return true;
    }
  }

 private:
  // read(2) directly, so Ctrl-C (EINTR) reaches us instead of being retried.
  static bool ReadLine(std::string* line) {
    for (;;) {
      char c;
      const ssize_t n = read(0, &c, 1);
      if (n < 0 && errno == EINTR) return false;
      if (n <= 0) return !line->empty();
      if (c == '\n') return true;
      *line += c;
    }
  }
  bool color_, interactive_;
};

int Chat(Opts o) {
  // Ctrl-C must interrupt this thread's read(), so the engine and pool threads
  // (created below) start with SIGINT blocked and only this thread takes it.
  sigset_t sigint;
  sigemptyset(&sigint);
  sigaddset(&sigint, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigint, nullptr);
  auto model = ChatModel::Load(o.model, o.chat_template, ParseResidency(o.mmap));
  EngineOptions eo{.slots = 1, .max_len = std::min(o.ctx, model->model().config.max_position_embeddings)};
  Engine engine(model->model(), *model, eo, &DefaultPool());
  struct sigaction sa = {};
  sa.sa_handler = OnSigint;  // no SA_RESTART: read() returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  pthread_sigmask(SIG_UNBLOCK, &sigint, nullptr);

  Terminal term;
  if (term.interactive())
    term.Out(term.Dim("whale chat: " + model->name() + " (context " + std::to_string(eo.max_len) +
                      " tokens). /help for commands, Ctrl-D to leave.\n"));
  nlohmann::json history = nlohmann::json::array();
  std::string msg;
  while (term.ReadMessage(&msg)) {
    if (msg.empty()) continue;
    if (msg == "/exit" || msg == "/quit") break;
    if (msg == "/help") { term.Out(kHelp); continue; }
    if (msg == "/reset") { history.clear(); term.Out(term.Dim("(new conversation)\n")); continue; }
    if (msg.rfind("/system", 0) == 0 && (msg.size() == 7 || msg[7] == ' ')) {
      o.system = msg.size() > 8 ? msg.substr(8) : "";
      history.clear();
      term.Out(term.Dim(o.system.empty() ? "(system prompt cleared; new conversation)\n"
                                         : "(system prompt set; new conversation)\n"));
      continue;
    }
    if (msg[0] == '/') { term.Out("unknown command " + msg + " (/help lists them)\n"); continue; }

    history.push_back({{"role", "user"}, {"content", msg}});
    nlohmann::json messages = nlohmann::json::array();
    if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
    for (const auto& m : history) messages.push_back(m);
    GenerateRequest req;
    req.prompt = model->EncodeChat(messages);
    req.sampling.temperature = o.temperature;
    req.sampling.top_p = o.top_p;
    if (o.seed >= 0) req.sampling.seed = uint64_t(o.seed);
    req.max_tokens = o.max_tokens;
    std::shared_ptr<Job> job;
    try {
      job = engine.Submit(std::move(req));
    } catch (const ContextError& e) {
      history.erase(history.end() - 1);
      term.Out(std::string("the conversation no longer fits: ") + e.what() + " (/reset starts over)\n");
      continue;
    }

    ReasoningSplitter split(model->reasoning());
    enum { kNothing, kThinking, kAnswer } shown = kNothing;
    std::string answer;
    auto show = [&](const ReasoningDelta& d) {
      if (!d.reasoning.empty()) {
        // Hidden thinking still gets its label, so a long silence reads as work.
        if (shown == kNothing) term.Out(term.Dim(o.hide_thinking ? "thinking..." : "thinking\n"));
        shown = kThinking;
        if (!o.hide_thinking) term.Out(term.Dim(d.reasoning));
      }
      if (!d.content.empty()) {
        if (shown == kThinking) term.Out(term.Dim("\n") + "\n");
        shown = kAnswer;
        answer += d.content;
        term.Out(d.content);
      }
    };
    g_interrupted.store(false);
    GenerateEvent ev;
    for (;;) {
      if (g_interrupted.exchange(false)) job->Cancel();
      if (!job->Next(&ev, std::chrono::milliseconds(50))) continue;
      show(split.Push(ev.text));
      if (ev.done) break;
    }
    show(split.Flush());
    if (ev.finish == FinishReason::kCancelled) term.Out(term.Dim(" [stopped]"));
    else if (ev.finish == FinishReason::kLength) term.Out(term.Dim(" [length limit]"));
    else if (ev.finish == FinishReason::kError) term.Out(" [error: " + ev.error + "]");
    term.Out("\n");
    history.push_back({{"role", "assistant"}, {"content", answer}});
  }
  if (term.interactive()) term.Out("\n");
  return 0;
}

Register chat("chat", "Chat with a model in the terminal", [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("--model", o->model, "model folder with tokenizer.json, or a .gguf file")->capture_default_str();
  app.add_option("--template", o->chat_template, "chat format instead of the model's own: deepseek-v3 or deepseek-r1");
  AddMmapOption(app, &o->mmap);
  app.add_option("--system", o->system, "system prompt");
  app.add_flag("--hide-thinking", o->hide_thinking, "do not show the reasoning of R1-style models");
  app.add_option("-n,--max-tokens", o->max_tokens, "longest answer in tokens (default: context)");
  app.add_option("--ctx", o->ctx, "context length in tokens")->capture_default_str();
  app.add_option("--temperature", o->temperature)->capture_default_str();
  app.add_option("--top-p", o->top_p)->capture_default_str();
  app.add_option("--seed", o->seed, "fixed seed: reproducible answers");
  return [o] { return Chat(*o); };
});

}  // namespace
}  // namespace whale::cli
