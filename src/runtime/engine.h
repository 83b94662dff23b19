// The continuous-batching generation engine. One thread owns the Transformer
// and the latent cache (one slot per concurrent sequence). Every step it
// builds one Batch from all running requests: one decode token for each
// sequence that is generating, plus chunks of prompt for the ones still in
// prefill, so a new request joins at the next step and a finished one leaves
// without stalling the others. A new prompt is placed in the free slot whose
// cached tokens share the longest prefix with it, and only the rest is
// computed: a conversation's next turn reuses the previous turn's cache.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/error.h"
#include "model/transformer.h"
#include "runtime/job.h"
#include "runtime/sampler.h"
#include "runtime/token_text.h"

namespace whale {

struct GenerateRequest {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int64_t max_tokens = -1;  // -1: until the context is full
  std::vector<std::string> stop;
  bool ignore_eos = false;  // benchmarks: always run to max_tokens
};

struct EngineOptions {
  int64_t slots = 8;               // sequences decoded together
  int64_t max_len = 4096;          // context per sequence (cache positions)
  int64_t max_batch_tokens = 128;  // tokens per forward call (prefill chunking)
  int64_t max_queue = 64;          // requests waiting for a slot before Submit refuses
};

// Submit refuses: the queue is full (HTTP 429) ...
struct QueueFullError : Error {
  using Error::Error;
};
// ... or the prompt leaves no room in the context (HTTP 400).
struct ContextError : Error {
  using Error::Error;
};

struct EngineStats {
  int64_t active = 0, queued = 0;
  int64_t steps = 0, generated_tokens = 0, prefill_tokens = 0, reused_tokens = 0;
};

class Engine {
 public:
  // `model` and `text` must outlive the engine.
  Engine(const Model& model, const TokenText& text, EngineOptions opt, ThreadPool* pool);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request; throws ContextError, QueueFullError or Error (stopped).
  std::shared_ptr<Job> Submit(GenerateRequest req);
  // Stops accepting, cancels everything queued or running, joins the thread.
  void Shutdown();

  int64_t context_length() const { return opt_.max_len; }
  const ModelConfig& config() const { return tf_.config(); }
  EngineStats stats();

 private:
  struct Seq;
  struct Slot {
    std::vector<int32_t> tokens;  // what the cache holds at positions 0..size-1
    bool busy = false;
    uint64_t last_used = 0;
  };
  struct Pending {
    GenerateRequest req;
    std::shared_ptr<Job> job;
  };

  void Loop();
  void Admit(std::deque<Pending>& incoming);
  int PickSlot(const std::vector<int32_t>& prompt, int64_t* reuse);
  void Step();
  void Accept(Seq& s, int32_t token);
  void Finish(Seq& s, FinishReason why, const std::string& error = {});

  const Model& model_;
  const TokenText& text_;
  EngineOptions opt_;
  ThreadPool* pool_;
  Transformer tf_;
  LatentCache cache_;
  std::vector<Slot> slots_;
  std::vector<std::unique_ptr<Seq>> active_;
  uint64_t clock_ = 0;

  // Step buffers, sized once.
  std::vector<int32_t> b_tok_, b_seq_, b_pos_;
  std::vector<float> hidden_, picked_, logits_;
  std::vector<Seq*> pick_seq_;
  std::vector<int64_t> pick_row_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  EngineStats stats_;
  std::thread thread_;
};

}  // namespace whale
