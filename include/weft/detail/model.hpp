// The model checker's interface: what model tests call (check, thread, require) and the hooks through
// which weft::detail's wrappers (atomic.hpp, in the WEFT_MODEL_CHECK build) report each visible operation.
// The engine lives in src/model/; docs/design/model-checking.md explains the method.
//
// How a check runs:
// - The model's threads are fibers on one OS thread. Thread 0 runs the model's body; it starts others
//   with model::thread. Only one runs at a time, so a run is a deterministic function of its schedule.
// - Before every visible operation (an atomic access, a lock, a spawn, a join, a yield) the running
//   thread stops at a scheduling point and the explorer picks who runs next. A check is a depth-first
//   search over those picks, exhaustive up to `preemption_bound` preemptions per run (CHESS's bound).
// - Atomics execute sequentially consistently: each holds one value, and a load sees the latest store.
//   Happens-before is tracked per memory order with vector clocks (release/acquire/seq_cst create edges,
//   relaxed does not), and every access to a cell<T> is checked against it: two accesses to one cell,
//   one a write, not ordered by happens-before are a data race.
// - A run fails on a broken require(), a data race, a deadlock (every live thread blocked), or a
//   livelock (more than max_steps scheduling points). The failing schedule replays exactly.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::model {

inline constexpr std::size_t max_threads = 8;

/// Entry t: the latest event of thread t that happens-before the holder. Thread clocks start at 1.
struct vector_clock {
  std::array<std::uint32_t, max_threads> at{};

  void join(const vector_clock& other) noexcept {
    for (std::size_t i = 0; i < max_threads; ++i) at[i] = at[i] < other.at[i] ? other.at[i] : at[i];
  }
};

/// One store to an atomic, kept for weak memory (options::weak_memory): a later load may read it
/// instead of the newest, where C++ allows that.
struct store_record {
  std::uint64_t bits = 0;   // the value stored
  vector_clock released;    // what an acquire load that reads it joins (its release sequence)
  std::uint32_t seq = 0;    // its place in the atomic's modification order; 0: the initial value
  std::uint32_t epoch = 0;  // the writer's own clock entry when it stored (0: the initial value)
  std::uint32_t step = 0;   // the run's scheduling point at which it was stored
  std::uint8_t thread = 0;
  bool seq_cst = false;     // a seq_cst store or read-modify-write
};

/// The newest stores of an atomic of up to 8 bytes, and what each thread last read of it (a thread
/// never reads an older store than one it has read: coherence).
struct store_history {
  static constexpr std::size_t keep = 4;
  std::array<store_record, keep> records{};  // a ring: the store with seq s sits at s % keep
  std::uint32_t stores = 0;                  // stores so far: the newest's seq (records empty while 0)
  std::array<std::uint32_t, max_threads> last_read{};

  /// The store `age` stores before the newest (0: the newest), while it is kept.
  const store_record& at_age(unsigned age) const noexcept { return records[(stores - age) % keep]; }
};

/// What an atomic or a lock carries between threads: the clocks released into it (its release sequence).
/// An object that outlives a run (a static: the frame cache's depot) starts each run afresh: `run` says
/// which run last touched it, and the first access of another run clears what that run left.
struct sync_state {
  vector_clock released;
  bool destroyed = false;  // set by the owning object's destructor: a later access is a use after free
  // Atomics only, under weak memory: the run's stores to it, kept by the run (null until its first
  // store in a run).
  store_history* history = nullptr;
  std::uint64_t run = 0;
};

/// A mutex: its holder (-1: free) and what its last unlock released.
struct lock_state {
  sync_state sync;
  int owner = -1;
};

/// The accesses to a checked plain field: its last write as an epoch (thread, clock), and per thread the
/// epoch of its last read since that write (0: none).
struct cell_state {
  std::uint32_t write_epoch = 0;  // 0: the initial value, which happens-before every access
  std::uint8_t write_thread = 0;
  std::array<std::uint32_t, max_threads> read_epochs{};
  bool destroyed = false;  // as sync_state::destroyed
  std::uint64_t run = 0;   // as sync_state::run: an earlier run's accesses order nothing in this one
};

