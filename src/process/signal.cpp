// Signals: a handler that writes the number to a pipe (all it may safely do), and a thread that reads
// the pipe and delivers each number to the signal_sets listening for it.
#include "weft/detail/atomic.hpp"
#include "weft/detail/coop.hpp"
#include "weft/signal.hpp"

#include <cstring>
#include <string>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "runtime/worker.hpp"
#include "trace/trace.hpp"

namespace weft {

struct signal_dispatch {
  weft::detail::mutex lock;  // guards everything below but the pipe's read end
  std::vector<signal_set*> sets;
  int listeners[NSIG] = {};
  struct sigaction previous[NSIG] = {};
  int pipe_read = -1;

  /// The one instance, its pipe and thread started on first use; never destroyed (a handler may run
  /// during exit).
  static signal_dispatch& get() {
    static signal_dispatch* instance = [] {
      auto* d = new signal_dispatch;
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) throw std::system_error(errno, std::system_category(), "weft signal pipe");
      ::fcntl(fds[0], F_SETFL, 0);  // the thread blocks reading; the handler never blocks writing
      d->pipe_read = fds[0];
      handler_pipe.store(fds[1]);
      weft::detail::thread([d] { d->run(); }).detach();
      return d;
    }();
    return *instance;
  }

  static void on_signal(int signo) {
    int saved = errno;
    auto byte = static_cast<unsigned char>(signo);
    // A full pipe drops the number: that many signals pending are as good as one.
    (void)!::write(handler_pipe.load(std::memory_order_relaxed), &byte, 1);
    errno = saved;
  }
  // What the handler writes to: a lock-free atomic, safe to read in a signal handler.
  static inline weft::detail::atomic<int> handler_pipe{-1};

  void run() {
    // Signals are for the other threads: one taken here while this thread sits in read() would, under
    // ThreadSanitizer (which defers handlers to the next intercepted call), wait for a read that never ends.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    unsigned char buf[64];
    for (;;) {
      ssize_t n = ::read(pipe_read, buf, sizeof buf);
      if (n <= 0) continue;  // EINTR
      std::lock_guard guard(lock);
      for (ssize_t i = 0; i < n; ++i) {
        detail::wake_list wakes;
        for (signal_set* s : sets) s->deliver(buf[i], wakes);
        // Under `lock`: a woken task may destroy its set at once, and its destructor waits for the lock.
        detail::wake_settled(wakes);
      }
    }
  }

  void listen(int signo) {
    if (listeners[signo]++ > 0) return;
    struct sigaction sa{};
    sa.sa_handler = &signal_dispatch::on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(signo, &sa, &previous[signo]) < 0) {
      --listeners[signo];
      throw std::system_error(errno, std::system_category(), "weft: sigaction");
    }
  }

  void unlisten(int signo) {
    if (--listeners[signo] == 0) ::sigaction(signo, &previous[signo], nullptr);
  }
};

signal_set::signal_set(std::initializer_list<int> signals) : signals_(signals), pending_(signals.size(), 0) {
  for (int s : signals_) {
    if (s <= 0 || s >= NSIG || s == SIGKILL || s == SIGSTOP) {
      throw std::invalid_argument("weft::signal_set: cannot catch signal " + std::to_string(s));
    }
  }
  signal_dispatch& d = signal_dispatch::get();
  std::lock_guard guard(d.lock);
  std::size_t done = 0;
  try {
    for (; done < signals_.size(); ++done) d.listen(signals_[done]);
  } catch (...) {
    while (done > 0) d.unlisten(signals_[--done]);
    throw;
  }
  d.sets.push_back(this);
}

signal_set::~signal_set() {
  signal_dispatch& d = signal_dispatch::get();
  std::lock_guard guard(d.lock);
  std::erase(d.sets, this);
  for (int s : signals_) d.unlisten(s);
}

void signal_set::deliver(int signo, detail::wake_list& wakes) noexcept {
  std::lock_guard guard(lock_);
  for (std::size_t i = 0; i < signals_.size(); ++i) {
    if (signals_[i] != signo) continue;
    if (detail::sync_waiter* w = waiters_.pop_front()) {
      static_cast<detail::signal_awaiter*>(w)->signo = signo;
      detail::settle(w, detail::wait_outcome::satisfied, wakes);
    } else {
      ++pending_[i];
    }
    return;
  }
}

namespace detail {

bool signal_awaiter::suspend(std::coroutine_handle<> h, context* c) noexcept {
  if (c->cut_if_cancelled()) {
    outcome = wait_outcome::cancelled;
    return yield_if_budget_spent(h, c);
  }
  {
    std::lock_guard guard(set->lock_);
    bool taken = false;
    for (std::size_t i = 0; i < set->signals_.size() && !taken; ++i) {
      if (set->pending_[i] > 0 && set->waiters_.empty()) {
        --set->pending_[i];
        signo = set->signals_[i];
        outcome = wait_outcome::satisfied;
        taken = true;
      }
    }
    if (!taken) {
      park(this, &set->lock_, &set->waiters_, h, c, suspend_reason::signal);
      return true;
    }
  }
  return yield_if_budget_spent(h, c);
}

result<int> signal_awaiter::await_resume() noexcept {
  resumed(this);
  if (outcome == wait_outcome::cancelled) return fail(errc::operation_canceled);
  // A mark on the trace where the loop took the signal (it arrived on the dispatch thread a moment
  // before; the task's slice says it was woken by another thread).
  if (auto* t = current_tracer()) [[unlikely]] {
    const char* name = sigabbrev_np(signo);
    t->instant("signal", "\"signal\":" + std::to_string(signo) + ",\"name\":\"SIG" + (name != nullptr ? name : "?") + "\"");
  }
  return signo;
}

}  // namespace detail

namespace {
task<result<int>> next_of(std::unique_ptr<signal_set> set) { co_return co_await set->next(); }
}  // namespace

// Not a coroutine itself: the set exists from the call on, and g++ 12 mishandles a braced list
// inside a coroutine.
task<result<int>> signal(int signo) { return next_of(std::make_unique<signal_set>(std::initializer_list<int>{signo})); }

}  // namespace weft
