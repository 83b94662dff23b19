#include "runtime/engine.h"

#include <algorithm>
#include <cstring>

#include "kernels/ops.h"
#include "runtime/stop_strings.h"

namespace whale {
namespace {
GenerateEvent Ended(FinishReason why) {
  GenerateEvent ev;
  ev.finish = why;
  return ev;
}
}  // namespace

struct Engine::Seq {
  Seq(Pending p, int64_t vocab, const TokenText* text)
      : req(std::move(p.req)), job(std::move(p.job)), sampler(req.sampling, vocab), utf8(text), stop(req.stop) {}
  GenerateRequest req;
  std::shared_ptr<Job> job;
  Sampler sampler;
  Utf8Stream utf8;
  StopMatcher stop;
  int slot = -1;
  int64_t prefilled = 0;  // prompt tokens in the cache (reused ones included)
  int64_t reused = 0;
  int64_t generated = 0;
  int32_t next = -1;  // sampled, not yet in the cache
  bool decoding = false;
  bool done = false;
};

Engine::Engine(const Model& model, const TokenText& text, EngineOptions opt, ThreadPool* pool)
    : model_(model),
      text_(text),
      opt_(opt),
      pool_(pool),
      tf_(model, pool),
      cache_(model.config, tf_.cache_layers(), opt.slots, opt.max_len) {
  if (opt_.slots < 1 || opt_.max_len < 2) throw Error("engine: need slots >= 1 and a context of at least 2 tokens");
  // Every running sequence needs its decode token in each step, plus room for prefill.
  opt_.max_batch_tokens = std::max(opt_.max_batch_tokens, 2 * opt_.slots);
  const int64_t H = model.config.hidden_size, V = model.config.vocab_size;
  slots_.resize(size_t(opt_.slots));
  for (auto& s : slots_) s.tokens.reserve(size_t(opt_.max_len));
  b_tok_.reserve(opt_.max_batch_tokens);
  b_seq_.reserve(opt_.max_batch_tokens);
  b_pos_.reserve(opt_.max_batch_tokens);
  hidden_.resize(size_t(opt_.max_batch_tokens * H));
  picked_.resize(size_t(opt_.slots * H));
  logits_.resize(size_t(opt_.slots * V));
  pick_seq_.reserve(opt_.slots);
  pick_row_.reserve(opt_.slots);
  active_.reserve(opt_.slots);
  thread_ = std::thread([this] { Loop(); });
}

Engine::~Engine() { Shutdown(); }

std::shared_ptr<Job> Engine::Submit(GenerateRequest req) {
  const int64_t n = int64_t(req.prompt.size()), V = model_.config.vocab_size;
  if (n == 0) throw Error("the prompt is empty");
  if (n >= opt_.max_len)
    throw ContextError("the prompt is " + std::to_string(n) + " tokens but the context holds " +
                       std::to_string(opt_.max_len) + " (prompt plus at least one generated token)");
  for (int32_t t : req.prompt)
    if (t < 0 || t >= V) throw Error("prompt token " + std::to_string(t) + " is outside the vocabulary");
  req.sampling.Validate();
  auto job = std::make_shared<Job>();
  {
    std::lock_guard lock(mu_);
    if (stopping_) throw Error("the engine is shutting down");
    if (int64_t(queue_.size()) >= opt_.max_queue)
      throw QueueFullError("too many requests waiting (" + std::to_string(queue_.size()) + "); try again later");
    queue_.push_back({std::move(req), job});
  }
  cv_.notify_all();
  return job;
}

void Engine::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

EngineStats Engine::stats() {
  std::lock_guard lock(mu_);
  return stats_;
}

void Engine::Loop() {
  std::deque<Pending> incoming;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
      if (stopping_) {
        incoming.swap(queue_);
        break;
      }
      // Take only what fits: the rest keeps its place (and counts toward max_queue).
      int64_t free_slots = opt_.slots - int64_t(active_.size());
      while (free_slots > 0 && !queue_.empty()) {
        incoming.push_back(std::move(queue_.front()));
        queue_.pop_front();
        --free_slots;
      }
      // Queued requests whose client went away leave now, not when admitted.
      for (auto it = queue_.begin(); it != queue_.end();) {
        if (it->job->cancelled()) {
          it->job->Finish(Ended(FinishReason::kCancelled));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      stats_.active = int64_t(active_.size() + incoming.size());
      stats_.queued = int64_t(queue_.size());
    }
    Admit(incoming);
    if (!active_.empty()) Step();
    std::lock_guard lock(mu_);
    stats_.active = int64_t(active_.size());
    stats_.queued = int64_t(queue_.size());
  }
  for (auto& p : incoming) p.job->Finish(Ended(FinishReason::kCancelled));
  for (auto& s : active_) Finish(*s, FinishReason::kCancelled);
  active_.clear();
}

int Engine::PickSlot(const std::vector<int32_t>& prompt, int64_t* reuse) {
  int best = -1;
  int64_t best_lcp = -1;
  for (int i = 0; i < int(slots_.size()); ++i) {
    const Slot& s = slots_[i];
    if (s.busy) continue;
    const size_t m = std::min(s.tokens.size(), prompt.size());
    const int64_t lcp = std::mismatch(s.tokens.begin(), s.tokens.begin() + m, prompt.begin()).first - s.tokens.begin();
    // Longest shared prefix; among equals the least recently used, so idle
    // conversations keep their cache as long as possible.
    if (lcp > best_lcp || (lcp == best_lcp && s.last_used < slots_[best].last_used)) best = i, best_lcp = lcp;
  }
  // The last prompt token is always recomputed: its logits start generation.
  *reuse = std::min<int64_t>(best_lcp, int64_t(prompt.size()) - 1);
  return best;
}

void Engine::Admit(std::deque<Pending>& incoming) {
  while (!incoming.empty()) {
    Pending p = std::move(incoming.front());
    incoming.pop_front();
    if (p.job->cancelled()) {
      p.job->Finish(Ended(FinishReason::kCancelled));
      continue;
    }
    auto s = std::make_unique<Seq>(std::move(p), model_.config.vocab_size, &text_);
    int64_t reuse = 0;
    s->slot = PickSlot(s->req.prompt, &reuse);
    Slot& slot = slots_[s->slot];
    slot.busy = true;
    slot.last_used = ++clock_;
    slot.tokens.resize(size_t(reuse));
    s->prefilled = s->reused = reuse;
    s->sampler.AddPrompt(s->req.prompt);
    std::lock_guard lock(mu_);
    stats_.reused_tokens += reuse;
    active_.push_back(std::move(s));
  }
}

void Engine::Step() {
  for (auto& s : active_)
    if (s->job->cancelled()) Finish(*s, FinishReason::kCancelled);
  std::erase_if(active_, [](const auto& s) { return s->done; });
  if (active_.empty()) return;

  b_tok_.clear(), b_seq_.clear(), b_pos_.clear();
  pick_seq_.clear(), pick_row_.clear();
  auto add = [&](Seq& s, int32_t tok) {
    Slot& slot = slots_[s.slot];
    b_tok_.push_back(tok), b_seq_.push_back(s.slot), b_pos_.push_back(int32_t(slot.tokens.size()));
    slot.tokens.push_back(tok);
  };
  // Decode tokens first: running streams never wait behind a long prompt.
  for (auto& s : active_)
    if (s->decoding) {
      pick_seq_.push_back(s.get()), pick_row_.push_back(int64_t(b_tok_.size()));
      add(*s, s->next);
    }
  int64_t prefill = 0;
  for (auto& s : active_) {
    if (s->decoding) continue;
    const int64_t budget = opt_.max_batch_tokens - int64_t(b_tok_.size());
    if (budget <= 0) break;
    const int64_t n = std::min(budget, int64_t(s->req.prompt.size()) - s->prefilled);
    for (int64_t i = 0; i < n; ++i) add(*s, s->req.prompt[s->prefilled + i]);
    s->prefilled += n;
    prefill += n;
    if (s->prefilled == int64_t(s->req.prompt.size())) {
      pick_seq_.push_back(s.get()), pick_row_.push_back(int64_t(b_tok_.size()) - 1);
      s->decoding = true;
    }
  }

  const int64_t H = model_.config.hidden_size, V = model_.config.vocab_size;
  try {
    tf_.Forward({b_tok_, b_seq_, b_pos_}, cache_, nullptr, hidden_.data());
    // lm_head only for the rows that are sampled: a prompt chunk needs none.
    for (size_t i = 0; i < pick_row_.size(); ++i)
      std::memcpy(&picked_[i * H], &hidden_[pick_row_[i] * H], sizeof(float) * H);
    if (!pick_row_.empty()) MatMul(picked_.data(), int64_t(pick_row_.size()), model_.weights.lm_head, logits_.data(), pool_);
  } catch (const std::exception& e) {
    for (auto& s : active_) {
      slots_[s->slot].tokens.clear();  // the cache contents are unknown now
      Finish(*s, FinishReason::kError, e.what());
    }
    active_.clear();
    return;
  }
  for (size_t i = 0; i < pick_seq_.size(); ++i) Accept(*pick_seq_[i], pick_seq_[i]->sampler.Sample(&logits_[i * V]));
  {
    std::lock_guard lock(mu_);
    ++stats_.steps;
    stats_.prefill_tokens += prefill;
    stats_.generated_tokens += int64_t(pick_seq_.size());
  }
  std::erase_if(active_, [](const auto& s) { return s->done; });
}

void Engine::Accept(Seq& s, int32_t token) {
  ++s.generated;
  const ModelConfig& c = model_.config;
  if (!s.req.ignore_eos && token == c.eos_token_id) return Finish(s, FinishReason::kStop);
  bool stopped = false;
  s.job->Emit(s.stop.Push(s.utf8.Push(token), &stopped));
  if (stopped) return Finish(s, FinishReason::kStop);
  if (s.req.max_tokens >= 0 && s.generated >= s.req.max_tokens) return Finish(s, FinishReason::kLength);
  // The sampled token goes into the cache next step, at position tokens.size().
  if (int64_t(slots_[s.slot].tokens.size()) >= opt_.max_len) return Finish(s, FinishReason::kLength);
  s.next = token;
}

void Engine::Finish(Seq& s, FinishReason why, const std::string& error) {
  if (s.done) return;
  s.done = true;
  if (why != FinishReason::kError && why != FinishReason::kCancelled) {
    bool stopped = false;
    std::string tail = s.stop.Push(s.utf8.Flush(), &stopped);
    if (!stopped) tail += s.stop.Flush();
    s.job->Emit(tail);
    if (stopped) why = FinishReason::kStop;
  }
  Slot& slot = slots_[s.slot];
  slot.busy = false;
  slot.last_used = ++clock_;
  GenerateEvent ev;
  ev.finish = why;
  ev.error = error;
  ev.prompt_tokens = int64_t(s.req.prompt.size());
  ev.cached_tokens = s.reused;
  ev.completion_tokens = s.generated;
  s.job->Finish(std::move(ev));
}

}  // namespace whale