/// WEFT_MODEL_PREEMPTIONS, else 3.
unsigned default_preemption_bound() noexcept;

struct options {
  unsigned preemption_bound = default_preemption_bound();
  std::uint64_t max_interleavings = 2'000'000;  // budget: stop exploring (not exhaustive) past either
  double max_seconds = 60;
  std::uint32_t max_steps = 20'000;  // scheduling points per run; past it the run is a livelock
  bool detect_races = true;
  // Cell accesses as scheduling points too. Without it they run between the atomics' scheduling points,
  // which loses nothing for race-free code (races are reported instead): turn it on, with detect_races
  // off, to explore what a race does to the model's properties.
  bool cell_steps = false;
  std::string replay;  // a schedule to run once instead of exploring (else env WEFT_MODEL_REPLAY)
  // Weak memory: a plain load may also read one of an atomic's older stores (the last four are kept),
  // where C++20 allows it: not older than a store that happens-before the load, than the one the thread
  // read last, for a seq_cst load than the last seq_cst store or one its writer followed with a seq_cst
  // fence, and after a seq_cst fence X of the loading thread than such a store before X (see
  // docs/design/model-checking.md; a little stricter than C++, never looser). Reading an older store
  // costs a preemption. Read-modify-writes, failed compare-exchanges and waits read the newest.
  bool weak_memory = false;
};

struct report {
  std::string name;
  bool failed = false;
  bool exhaustive = false;          // every schedule within the bound ran
  unsigned preemption_bound = 0;
  std::uint64_t interleavings = 0;  // runs made (up to and including a failing one)
  double seconds = 0;
  std::string failure;              // what broke
  std::string schedule;             // the failing run's schedule: options::replay or WEFT_MODEL_REPLAY
  bool reproduced = false;          // replaying `schedule` failed the same way
  std::vector<std::string> trace;   // the failing run's last steps
  std::string note;                 // for the runner's line
};

/// The hooks for a run's model. `setup` and `teardown` run outside the model (build and drop fresh
/// state), `body` is thread 0, `final_check` runs once every thread has finished.
struct model_fns {
  std::function<void()> setup, body, final_check, teardown;
};
report check(std::string_view name, const model_fns& fns, options opts = {});

/// Checks `body` (thread 0); the state it checks lives in its frame.
inline report check(std::string_view name, std::function<void()> body, options opts = {}) {
  return check(name, model_fns{{}, std::move(body), {}, {}}, std::move(opts));
}

/// Checks `body` over a fresh State per run, then `final_check` once all threads have finished (threads
/// may outlive thread 0, since the state does).
template <class State, class Body, class Final>
report check(std::string_view name, Body body, Final final_check, options opts = {}) {
  std::optional<State> state;
  return check(name,
               model_fns{[&] { state.emplace(); }, [&] { body(*state); }, [&] { final_check(*state); },
                         [&] { state.reset(); }},
               std::move(opts));
}

/// Caps the time of every later check: all of them together end within `seconds` of this call (a
/// check cut short is reported as not exhaustive).
void set_time_budget(double seconds);

/// Fails the run (the property named by `what` broke) unless `ok`.
void require(bool ok, std::string_view what) noexcept;
#define WEFT_MODEL_REQUIRE(cond) ::weft::model::require((cond), #cond)

/// For models of known bugs: passes when `found` failed with a message containing `expected` and its
/// printed schedule, run again through `rerun` as options::replay, fails the same way in one run.
report expect_failure(report found, std::string_view expected, const std::function<report(options)>& rerun);

/// A model thread (std::thread's shape). It must be joined or detached before it is destroyed.
class thread {
 public:
  thread() noexcept : id_(-1) {}  // no thread, as std::thread's
  template <class F>
  explicit thread(F&& fn) : id_(start(std::function<void()>(std::forward<F>(fn)))) {}
  thread(thread&& other) noexcept : id_(other.id_) { other.id_ = -1; }
  /// As std::thread's: assigning over a joinable thread terminates.
  thread& operator=(thread&& other) noexcept {
    if (joinable()) std::terminate();
    id_ = std::exchange(other.id_, -1);
    return *this;
  }
  thread(const thread&) = delete;
  ~thread();

