// spawn_blocking and offload: work that would stall an event loop, run elsewhere and awaited.
//
//     std::string text = co_await weft::spawn_blocking([&] { return read_whole_file(path); });
//     auto digest     = co_await weft::offload([&] { return sha256(text); });
//
// spawn_blocking runs its function on the runtime's blocking pool: threads started on demand up to
// runtime_options::max_blocking_threads, which exit after blocking_keep_alive idle. Use it for calls
// that block (files, DNS through libc, foreign libraries). offload runs CPU-bound work on the compute
// pool (weft/parallel.hpp), one thread per core, so that loops keep serving I/O meanwhile.
//
// Both return the function's value, or rethrow its exception, in the awaiting task, on its own loop.
// The function may use the awaiting task's locals: the task waits for it. Cancellation takes effect only
// before the function starts (the await then throws std::system_error(errc::operation_canceled)); a
// function that has started runs to its end, and the task waits for it.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/detail/context.hpp"
#include "weft/detail/promise_base.hpp"

namespace weft {

namespace detail {

class worker;

enum class blocking_stage : unsigned char { idle, queued, running, done, cancelled };

/// One call to run on another thread; the awaiter that owns it lives in the waiting task's frame.
struct blocking_job : cancel_waiter {
  void (*invoke)(blocking_job* self) noexcept = nullptr;
  blocking_job* prev = nullptr;
  blocking_job* next = nullptr;
  std::coroutine_handle<> handle;
  context* ctx = nullptr;
  worker* home = nullptr;
  blocking_stage stage = blocking_stage::idle;  // guarded by the pool's lock
  bool on_compute_pool = false;
  void* ticket = nullptr;  // the compute pool's ticket (see src/runtime/blocking.cpp)
  std::int64_t traced_since = 0;  // with the trace on: when it was submitted (steady clock, ns)
};

/// Queues `job` for task `h`: on the current runtime's blocking pool, or on the compute pool. Returns
/// false if the task is cancelled already (the job then does not run).
bool blocking_submit(blocking_job* job, std::coroutine_handle<> h, context* ctx, bool compute);
/// In await_resume: disarms cancellation; throws operation_canceled if the job never ran.
void blocking_resumed(blocking_job* job);
/// In the awaiter's destructor (shutdown): unlinks a job that never started.
void blocking_abandon(blocking_job* job) noexcept;

template <class F>
class [[nodiscard]] blocking_awaiter : blocking_job {
  using value_type = std::invoke_result_t<F&>;
  using stored = std::conditional_t<std::is_void_v<value_type>, bool, value_type>;

 public:
  blocking_awaiter(F&& fn, bool compute) : fn_(std::move(fn)), compute_(compute) { invoke = &run; }
  blocking_awaiter(const blocking_awaiter&) = delete;
  blocking_awaiter& operator=(const blocking_awaiter&) = delete;
  ~blocking_awaiter() { blocking_abandon(this); }

  bool await_ready() const noexcept { return false; }
  template <weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return blocking_submit(this, h, h.promise().ctx, compute_);
  }
  value_type await_resume() {
    blocking_resumed(this);
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<value_type>) return std::move(*value_);
  }

 private:
  static void run(blocking_job* self) noexcept {
    auto* a = static_cast<blocking_awaiter*>(self);
    try {
      if constexpr (std::is_void_v<value_type>) {
        a->fn_();
      } else {
        a->value_.emplace(a->fn_());
      }
    } catch (...) {
      a->error_ = std::current_exception();
    }
  }

  F fn_;
  std::optional<stored> value_;
  std::exception_ptr error_;
  bool compute_;
};

}  // namespace detail

/// Runs `fn()` on the blocking pool and returns its value (or rethrows its exception). From a task.
template <class F>
detail::blocking_awaiter<std::decay_t<F>> spawn_blocking(F&& fn) {
  return detail::blocking_awaiter<std::decay_t<F>>(std::decay_t<F>(std::forward<F>(fn)), false);
}

/// Runs CPU-bound `fn()` on the compute pool and returns its value (or rethrows its exception). From a
/// task.
template <class F>
detail::blocking_awaiter<std::decay_t<F>> offload(F&& fn) {
  return detail::blocking_awaiter<std::decay_t<F>>(std::decay_t<F>(std::forward<F>(fn)), true);
}

}  // namespace weft
