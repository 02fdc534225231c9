// channel<T>: a queue between tasks, on one loop or across workers, with many senders and receivers.
//
//     weft::channel<job> jobs(64);                       // bounded: a send waits while 64 are queued
//     spawn([jobs]() mutable -> task<void> {             // a channel is a handle: copy it freely
//       while (auto j = co_await jobs.receive()) co_await run(*j);   // ends with channel_closed
//     }).detach();
//     if (auto sent = co_await jobs.send(next()); !sent) log(sent.error());   // value back: take_back()
//     jobs.close();
//
// Capacity 0 is a rendezvous (Go's unbuffered channel): a send completes when a receiver takes the value.
// `channel<T>::unbounded()` never makes a sender wait. Values are delivered in the order sent; waiting
// senders and receivers are served in the order they arrived.
//
// close(): senders fail with errc::channel_closed (waiting ones too, and get their value back);
// receivers drain what is queued, then get errc::channel_closed. A task cancelled while it waits gets
// errc::operation_canceled and, if it was sending, its value back.
#pragma once

#include <coroutine>
#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "weft/detail/coop.hpp"
#include "weft/detail/sync_waiter.hpp"
#include "weft/error.hpp"
#include "weft/sync/send_result.hpp"

namespace weft {

template <class T>
class channel {
  struct waiter : detail::sync_waiter {
    std::optional<T> value;  // a sender's value until taken; a receiver's once given
  };

  struct state {
    detail::spin_lock lock;
    std::deque<T> items;
    std::size_t capacity;
    detail::waiter_list receivers;
    detail::waiter_list senders;
    bool closed = false;

    explicit state(std::size_t cap) : capacity(cap) {}

    // Under lock: delivers `v` to a waiting receiver (into `wakes`) or the buffer. False if it has
    // to wait.
    bool try_put(std::optional<T>& v, detail::wake_list& wakes) {
      if (detail::sync_waiter* r = detail::claim_front(&receivers, wakes)) {
        static_cast<waiter*>(r)->value = std::move(v);
        v.reset();
        detail::settle(r, detail::wait_outcome::satisfied, wakes);
        return true;
      }
      if (items.size() < capacity) {
        items.push_back(std::move(*v));
        v.reset();
        return true;
      }
      return false;
    }
    // Under lock: takes the next value into `out`, refilling the buffer from a waiting sender.
    bool try_take(std::optional<T>& out, detail::wake_list& wakes) {
      if (!items.empty()) {
        out = std::move(items.front());
        items.pop_front();
        if (detail::sync_waiter* s = detail::claim_front(&senders, wakes)) {
          auto* sw = static_cast<waiter*>(s);
          items.push_back(std::move(*sw->value));
          sw->value.reset();
          detail::settle(s, detail::wait_outcome::satisfied, wakes);
        }
        return true;
      }
      if (detail::sync_waiter* s = detail::claim_front(&senders, wakes)) {  // a rendezvous, or a full zero-size buffer
        auto* sw = static_cast<waiter*>(s);
        out = std::move(sw->value);
        sw->value.reset();
        detail::settle(s, detail::wait_outcome::satisfied, wakes);
        return true;
      }
      return false;
    }
  };

 public:
  /// A channel that queues up to `capacity` values (0: rendezvous).
  explicit channel(std::size_t capacity) : s_(std::make_shared<state>(capacity)) {}
  /// A channel whose sends never wait.
  static channel unbounded() { return channel(std::numeric_limits<std::size_t>::max()); }

  struct [[nodiscard]] send_awaiter : waiter {
    send_awaiter(state* st, T&& v) : s(st) { this->value.emplace(std::move(v)); }
    send_awaiter(const send_awaiter&) = delete;
    send_awaiter& operator=(const send_awaiter&) = delete;
    ~send_awaiter() { detail::abandon(this); }

