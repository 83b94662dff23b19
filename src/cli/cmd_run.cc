// whale run: one prompt in, one answer out, for scripts. The answer goes to
// stdout; R1-style thinking goes to stderr (or nowhere with --hide-thinking).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "runtime/chat_model.h"
#include "runtime/engine.h"
#include "runtime/reasoning.h"

namespace whale::cli {
namespace {

struct Opts {
  std::string model = DefaultModelDir();
  std::string chat_template;
  std::string mmap = "auto";
  std::string prompt, system;
  bool raw = false, hide_thinking = false;
  int64_t max_tokens = -1, ctx = 4096;
  SamplingParams sampling = [] {
    SamplingParams s;
    s.temperature = 0.6f;  // DeepSeek's advice for R1
    return s;
  }();
  int64_t seed = -1;
};

int Run(Opts o) {
  if (o.prompt == "-") o.prompt.assign(std::istreambuf_iterator<char>(std::cin), {});
  auto model = ChatModel::Load(o.model, o.chat_template, ParseResidency(o.mmap));
  if (o.seed >= 0) o.sampling.seed = uint64_t(o.seed);
  EngineOptions eo{.slots = 1, .max_len = std::min(o.ctx, model->model().config.max_position_embeddings)};
  Engine engine(model->model(), *model, eo, &DefaultPool());
  GenerateRequest req;
  nlohmann::json messages = nlohmann::json::array();
  if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
  messages.push_back({{"role", "user"}, {"content", o.prompt}});
  req.prompt = o.raw ? model->EncodeText(o.prompt) : model->EncodeChat(messages);
  req.sampling = o.sampling;
  req.max_tokens = o.max_tokens;
  auto job = engine.Submit(std::move(req));
  ReasoningSplitter split(!o.raw && model->reasoning());
  const bool dim = isatty(2);
  auto show = [&](const ReasoningDelta& d) {
    if (!d.reasoning.empty() && !o.hide_thinking) {
      std::fprintf(stderr, "%s%s%s", dim ? "\x1b[2m" : "", d.reasoning.c_str(), dim ? "\x1b[0m" : "");
      std::fflush(stderr);
    }
    if (!d.content.empty()) std::fwrite(d.content.data(), 1, d.content.size(), stdout), std::fflush(stdout);
  };
  GenerateEvent ev;
  for (;;) {
    if (!job->Next(&ev, std::chrono::seconds(1))) continue;
    show(split.Push(ev.text));
    if (ev.done) break;
  }
  show(split.Flush());
  std::fputc('\n', stdout);
  if (ev.finish == FinishReason::kError) throw Error("generation failed: " + ev.error);
  return 0;
}

Register run("run", "Answer one prompt (chat template applied) and exit", [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  app.add_option("--model", o->model, "model folder with tokenizer.json, or a .gguf file")->capture_default_str();
  app.add_option("--template", o->chat_template, "chat format instead of the model's own: deepseek-v3 or deepseek-r1");
  AddMmapOption(app, &o->mmap);
  app.add_option("-p,--prompt", o->prompt, "the user message ('-': read stdin)")->required();
  app.add_option("--system", o->system, "system prompt");
  app.add_flag("--raw", o->raw, "no chat template: continue the prompt text");
  app.add_flag("--hide-thinking", o->hide_thinking, "do not print the reasoning of R1-style models");
  app.add_option("-n,--max-tokens", o->max_tokens, "stop after this many tokens (default: context)");
  app.add_option("--ctx", o->ctx, "context length in tokens")->capture_default_str();
  app.add_option("--temperature", o->sampling.temperature, "0: greedy")->capture_default_str();
  app.add_option("--top-p", o->sampling.top_p)->capture_default_str();
  app.add_option("--top-k", o->sampling.top_k, "0: off")->capture_default_str();
  app.add_option("--min-p", o->sampling.min_p)->capture_default_str();
  app.add_option("--repetition-penalty", o->sampling.repetition_penalty)->capture_default_str();
  app.add_option("--seed", o->seed, "fixed seed: reproducible output");
  return [o] { return Run(*o); };
});

}  // namespace
}  // namespace whale::cli
