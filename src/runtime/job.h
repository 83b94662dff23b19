// One request's side of the engine: a queue of events the engine fills and a
// client thread drains, plus the cancel flag the client sets (a closed
// connection, Ctrl-C). Text of consecutive events is merged while the client
// is busy, so a slow reader never slows the batch.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace whale {

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };
// OpenAI's spelling: "stop", "length"; ours for the rest.
const char* FinishReasonName(FinishReason r);

struct GenerateEvent {
  std::string text;  // new output text, never splitting a UTF-8 character
  bool done = false;
  FinishReason finish = FinishReason::kNone;
  std::string error;            // when finish == kError
  int64_t prompt_tokens = 0;    // set on the final event
  int64_t cached_tokens = 0;    // prompt tokens reused from the cache
  int64_t completion_tokens = 0;
};

class Job {
 public:
  // Waits up to `timeout` for the next event; false if none came.
  bool Next(GenerateEvent* ev, std::chrono::milliseconds timeout);
  // Asks the engine to stop this request and free its slot at the next step.
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

  // Engine side.
  void Emit(const std::string& text);
  void Finish(GenerateEvent final_event);
  bool finished() const { return finished_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<GenerateEvent> events_;
  std::atomic<bool> cancelled_{false}, finished_{false};
};

}  // namespace whale
