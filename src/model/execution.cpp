#include "model/execution.hpp"

#include <algorithm>
#include <bit>
#include <exception>
#include <utility>

namespace weft::model::engine {
namespace {

execution* current_execution = nullptr;
std::uint64_t thread_serials = 0;  // hook::thread_serial: never the same twice in the process
std::uint64_t run_serials = 0;     // execution::serial_

bool acquires(std::memory_order o) noexcept {
  return o == std::memory_order_acquire || o == std::memory_order_acq_rel || o == std::memory_order_seq_cst ||
         o == std::memory_order_consume;
}
bool releases(std::memory_order o) noexcept {
  return o == std::memory_order_release || o == std::memory_order_acq_rel || o == std::memory_order_seq_cst;
}

}  // namespace

execution::execution(explorer& search, stack_pool& stacks, const options& opts, bool tracing)
    : search_(search), stacks_(stacks), opts_(opts), tracing_(tracing), serial_(++run_serials) {}

execution::~execution() {
  for (int i = 0; i < count_; ++i) stacks_.give(threads_[static_cast<std::size_t>(i)].stack);
  if (current_execution == this) current_execution = nullptr;
}

execution* execution::active() noexcept {
  return current_execution != nullptr && current_execution->running_ ? current_execution : nullptr;
}
execution* execution::current() noexcept { return current_execution; }

void execution::run(const std::function<void()>& body) {
  current_execution = this;
  search_.begin_run();
  start_thread(0, body);
  current_ = 0;
  running_ = true;
  fiber::switch_to(checker_, threads_[0].context);
  // Back here from end_run() or fail(): every thread finished, or the run failed.
}

void execution::final_check(const std::function<void()>& check) {
  if (!failure_.empty() || !check) return;
  current_execution = this;
  try {
    check();
  } catch (const std::exception& e) {
    fail(std::string("the final check threw: ") + e.what());
  }
}

void execution::start_thread(int id, std::function<void()> fn) {
  thread_state& t = threads_[static_cast<std::size_t>(id)];
  t = thread_state{};
  t.fn = std::move(fn);
  t.stack = stacks_.take();
  t.context.prepare(&execution::entry, t.stack);
  t.clock.at[static_cast<std::size_t>(id)] = 1;
  t.serial = ++thread_serials;
  count_ = id + 1;
}

void execution::entry() {
  execution* e = current_execution;
  try {
    e->self().fn();
    // As thread_local destructors run, the latest registered first. (Each may register more.)
    while (!e->self().at_exit.empty()) {
      void (*fn)() = e->self().at_exit.back();
      e->self().at_exit.pop_back();
      fn();
    }
  } catch (const std::exception& ex) {
    e->fail("thread " + std::to_string(e->current_) + " threw: " + ex.what());
  } catch (...) {
    e->fail("thread " + std::to_string(e->current_) + " threw");
  }
  e->finish();
}

void execution::finish() noexcept {
  if (tracing_) trace_.push_back("thread " + std::to_string(current_) + ": finished");
  self().finished = true;
  wake(&self(), true);
  schedule();  // never comes back: a finished thread is never chosen
  std::terminate();
}

void execution::end_run() noexcept {
  running_ = false;
  fiber::switch_to(self().context, checker_);
  std::terminate();  // an ended run is never resumed
}

void execution::fail(std::string what) noexcept {
  if (failure_.empty()) {
    failure_ = std::move(what);
    if (tracing_) trace_.push_back("failed: " + failure_);
  }
  if (running_) end_run();
}

// The scheduling point: pick who runs next among the threads that can, and switch to it.
void execution::schedule() noexcept {
  std::uint32_t enabled = 0;
  for (int i = 0; i < count_; ++i) {
    const thread_state& t = threads_[static_cast<std::size_t>(i)];
    if (!t.finished && t.blocked_on == nullptr) enabled |= 1U << i;
  }
  // A thread that yielded waits for those it yielded to that can still take a step (CHESS's fair
  // scheduling); when every enabled thread waits so, any may run.
  std::uint32_t runnable = 0;
  for (std::uint32_t left = enabled; left != 0; left &= left - 1) {
    int i = std::countr_zero(left);
    if ((threads_[static_cast<std::size_t>(i)].waits_for & enabled) == 0) runnable |= 1U << i;
  }
  if (runnable == 0) runnable = enabled;
  if (runnable == 0 && time_out_earliest()) {
    schedule();
    return;
  }
  if (runnable == 0) {
    std::string blocked;
    for (int i = 0; i < count_; ++i) {
      const thread_state& t = threads_[static_cast<std::size_t>(i)];
      if (t.finished) continue;
      blocked += (blocked.empty() ? "" : ", ") + ("thread " + std::to_string(i) + " on " + t.blocked_what);
    }
    if (blocked.empty()) end_run();
    fail("deadlock: every live thread is blocked (" + blocked + ")");
  }
  int next = search_.choose(runnable, current_, (runnable >> current_ & 1U) != 0);
  if (next < 0) fail(search_.error());
  // `next` takes a step: no thread waits for it any more.
  for (int i = 0; i < count_; ++i) threads_[static_cast<std::size_t>(i)].waits_for &= ~(1U << next);
  if (next == current_) return;
  int previous = std::exchange(current_, next);
  fiber::switch_to(threads_[static_cast<std::size_t>(previous)].context, self().context);
}

void execution::step(const char* op, const void* object) noexcept {
  if (++steps_ > opts_.max_steps) {
    fail("livelock: more than " + std::to_string(opts_.max_steps) +
         " steps in one run (a thread spins on a condition no other thread will change?)");
  }
  schedule();
  // Logged once the thread is running again, so the trace is the order in which operations happened.
  if (tracing_) trace_.push_back("thread " + std::to_string(current_) + ": " + op + object_name(object));
}

void execution::yield() noexcept {
  // Passed over until each other thread that can run now has taken a step: so two threads spinning on
  // a third cannot take turns at each other's yields for ever, which would make the search of any
  // model with two spinners endless and report a false livelock (a lock holder never run again).
  std::uint32_t others = 0;
  for (int i = 0; i < count_; ++i) {
    const thread_state& t = threads_[static_cast<std::size_t>(i)];
    if (i != current_ && !t.finished && t.blocked_on == nullptr) others |= 1U << i;
  }
  self().waits_for = others;
  step("yield", nullptr);
}

void execution::block_on(const void* object, const char* what) noexcept {
  self().blocked_on = object;
  self().blocked_what = what;
  schedule();
}

bool execution::block_until(const void* object, const char* what, std::int64_t deadline_ns) noexcept {
  self().deadline_ns = deadline_ns;
  self().timed_out = false;
  block_on(object, what);
  self().deadline_ns = -1;
  return !self().timed_out;
}

bool execution::time_out_earliest() noexcept {
  std::int64_t earliest = -1;
  for (int i = 0; i < count_; ++i) {
    const thread_state& t = threads_[static_cast<std::size_t>(i)];
    if (t.finished || t.blocked_on == nullptr || t.deadline_ns < 0) continue;
    if (earliest < 0 || t.deadline_ns < earliest) earliest = t.deadline_ns;
  }
  if (earliest < 0) return false;
  clock_ns_ = std::max(clock_ns_, earliest);
  for (int i = 0; i < count_; ++i) {
    thread_state& t = threads_[static_cast<std::size_t>(i)];
    if (t.finished || t.blocked_on == nullptr || t.deadline_ns < 0 || t.deadline_ns > clock_ns_) continue;
    t.blocked_on = nullptr;
    t.timed_out = true;
  }
  if (tracing_) trace_.push_back("time moves to " + std::to_string(clock_ns_) + " ns: timed waits end");
  return true;
}

void execution::wake(const void* object, bool all) noexcept {
  for (int i = 0; i < count_; ++i) {
    thread_state& t = threads_[static_cast<std::size_t>(i)];
    if (t.blocked_on != object) continue;
    t.blocked_on = nullptr;
    if (!all) return;
  }
}

void execution::release(vector_clock& into) noexcept {
  into = self().clock;
  ++self().clock.at[static_cast<std::size_t>(current_)];
}

void execution::fresh(sync_state& s) noexcept {
  if (s.run == serial_) return;
  s.released = {};
  s.history = nullptr;
  s.run = serial_;
}

void execution::fresh(lock_state& m) noexcept {
  if (m.sync.run != serial_) m.owner = -1;  // an earlier run, cut short, may have left it held
  fresh(m.sync);
}

void execution::fresh(cell_state& c) noexcept {
  if (c.run == serial_) return;
  c.write_epoch = 0;
  c.write_thread = 0;
  c.read_epochs = {};
  c.run = serial_;
}

void execution::load(sync_state& s, std::memory_order order) noexcept {
  fresh(s);
  (acquires(order) ? self().clock : self().pending_acquire).join(s.released);
  if (s.history != nullptr) s.history->last_read[static_cast<std::size_t>(current_)] = s.history->stores;
}

store_history& execution::own_history(sync_state& s) noexcept {
  // Kept by the run, not in the atomic: most atomics are never stored to, and a steal queue has
  // hundreds. (fresh() forgets an earlier run's, which an atomic that outlives a run points to.)
  if (s.history == nullptr) s.history = &histories_.emplace_back();
  return *s.history;
}

unsigned execution::weak_load(sync_state& s, std::memory_order order) noexcept {
  fresh(s);
  if (!opts_.weak_memory || s.history == nullptr) {
    load(s, order);
    return 0;
  }
  store_history& h = *s.history;
  // The oldest store this load may read (C++20 [intro.races], [atomics.order]): none older than one
  // that happens-before it, or than the one this thread read last; a seq_cst load none older than the
  // last seq_cst store, or than one its writer followed with a seq_cst fence; a load after a seq_cst
  // fence X of this thread none older than a seq_cst store before X, or than one whose writer
  // followed it with a seq_cst fence before X.
  thread_state& t = self();
  bool sc_load = order == std::memory_order_seq_cst;
  std::uint32_t x = t.sc_fences.empty() ? 0 : t.sc_fences.back();
  constexpr auto back = static_cast<std::uint32_t>(store_history::keep - 1);  // older ones are gone
  std::uint32_t oldest_kept = h.stores >= back ? h.stores - back : 0;
  std::uint32_t floor = std::max(h.last_read[static_cast<std::size_t>(current_)], oldest_kept);
  for (std::uint32_t seq = h.stores + 1; seq-- > floor;) {
    const store_record& r = h.records[seq % store_history::keep];
    bool seen = t.clock.at[r.thread] >= r.epoch;
    std::uint32_t y = 0;  // the writer's first seq_cst fence after the store
    for (std::uint32_t f : threads_[r.thread].sc_fences) {
      if (f > r.step) {
        y = f;
        break;
      }
    }
    bool ordered = sc_load ? (r.seq_cst || y != 0) : x != 0 && ((r.seq_cst && r.step < x) || (y != 0 && y < x));
    if (seen || ordered) {
      floor = seq;
      break;
    }
  }
  unsigned age = 0;
  if (floor < h.stores) {
    // Ages 0 .. stores - floor may be read. The newest is the default; an older one costs a preemption.
    std::uint32_t candidates = (1U << (h.stores - floor + 1)) - 1;
    int chosen = search_.choose(candidates, 0, true);
    if (chosen < 0) fail(search_.error());
    age = static_cast<unsigned>(chosen);
    if (age != 0 && tracing_) trace_.push_back("  (that load reads the store " + std::to_string(age) + " before the newest)");
  }
  const store_record& r = h.at_age(age);
  (acquires(order) ? t.clock : t.pending_acquire).join(age == 0 ? s.released : r.released);
  h.last_read[static_cast<std::size_t>(current_)] = r.seq;
  return age;
}

void execution::record_store(sync_state& s, bool seq_cst, std::uint32_t epoch, std::uint64_t old_bits,
                             std::uint64_t new_bits) noexcept {
  store_history& h = own_history(s);
  if (h.stores == 0) {
    h.records[0] = store_record{};  // the initial value (or the one before the run): happens-before all
    h.records[0].bits = old_bits;
  }
  store_record& r = h.records[++h.stores % store_history::keep];
  r.bits = new_bits;
  r.released = s.released;
  r.seq = h.stores;
  r.epoch = epoch;
  r.step = steps_;
  r.thread = static_cast<std::uint8_t>(current_);
  r.seq_cst = seq_cst;
  h.last_read[static_cast<std::size_t>(current_)] = h.stores;  // its own store: program order
}

void execution::store(sync_state& s, std::memory_order order, bool keep, std::uint64_t old_bits,
                      std::uint64_t new_bits) noexcept {
  // The store's epoch: the thread's own clock entry before a release moves it on. A thread that
  // acquires this release (or a later one) has that entry, and so sees the store (weak_load).
  fresh(s);
  std::uint32_t epoch = self().clock.at[static_cast<std::size_t>(current_)];
  if (releases(order)) {
    release(s.released);
  } else {
    s.released = self().fence_release;
  }
  if (keep && opts_.weak_memory) record_store(s, order == std::memory_order_seq_cst, epoch, old_bits, new_bits);
}

void execution::read_modify_write(sync_state& s, std::memory_order order, bool keep, std::uint64_t old_bits,
                                  std::uint64_t new_bits) noexcept {
  std::uint32_t epoch = self().clock.at[static_cast<std::size_t>(current_)];
  load(s, order);  // the newest: a read-modify-write reads the last value in modification order
  if (releases(order)) {
    vector_clock before = s.released;
    release(s.released);
    s.released.join(before);
  } else {
    s.released.join(self().fence_release);
  }
  if (keep && opts_.weak_memory) record_store(s, order == std::memory_order_seq_cst, epoch, old_bits, new_bits);
}

void execution::fence(std::memory_order order) noexcept {
  if (order == std::memory_order_seq_cst) self().sc_fences.push_back(steps_);
  if (acquires(order)) self().clock.join(self().pending_acquire);
  if (releases(order)) release(self().fence_release);
}

void execution::acquire_lock(lock_state& m) noexcept {
  fresh(m);
  while (m.owner >= 0) {
    if (m.owner == current_) fail("deadlock: thread " + std::to_string(current_) + " locks a mutex it holds");
    block_on(&m, "a mutex");
  }
  m.owner = current_;
  self().clock.join(m.sync.released);
}

void execution::release_lock(lock_state& m) noexcept {
  fresh(m);  // (a no-op after this run's lock; else the unlock below fails)
  if (m.owner != current_) fail("thread " + std::to_string(current_) + " unlocks a mutex it does not hold");
  release(m.sync.released);
  m.owner = -1;
  wake(&m, true);
}

void execution::lock(lock_state& m) noexcept {
  step("lock", &m);
  acquire_lock(m);
}

bool execution::try_lock(lock_state& m) noexcept {
  step("try_lock", &m);
  fresh(m);  // an owner left by an earlier run holds nothing in this one
  if (m.owner >= 0) return false;
  acquire_lock(m);
  return true;
}

void execution::unlock(lock_state& m) noexcept {
  step("unlock", &m);
  release_lock(m);
}

void execution::wait(const void* cv, lock_state& m) noexcept {
  step("wait", cv);
  release_lock(m);  // and block, in the same step: a notify after the unlock finds this thread waiting
  block_on(cv, "a condition variable");
  acquire_lock(m);
}

bool execution::wait_until(const void* cv, lock_state& m, std::int64_t deadline_ns) noexcept {
  step("wait_until", cv);
  release_lock(m);
  bool woken = block_until(cv, "a condition variable (timed)", deadline_ns);
  acquire_lock(m);
  return woken;
}

void execution::cell_read(cell_state& c) noexcept {
  if (opts_.cell_steps) step("read", &c);
  if (!opts_.detect_races) return;
  fresh(c);
  thread_state& t = self();
  if (c.write_epoch > t.clock.at[c.write_thread]) {
    fail("data race: thread " + std::to_string(current_) + " reads a cell that thread " +
         std::to_string(c.write_thread) + " wrote, and the write does not happen-before the read");
  }
  c.read_epochs[static_cast<std::size_t>(current_)] = t.clock.at[static_cast<std::size_t>(current_)];
}

void execution::cell_write(cell_state& c) noexcept {
  if (opts_.cell_steps) step("write", &c);
  if (!opts_.detect_races) return;
  fresh(c);
  thread_state& t = self();
  if (c.write_epoch > t.clock.at[c.write_thread]) {
    fail("data race: thread " + std::to_string(current_) + " writes a cell that thread " +
         std::to_string(c.write_thread) + " wrote, and the writes are not ordered by happens-before");
  }
  for (std::size_t u = 0; u < max_threads; ++u) {
    if (c.read_epochs[u] > t.clock.at[u]) {
      fail("data race: thread " + std::to_string(current_) + " writes a cell that thread " + std::to_string(u) +
           " read, and the read does not happen-before the write");
    }
  }
  c.write_epoch = t.clock.at[static_cast<std::size_t>(current_)];
  c.write_thread = static_cast<std::uint8_t>(current_);
  c.read_epochs = {};
}

int execution::spawn(std::function<void()> fn) noexcept {
  step("spawn", nullptr);
  if (count_ == static_cast<int>(max_threads)) fail("more than " + std::to_string(max_threads) + " threads");
  int id = count_;
  start_thread(id, std::move(fn));
  threads_[static_cast<std::size_t>(id)].clock.join(self().clock);  // what the parent did happens-before
  ++self().clock.at[static_cast<std::size_t>(current_)];
  return id;
}

void execution::join(int id) noexcept {
  thread_state& t = threads_[static_cast<std::size_t>(id)];
  step("join", &t);
  while (!t.finished) block_on(&t, "a join");
  self().clock.join(t.clock);
}

std::string execution::object_name(const void* object) {
  if (object == nullptr) return "";  // " #k": the k-th object this run touched
  for (std::size_t i = 0; i < objects_.size(); ++i) {
    if (objects_[i] == object) return " #" + std::to_string(i);
  }
  objects_.push_back(object);
  return " #" + std::to_string(objects_.size() - 1);
}

}  // namespace weft::model::engine

