// One run of a model: its threads (fibers), the scheduling point before each visible operation, and the
// happens-before bookkeeping that finds data races.
//
// Threads: thread 0 runs the model's body; spawn() adds more (at most max_threads). Each is runnable,
// blocked on an object (a mutex, a joined thread, an atomic's wait, a condition variable) until wake()
// of that object, or finished. A thread that yields is passed over until every other thread that could
// run at its yield has taken a step or stopped being able to (blocked, finished), unless no other can
// run (CHESS's fair scheduling): so a spin loop waits for the thread it spins on without a preemption,
// a switch away from it costs none, and two spinners cannot take turns for ever. A run ends when every
// thread has finished; when none can run but some have not finished, that is a deadlock.
//
// Happens-before (vector clocks; each thread's own entry starts at 1 and grows after each release):
// - an acquire load (acquire, acq_rel, seq_cst, consume) joins the object's released clock into the
//   thread's; a relaxed one keeps it aside for a later acquire fence;
// - a release store replaces the object's released clock with the thread's; a relaxed store replaces
//   it with the thread's clock at its last release fence (empty without one): so it ends a release
//   sequence, as in C++20;
// - a read-modify-write does both halves, and a relaxed one keeps the release sequence going;
// - unlock releases into the mutex, lock acquires from it; spawn and join order parent and child.
// A cell access is checked against the cell's last write and, for a write, every read since it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model/explorer.hpp"
#include "model/fiber.hpp"
#include "weft/detail/model.hpp"

namespace weft::model::engine {

class execution {
 public:
  execution(explorer& search, stack_pool& stacks, const options& opts, bool tracing);
  execution(const execution&) = delete;
  execution& operator=(const execution&) = delete;
  ~execution();

  /// Where the model clock (hook::now_ns) starts in every run, and stands outside runs: 1,000 s.
  static constexpr std::int64_t clock_start_ns = 1'000'000'000'000;

  /// The execution whose model thread is running, or null (in setup, final check, teardown).
  static execution* active() noexcept;
  /// The execution being checked, in its model threads and its final check; else null.
  static execution* current() noexcept;

  /// Runs `body` as thread 0, and the threads it starts, until all finish or one fails.
  void run(const std::function<void()>& body);
  /// Runs `check` outside the model once every thread has finished; require() in it fails the run.
  void final_check(const std::function<void()>& check);
  /// The first property that broke; empty if none.
  const std::string& failure() const noexcept { return failure_; }
  std::vector<std::string> take_trace() { return std::move(trace_); }

  /// Records a failure; in a model thread, ends the run and never returns.
  void fail(std::string what) noexcept;

  // What the hooks do, for the running thread.
  void step(const char* op, const void* object) noexcept;
  void yield() noexcept;
  void block_on(const void* object, const char* what) noexcept;
  bool block_until(const void* object, const char* what, std::int64_t deadline_ns) noexcept;
  int current_thread() const noexcept { return current_; }
  std::uint64_t thread_serial() noexcept { return self().serial; }
  void at_thread_exit(void (*fn)()) { self().at_exit.push_back(fn); }
  std::int64_t now_ns() noexcept { return std::exchange(clock_ns_, clock_ns_ + clock_step_ns); }
  void wake(const void* object, bool all) noexcept;
  void load(sync_state& s, std::memory_order order) noexcept;
  unsigned weak_load(sync_state& s, std::memory_order order) noexcept;
  void store(sync_state& s, std::memory_order order, bool keep, std::uint64_t old_bits, std::uint64_t new_bits) noexcept;
  void read_modify_write(sync_state& s, std::memory_order order, bool keep, std::uint64_t old_bits,
                         std::uint64_t new_bits) noexcept;
  void fence(std::memory_order order) noexcept;
  void lock(lock_state& m) noexcept;
  bool try_lock(lock_state& m) noexcept;
  void unlock(lock_state& m) noexcept;
  void wait(const void* cv, lock_state& m) noexcept;
  bool wait_until(const void* cv, lock_state& m, std::int64_t deadline_ns) noexcept;
  void cell_read(cell_state& c) noexcept;
  void cell_write(cell_state& c) noexcept;
  int spawn(std::function<void()> fn) noexcept;
  void join(int id) noexcept;

 private:
  struct thread_state {
    fiber context;
    void* stack = nullptr;
    std::function<void()> fn;
    vector_clock clock;
    vector_clock pending_acquire;  // released clocks seen by relaxed loads, for an acquire fence
    vector_clock fence_release;    // the clock at the last release fence, for relaxed stores
    const void* blocked_on = nullptr;
    const char* blocked_what = nullptr;
    std::int64_t deadline_ns = -1;  // blocked until then at the latest (block_until); -1: no limit
    bool timed_out = false;
    std::uint64_t serial = 0;       // see hook::thread_serial
    std::vector<std::uint32_t> sc_fences;  // the scheduling points of its seq_cst fences, in order
    std::vector<void (*)()> at_exit;       // hook::at_thread_exit
    bool finished = false;
    std::uint32_t waits_for = 0;  // after a yield: the threads that must take a step before this one
  };

  thread_state& self() noexcept { return threads_[static_cast<std::size_t>(current_)]; }
  void start_thread(int id, std::function<void()> fn);
  static void entry();
  [[noreturn]] void finish() noexcept;
  void schedule() noexcept;
  [[noreturn]] void end_run() noexcept;
  void acquire_lock(lock_state& m) noexcept;
  void release_lock(lock_state& m) noexcept;
  void release(vector_clock& into) noexcept;  // into = the thread's clock, then its own entry grows
  /// Adds the store just made (after its happens-before bookkeeping) to `s`'s history.
  void record_store(sync_state& s, bool seq_cst, std::uint32_t epoch, std::uint64_t old_bits, std::uint64_t new_bits) noexcept;
  /// `s`'s history in this run: a fresh one if it has none yet (or one of an earlier run).
  store_history& own_history(sync_state& s) noexcept;
  // Clears what an earlier run left in an object that outlives runs (sync_state::run).
  void fresh(sync_state& s) noexcept;
  void fresh(lock_state& m) noexcept;  // and the holder an earlier run left
  void fresh(cell_state& c) noexcept;
  /// No thread can run: moves the clock to the earliest deadline of a timed wait and wakes its waiters;
  /// false if no thread waits with a deadline.
  bool time_out_earliest() noexcept;
  std::string object_name(const void* object);

  explorer& search_;
  stack_pool& stacks_;
  const options& opts_;
  bool tracing_;
  std::uint64_t serial_;  // this run's number in the process (sync_state::run, cell_state::run)
  fiber checker_;  // the checker's own context, where a run starts and ends
  std::array<thread_state, max_threads> threads_;  // fixed: a ucontext_t must not move
  int count_ = 0;
  int current_ = 0;
  bool running_ = false;  // in a model thread
  std::uint32_t steps_ = 0;
  static constexpr std::int64_t clock_step_ns = 1'000'000;
  std::int64_t clock_ns_ = clock_start_ns;  // the model clock (hook::now_ns)
  std::string failure_;
  std::vector<std::string> trace_;
  std::vector<const void*> objects_;  // for the trace: objects by first appearance
  std::deque<store_history> histories_;  // the run's stores, for weak memory (own_history)
};

}  // namespace weft::model::engine
