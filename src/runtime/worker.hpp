// worker: one event loop. It owns a run queue, a timer wheel, a reactor, and the spawned tasks that
// started on it. In a runtime with several workers it also has a queue of not-yet-started tasks that
// other workers may steal from (see scheduler.hpp).
//
// Protocol:
// - Everything but post(), remote_schedule() and the steal queue runs on the loop's thread (the one
//   inside run_until_done(), or the worker's own thread).
// - A turn: resume up to `task_budget` ready coroutines, run posted closures, then poll the reactor
//   (waiting only when nothing is ready) and fire due timers. Polling every budget's worth of tasks keeps
//   I/O and timers from starving behind a busy queue.
// - post(): push under `post_mu_`, set `has_posted_`, and wake the reactor if the loop is (about to be)
//   sleeping. The loop sets `sleeping_` before its last check of `has_posted_` (both seq_cst), so a post
//   either is seen by that check or sees `sleeping_` and wakes it: no lost wake-up.
// - Spawned tasks are kept on an intrusive list so shutdown can destroy the unfinished ones. A finished
//   task's own reference to its state is dropped by the loop after the resume that completed it
//   ("buried"), never from inside the frame's own final_suspend.
// - Shutdown order (~worker): drop the run queue, destroy unfinished frames (their awaitables unlink
//   timers), free buried states, drop posted closures.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "weft/detail/atomic.hpp"
#include "weft/detail/coop.hpp"
#include "reactor/reactor.hpp"
#include "runtime/chaos.hpp"
#include "runtime/owned_counter.hpp"
#include "runtime/run_queue.hpp"
#include "runtime/steal_queue.hpp"
#include "time/timer_wheel.hpp"
#include "trace/trace.hpp"
#include "weft/detail/spawn_state.hpp"
#include "weft/detail/unique_function.hpp"
#include "weft/runtime.hpp"
#include "weft/time.hpp"

namespace weft::detail {

/// Per-loop state that a higher layer keeps on a loop (the DNS resolver's channel, ...). The worker
/// destroys its extensions during shutdown, after every task's frame and before the reactor.
class loop_extension {
 public:
  virtual ~loop_extension() = default;
};
enum class extension_slot { dns, count };

class scheduler;
class blocking_pool;

/// The calling loop's tracer, or null (not a loop's thread, or no trace).
trace::recorder* current_tracer() noexcept;

class worker {
 public:
  /// `sched` is null for the single loop of a one-worker runtime. `origin`: the time of wheel tick 0
  /// (workers sharing virtual time share it, so that their ticks fall on the same instants).
  worker(runtime_options options, scheduler* sched, std::size_t index, clock::time_point origin);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// Queues `h` to resume on this loop. Loop thread only.
  void schedule(std::coroutine_handle<> h, context* ctx) {
    queue_.push({h, ctx});
    // After the push, reading the entry back: with `ctx` needed after the push (or a call before it),
    // g++ 12 spilled it to the stack and reloaded it to build the entry, a store-forwarding stall
    // that made every yield 10% slower, traced or not (measured).
    if (observed_) [[unlikely]] note_wake(queue_.newest().ctx);
  }
  /// Queues a spawned task's first resume (which take_back can take back).
  void schedule_fresh(std::coroutine_handle<> h, context* ctx) { queue_.push_fresh({h, ctx}); }
  /// Called on the joiner's thread: takes the spawned task `h` back out of the run queue if its first
  /// resume is the newest entry there, and this is its loop's thread; its caller resumes it instead.
  /// At most handoff_budget times within one resume from the loop, so that a spawn-and-join loop
  /// still lets the loop run. Not in the debug modes: shuffling is there to vary the order, and the
  /// slow-task detector times each resume from the loop, so a task must not run inside another's.
  bool take_back(std::coroutine_handle<> h) noexcept;
  /// The cooperative budget (weft/detail/coop.hpp), on this loop's thread, when the thread's counter
  /// reached zero: the running task has completed coop_budget await points without waiting since the
  /// loop resumed it, and the budget starts afresh. Under chaos the counter is 1, and each such await
  /// point comes here: spent one time in four (a task that never waits still gives its loop back).
  bool budget_spent() noexcept {
    coop_budget_left() = coop_start_;
    if (chaos_.on() && !chaos_.one_in(4)) return false;
    metrics_.coop_yields.add();
    return true;
  }
  /// Queues `h` to resume on this loop, from any thread.
  void remote_schedule(std::coroutine_handle<> h, context* ctx);
  void post(unique_function fn);

