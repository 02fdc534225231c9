#include "weft/runtime.hpp"

#include <pthread.h>
#include <signal.h>

#include <stdexcept>
#include <thread>

#include "runtime/scheduler.hpp"
#include "runtime/worker.hpp"

namespace weft {

namespace detail {

void scheduler_deleter::operator()(scheduler* s) const noexcept { delete s; }

worker* entry_worker(scheduler* s) noexcept {
  worker* here = current_worker();
  if (here != nullptr && here->shared() == s && s->threaded()) return here;
  return &s->at(0);
}

worker* worker_at(scheduler* s, std::size_t index) {
  if (index >= s->size()) throw std::out_of_range("weft::runtime::spawn_on: no such worker");
  return &s->at(index);
}

void block_on_enter(scheduler* s) {
  if (!s->threaded()) {
    s->at(0).hold_for_block_on();
    return;
  }
  if (current_worker() != nullptr && current_worker()->shared() == s) {
    throw std::logic_error("weft: block_on called from inside the same runtime");
  }
}

void block_on_leave(scheduler* s) noexcept {
  if (!s->threaded()) s->at(0).leave_block_on();
}

void run_until_done(scheduler* s, spawn_state_base* root) {
  if (!s->threaded()) {
    s->at(0).run_until_done(root);
    return;
  }
  // The workers run it; wait for spawn_done's status store (it notifies when it sees sync_external).
  std::uint32_t before = root->word.fetch_or(sync_external, std::memory_order_acq_rel);
  if ((before & sync_done) != 0) return;
  // While this thread only waits, asynchronous signals go to the workers, which sit in epoll_wait
  // when idle. A handler due on a thread parked in a futex would run late under ThreadSanitizer (it
  // defers handlers to the next call it intercepts), and weft's signal_set would hear nothing.
  sigset_t async_signals;
  sigset_t previous;
  sigfillset(&async_signals);
  for (int sync_signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) sigdelset(&async_signals, sync_signal);
  pthread_sigmask(SIG_BLOCK, &async_signals, &previous);
  while (root->load_status() == task_status::running) root->status.wait(task_status::running);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

}  // namespace detail

namespace {
std::size_t worker_count(std::size_t asked) {
  if (asked != 0) return asked;
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}
}  // namespace

runtime::runtime() : runtime(runtime_options{}) {}

runtime::runtime(runtime_options options) {
  std::size_t n = worker_count(options.workers);
  sched_.reset(new detail::scheduler(std::move(options), n));
}

runtime::~runtime() = default;

void runtime::post(detail::unique_function fn) { sched_->at(0).post(std::move(fn)); }

std::size_t runtime::live_tasks() const noexcept { return sched_->live_tasks(); }

runtime_metrics runtime::metrics() const { return sched_->metrics(); }

bool runtime::dump_flight_recorder(const std::string& path) { return sched_->dump_flight_recorder(path); }

std::size_t runtime::workers() const noexcept { return sched_->size(); }

bool runtime::is_current() const noexcept {
  detail::worker* w = detail::current_worker();
  if (w == nullptr) return false;
  return sched_->threaded() ? w->shared() == sched_.get() : w == &sched_->at(0);
}

}  // namespace weft
