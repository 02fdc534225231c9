#include "runtime/scheduler.hpp"
#include "weft/detail/atomic.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "runtime/blocking_pool.hpp"
#include "runtime/worker.hpp"

namespace weft::detail {

namespace {

/// runtime_options::trace_file, else WEFT_TRACE. The variable applies to every runtime of the process:
/// the second and later write FILE.2, FILE.3, ... (before the extension), so that none overwrites another.
std::unique_ptr<trace::sink> open_trace(const runtime_options& options, std::size_t workers) {
  std::string path = options.trace_file;
  if (path.empty()) {
    const char* env = std::getenv("WEFT_TRACE");
    if (env == nullptr || *env == '\0') {
      std::size_t events = options.flight_recorder_events;
      if (events == 0) {
        if (const char* n = std::getenv("WEFT_FLIGHT_RECORDER")) events = std::strtoull(n, nullptr, 10);
      }
      return events == 0 ? nullptr : trace::sink::ring(events, workers);
    }
    path = env;
    static weft::detail::atomic<unsigned> runtimes{0};
    if (unsigned n = runtimes.fetch_add(1, std::memory_order_relaxed) + 1; n > 1) {
      std::size_t dot = path.rfind('.');
      std::size_t slash = path.rfind('/');
      if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) dot = path.size();
      path.insert(dot, "." + std::to_string(n));
    }
  }
  return trace::sink::open(path, options.trace_max_bytes, workers);
}

}  // namespace

scheduler::scheduler(runtime_options options, std::size_t workers)
    : blocking_(std::make_unique<blocking_pool>(options.max_blocking_threads, options.blocking_keep_alive)),
      threaded_(workers > 1) {
  virtual_now_.store(
      std::chrono::duration_cast<clock::duration>(steady_clock_now().time_since_epoch()).count());
  trace_ = open_trace(options, workers);
  workers_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<worker>(options, threaded_ ? this : nullptr, i, paused_now()));
    workers_.back()->blocking_ = blocking_.get();
    if (trace_ != nullptr) workers_.back()->start_trace(*trace_);
  }
  if (trace_ != nullptr && trace_->is_ring()) {
    // A dump asks every loop for its newest events: a post wakes a sleeping one, which then looks.
    trace_->set_wake_loops([this] {
      for (auto& w : workers_) w->post([] {});
    });
  }
  if (!threaded_) return;
  threads_.reserve(workers);
  try {
    for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this, i] { run_worker(i); });
  } catch (...) {
    stop_threads();  // the ones that did start
    throw;
  }
}

