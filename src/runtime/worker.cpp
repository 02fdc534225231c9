#include "runtime/worker.hpp"
#include "weft/detail/atomic.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "runtime/scheduler.hpp"
#include "weft/detail/coop.hpp"

namespace weft::detail {
namespace {

struct this_thread_worker_tag;
/// The loop this thread runs, or stands in for (shutdown), or null.
worker*& this_thread_worker() noexcept { return per_thread<this_thread_worker_tag, worker*>::get(); }

constexpr clock::duration tick_length = std::chrono::milliseconds(1);
constexpr std::int64_t max_wait_ms = 3'600'000;  // wake at least hourly; keeps the int in range
constexpr std::size_t trim_budget = 1024;          // frame-cache blocks returned to malloc per idle poll (about)

clock::time_point steady_now() noexcept {
  return clock::time_point(steady_clock_now().time_since_epoch());
}

/// Real time in nanoseconds, for the metrics' busy and idle times (never virtual, never 0).
std::int64_t real_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady_clock_now().time_since_epoch()).count() | 1;
}

void default_exception_report(std::string_view name, std::exception_ptr e) {
  std::string what = exception_message(e);
  std::fprintf(stderr, "weft: task '%.*s' failed: %s\n", static_cast<int>(name.size()),
               name.empty() ? "(unnamed)" : name.data(), what.c_str());
}

void default_slow_report(std::string_view name, std::chrono::nanoseconds held) {
  std::fprintf(stderr, "weft: task '%.*s' held the loop for %.3f ms\n", static_cast<int>(name.size()),
               name.empty() ? "(unnamed)" : name.data(), static_cast<double>(held.count()) / 1e6);
}

}  // namespace

worker* current_worker() noexcept { return this_thread_worker(); }

worker* require_worker() {
  if (this_thread_worker() == nullptr) throw std::system_error(make_error_code(errc::not_in_runtime), "weft::spawn");
  return this_thread_worker();
}

void schedule(std::coroutine_handle<> h, context* ctx) noexcept { this_thread_worker()->schedule(h, ctx); }

bool yield_when_budget_spent(std::coroutine_handle<> h, context* ctx) noexcept {
  worker* w = this_thread_worker();
  if (w == nullptr) {
    coop_budget_left() = std::numeric_limits<std::uint32_t>::max();  // not a loop's thread: nothing to give back
    return false;
  }
  if (!w->budget_spent()) return false;
  w->schedule(h, ctx);  // after this, nothing here touches the task: another worker may take it
  return true;
}

worker::worker(runtime_options options, scheduler* sched, std::size_t index, clock::time_point origin)
    : options_(std::move(options)),
      sched_(sched),
      index_(index),
      reactor_(make_reactor(reactor_kind::epoll)),
      paused_(options_.start_paused),
      origin_(origin),
      virtual_now_(origin_),
      loop_now_(origin_) {
  steal_seed_ = static_cast<std::uint32_t>(index) * 2654435761u + 1;
  if (options_.shuffle_seed == 0) {
    if (const char* env = std::getenv("WEFT_SHUFFLE_SEED")) options_.shuffle_seed = std::strtoull(env, nullptr, 10);
  }
  options_.chaos_seed = chaos::seed_or_env(options_.chaos_seed);
  chaos_ = chaos(options_.chaos_seed, index);
  if (chaos_.on()) coop_start_ = 1;
  chaos_runtime_ = chaos::runtime_serial(index == 0);  // workers are made in order, the first first
  // Chaos orders ready tasks at random too, from its own seed unless a shuffle seed is given.
  std::uint64_t order_seed = options_.shuffle_seed != 0 ? options_.shuffle_seed : options_.chaos_seed;
  shuffle_state_ = order_seed == 0 ? 0 : order_seed * 0x9E3779B97F4A7C15ull + index + 1;
  if (!options_.on_unhandled_exception) options_.on_unhandled_exception = default_exception_report;
  if (!options_.on_slow_task) options_.on_slow_task = default_slow_report;
  observed_ = options_.slow_task_threshold.count() > 0 || options_.poll_time_histogram;
}

