// runtime: the event loop that runs weft's tasks.
//
// By default a runtime is one loop on the thread that calls `block_on`: it takes one ready task at a
// time and runs it until that task awaits (the seed's "one event at a time"), then waits on epoll for
// I/O, timers and work posted from other threads.
//
// With `workers = N` (or 0: one per core) it is N such loops, each on its own thread, and tasks run in
// parallel: a spawned task starts on the worker that spawned it unless an idle worker steals it first,
// and from its first resume to its end it stays on that worker, with its timers and sockets. Code is
// written the same way for both; data shared between tasks on different workers needs the thread-safe
// primitives (weft/sync.hpp) or atomics.
//
//     int main() {
//       return weft::run(async_main());        // a runtime for the length of async_main()
//     }
//
//     weft::runtime rt({.workers = 0});           // one worker per core
//     weft::runtime rt({.start_paused = true});  // tests: virtual time that jumps when the loop is idle
//     rt.block_on(scenario());
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "weft/detail/unique_function.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

struct runtime_options {
  /// Event loops. 1 (the default): one loop, run by the thread inside block_on. N > 1: N loops on
  /// their own threads, for the runtime's whole life. 0: one per core (std::thread::hardware_concurrency).
  std::size_t workers = 1;

  /// The blocking pool (weft/blocking.hpp): at most this many threads run spawn_blocking calls at
  /// once; a thread idle for `blocking_keep_alive` exits.
  std::size_t max_blocking_threads = 64;
  std::chrono::nanoseconds blocking_keep_alive = std::chrono::seconds(10);

  /// Debugging: when nonzero, each loop runs its ready tasks in a pseudo-random order drawn from this
  /// seed instead of first-come first-served, to expose code that silently relies on an order weft
  /// does not promise. A failing seed reproduces (on one loop). The environment variable
  /// WEFT_SHUFFLE_SEED sets it for every runtime that leaves it zero.
  std::uint64_t shuffle_seed = 0;

  /// Testing: when nonzero, perturbs scheduling from this seed to shake out interleavings that quiet
  /// runs never reach: ready tasks in a random order, random pauses before cross-thread wake-ups and
  /// posts, random steal decisions, timers up to two ticks late (never early). Slower; for stress
  /// tests (`make stress`). On one loop a seed replays its run exactly; on several workers it fixes
  /// each loop's choices but not the threads' timing. The environment variable WEFT_CHAOS sets it for
  /// every runtime that leaves it zero.
  std::uint64_t chaos_seed = 0;

  /// Virtual time: the clock starts paused and, whenever no task is ready to run, jumps straight to the
  /// next timer. Sleeps cost no real time and orders are exact: the manual clock for tests and replays.
  bool start_paused = false;

  /// Called with the task's name and the exception when an exception escapes a task that nobody will
  /// join (a detached task). Default: print both to stderr; the runtime keeps running either way.
  /// With several workers it may be called from any of their threads, at the same time.
  std::function<void(std::string_view task_name, std::exception_ptr error)> on_unhandled_exception;

  /// When positive, every turn of a task that holds the loop for longer than this is reported to
  /// `on_slow_task` (default: printed to stderr). Costs two clock reads and a copy of the task's
  /// name per resume when on.
  std::chrono::nanoseconds slow_task_threshold{0};
  std::function<void(std::string_view task_name, std::chrono::nanoseconds held)> on_slow_task;

  /// When not empty, the runtime writes a timeline of its tasks to this file, in the Chrome/Perfetto
  /// trace-event JSON format (open it in ui.perfetto.dev or chrome://tracing): a track per worker with
  /// each run slice (every resume of a task, named after it, with what woke it, and an arrow from the
  /// task that did), and a track per task from its spawn to its end, with the task that spawned it, its
  /// HTTP requests (server and client, with their phases) and blocking jobs; steals and child processes
  /// are marked on the workers' tracks (docs/design/tracing.md). Recording costs two clock reads and 32 bytes per resume;
  /// a writer thread formats and writes, and the loops never wait on the file. With it on, a spawned
  /// task that is joined at once still runs on a turn of its own, so that slices do not nest. The
  /// environment variable WEFT_TRACE=FILE sets it for every runtime that leaves it empty (the second
  /// and later runtimes of one process write FILE.2, FILE.3, ... before the extension).
  std::string trace_file;
  /// The trace file's size bound: past it, events are dropped, and the file's metadata
  /// (otherData.dropped_events) says how many.
  std::size_t trace_max_bytes = std::size_t{256} << 20;

  /// The flight recorder: when nonzero (and trace_file is empty), the runtime records the same
  /// timeline as a trace file, but keeps only the most recent events (at least this many; 32 bytes
  /// each, plus task names) in memory, and writes them out only when asked: dump_flight_recorder(),
  /// or a slow task (slow_task_dump_file). The environment variable WEFT_FLIGHT_RECORDER=N sets it for
  /// every runtime that leaves it zero. Costs what the trace costs on the loops, without the writer.
  std::size_t flight_recorder_events = 0;
  /// With the flight recorder and the slow-task detector on: a slow task also dumps the flight
  /// recorder to this file (rewritten each time, at most once a second), so that the stall can be
  /// read afterwards, with what led up to it.
  std::string slow_task_dump_file;

