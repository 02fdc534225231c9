// oneshot: one value, sent once, from one task (or thread) to one waiting task.
//
//     auto [tx, rx] = weft::make_oneshot<int>();
//     std::thread([tx = std::move(tx)]() mutable { (void)tx.send(compute()); }).detach();
//     result<int> v = co_await std::move(rx);   // errc::channel_closed if tx was dropped unsent
//
// Sending fails (handing the value back) if the receiver is gone. Both ends are move-only handles to
// one shared, thread-safe slot.
#pragma once

#include <atomic>
#include <coroutine>
#include <mutex>
#include <optional>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/coop.hpp"
#include "weft/detail/sync_waiter.hpp"
#include "weft/error.hpp"
#include "weft/sync/send_result.hpp"

namespace weft {

template <class T>
class oneshot_sender;
template <class T>
class oneshot_receiver;

namespace detail {
template <class T>
struct oneshot_state {
  // Under `lock`, as cells: the model build checks that they are, and that the free (the last unref)
  // comes after every other access (the reference count's acq_rel orders it).
  spin_lock lock;
  cell<std::optional<T>> value;
  waiter_list waiter;  // at most one
  cell<bool> sender_gone{false};
  cell<bool> receiver_gone{false};
  weft::detail::atomic<int> refs{2};

  /// Under `lock`: the value, if one is there, moved out.
  std::optional<T> take() {
    return value.with_mut([](std::optional<T>& v) {
      std::optional<T> out = std::move(v);
      v.reset();
      return out;
    });
  }
  bool has_value() const {
    return value.with([](const std::optional<T>& v) { return v.has_value(); });
  }

  static void unref(oneshot_state* s) noexcept {
    if (s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete s;
  }
};
}  // namespace detail

template <class T>
class oneshot_sender {
 public:
  oneshot_sender(oneshot_sender&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  oneshot_sender& operator=(oneshot_sender&& o) noexcept {
    if (this != &o) {
      release();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  oneshot_sender(const oneshot_sender&) = delete;
  oneshot_sender& operator=(const oneshot_sender&) = delete;
  /// Dropping an unsent sender makes the receiver's await fail with errc::channel_closed.
  ~oneshot_sender() { release(); }

  /// Delivers `value` and wakes the receiver. Fails with errc::channel_closed (value back) if the
  /// receiver is gone or this sender already sent. Callable from any thread.
  send_result<T> send(T value) {
    if (s_ == nullptr) return send_result<T>(make_error_code(errc::channel_closed), std::move(value));
    detail::oneshot_state<T>* s = std::exchange(s_, nullptr);
    bool delivered = false;
    detail::wake_list wakes;
    {
      std::lock_guard guard(s->lock);
      s->sender_gone.set(true);
      if (!s->receiver_gone.get()) {
        s->value.with_mut([&value](std::optional<T>& v) { v.emplace(std::move(value)); });
        delivered = true;
        detail::settle_all(&s->waiter, detail::wait_outcome::satisfied, wakes);
      }
    }
    detail::wake_settled(wakes);
    if (delivered) {
      detail::oneshot_state<T>::unref(s);
      return {};
    }
    detail::oneshot_state<T>::unref(s);
    return send_result<T>(make_error_code(errc::channel_closed), std::move(value));
  }

 private:
  template <class U>
  friend std::pair<oneshot_sender<U>, oneshot_receiver<U>> make_oneshot();
  explicit oneshot_sender(detail::oneshot_state<T>* s) noexcept : s_(s) {}
  void release() noexcept {
    if (s_ == nullptr) return;
    detail::oneshot_state<T>* s = std::exchange(s_, nullptr);
    detail::wake_list wakes;
    {
      std::lock_guard guard(s->lock);
      s->sender_gone.set(true);
      detail::settle_all(&s->waiter, detail::wait_outcome::closed, wakes);
    }
    detail::wake_settled(wakes);
    detail::oneshot_state<T>::unref(s);
  }
  detail::oneshot_state<T>* s_;
};

template <class T>
class oneshot_receiver {
 public:
  oneshot_receiver(oneshot_receiver&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  oneshot_receiver& operator=(oneshot_receiver&& o) noexcept {
    if (this != &o) {
      release();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  oneshot_receiver(const oneshot_receiver&) = delete;
  oneshot_receiver& operator=(const oneshot_receiver&) = delete;
  ~oneshot_receiver() { release(); }

  struct [[nodiscard]] awaiter : detail::sync_waiter {
    explicit awaiter(detail::oneshot_state<T>* st) noexcept : s(st) {}
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;
    ~awaiter() { detail::abandon(this); }

    bool await_ready() const noexcept { return false; }
    template <detail::weft_promise P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
      detail::context* task_ctx = h.promise().ctx;
      if (task_ctx->cut_if_cancelled()) {
        outcome = detail::wait_outcome::cancelled;
        return detail::yield_if_budget_spent(h, task_ctx);
      }
      {
        std::lock_guard guard(s->lock);
        if (!s->has_value() && !s->sender_gone.get()) {
          detail::park(this, &s->lock, &s->waiter, h, task_ctx, detail::suspend_reason::channel);
          return true;
        }
      }
      return detail::yield_if_budget_spent(h, task_ctx);
    }
    result<T> await_resume() {
      detail::resumed(this);
      if (outcome == detail::wait_outcome::cancelled) return fail(errc::operation_canceled);
      std::lock_guard guard(s->lock);
      std::optional<T> v = s->take();
      if (!v) return fail(errc::channel_closed);
      return std::move(*v);
    }

    detail::oneshot_state<T>* s;
  };

  /// Waits for the value: errc::channel_closed if the sender was dropped unsent (or the value was
  /// taken already), errc::operation_canceled if the task is cancelled first.
  awaiter operator co_await() && noexcept { return awaiter(s_); }

  /// The value if it has arrived: std::errc::operation_would_block if not yet, errc::channel_closed if
  /// it never will.
  result<T> try_receive() {
    std::lock_guard guard(s_->lock);
    if (std::optional<T> v = s_->take()) return std::move(*v);
    if (s_->sender_gone.get()) return fail(errc::channel_closed);
    return fail(std::make_error_code(std::errc::operation_would_block));
  }

 private:
  template <class U>
  friend std::pair<oneshot_sender<U>, oneshot_receiver<U>> make_oneshot();
  explicit oneshot_receiver(detail::oneshot_state<T>* s) noexcept : s_(s) {}
  void release() noexcept {
    if (s_ == nullptr) return;
    detail::oneshot_state<T>* s = std::exchange(s_, nullptr);
    {
      std::lock_guard guard(s->lock);
      s->receiver_gone.set(true);
    }
    detail::oneshot_state<T>::unref(s);
  }
  detail::oneshot_state<T>* s_;
};

/// A connected sender and receiver.
template <class T>
std::pair<oneshot_sender<T>, oneshot_receiver<T>> make_oneshot() {
  auto* s = new detail::oneshot_state<T>();
  return {oneshot_sender<T>(s), oneshot_receiver<T>(s)};
}

}  // namespace weft
