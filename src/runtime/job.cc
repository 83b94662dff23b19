#include "runtime/job.h"

namespace whale {

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
    default: return "none";
  }
}

bool Job::Next(GenerateEvent* ev, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return false;
  *ev = std::move(events_.front());
  events_.pop_front();
  return true;
}

void Job::Emit(const std::string& text) {
  if (text.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (!events_.empty() && !events_.back().done) events_.back().text += text;
    else {
      events_.emplace_back();
      events_.back().text = text;
    }
  }
  cv_.notify_all();
}

void Job::Finish(GenerateEvent final_event) {
  final_event.done = true;
  {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(final_event));
  }
  finished_.store(true);
  cv_.notify_all();
}

}  // namespace whale
