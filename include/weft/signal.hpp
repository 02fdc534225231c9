// Signals as awaitable events: Ctrl-C in a task, not in a handler.
//
//     weft::signal_set stop{SIGINT, SIGTERM};          // listening from here on
//     spawn([&]() -> task<void> {
//       if (auto sig = co_await stop.next()) server.shutdown();
//     });
//
//     co_await weft::signal(SIGHUP);                   // just the next SIGHUP
//
// While at least one signal_set listens for a signal, weft catches it with a handler of its own (which
// only writes the number to a pipe); a process-wide thread reads the pipe and wakes the waiting tasks,
// each on its own loop. When the last set listening for it goes, the signal's previous action returns.
// Signals that arrive while no task waits are kept, one count per signal, until next() takes them.
// Works from any runtime, any worker, any number of sets; child processes start with every signal at
// its default action (weft/process).
#pragma once

#include <coroutine>
#include <initializer_list>
#include <vector>

#include "weft/detail/sync_waiter.hpp"
#include "weft/error.hpp"
#include "weft/task.hpp"

namespace weft {

class signal_set;

namespace detail {
struct signal_awaiter : sync_waiter {
  explicit signal_awaiter(signal_set* s) noexcept : set(s) {}
  /// Moves only before it is awaited (as timeout() and when_any() do with the awaitables they get).
  signal_awaiter(signal_awaiter&& other) noexcept : set(other.set) {}
  signal_awaiter& operator=(signal_awaiter&&) = delete;
  ~signal_awaiter() { abandon(this); }
  bool await_ready() const noexcept { return false; }
  template <weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    return suspend(h, h.promise().ctx);
  }
  result<int> await_resume() noexcept;
  bool suspend(std::coroutine_handle<> h, context* ctx) noexcept;

  signal_set* set;
  int signo = 0;
};
}  // namespace detail

/// Listens for some signals from construction to destruction. Thread-safe; not movable.
class signal_set {
 public:
  /// Starts listening for `signals`. Throws std::invalid_argument for a number that is not a signal one
  /// may catch (SIGKILL, SIGSTOP, 0, or past the last), std::system_error if the handler cannot be set.
  signal_set(std::initializer_list<int> signals);
  ~signal_set();
  signal_set(const signal_set&) = delete;
  signal_set& operator=(const signal_set&) = delete;

  /// Completes with the number of a signal that has arrived since the last next() took one, waiting
  /// for one if none has. Several waiting tasks are woken one per signal, first come first served.
  /// `errc::operation_canceled` if the waiting task is cancelled first.
  detail::signal_awaiter next() noexcept { return detail::signal_awaiter(this); }

 private:
  friend struct detail::signal_awaiter;
  friend struct signal_dispatch;
  /// From the dispatch thread: one `signo` arrived. Settles a waiter into `wakes`, or keeps the count.
  void deliver(int signo, detail::wake_list& wakes) noexcept;

  detail::spin_lock lock_;
  std::vector<int> signals_;
  std::vector<unsigned> pending_;  // per entry of signals_
  detail::waiter_list waiters_;
};

/// Waits for the next `signo` to arrive (listening from this call on, so a signal that comes before the
/// task is awaited counts).
/// `errc::operation_canceled` if the task is cancelled first.
task<result<int>> signal(int signo);

}  // namespace weft
