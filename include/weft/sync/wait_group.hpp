// wait_group: waits for a count of things to be done, like Go's sync.WaitGroup; constructed with a
// count and never added to, it is a latch.
//
//     weft::wait_group wg;
//     for (auto& item : items) {
//       wg.add();
//       spawn([&wg, &item]() -> task<void> { co_await process(item); wg.done(); }).detach();
//     }
//     co_await wg.wait();
//
// Thread-safe: add, done and wait from tasks on any worker or from plain threads (add and done). As
// with Go's WaitGroup, an add() that takes the count up from zero must happen before the wait() it is
// meant for; add and done otherwise cost one atomic instruction each.
#pragma once

#include <cstddef>

#include "weft/sync/event.hpp"

namespace weft {

class wait_group {
 public:
  explicit wait_group(std::size_t count = 0) noexcept : count_(count), zero_(count == 0) {}
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  /// Adds `n` to the count.
  void add(std::size_t n = 1) noexcept;
  /// Takes one off the count; at zero, every waiting task wakes. Calling it more often than the count
  /// allows is a bug (std::terminate).
  void done() noexcept;
  /// Completes when the count is zero (at once if it is). `errc::operation_canceled` if cancelled first.
  auto wait() noexcept { return zero_.wait(); }
  /// The count now: a snapshot for progress reports. Not a reason to destroy the group: a done() that
  /// took it to zero may still be running; a completed wait() is.
  std::size_t count() const noexcept { return count_.load(std::memory_order_acquire); }

 private:
  detail::atomic<std::size_t> count_;
  event zero_;  // its lock is taken only when the count reaches or leaves zero
};

}  // namespace weft