worker::~worker() {
  shutting_down_ = true;
  worker* previous = std::exchange(this_thread_worker(), this);
  queue_.clear();
  // Tasks that never started: no timers or sockets of theirs exist yet; destroy frame and state.
  while (spawn_state_base* s = fresh_.pop()) {
    s->status.store(task_status::abandoned, std::memory_order_release);
    s->drop_frame();
    if (spawn_unref(s)) delete s;
  }
  // Unhook group children first: a group may die (with its owner's frame) before a child whose
  // join_handle lives on elsewhere, and the child's context must not point into it then.
  unhook_group_children(nullptr);
  while (spawn_state_base* s = live_) {
    forget(s);
    s->status.store(task_status::abandoned, std::memory_order_release);
    s->drop_frame();
    if (spawn_unref(s)) delete s;
  }
  free_buried();
  for (auto& e : extensions_) e.reset();  // they may still use the reactor (and this loop)
  running_remote_.clear();
  remote_.clear();
  this_thread_worker() = previous;
}

void worker::post(unique_function fn) {
  hand_off([&] { posted_.push_back(std::move(fn)); });
}

void worker::remote_schedule(std::coroutine_handle<> h, context* ctx) {
  if (trace_ != nullptr && ctx != nullptr && ctx->trace_id() != 0) [[unlikely]] {
    // Noted on the waker's side, before the hand-off that orders it with the resume.
    worker* from = current_worker();
    trace::recorder* by = from != nullptr ? from->tracer() : nullptr;
    if (by != nullptr && &by->owner() == &trace_->owner() && from->running_task() != 0) {
      ctx->note_wake(static_cast<std::uint8_t>(trace::wake_source::task), by->woke(ctx->trace_id(), from->running_task()));
    } else {
      ctx->note_wake(static_cast<std::uint8_t>(trace::wake_source::thread), 0);
    }
  }
  hand_off([&] { remote_.push_back({h, ctx}); });
}

template <class Push>
void worker::hand_off(Push push) {
  // Any thread: read the seed (set once, at construction), not chaos_, whose state the loop advances.
  chaos_pause();
  {
    std::lock_guard lock(post_mu_);
    push();
  }
  has_posted_.store(true);  // ordering: seq_cst, paired with sleeping_ in poll() (see the protocol above)
  chaos_pause();  // between the push and the wake check, where a lost wake-up would hide
  // Redundant in C++ (both are seq_cst), and nearly free here (we just took a mutex): qemu-user's
  // aarch64 emulation lets a store-release pass a later load-acquire, which lost this wake-up there.
  weft::detail::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping_.load()) reactor_->wake();
}

void worker::push_fresh(spawn_state_base* s) noexcept {
  if (!fresh_.push(s)) {
    // Full: hand the older half, then this one, to the injection queue, where any worker finds them.
    std::array<spawn_state_base*, steal_queue<spawn_state_base>::capacity / 2 + 1> half;
    std::uint32_t n = fresh_.steal_half(half.data());
    sched_->inject_batch(half.data(), n);
    if (fresh_.push(s)) return;  // inject_batch has notified
    sched_->inject(s);
    return;
  }
  sched_->notify_one();
}

void worker::start_fresh(spawn_state_base* s) {
  adopt(s);  // sets `home`
  // ordering: store `started`, then load the flag, both seq_cst, against spawn_request_cancel's store
  // of the flag, then load of `started` (also seq_cst): in the single total order one of the two loads
  // sees the other side's store. Either the canceller sees `started` and posts the cancel here, or
  // this load sees the flag, and so does every later (relaxed) read on this thread: the first await.
  // A relaxed load here would let both miss, on aarch64 (the model tests/model/spawn_cancel.cpp).
  s->started.store(true, std::memory_order_seq_cst);
  (void)s->ctx.cancelled_seq_cst();
  resume({s->frame, &s->ctx});
}

