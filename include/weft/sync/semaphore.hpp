// semaphore and mutex: awaitable, thread-safe, first come first served.
//
//     weft::semaphore slots(8);                  // at most 8 downloads at once
//     if (auto ok = co_await slots.acquire(); !ok) co_return;   // cancelled
//     co_await download(url);
//     slots.release();
//
//     weft::mutex m;
//     auto guard = co_await m.lock();            // result<mutex::guard>; unlocks when it goes
//     if (!guard) co_return;                     // cancelled while waiting
//
// Waiting tasks are served in the order they arrived, and a permit released while tasks wait goes to
// the first of them (no barging), so no task starves. A task suspended here holds no thread: the
// worker runs other tasks meanwhile.
#pragma once

#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

#include "weft/detail/sync_waiter.hpp"

namespace weft {

class semaphore {
 public:
  explicit semaphore(std::size_t permits) noexcept : permits_(permits) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  /// Takes a permit, waiting for one if none is free. `errc::operation_canceled` if the task is
  /// cancelled while it waits (it then holds no permit).
  detail::void_wait_awaiter<semaphore> acquire() noexcept { return detail::void_wait_awaiter<semaphore>(this); }
  /// Takes a permit if one is free and no task is waiting for one.
  bool try_acquire() noexcept;
  /// Returns `n` permits: to waiting tasks first, in order.
  void release(std::size_t n = 1) noexcept;
  /// Free permits now (a snapshot).
  std::size_t available() const noexcept;

 private:
  friend struct detail::void_wait_awaiter<semaphore>;
  bool suspend(detail::sync_waiter* w, std::coroutine_handle<> h, detail::context* ctx, bool cancellable) noexcept;

  mutable detail::spin_lock lock_;
  detail::waiter_list waiters_;
  detail::cell<std::size_t> permits_;  // under lock_ (a cell: the model build checks that it is)
};

class mutex {
 public:
  /// Holds the lock; unlocks when destroyed.
  class guard {
   public:
    guard(guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
    guard& operator=(guard&& o) noexcept {
      if (this != &o) {
        unlock();
        m_ = std::exchange(o.m_, nullptr);
      }
      return *this;
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { unlock(); }
    /// Unlocks early.
    void unlock() noexcept {
      if (m_ != nullptr) std::exchange(m_, nullptr)->sem_.release();
    }

   private:
    friend class mutex;
    explicit guard(mutex* m) noexcept : m_(m) {}
    mutex* m_;
  };

  struct [[nodiscard]] lock_awaiter {
    detail::void_wait_awaiter<semaphore> inner;
    mutex* m;
    bool await_ready() const noexcept { return false; }
    template <detail::weft_promise P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
      return inner.await_suspend(h);
    }
    result<guard> await_resume() noexcept {
      result<void> r = inner.await_resume();
      if (!r) return tl::unexpected(r.error());
      return guard(m);
    }
  };

  mutex() noexcept = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  /// Locks, waiting while another task holds it. `errc::operation_canceled` if cancelled meanwhile.
  lock_awaiter lock() noexcept { return lock_awaiter{sem_.acquire(), this}; }
  /// Locks if it is free and nobody waits.
  std::optional<guard> try_lock() noexcept {
    if (!sem_.try_acquire()) return std::nullopt;
    return guard(this);
  }

 private:
  semaphore sem_{1};
};

}  // namespace weft