  /// block_on's hold on the loop (the single-loop runtime), taken before it spawns its task: throws
  /// std::logic_error if a thread runs the loop already. leave_block_on gives it back unused.
  void hold_for_block_on();
  void leave_block_on() noexcept { running_.store(false, std::memory_order_release); }
  /// Runs turns until `root` finishes (the single-loop runtime), under hold_for_block_on's hold.
  void run_until_done(spawn_state_base* root);
  /// From inside a resume on this loop's thread: runs turns of this loop (its ready tasks, posts,
  /// I/O and timers; nothing stolen) until `done()`. For a task_group left without join(), whose
  /// children must finish before the scope does.
  /// Returns early, with `done()` still false, when the runtime stops: shutdown destroys what is left.
  template <class Done>
  void run_nested_until(Done done) {
    while (!done() && !stopping()) nested_turn();
  }
  /// Chaos (runtime_options::chaos_seed): sometimes spins or yields a moment, from any thread, at a
  /// point of a cross-thread protocol where a bad interleaving would hide. Nothing without a seed.
  void chaos_pause() const noexcept {
    if (options_.chaos_seed != 0) chaos::pause_a_moment(options_.chaos_seed, chaos_runtime_);
  }
  /// The runtime stops (several workers); false on one loop.
  bool stopping() const noexcept;
  /// A worker thread's body: runs turns until the scheduler stops.
  void run_forever();
  /// Holds the loop as block_on does, if no thread runs it now (its state is then this thread's until
  /// release_hold); false if one does.
  /// (For a flight-recorder dump: a block_on meanwhile waits for it rather than failing.)
  bool try_hold() noexcept {
    holding_for_dump_.store(true, std::memory_order_release);
    bool held = !running_.exchange(true, std::memory_order_acquire);
    if (!held) holding_for_dump_.store(false, std::memory_order_release);
    return held;
  }
  void release_hold() noexcept {
    running_.store(false, std::memory_order_release);
    holding_for_dump_.store(false, std::memory_order_release);
  }
  /// After the threads stopped: runs what was posted to this worker and never ran. True if any.
  bool run_leftover_posts();

  /// The shared scheduler, or null for a single loop.
  scheduler* shared() const noexcept { return sched_; }
  std::size_t index() const noexcept { return index_; }

  /// Records this loop's spawns and run slices into `s` (before the loop runs).
  void start_trace(trace::sink& s);
  /// This loop's trace recorder, or null when the runtime does not trace. Its thread only.
  trace::recorder* tracer() noexcept { return trace_.get(); }
  /// Traced task `id` ended in the current resume: recorded after that resume's slice, so that a
  /// task's events end with its end.
  void trace_ended(std::uint64_t id) { ended_in_turn_.push_back(id); }
  /// The trace id of the task this loop is running (0: none, or no trace).
  std::uint64_t running_task() const noexcept { return running_task_; }
  /// Each resume is timed (trace or slow-task detector): tasks are not resumed inside another's turn.
  bool observed() const noexcept { return observed_; }
  /// Queues a spawned task that has not started (loop thread only); other workers may steal it.
  void push_fresh(spawn_state_base* s) noexcept;

  // Time.
  clock::time_point now() const noexcept;
  /// The time the loop last looked at the clock (after its last poll): free to read, and never more
  /// than one turn behind. For I/O deadlines, where being a turn early does not matter; sleeps use now().
  clock::time_point loop_now() const noexcept { return paused_ ? now() : loop_now_; }
  bool paused() const noexcept { return paused_; }
  /// Moves virtual time forward (paused runtimes only) and fires what became due.
  void advance_paused(clock::duration d) noexcept;
  void arm_timer(timer_entry* e, clock::time_point deadline) noexcept;
  void disarm_timer(timer_entry* e) noexcept { wheel_.remove(e); }

  /// The runtime's blocking pool.
  blocking_pool& blocking() noexcept { return *blocking_; }

  /// The loop's reactor, where sockets opened on this loop register.
  reactor& io() noexcept { return *reactor_; }
  /// The extension in `slot`, or null; set it once with set_extension.
  loop_extension* extension(extension_slot slot) noexcept { return extensions_[static_cast<int>(slot)].get(); }
  void set_extension(extension_slot slot, std::unique_ptr<loop_extension> e) noexcept {
    extensions_[static_cast<int>(slot)] = std::move(e);
  }

