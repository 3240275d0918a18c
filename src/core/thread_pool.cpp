#include "core/thread_pool.h"

#include <algorithm>

#include "core/error.h"

namespace stitch {
namespace {

// Chunk `k` of `parts` over [0, n): [begin, end).
std::pair<int64_t, int64_t> chunk(int64_t n, int parts, int k) {
  const int64_t base = n / parts, extra = n % parts;
  const int64_t begin = k * base + std::min<int64_t>(k, extra);
  return {begin, begin + base + (k < extra ? 1 : 0)};
}

// Spins until `done()` or about `limit` polls have passed; returns done().
template <typename Pred>
bool spin_until(Pred done, int limit = 20000) {
  for (int i = 0; i < limit; ++i) {
    if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  return done();
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads < 1) fail("thread pool: num_threads must be >= 1, got {}", num_threads);
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop(int worker_index) {
  uint64_t seen = 0;
  while (true) {
    auto ready = [&] { return stopping_.load() || generation_.load() != seen; };
    spin_until(ready);
    std::unique_lock lock(mutex_);
    start_cv_.wait(lock, ready);
    if (stopping_) return;
    seen = generation_;
    const auto [begin, end] = chunk(n_, size(), worker_index);
    const auto* fn = fn_;
    lock.unlock();
    std::exception_ptr err;
    try {
      for (int64_t i = begin; i < end; ++i) (*fn)(i);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    if (err && !error_) error_ = err;
    if (--pending_ == 0) done_cv_.notify_one();
    lock.unlock();
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    n_ = n;
    fn_ = &fn;
    error_ = nullptr;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  std::exception_ptr err;
  try {
    const auto [begin, end] = chunk(n, size(), 0);
    for (int64_t i = begin; i < end; ++i) fn(i);
  } catch (...) {
    err = std::current_exception();
  }
  spin_until([&] { return pending_.load() == 0; });
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [&] { return pending_.load() == 0; });
  if (!err) err = error_;
  fn_ = nullptr;
  lock.unlock();
  if (err) std::rethrow_exception(err);
}

}  // namespace stitch