    bool await_ready() const noexcept { return false; }
    template <detail::weft_promise P>
    bool await_suspend(std::coroutine_handle<P> h) {
      detail::context* task_ctx = h.promise().ctx;
      if (task_ctx->cut_if_cancelled()) {
        this->outcome = detail::wait_outcome::cancelled;
        return detail::yield_if_budget_spent(h, task_ctx);
      }
      detail::wake_list wakes;
      bool parked = false;
      {
        std::lock_guard guard(s->lock);
        if (s->closed) {
          this->outcome = detail::wait_outcome::closed;
        } else if (!s->try_put(this->value, wakes)) {
          detail::park(this, &s->lock, &s->senders, h, task_ctx, detail::suspend_reason::channel);
          parked = true;
        }
      }
      detail::wake_settled(wakes);
      return parked || detail::yield_if_budget_spent(h, task_ctx);
    }
    send_result<T> await_resume() {
      detail::resumed(this);
      if (!this->value) return {};
      return send_result<T>(detail::outcome_result(this->outcome).error(), std::move(*this->value));
    }

    state* s;
  };

  struct [[nodiscard]] receive_awaiter : waiter {
    explicit receive_awaiter(state* st) noexcept : s(st) {}
    receive_awaiter(const receive_awaiter&) = delete;
    receive_awaiter& operator=(const receive_awaiter&) = delete;
    ~receive_awaiter() { detail::abandon(this); }

    bool await_ready() const noexcept { return false; }
    template <detail::weft_promise P>
    bool await_suspend(std::coroutine_handle<P> h) {
      detail::context* task_ctx = h.promise().ctx;
      if (task_ctx->cut_if_cancelled()) {
        this->outcome = detail::wait_outcome::cancelled;
        return detail::yield_if_budget_spent(h, task_ctx);
      }
      detail::wake_list wakes;
      bool parked = false;
      {
        std::lock_guard guard(s->lock);
        if (s->try_take(this->value, wakes)) {
        } else if (s->closed) {
          this->outcome = detail::wait_outcome::closed;
        } else {
          detail::park(this, &s->lock, &s->receivers, h, task_ctx, detail::suspend_reason::channel);
          parked = true;
        }
      }
      detail::wake_settled(wakes);
      return parked || detail::yield_if_budget_spent(h, task_ctx);
    }
    result<T> await_resume() {
      detail::resumed(this);
      if (this->value) return std::move(*this->value);
      return tl::unexpected(detail::outcome_result(this->outcome).error());
    }

    state* s;
  };

  /// Sends `value`, waiting while the channel is full. See send_result for failures.
  send_awaiter send(T value) { return send_awaiter(s_.get(), std::move(value)); }
  /// Receives the next value, waiting while the channel is empty; errc::channel_closed once it is
  /// closed and drained.
  receive_awaiter receive() noexcept { return receive_awaiter(s_.get()); }

  /// Sends without waiting: std::errc::operation_would_block if full. Callable from any thread.
  send_result<T> try_send(T value) {
    std::optional<T> v(std::move(value));
    detail::wake_list wakes;
    std::error_code failed;
    {
      std::lock_guard guard(s_->lock);
      if (s_->closed) {
        failed = make_error_code(errc::channel_closed);
      } else if (!s_->try_put(v, wakes)) {
        failed = std::make_error_code(std::errc::operation_would_block);
      }
    }
    detail::wake_settled(wakes);
    if (failed) return send_result<T>(failed, std::move(*v));
    return {};
  }
  /// Receives without waiting: std::errc::operation_would_block if empty. Callable from any thread.
  result<T> try_receive() {
    std::optional<T> out;
    detail::wake_list wakes;
    bool closed;
    {
      std::lock_guard guard(s_->lock);
      s_->try_take(out, wakes);
      closed = s_->closed;
    }
    detail::wake_settled(wakes);
    if (out) return std::move(*out);
    if (closed) return fail(errc::channel_closed);
    return fail(std::make_error_code(std::errc::operation_would_block));
  }

  /// Closes the channel (idempotent); see above.
  void close() noexcept {
    detail::wake_list wakes;
    {
      std::lock_guard guard(s_->lock);
      s_->closed = true;
      detail::settle_all(&s_->receivers, detail::wait_outcome::closed, wakes);
      detail::settle_all(&s_->senders, detail::wait_outcome::closed, wakes);
    }
    detail::wake_settled(wakes);
  }
  bool is_closed() const noexcept {
    std::lock_guard guard(s_->lock);
    return s_->closed;
  }
  /// Values queued now (a snapshot).
  std::size_t size() const noexcept {
    std::lock_guard guard(s_->lock);
    return s_->items.size();
  }
  std::size_t capacity() const noexcept { return s_->capacity; }

 private:
  std::shared_ptr<state> s_;
};

}  // namespace weft