  bool joinable() const noexcept { return id_ >= 0; }
  void join() noexcept;
  void detach() noexcept { id_ = -1; }

 private:
  static int start(std::function<void()> fn);
  int id_;
};

/// A scheduling point at which the running thread lets the others go first (a spin loop's pause).
void yield_now() noexcept;

// A registry of checks, so one executable runs every model and prints `models: N passed, M failed`.
using case_fn = report (*)(std::string_view name);
bool register_case(const char* name, case_fn fn);
/// Runs every registered case whose name contains argv[1] (all without it), within WEFT_MODEL_SECONDS
/// (default 240) in all; 0 when all passed.
int run_cases(int argc, char** argv);
#define WEFT_MODEL_CASE(ident, label)                                                                \
  static ::weft::model::report ident(std::string_view name);                                         \
  [[maybe_unused]] static const bool ident##_registered = ::weft::model::register_case(label, &ident); \
  static ::weft::model::report ident(std::string_view name)

/// What the wrappers call: each is a no-op outside a model thread (in setup, final check, teardown).
namespace hook {
void step(const char* op, const void* object) noexcept;  // the scheduling point before an operation
void load(sync_state& s, std::memory_order order) noexcept;  // reads the newest store
/// A plain load under weak memory: which store it reads, as its age (0: the newest, 1: the one
/// before, ...; always 0 without options::weak_memory); s.history holds the older ones' bits.
unsigned weak_load(sync_state& s, std::memory_order order) noexcept;
/// A store or read-modify-write; `old_bits`/`new_bits`: the value before and after, kept for
/// weak_load when `keep` (an atomic of up to 8 bytes).
void store(sync_state& s, std::memory_order order, bool keep, std::uint64_t old_bits, std::uint64_t new_bits) noexcept;
void read_modify_write(sync_state& s, std::memory_order order, bool keep, std::uint64_t old_bits,
                       std::uint64_t new_bits) noexcept;
void fence(std::memory_order order) noexcept;
void block_on(const void* object, const char* what) noexcept;  // until wake(object)
void wake(const void* object, bool all) noexcept;
void lock(lock_state& m) noexcept;
bool try_lock(lock_state& m) noexcept;
void unlock(lock_state& m) noexcept;
void wait(const void* cv, lock_state& m) noexcept;  // unlock, block until woken, relock
/// wait(), but only until the model clock reaches `deadline_ns` (as block_until); false if it timed out.
bool wait_until(const void* cv, lock_state& m, std::int64_t deadline_ns) noexcept;
/// Marks the state of an atomic, lock or cell whose object is being destroyed (out of line: a store in
/// the destructor itself is dead to the compiler, and goes).
void destroyed(sync_state& s) noexcept;
void destroyed(cell_state& c) noexcept;
void cell_read(cell_state& c) noexcept;
void cell_write(cell_state& c) noexcept;
/// Blocks as block_on does, but only until the model clock reaches `deadline_ns`: when no thread can
/// run, the clock jumps to the earliest such deadline and its waiters wake. False when it timed out.
/// (A timed wait is never a deadlock while its deadline is ahead; time passes only when all wait.)
bool block_until(const void* object, const char* what, std::int64_t deadline_ns) noexcept;
/// The running model thread's number, or -1 outside the model's threads (setup, final check, ...).
int current_thread() noexcept;
/// A number for the running model thread that no other thread of any run shares (0 outside them):
/// per-thread storage (weft::detail::per_thread) starts afresh when it changes.
std::uint64_t thread_serial() noexcept;
/// Runs `fn` when the running model thread's function returns, in that thread (what a thread_local's
/// destructor is to an OS thread); the latest registered runs first. Outside a model thread: nothing.
void at_thread_exit(void (*fn)()) noexcept;
/// The model's monotonic clock, in nanoseconds: each reading moves it on by a millisecond (so that a
/// wait bounded by time, a spin or a grace period, ends at its next look), and block_until moves it to
/// a deadline. It starts at the same value in every run, so a run's times replay with its schedule.
std::int64_t now_ns() noexcept;
}  // namespace hook

}  // namespace weft::model