  // Spawned tasks.
  // Inline: once per spawn and once per end, on the spawn-and-join path.
  void adopt(spawn_state_base* s) noexcept {
    s->home.store(this, std::memory_order_relaxed);
    s->live_prev = nullptr;
    s->live_next = live_;
    if (live_ != nullptr) live_->live_prev = s;
    live_ = s;
    live_count_.store(live_count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    metrics_.spawned.add();
  }
  void forget(spawn_state_base* s) noexcept {
    if (s->live_prev != nullptr) {
      s->live_prev->live_next = s->live_next;
    } else {
      live_ = s->live_next;
    }
    if (s->live_next != nullptr) s->live_next->live_prev = s->live_prev;
    s->live_prev = s->live_next = nullptr;
    live_count_.store(live_count_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }
  /// A spawned task finished (spawn_done): its loop drops the task's reference to `s` after the
  /// resume that finished it, freeing it if that was the last (a one-loop state comes with its count
  /// at zero already, to be freed).
  void bury(spawn_state_base* s) { graveyard_.push_back(s); }
  std::size_t live_tasks() const noexcept {
    return live_count_.load(std::memory_order_relaxed) + fresh_.size() + in_hand_.load(std::memory_order_relaxed) +
           posted_spawns_.load(std::memory_order_relaxed);
  }
  /// Starts `s` on this loop from any thread: posted, adopted and queued there (its state is shared).
  /// Counted by live_tasks() from now on.
  void post_spawn(spawn_state_base* s);
  /// A posted spawn reached the loop (or was dropped): live_tasks() counts it as adopted from now on.
  void spawn_arrived() noexcept { posted_spawns_.fetch_sub(1, std::memory_order_relaxed); }
  /// Detaches the unfinished children of `group` (of every group, if null) from it: they run on
  /// as plain detached tasks.
  void unhook_group_children(const task_group* group) noexcept;
  bool shutting_down() const noexcept { return shutting_down_; }

  void report_exception(std::string_view task_name, std::exception_ptr e) noexcept;

  /// Adds this loop's counters to `out` (its fields start at zero), its poll times to `polls`, and
  /// returns the tasks it has adopted since the start. Any thread.
  std::uint64_t read_metrics(worker_metrics& out, duration_histogram& polls) const noexcept;

 private:
  static constexpr int task_budget = 128;
  /// Await points a task may complete without waiting in one resume from the loop (coop.hpp).
  static constexpr std::uint32_t coop_budget = 128;
  static constexpr std::uint32_t handoff_budget = 64;
  static constexpr std::uint32_t fresh_batch = 8;
  static constexpr std::chrono::microseconds spin_time{20};
  static constexpr std::chrono::microseconds lone_grace{3};  // see find_work

  friend class scheduler;

  void turn(const spawn_state_base* root);
  void nested_turn();
  /// post() and remote_schedule(): `push()` under post_mu_, then wake the loop if it sleeps.
  template <class Push>
  void hand_off(Push push);
  /// Runs up to a budget of ready tasks; returns how many ran.
  int run_ready();
  void start_fresh(spawn_state_base* s);
  /// Takes injected tasks or steals some; true if it found any. `counted`: notify_one already counted
  /// this worker as searching.
  bool find_work(bool counted);
  /// Briefly polls for work before the worker sleeps; true if it found some.
  bool spin_for_work();
  /// The hot path of every turn, inline: a call here cost a yield 25% (bench_tasks weft_yield).
  void resume(runnable r) {
    handoffs_ = 0;
    coop_budget_left() = coop_start_;
    metrics_.polls.add();  // a load and a store on this thread's own line: no atomic read-modify-write
    if (observed_) [[unlikely]] {
      resume_observed(r);
    } else {
      r.handle.resume();
    }
    if (!graveyard_.empty()) [[unlikely]] free_buried();
  }
  /// resume() with the slow-task detector or the trace on.
  void resume_observed(runnable r);
  /// The trace: notes what is waking `ctx`'s coroutine (the running task, or the loop's I/O, timers,
  /// posts), for the run slice that follows.
  void note_wake(context* ctx);
  /// After a slow task: dumps the flight recorder to slow_task_dump_file, if both are on.
  void dump_after_slow_task(std::chrono::steady_clock::time_point now);
  /// The next ready coroutine: the oldest, or a random one in the shuffling debug mode.
  bool pop_ready(runnable& r) noexcept;
  void run_posted();
  /// Runs the reactor once; sleeps if `idle`, unless its last look finds work posted to it, the
  /// runtime stopping, or (`others_work_wakes`) tasks it could steal.
  void poll(bool idle, bool others_work_wakes = true);
  void free_buried() noexcept;
  /// Changes the busy and idle time fields as one (loop_metrics::time_seq).
  template <class Change>
  void change_times(Change change) noexcept;
  /// The loop starts or stops running turns (busy time counts between the two).
  void loop_started() noexcept;
  void loop_stopped() noexcept;
  std::uint64_t tick_now() const noexcept;
  std::uint64_t tick_of(clock::time_point t) const noexcept;
  clock::time_point time_of_tick(std::uint64_t tick) const noexcept;

  runtime_options options_;
  scheduler* sched_;
  blocking_pool* blocking_ = nullptr;  // set by the scheduler
  std::unique_ptr<trace::recorder> trace_;  // set by the scheduler (start_trace)
  bool observed_ = false;                   // a resume is timed: the slow-task detector or the trace is on
  std::uint64_t running_task_ = 0;          // the trace id of the task being resumed (a spawn's parent)
  trace::wake_source waking_ = trace::wake_source::loop;  // what wakes coroutines when no task runs
  std::vector<std::uint64_t> ended_in_turn_;  // traced tasks that ended in this resume (trace_ended)
  std::chrono::steady_clock::time_point slice_start_;  // where the running task's current slice began
  std::chrono::steady_clock::time_point last_end_;     // when the last observed resume returned
  bool chained_ = false;  // in the same batch of resumes as that one: the next resume begins there
  std::chrono::steady_clock::time_point last_slow_dump_;  // see dump_after_slow_task
  std::size_t index_;
  run_queue queue_;
  steal_queue<spawn_state_base> fresh_;
  timer_wheel wheel_;
  std::unique_ptr<reactor> reactor_;
  std::unique_ptr<loop_extension> extensions_[static_cast<int>(extension_slot::count)];

  weft::detail::mutex post_mu_;
  std::vector<unique_function> posted_;      // guarded by post_mu_
  std::vector<runnable> remote_;             // guarded by post_mu_
  std::vector<unique_function> running_posts_;
  std::vector<runnable> running_remote_;
  weft::detail::atomic<bool> has_posted_{false};
  weft::detail::atomic<bool> sleeping_{false};
  weft::detail::atomic<bool> notified_{false};  // woken by notify_one, and counted as searching for it

  // Paused runtimes with several workers (guarded by the scheduler's pause_mu_).
  bool counted_idle_ = false;
  std::uint32_t steal_seed_ = 1;
  std::uint64_t shuffle_state_ = 0;  // nonzero: runtime_options::shuffle_seed's debug mode (or chaos's)
  chaos chaos_;                      // runtime_options::chaos_seed (see chaos.hpp)
  std::uint64_t chaos_runtime_ = 0;  // this runtime's serial, for chaos::pause_a_moment
  clock::time_point next_due_ = clock::time_point::max();

  spawn_state_base* live_ = nullptr;
  metric_atomic<std::size_t> live_count_{0};  // written by the loop, read by runtime::live_tasks()
  metric_atomic<std::uint32_t> in_hand_{0};    // fresh tasks claimed by run_ready, not yet adopted
  metric_atomic<std::size_t> posted_spawns_{0};  // spawned from another thread, not yet adopted (post_spawn)
  std::vector<spawn_state_base*> graveyard_;
  std::uint32_t coop_start_ = coop_budget;  // the budget counter at each resume (1 under chaos: see budget_spent)
  std::uint32_t handoffs_ = 0;  // take_back()s since the loop last resumed something (see take_back)
  bool shutting_down_ = false;
  weft::detail::atomic<bool> running_{false};  // a thread runs this loop (block_on refuses a second one)
  weft::detail::atomic<bool> holding_for_dump_{false};  // see try_hold

  // Metrics (weft/metrics.hpp): written by the loop's thread only, read by runtime::metrics().
  struct loop_metrics {
    owned_counter polls, parks, steals, steal_operations, remote_schedules, io_events, spawned, coop_yields;
    owned_counter local_queue_depth, timers_armed;  // as of the last turn
    // Busy and idle time: a sleep or a run of the loop in progress counts up to a snapshot, so a
    // reader needs the four fields below from one moment, or a finished sleep could be counted twice
    // (and the counters, which only grow, seem to step back). A sequence lock: odd while they change.
    metric_atomic<std::uint32_t> time_seq{0};
    owned_counter idle_ns, active_ns;               // finished sleeps; finished runs of the loop
    metric_atomic<std::int64_t> idle_since{0};        // steady-clock ns when the current sleep began (0: awake)
    metric_atomic<std::int64_t> active_since{0};      // ... when the loop began running (0: not running)
    owned_histogram poll_times;                     // only when observed_
  } metrics_;

  bool paused_;
  clock::time_point origin_;        // wheel tick 0
  clock::time_point virtual_now_;   // paused runtimes only
  clock::time_point loop_now_;      // see loop_now()
};

}  // namespace weft::detail