int worker::run_ready() {
  int ran = 0;
  runnable r;
  chained_ = false;  // a batch's first resume reads the clock: posts, polls, steals or a spin came before
  while (ran < task_budget) {
    if (pop_ready(r)) {
      resume(r);
      ++ran;
      continue;
    }
    // Fresh tasks a few at a time: one CAS claims the batch (thieves cannot take those any more, so
    // the batch stays small).
    std::array<spawn_state_base*, fresh_batch> batch;
    std::uint32_t n = fresh_.pop_batch(batch.data(), fresh_batch);
    if (n == 0) break;
    in_hand_.store(n, std::memory_order_relaxed);  // counted by live_tasks() until each is adopted
    for (std::uint32_t i = 0; i < n; ++i) {
      in_hand_.store(n - i - 1, std::memory_order_relaxed);
      start_fresh(batch[i]);
    }
    ran += static_cast<int>(n);
  }
  return ran;
}

bool worker::find_work(bool counted) {
  bool found = sched_->take_injected(*this);
  std::size_t n = sched_->size();
  // Chaos: sometimes do not look this time (the last look before sleeping still sees the work).
  bool look = !chaos_.on() || !chaos_.one_in(4);
  if (!found && n > 1 && look) {
    if (!counted) sched_->enter_searching();
    counted = true;
    // Start at a different victim each time so that thieves spread over the busy workers.
    steal_seed_ = steal_seed_ * 1664525u + 1013904223u;
    std::size_t first = (steal_seed_ >> 8) % n;
    std::array<spawn_state_base*, steal_queue<spawn_state_base>::capacity / 2 + 1> stolen;
    worker* lone = nullptr;  // an awake worker with a single fresh task: see below
    auto steal_from = [&](worker& victim) {
      std::uint32_t got = victim.fresh_.steal_half(stolen.data());
      if (got != 0) {
        metrics_.steals.add(got);
        metrics_.steal_operations.add();
        if (trace_ != nullptr) [[unlikely]] {
          trace_->instant("steal", "\"tasks\":" + std::to_string(got) + ",\"from_worker\":" + std::to_string(victim.index_));
        }
      }
      for (std::uint32_t i = 0; i < got; ++i) {
        stolen[i]->home.store(this, std::memory_order_relaxed);
        if (!fresh_.push(stolen[i])) sched_->inject(stolen[i]);
      }
      return got != 0;
    };
    for (std::size_t k = 0; k < n && !found; ++k) {
      worker& victim = sched_->at((first + k) % n);
      if (&victim == this) continue;
      // A single task just spawned by a worker that is awake is most likely about to run there (its
      // spawner awaits it, or sends it a message): taking it would split a conversation across two
      // threads for good, since started tasks stay put. Leave it a moment first, as Go does with its
      // runnext slot.
      if (victim.fresh_.size() == 1 && !victim.sleeping_.load(std::memory_order_relaxed) &&
          !(chaos_.on() && chaos_.one_in(2))) {
        lone = &victim;
        continue;
      }
      chaos_pause();  // between the look at the victim's queue and the steal, as a slow thief would
      found = steal_from(victim);
    }
    if (!found && lone != nullptr) {
      auto until = steady_clock_now() + lone_grace;
      while (steady_clock_now() < until && !lone->fresh_.empty()) cpu_relax();
      found = steal_from(*lone);
    }
  }
  if (counted) {
    // The last searcher to find work wakes the next one: there may be more where that came from.
    bool last = sched_->leave_searching();
    if (found && last) sched_->notify_one();
  }
  return found;
}

bool worker::spin_for_work() {
  // Work often turns up within microseconds (a spawner refilling its queue, a reply on its way): look
  // again for a short while before paying for a sleep and a wake-up. Only while some other worker is
  // busy, and only as many as scheduler::start_spinning allows. Bounded by time, not by iterations,
  // since a pause instruction takes 10 cycles on some processors and 140 on others.
  if (!sched_->start_spinning()) return false;
  auto until = steady_clock_now() + spin_time;
  // The model build looks at its clock (which moves a millisecond per reading) every time, so that
  // its spins end after one look: else each would be 64 scheduling points at which the checker's fair
  // scheduling moves every other thread a step, and a worker could never go to sleep before a wake-up
  // that another thread is about to send, the very case the sleep protocol is about.
  constexpr unsigned clock_stride = model_build ? 1 : 64;
  bool found = false;
  for (unsigned i = 1;; ++i) {
    cpu_relax();
    if (has_posted_.load(std::memory_order_relaxed)) {  // a wake-up for us: the cheap check, every time
      found = true;
      break;
    }
    if (i % clock_stride != 0) continue;
    if (sched_->work_available(this) && find_work(false)) {
      found = true;
      break;
    }
    if (steady_clock_now() >= until) break;
  }
  sched_->stop_spinning();
  return found;
}

