// A small fixed-size thread pool for data-parallel loops (env stepping in VectorEnv).
//
// `parallel_for(n, fn)` splits [0, n) into one contiguous chunk per thread, runs the first chunk
// on the calling thread and the others on the workers, and returns when all are done. The same
// index always goes to the same chunk for a given (n, size), so work placement is deterministic.
// The first exception thrown by `fn` is rethrown on the caller after all chunks finish.
// One caller at a time: parallel_for is not re-entrant and must not be called concurrently.
// Waiting threads spin briefly (about 50 us) before blocking: a condition-variable wake-up costs
// tens of microseconds on these VMs, more than a whole batch of classic-control steps.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace stitch {

class ThreadPool {
 public:
  // num_threads counts the caller: 1 means no worker threads (everything runs inline).
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(i) for every i in [0, n); blocks until all calls returned.
  void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);

 private:
  void worker_loop(int worker_index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  std::atomic<uint64_t> generation_ = 0;  // bumped (under mutex_) for each parallel_for
  std::atomic<int> pending_ = 0;          // worker chunks not yet finished
  std::atomic<bool> stopping_ = false;
  int64_t n_ = 0;
  const std::function<void(int64_t)>* fn_ = nullptr;
  std::exception_ptr error_;
};

}  // namespace stitch