void scheduler::stop_threads() noexcept {
  if (stopping_.exchange(true)) return;
  for (auto& w : workers_) w->reactor_->wake();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Every worker that counted itself idle took itself off the count when its poll ended (a count
  // that only grows makes notify_one wake workers that are busy, and leave sleeping ones asleep).
  invariant(idle_.load(std::memory_order_relaxed) == 0, "no worker is counted idle once the workers stopped");
  threads_joined_.store(true, std::memory_order_release);
}

scheduler::~scheduler() {
  if (threaded_) {
    stop_threads();
    // Work posted between workers that they had no turn left to run: sockets closed on one worker
    // but registered on another, cancellations, moves. Run it now, each as its worker, so that
    // nothing it would free or close leaks. Posts may post again: a few rounds, until quiet.
    for (int round = 0; round < 8; ++round) {
      bool ran = false;
      for (auto& w : workers_) ran = w->run_leftover_posts() || ran;
      if (!ran) break;
    }
  }
  blocking_->shutdown();  // running jobs finish (their tasks' frames are still alive)
  // Never-started tasks still waiting for a worker: their frames hold nothing of a loop's yet.
  for (inject_chunk& c : injected_) {
    while (spawn_state_base* s = c.head) {
      c.head = s->live_next;
      s->live_next = nullptr;
      s->status.store(task_status::abandoned, std::memory_order_release);
      s->drop_frame();
      if (spawn_unref(s)) delete s;
    }
  }
  injected_.clear();
  // Each worker destroys its unfinished tasks (on this thread, standing in as that worker).
  workers_.clear();
}

void scheduler::run_worker(std::size_t i) {
  workers_[i]->run_forever();
  frame_cache_release_thread();  // the thread ends here: its cached frames would die with it
}

void scheduler::inject_batch(spawn_state_base* const* items, std::size_t n) noexcept {
  if (n == 0) return;
  for (std::size_t i = 0; i < n; ++i) items[i]->live_next = i + 1 < n ? items[i + 1] : nullptr;
  {
    std::lock_guard lock(inject_lock_);
    injected_.push_back({items[0], n});  // bad_alloc here would terminate: noexcept, as a lost task would be worse
    injected_count_.fetch_add(n, std::memory_order_seq_cst);
  }
  workers_[0]->chaos_pause();  // between the push and the wake check
  notify_one();
}

bool scheduler::take_injected(worker& w) noexcept {
  if (injected_count_.load(std::memory_order_relaxed) == 0) return false;
  inject_chunk c{nullptr, 0};
  {
    std::lock_guard lock(inject_lock_);
    if (injected_.empty()) return false;
    c = injected_.front();
    injected_.pop_front();
  }
  // injected_count_ drops only once the tasks sit in w's queue: live_tasks() may count a task twice
  // for a moment, never zero times.
  std::size_t moved = c.count;
  // Outside the lock: walk the chunk into w's queue; what does not fit goes back as a chunk.
  while (spawn_state_base* s = c.head) {
    spawn_state_base* next = s->live_next;
    s->live_next = nullptr;
    s->home.store(&w, std::memory_order_relaxed);
    if (!w.fresh_.push(s)) {
      s->live_next = next;
      std::size_t rest = 0;
      for (spawn_state_base* r = s; r != nullptr; r = r->live_next) ++rest;
      std::lock_guard lock(inject_lock_);
      injected_.push_front({s, rest});
      moved -= rest;
      break;
    }
    c.head = next;
  }
  injected_count_.fetch_sub(moved, std::memory_order_seq_cst);
  return true;
}

void scheduler::notify_one() noexcept {
  // Pairs with worker::poll: the work is published before this fence, `idle_` is read after it.
  weft::detail::atomic_thread_fence(std::memory_order_seq_cst);
  if (idle_.load(std::memory_order_relaxed) == 0) return;
  workers_[0]->chaos_pause();  // between the look at the idle count and the search token
  // Look before the CAS: a locked instruction would take the line from every core that reads it.
  if (searching_.load(std::memory_order_relaxed) != 0) return;  // one is looking
  int none = 0;
  if (!searching_.compare_exchange_strong(none, 1, std::memory_order_seq_cst)) return;
  for (auto& w : workers_) {
    if (w->sleeping_.load(std::memory_order_seq_cst) && !w->notified_.exchange(true)) {
      w->reactor_->wake();  // it searches on our count, and stops counting when done (run_forever)
      return;
    }
  }
  searching_.fetch_sub(1, std::memory_order_seq_cst);  // nobody asleep after all
}

bool scheduler::work_available(const worker* self) const noexcept {
  if (has_injected()) return true;
  for (const auto& w : workers_) {
    if (w.get() != self && !w->fresh_.empty()) return true;
  }
  return false;
}

bool scheduler::start_spinning() noexcept {
  int spinning = spinning_.load(std::memory_order_relaxed);
  for (;;) {
    int awake = static_cast<int>(workers_.size()) - idle_.load(std::memory_order_relaxed);
    if (awake <= 1 || spinning >= std::max(2, awake / 2)) return false;
    // A CAS only once the limit allows it: a locked instruction takes the line from every reader.
    if (spinning_.compare_exchange_weak(spinning, spinning + 1, std::memory_order_relaxed)) return true;
  }
}

runtime_metrics scheduler::metrics() const {
  runtime_metrics m;
  m.workers.resize(workers_.size());
  for (std::size_t i = 0; i < workers_.size(); ++i) m.tasks_spawned += workers_[i]->read_metrics(m.workers[i], m.poll_times);
  m.tasks_alive = live_tasks();
  m.injected_queue_depth = injected_count_.load(std::memory_order_relaxed);
  m.poll_times_recorded = workers_.front()->observed();  // set before the loops start, then constant
  blocking_->read_metrics(m);
  return m;
}

bool scheduler::dump_flight_recorder(const std::string& path) {
  if (trace_ == nullptr || !trace_->is_ring()) return false;
  worker* here = current_worker();
  if (here != nullptr && here->tracer() != nullptr && &here->tracer()->owner() == trace_.get()) {
    return trace_->dump(path, here->tracer(), std::chrono::milliseconds(100));  // from a task
  }
  // A single loop that no thread runs now (outside block_on): this thread may hand its events over
  // itself, holding the loop as block_on would (a block_on meanwhile is refused, as a second one is).
  if (!threaded_ && workers_.front()->try_hold()) {
    bool written = trace_->dump(path, workers_.front()->tracer(), std::chrono::milliseconds(100));
    workers_.front()->release_hold();
    return written;
  }
  return trace_->dump(path, nullptr, std::chrono::milliseconds(100));
}

std::size_t scheduler::live_tasks() const noexcept {
  std::size_t n = injected_count_.load(std::memory_order_relaxed);
  for (const auto& w : workers_) n += w->live_tasks();
  return n;
}

void scheduler::advance_paused(clock::duration d) noexcept {
  std::lock_guard lock(pause_mu_);
  virtual_now_.fetch_add(d.count(), std::memory_order_acq_rel);
  for (auto& w : workers_) w->reactor_->wake();  // each advances its own wheel when it wakes
}

bool scheduler::quiet_locked() const noexcept {
  if (has_injected()) return false;
  for (const auto& w : workers_) {
    if (w->has_posted_.load() || !w->fresh_.empty()) return false;
  }
  return true;
}

int scheduler::paused_idle(worker& w, clock::time_point next_due) noexcept {
  std::lock_guard lock(pause_mu_);
  w.next_due_ = next_due;
  if (!w.counted_idle_) {
    w.counted_idle_ = true;
    ++paused_idle_;
  }
  if (paused_idle_ < workers_.size() || !quiet_locked()) return -1;
  clock::time_point earliest = clock::time_point::max();
  for (const auto& other : workers_) earliest = std::min(earliest, other->next_due_);
  if (earliest == clock::time_point::max()) return -1;  // nothing will ever fire: wait for I/O
  if (earliest.time_since_epoch().count() > virtual_now_.load(std::memory_order_relaxed)) {
    virtual_now_.store(earliest.time_since_epoch().count(), std::memory_order_release);
  }
  for (auto& other : workers_) {
    other->counted_idle_ = false;
    other->next_due_ = clock::time_point::max();
    if (other.get() != &w) other->reactor_->wake();
  }
  paused_idle_ = 0;
  return 0;
}

void scheduler::paused_wake(worker& w) noexcept {
  std::lock_guard lock(pause_mu_);
  if (w.counted_idle_) {
    w.counted_idle_ = false;
    w.next_due_ = clock::time_point::max();
    --paused_idle_;
  }
}

}  // namespace weft::detail