void worker::run_forever() {
  worker* previous = std::exchange(this_thread_worker(), this);
  running_.store(true, std::memory_order_relaxed);
  loop_started();
  while (!sched_->stopping()) {
    int ran = run_ready();
    if (has_posted_.load(std::memory_order_relaxed)) {
      run_posted();
      ran = 1;
    }
    // notify_one counted us as searching when it woke us: search on its behalf.
    bool counted = notified_.load(std::memory_order_relaxed) && notified_.exchange(false);
    bool idle = ran == 0 && queue_.empty() && fresh_.empty();
    if ((counted || idle) && find_work(counted)) continue;
    if (idle && spin_for_work()) continue;
    poll(idle);
  }
  loop_stopped();
  running_.store(false, std::memory_order_relaxed);
  this_thread_worker() = previous;
}

void worker::hold_for_block_on() {
  // One thread at a time runs a loop: a second block_on, from inside or from another thread, is refused
  // (before it spawns its task: a refused block_on must leave nothing behind).
  while (running_.exchange(true, std::memory_order_acquire)) {
    // A flight-recorder dump holds the loop for a moment (try_hold): wait for it. Anything else is a
    // second block_on.
    if (holding_for_dump_.load(std::memory_order_acquire)) {
      thread_yield();
      continue;
    }
    throw std::logic_error("weft: block_on called while the runtime's loop already runs (from inside it, or on another thread)");
  }
}

void worker::run_until_done(spawn_state_base* root) {
  worker* previous = std::exchange(this_thread_worker(), this);
  loop_started();
  try {
    while (root->status == task_status::running) turn(root);
  } catch (...) {
    loop_stopped();
    running_.store(false, std::memory_order_release);
    this_thread_worker() = previous;
    throw;
  }
  loop_stopped();
  running_.store(false, std::memory_order_release);
  this_thread_worker() = previous;
}

namespace {

/// Posted to a loop to start a task spawned from another thread there. Never run (the runtime ended
/// first): the task never started, so its frame holds nothing of a loop's; it is destroyed, abandoned.
struct start_on_loop {
  start_on_loop(worker* loop, spawn_state_base* state) noexcept : w(loop), s(state) {}
  start_on_loop(start_on_loop&& o) noexcept : w(o.w), s(std::exchange(o.s, nullptr)) {}
  start_on_loop(const start_on_loop&) = delete;
  start_on_loop& operator=(const start_on_loop&) = delete;
  start_on_loop& operator=(start_on_loop&&) = delete;
  ~start_on_loop() {
    if (s == nullptr) return;
    w->spawn_arrived();
    s->status.store(task_status::abandoned, std::memory_order_release);
    s->drop_frame();
    if (spawn_unref(s)) delete s;
  }
  void operator()() {
    w->spawn_arrived();
    w->adopt(s);
    w->schedule_fresh(s->frame, &s->ctx);
    s = nullptr;
  }
  worker* w;
  spawn_state_base* s;
};

}  // namespace

void worker::post_spawn(spawn_state_base* s) {
  posted_spawns_.fetch_add(1, std::memory_order_relaxed);
  post(start_on_loop(this, s));
}

bool worker::pop_ready(runnable& r) noexcept {
  if (shuffle_state_ != 0 && queue_.size() > 1) {
    // xorshift64: the debug shuffle's pick among the ready tasks.
    shuffle_state_ ^= shuffle_state_ << 13;
    shuffle_state_ ^= shuffle_state_ >> 7;
    shuffle_state_ ^= shuffle_state_ << 17;
    queue_.swap_front(shuffle_state_ % queue_.size());
  }
  return queue_.pop(r);
}

