// A persistent pool of worker threads: created once, reused for every op, so
// the decode loop never creates threads. Between calls the workers spin for a
// short while (decode issues a call every few tens of microseconds, and a
// futex wake-up costs about as much), then sleep on a condition variable.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace whale {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Runs fn(begin, end) over [0, n) split into at most size() contiguous
  // chunks; the calling thread takes one chunk. Returns when all are done.
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void Worker(int index);

  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // one ParallelFor at a time (callers from several threads queue)
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

// The process-wide default pool (sized by WHALE_THREADS or the core count).
ThreadPool& DefaultPool();

}  // namespace whale