  /// Records how long each resume of a task holds its loop, for runtime_metrics::poll_times. Costs two
  /// clock reads per resume, and, as with the trace, a spawned task that is joined at once runs on a
  /// turn of its own. Recorded anyway when the trace or the slow-task detector is on.
  bool poll_time_histogram = false;
};

struct runtime_metrics;

namespace detail {
class scheduler;
struct scheduler_deleter {
  void operator()(scheduler* s) const noexcept;
};
/// The worker that block_on and runtime::spawn hand tasks to: the calling thread's if it is one of
/// this runtime's, else the first.
worker* entry_worker(scheduler* s) noexcept;
/// Worker `index` (bounds-checked: std::out_of_range).
worker* worker_at(scheduler* s, std::size_t index);
/// block_on's first step, before it spawns anything: refuses (std::logic_error) a block_on from inside
/// this runtime, or, on one loop, while the loop already runs; otherwise holds the loop for it.
void block_on_enter(scheduler* s);
/// Gives the hold back when block_on fails before run_until_done.
void block_on_leave(scheduler* s) noexcept;
/// Runs (one loop) or waits for (several workers) `root` until it finishes; block_on_enter came first.
void run_until_done(scheduler* s, spawn_state_base* root);
}  // namespace detail

class runtime {
 public:
  runtime();
  explicit runtime(runtime_options options);
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;
  /// Destroys every task that has not finished (their frames, timers and registrations are released).
  ~runtime();

  /// Runs `t` until it finishes; returns its value or rethrows its exception. One loop: the loop runs
  /// on this thread meanwhile, and tasks spawned meanwhile keep their state and go on at the next
  /// `block_on`. Several workers: `t` runs on them, and this thread waits.
  template <class T>
  T block_on(task<T> t) {
    detail::block_on_enter(sched_.get());  // a refused block_on must not have spawned its task
    join_handle<T> h = spawn_or_leave(std::move(t));
    detail::run_until_done(sched_.get(), handle_state(h));
    return take(std::move(h));
  }

  /// Starts a task on this runtime; with one loop it runs once the loop runs (in `block_on`), with
  /// several workers at once. Safe to call from any thread. See weft::spawn.
  template <class F>
  join_handle<detail::spawn_value_t<F>> spawn(F&& f) {
    return detail::spawn_on(detail::entry_worker(sched_.get()), {}, nullptr, std::forward<F>(f));
  }

  /// Starts a task on worker `index` (0 <= index < workers()), where it runs from start to end: it is
  /// never stolen. The thread-per-core style: one accept loop per core, say. Safe from any thread.
  template <class F>
  join_handle<detail::spawn_value_t<F>> spawn_on(std::size_t index, F&& f) {
    return detail::spawn_on(detail::worker_at(sched_.get(), index), {}, nullptr, std::forward<F>(f), true);
  }

  /// Queues `fn` to run on a loop's thread (the first worker's), between tasks. Safe to call from any
  /// thread. `fn` runs once; an exception escaping it goes to `on_unhandled_exception` (task name
  /// "post"), and the loop and the other posts go on.
  void post(detail::unique_function fn);

  /// The number of workers (event loops).
  std::size_t workers() const noexcept;
  /// True when called from one of this runtime's loops (inside a task or a post it runs).
  bool is_current() const noexcept;

  /// Spawned tasks that have not finished yet.
  std::size_t live_tasks() const noexcept;

  /// A snapshot of the runtime's counters, queue depths and blocking pool (weft/metrics.hpp, which
  /// declares runtime_metrics). Safe from any thread, while the runtime runs or not; costs a lock of
  /// the blocking pool and a read of each worker's counters, never a pause of the loops.
  runtime_metrics metrics() const;

  /// Writes the flight recorder's events (runtime_options::flight_recorder_events) to `path` as a trace
  /// file (the format of trace_file). Each loop first hands over its newest events; one that does not
  /// answer within 100 ms (stalled, or a one-loop runtime outside block_on) is written without them.
  /// Safe from any thread, and from a task. False if there is no flight recorder or the file cannot
  /// be written.
  bool dump_flight_recorder(const std::string& path);

 private:
  template <class T>
  static detail::spawn_state_base* handle_state(join_handle<T>& h) noexcept {
    return h.s_;
  }
  template <class T>
  static T take(join_handle<T> h);
  /// block_on's spawn, which gives the loop's hold back if it throws.
  template <class T>
  join_handle<T> spawn_or_leave(task<T> t) {
    try {
      return detail::spawn_on(detail::entry_worker(sched_.get()), "main", nullptr, std::move(t));
    } catch (...) {
      detail::block_on_leave(sched_.get());
      throw;
    }
  }

  std::unique_ptr<detail::scheduler, detail::scheduler_deleter> sched_;
};

template <class T>
T runtime::take(join_handle<T> h) {
  detail::spawn_state_base* s = handle_state(h);
  s->outcome_seen = true;
  return static_cast<detail::task_promise<T>*>(s->promise)->take();
}

/// Runs `t` on a new runtime on this thread and returns its value: the usual body of `main`.
template <class T>
T run(task<T> t, runtime_options options = {}) {
  runtime rt(std::move(options));
  return rt.block_on(std::move(t));
}

}  // namespace weft