void worker::turn(const spawn_state_base* root) {
  runnable r;
  chained_ = false;  // as in run_ready
  for (int budget = task_budget; budget > 0 && pop_ready(r); --budget) resume(r);
  if (root->status != task_status::running) return;  // done: don't wait for events nobody needs
  if (has_posted_.load(std::memory_order_relaxed)) run_posted();
  poll(queue_.empty());
}

bool worker::stopping() const noexcept { return sched_ != nullptr && sched_->stopping(); }

void worker::nested_turn() {
  std::uint32_t handoffs = handoffs_;  // the outer resume's budget is the outer resume's
  int ran = run_ready();
  if (has_posted_.load(std::memory_order_relaxed)) {
    run_posted();
    ran = 1;
  }
  // notify_one counted us as searching when it woke us, but a nested loop takes nothing from the
  // others: hand the search on, or no other worker would be woken while the count stays ours.
  if (sched_ != nullptr && notified_.load(std::memory_order_relaxed) && notified_.exchange(false) &&
      sched_->leave_searching()) {
    sched_->notify_one();
  }
  // Others' work is not ours to take here: it must not keep this loop from sleeping (it would spin).
  poll(ran == 0 && queue_.empty() && fresh_.empty(), /*others_work_wakes=*/false);
  handoffs_ = handoffs;
}

bool worker::take_back(std::coroutine_handle<> h) noexcept {
  if (this != this_thread_worker() || handoffs_ == handoff_budget || shuffle_state_ != 0 ||
      observed_ || !queue_.pop_newest_if(h)) {
    return false;
  }
  ++handoffs_;
  metrics_.polls.add();  // its joiner resumes it: a poll all the same
  return true;
}

void worker::resume_observed(runnable r) {
  // lifetime: the context may be freed during the resume (the task ends, its handle is dropped), so
  // what the reports need of it is taken first.
  bool timed = options_.slow_task_threshold.count() > 0;
  std::string name(timed && r.ctx != nullptr ? r.ctx->name() : std::string_view{});
  std::uint64_t task = r.ctx != nullptr ? r.ctx->trace_id() : 0;
  std::uint32_t wake_seq = r.ctx != nullptr ? r.ctx->wake_seq() : 0;
  auto woken_by = static_cast<trace::wake_source>(r.ctx != nullptr ? r.ctx->woken_by() : 0);
  if (r.ctx != nullptr) r.ctx->clear_wake();
  std::uint64_t outer = std::exchange(running_task_, task);  // a nested turn resumes inside another
  std::size_t ends_before = ended_in_turn_.size();          // and records only its own ends
  // One clock read per resume where the loop goes straight from one resume to the next, within one
  // batch of run_ready or turn: this one begins where the last ended (the few ns of taking it from
  // the run queue count in it).
  auto start = outer == 0 && chained_ ? last_end_ : steady_clock_now();
  // A resume inside another's (a task_group's scope waiting for its children) splits the outer slice:
  // the piece so far is recorded now, and the next begins when this resume ends. Slices never overlap.
  if (trace_ != nullptr && outer != 0) trace_->ran(outer, slice_start_, start);
  slice_start_ = start;
  last_suspend() = suspend_reason::none;
  r.handle.resume();
  auto end = steady_clock_now();
  chained_ = outer == 0;
  last_end_ = end;
  // What the task now waits on, as its last await point noted; cleared, so that an outer slice split by
  // this one (a nested resume) does not take it for its own.
  suspend_reason why = std::exchange(last_suspend(), suspend_reason::none);
  running_task_ = outer;
  if (trace_ != nullptr) {
    if (task != 0) trace_->ran(task, slice_start_, end, wake_seq, woken_by, why);
    slice_start_ = end;
    for (std::size_t i = ends_before; i < ended_in_turn_.size(); ++i) trace_->ended(ended_in_turn_[i]);
    ended_in_turn_.resize(ends_before);
  }
  metrics_.poll_times.record(end - start);
  if (timed && end - start > options_.slow_task_threshold) {
    options_.on_slow_task(name, std::chrono::duration_cast<std::chrono::nanoseconds>(end - start));
    dump_after_slow_task(end);
  }
}

