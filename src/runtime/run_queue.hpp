// The loop's queue of coroutines ready to resume: a growable power-of-two ring buffer.
// Owned by one loop thread; no locks, no allocation once it has grown to the working-set size.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "weft/detail/context.hpp"

namespace weft::detail {

struct runnable {
  std::coroutine_handle<> handle;
  context* ctx;  // whose turn it is: names the task in slow-task reports
};

class run_queue {
 public:
  run_queue();

  void push(runnable r) {
    if (tail_ - head_ == capacity_) grow();
    buf_[tail_++ & (capacity_ - 1)] = r;
  }
  /// Pushes a spawned task's first resume, marked so that pop_newest_if can tell it from a wake-up.
  void push_fresh(runnable r) {
    r.ctx = reinterpret_cast<context*>(reinterpret_cast<std::uintptr_t>(r.ctx) | fresh_mark);
    push(r);
  }
  bool pop(runnable& out) noexcept {
    if (head_ == tail_) return false;
    out = buf_[head_++ & (capacity_ - 1)];
    out.ctx = reinterpret_cast<context*>(reinterpret_cast<std::uintptr_t>(out.ctx) & ~fresh_mark);
    return true;
  }
  /// The runnable pushed last (not empty()).
  const runnable& newest() const noexcept { return buf_[(tail_ - 1) & (capacity_ - 1)]; }
  /// Takes back the newest runnable if it is `h`'s first resume (pushed with push_fresh).
  bool pop_newest_if(std::coroutine_handle<> h) noexcept {
    if (head_ == tail_) return false;
    const runnable& r = buf_[(tail_ - 1) & (capacity_ - 1)];
    if (r.handle != h || (reinterpret_cast<std::uintptr_t>(r.ctx) & fresh_mark) == 0) return false;
    --tail_;
    return true;
  }
  std::size_t size() const noexcept { return tail_ - head_; }
  /// Swaps the front with the k-th runnable (k < size()): the shuffling debug mode's one tool.
  void swap_front(std::size_t k) noexcept {
    std::swap(buf_[head_ & (capacity_ - 1)], buf_[(head_ + k) & (capacity_ - 1)]);
  }
  bool empty() const noexcept { return head_ == tail_; }
  void clear() noexcept { head_ = tail_ = 0; }

 private:
  static constexpr std::uintptr_t fresh_mark = 1;  // in runnable::ctx (contexts are aligned)
  void grow();

  std::unique_ptr<runnable[]> buf_;
  std::size_t capacity_;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

}  // namespace weft::detail