// The hooks the wrappers call: no-ops outside a model thread.
namespace weft::model::hook {
using engine::execution;

void step(const char* op, const void* object) noexcept {
  if (execution* e = execution::active()) e->step(op, object);
}
namespace {
/// An access to an atomic, lock or cell whose object was destroyed (the model keeps the storage, so
/// the mark survives): the use after free that a real run would make of freed memory.
bool destroyed(execution* e, bool dead, const char* what) noexcept {
  if (!dead) return false;
  e->fail(std::string("use after free: ") + what + " of a destroyed object is accessed");
  return true;
}
}  // namespace

void load(sync_state& s, std::memory_order order) noexcept {
  if (execution* e = execution::active(); e != nullptr && !destroyed(e, s.destroyed, "an atomic")) e->load(s, order);
}
unsigned weak_load(sync_state& s, std::memory_order order) noexcept {
  execution* e = execution::active();
  if (e == nullptr || destroyed(e, s.destroyed, "an atomic")) return 0;
  return e->weak_load(s, order);
}
void store(sync_state& s, std::memory_order order, bool keep, std::uint64_t old_bits, std::uint64_t new_bits) noexcept {
  if (execution* e = execution::active(); e != nullptr && !destroyed(e, s.destroyed, "an atomic")) {
    e->store(s, order, keep, old_bits, new_bits);
  }
}
void read_modify_write(sync_state& s, std::memory_order order, bool keep, std::uint64_t old_bits,
                       std::uint64_t new_bits) noexcept {
  if (execution* e = execution::active(); e != nullptr && !destroyed(e, s.destroyed, "an atomic")) {
    e->read_modify_write(s, order, keep, old_bits, new_bits);
  }
}
void fence(std::memory_order order) noexcept {
  if (execution* e = execution::active()) e->fence(order);
}
void block_on(const void* object, const char* what) noexcept {
  if (execution* e = execution::active()) e->block_on(object, what);
}
bool block_until(const void* object, const char* what, std::int64_t deadline_ns) noexcept {
  execution* e = execution::active();
  return e == nullptr || e->block_until(object, what, deadline_ns);
}
int current_thread() noexcept {
  execution* e = execution::active();
  return e == nullptr ? -1 : e->current_thread();
}
std::uint64_t thread_serial() noexcept {
  execution* e = execution::active();
  return e == nullptr ? 0 : e->thread_serial();
}
void at_thread_exit(void (*fn)()) noexcept {
  if (execution* e = execution::active()) e->at_thread_exit(fn);
}
std::int64_t now_ns() noexcept {
  // Outside a run's threads (a model's setup): the value every run starts from, unchanged.
  execution* e = execution::current();
  return e == nullptr ? execution::clock_start_ns : e->now_ns();
}
void wake(const void* object, bool all) noexcept {
  if (execution* e = execution::active()) e->wake(object, all);
}
void lock(lock_state& m) noexcept {
  if (execution* e = execution::active(); e != nullptr && !destroyed(e, m.sync.destroyed, "a mutex")) e->lock(m);
}
bool try_lock(lock_state& m) noexcept {
  execution* e = execution::active();
  return e == nullptr || e->try_lock(m);
}
void unlock(lock_state& m) noexcept {
  if (execution* e = execution::active()) e->unlock(m);
}
void wait(const void* cv, lock_state& m) noexcept {
  if (execution* e = execution::active()) e->wait(cv, m);
}
bool wait_until(const void* cv, lock_state& m, std::int64_t deadline_ns) noexcept {
  execution* e = execution::active();
  return e == nullptr || e->wait_until(cv, m, deadline_ns);
}
void destroyed(sync_state& s) noexcept { s.destroyed = true; }
void destroyed(cell_state& c) noexcept {
  // The free is a write: one not ordered after another thread's access is a race (a free that a
  // relaxed reference count let happen too early).
  if (execution* e = execution::active(); e != nullptr && !c.destroyed) e->cell_write(c);
  c.destroyed = true;
}
void cell_read(cell_state& c) noexcept {
  if (execution* e = execution::active(); e != nullptr && !destroyed(e, c.destroyed, "a cell")) e->cell_read(c);
}
void cell_write(cell_state& c) noexcept {
  if (execution* e = execution::active(); e != nullptr && !destroyed(e, c.destroyed, "a cell")) e->cell_write(c);
}
}  // namespace weft::model::hook