trace::recorder* current_tracer() noexcept {
  worker* w = current_worker();
  return w != nullptr ? w->tracer() : nullptr;
}

void worker::note_wake(context* ctx) {
  if (trace_ == nullptr || ctx == nullptr || ctx->trace_id() == 0) return;
  if (running_task_ == ctx->trace_id()) {  // a task that yields (or wakes itself): no arrow
    ctx->note_wake(static_cast<std::uint8_t>(trace::wake_source::yield), 0);
    // Noted here rather than in yield_now, which then costs nothing more untraced (a later park in
    // the same resume notes its own reason over this one).
    note_suspend(suspend_reason::yield);
  } else if (running_task_ != 0) {
    ctx->note_wake(static_cast<std::uint8_t>(trace::wake_source::task), trace_->woke(ctx->trace_id(), running_task_));
  } else {
    ctx->note_wake(static_cast<std::uint8_t>(waking_), 0);
  }
}

void worker::dump_after_slow_task(std::chrono::steady_clock::time_point now) {
  if (options_.slow_task_dump_file.empty() || trace_ == nullptr || !trace_->owner().is_ring()) return;
  // At most once a second from this loop: a loop that stalls over and over must not spend its time
  // writing files.
  if (last_slow_dump_ != std::chrono::steady_clock::time_point{} && now - last_slow_dump_ < std::chrono::seconds(1)) return;
  last_slow_dump_ = now;
  if (!trace_->owner().dump(options_.slow_task_dump_file, trace_.get(), std::chrono::milliseconds(100))) {
    std::fprintf(stderr, "weft: cannot write the flight recorder to %s\n", options_.slow_task_dump_file.c_str());
  }
}

void worker::start_trace(trace::sink& s) {
  trace_ = std::make_unique<trace::recorder>(s, static_cast<std::uint32_t>(index_));
  observed_ = true;
}

bool worker::run_leftover_posts() {
  if (!has_posted_.load()) return false;
  worker* previous = std::exchange(this_thread_worker(), this);
  run_posted();  // woken coroutines land in the run queue, which the destructor drops
  this_thread_worker() = previous;
  return true;
}

void worker::run_posted() {
  {
    std::lock_guard lock(post_mu_);
    running_posts_.swap(posted_);
    running_remote_.swap(remote_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  metrics_.remote_schedules.add(running_remote_.size() + running_posts_.size());
  for (const runnable& r : running_remote_) queue_.push(r);
  running_remote_.clear();
  // Each post runs once, whatever the others do: one that throws is reported as a detached task's
  // exception would be, and the rest still run (an escape would leave the batch to run again).
  for (auto& fn : running_posts_) {
    try {
      fn();
    } catch (...) {
      report_exception("post", std::current_exception());
    }
  }
  running_posts_.clear();
}

void worker::poll(bool idle, bool others_work_wakes) {
  if (trace_ != nullptr) trace_->poll_flush();  // a flight-recorder dump wants this loop's newest events
  int timeout_ms = 0;
  bool paused_shared = paused_ && sched_ != nullptr;
  if (idle) {
    std::optional<std::uint64_t> next = wheel_.next_expiration();
    if (paused_shared) {
      // Shared virtual time: only the last worker to go idle may move it (scheduler.hpp).
      timeout_ms = sched_->paused_idle(*this, next ? time_of_tick(*next) : clock::time_point::max());
    } else if (!next) {
      timeout_ms = -1;
    } else if (paused_) {
      // Virtual time: nothing can happen before the next timer, so jump to it.
      virtual_now_ = std::max(virtual_now_, time_of_tick(*next));
    } else {
      // Signed arithmetic: a deadline already behind us (a busy loop) must give 0, not wrap around.
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(time_of_tick(*next) - steady_now());
      timeout_ms = static_cast<int>(std::clamp<std::int64_t>(wait.count(), 0, max_wait_ms));
    }
  }
  // About to block: give malloc back a little of what a burst of ended tasks left in the frame
  // cache (frame_alloc.cpp), and come back soon while more is left. Bounded (whole lists until the
  // budget is spent: at most 3,071 blocks), so that work arriving meanwhile waits a fraction of a
  // millisecond.
  if (timeout_ms != 0 && !paused_ && frame_cache_trim(trim_budget) && (timeout_ms < 0 || timeout_ms > 1)) {
    timeout_ms = 1;
  }
  // Whether this poll counted itself asleep: the last look below may still turn the wait into 0, and
  // the count must be undone all the same (else idle_ only grows, and notify_one wakes busy workers).
  bool went_idle = timeout_ms != 0;
  if (went_idle) {
    if (trace_ != nullptr) trace_->idle(timeout_ms);
    sleeping_.store(true);  // ordering: seq_cst, see post()
    weft::detail::atomic_thread_fence(std::memory_order_seq_cst);  // for qemu-user, as in post(); about to block anyway
    if (sched_ != nullptr) sched_->enter_idle();
    // The last look (scheduler.hpp): work posted to us, injected, or left to steal.
    if (has_posted_.load() ||
        (sched_ != nullptr && (sched_->stopping() || (others_work_wakes && sched_->work_available(this))))) {
      timeout_ms = 0;
    }
  }
  if (timeout_ms != 0) {
    metrics_.parks.add();
    std::int64_t asleep = real_ns();
    change_times([&] { metrics_.idle_since.store(asleep, std::memory_order_relaxed); });
  }
  waking_ = trace::wake_source::io;
  metrics_.io_events.add(static_cast<std::uint64_t>(reactor_->poll(timeout_ms)));
  if (timeout_ms != 0) {
    std::int64_t awake = real_ns();
    change_times([&] {
      metrics_.idle_ns.add(static_cast<std::uint64_t>(awake - metrics_.idle_since.load(std::memory_order_relaxed)));
      metrics_.idle_since.store(0, std::memory_order_relaxed);
    });
  }
  if (went_idle) {
    if (sched_ != nullptr) sched_->leave_idle();
    sleeping_.store(false, std::memory_order_relaxed);
  }
  if (paused_shared && idle) sched_->paused_wake(*this);
  loop_now_ = now();
  waking_ = trace::wake_source::timer;
  wheel_.advance(tick_of(loop_now_));
  waking_ = trace::wake_source::loop;
  metrics_.local_queue_depth.set(queue_.size() + fresh_.size());
  metrics_.timers_armed.set(wheel_.size());
}

template <class Change>
void worker::change_times(Change change) noexcept {
  // The writer's side of loop_metrics::time_seq (the loop's thread is the only writer).
  std::uint32_t seq = metrics_.time_seq.load(std::memory_order_relaxed);
  metrics_.time_seq.store(seq + 1, std::memory_order_relaxed);
  metric_fence(std::memory_order_release);
  change();
  metrics_.time_seq.store(seq + 2, std::memory_order_release);
}

void worker::loop_started() noexcept {
  std::int64_t now = real_ns();
  change_times([&] { metrics_.active_since.store(now, std::memory_order_relaxed); });
}

void worker::loop_stopped() noexcept {
  std::int64_t now = real_ns();
  change_times([&] {
    metrics_.active_ns.add(static_cast<std::uint64_t>(now - metrics_.active_since.load(std::memory_order_relaxed)));
    metrics_.active_since.store(0, std::memory_order_relaxed);
  });
}

std::uint64_t worker::read_metrics(worker_metrics& out, duration_histogram& polls) const noexcept {
  const loop_metrics& m = metrics_;
  out.polls = m.polls.get();
  out.parks = m.parks.get();
  out.steals = m.steals.get();
  out.steal_operations = m.steal_operations.get();
  out.remote_schedules = m.remote_schedules.get();
  out.io_events = m.io_events.get();
  out.coop_yields = m.coop_yields.get();
  out.local_queue_depth = m.local_queue_depth.get();
  out.timers_armed = m.timers_armed.get();
  // A sleep or a run in progress counts up to now: the four fields from one moment (time_seq).
  std::int64_t now = 0;
  std::int64_t idle = 0;
  std::int64_t active = 0;
  for (;;) {
    std::uint32_t before = m.time_seq.load(std::memory_order_acquire);
    now = real_ns();
    idle = static_cast<std::int64_t>(m.idle_ns.get());
    active = static_cast<std::int64_t>(m.active_ns.get());
    std::int64_t idle_since = m.idle_since.load(std::memory_order_relaxed);
    std::int64_t active_since = m.active_since.load(std::memory_order_relaxed);
    metric_fence(std::memory_order_acquire);
    if ((before & 1) != 0 || m.time_seq.load(std::memory_order_relaxed) != before) {
      thread_yield();
      continue;
    }
    if (idle_since != 0) idle += now - std::min(idle_since, now);
    if (active_since != 0) active += now - std::min(active_since, now);
    break;
  }
  out.idle_time = std::chrono::nanoseconds(idle);
  out.busy_time = std::chrono::nanoseconds(std::max<std::int64_t>(active - idle, 0));
  m.poll_times.read(polls);
  return m.spawned.get();
}

clock::time_point worker::time_of_tick(std::uint64_t tick) const noexcept {
  return origin_ + static_cast<clock::rep>(tick) * tick_length;
}

void worker::free_buried() noexcept {
  // Each buried state still holds its task's reference: drop it now that the frame has suspended for
  // good. Deleting a state destroys its frame, which may drop join handles and bury more states.
  while (!graveyard_.empty()) {
    spawn_state_base* s = graveyard_.back();
    graveyard_.pop_back();
    // ordering: a count of one is ours alone (no other holder is left to add one): no atomic write. A
    // one-loop state comes here with its count already at zero (spawn_done dropped it: no other thread).
    if (refs_of(s->word.load(std::memory_order_acquire)) <= 1 || spawn_unref(s)) delete s;
  }
}

clock::time_point worker::now() const noexcept {
  if (!paused_) return steady_now();
  return sched_ != nullptr ? sched_->paused_now() : virtual_now_;
}

std::uint64_t worker::tick_of(clock::time_point t) const noexcept {
  auto since = t - origin_;
  return since.count() <= 0 ? 0 : static_cast<std::uint64_t>(since / tick_length);
}

std::uint64_t worker::tick_now() const noexcept { return tick_of(now()); }

void worker::advance_paused(clock::duration d) noexcept {
  if (!paused_ || d.count() <= 0) return;
  if (sched_ != nullptr) {
    sched_->advance_paused(d);
  } else {
    virtual_now_ += d;
  }
  wheel_.advance(tick_now());
}

void worker::arm_timer(timer_entry* e, clock::time_point deadline) noexcept {
  auto since = deadline - origin_;  // origin_ <= every clock reading, so this does not overflow
  // Round up: a timer never fires before its deadline. A deadline within a tick of the largest
  // time_point ("no limit") takes the largest tick, which the wheel keeps re-filing and never fires.
  if (since.count() <= 0) {
    e->tick = 0;
  } else if (since > clock::duration::max() - tick_length) {
    e->tick = std::numeric_limits<std::uint64_t>::max();
  } else {
    e->tick = static_cast<std::uint64_t>((since + tick_length - clock::duration(1)) / tick_length);
    if (chaos_.on() && !paused_) e->tick += chaos_.next() % 3;  // late, never early (virtual time stays exact)
  }
  wheel_.insert(e);
}

void worker::unhook_group_children(const task_group* group) noexcept {
  for (spawn_state_base* s = live_; s != nullptr; s = s->live_next) {
    if (s->group != nullptr && (group == nullptr || s->group == group)) {
      s->ctx.detach();
      s->group = nullptr;
    }
  }
}

void worker::report_exception(std::string_view task_name, std::exception_ptr e) noexcept {
  try {
    options_.on_unhandled_exception(task_name, e);
  } catch (...) {
    std::fputs("weft: on_unhandled_exception threw; ignoring\n", stderr);
  }
}

}  // namespace weft::detail
