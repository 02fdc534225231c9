// A replica of a sync waiter destroyed while it waits (abandon, src/sync/sync_waiter.cpp, called by the
// awaiters' destructors in weft/detail/sync_waiter.hpp, weft/sync/*.hpp) racing a settler on another
// thread: event::suspend and event::set (src/sync/event.cpp) over park, settle_all and wake_settled.
// sync_waiter.cpp checks settle against cancel; this file the waiter's frame going away.
//
// The protocol: the waiter's task parks under the primitive's lock (w->lock, handle, ctx, home set, w
// linked into the waiter list, `list` non-null). The settler unlinks it under the lock and records the
// outcome (`settle`, onto its own wake list, `list` null), and after unlocking `wake_settled` pops it
// from that list and reads w->home, w->handle and w->ctx to queue the task on its loop. A waiter whose
// frame is destroyed (in weft: at runtime shutdown, ~worker destroying unfinished frames) runs
// `abandon`: if w->lock is null (never parked, or resumed) nothing; else, under that lock, it unlinks
// the waiter if `list` is non-null. Then the frame is freed.
//
// Properties:
// - The settler never touches the waiter after its frame is freed (the waiter's fields are a
//   `lifetime`: an access after the free fails a require, one not ordered before it by happens-before
//   is a race): abandon and the settler's locked section exclude each other, so either abandon unlinked
//   the waiter and the settler never finds it, or the settler took it off the list first.
// - Exactly one of: the waiter never parked (the flag was set first), abandon unlinked it (no wake-up,
//   outcome still `waiting`), or the settler settled it (one wake-up queued, outcome `satisfied`).
//
// What the model shows about the window between the settler's unlock and the end of wake_settled:
// when the settler took the waiter off the list, abandon finds `list` null and returns, and the frame
// is freed while wake_settled may still be about to pop the waiter from its wake list and read
// home/handle/ctx. The fixed form (`abandon_vs_set`) frees a frame that abandon found settled only
// once the settler has returned, which is weft's order for its own threads (~scheduler joins the
// workers before destroying frames, and the blocking pool's jobs finish before that); the
// `free_in_wake_window` variants free it at once, which abandon itself allows, and the checker finds
// the use-after-free (races: the free against wake_settled's reads; past them: wake_settled reads a
// freed waiter). In weft only a thread outside the runtime (a plain thread calling event::set) can be in
// wake_settled while ~runtime destroys frames, and its wake_on then posts to a worker being destroyed.
//
// A second use of a settled waiter after the settle: abandon still takes w->lock (resumed() clears it,
// and a settled waiter whose wake-up is dropped at shutdown is never resumed), though the header allows
// the primitive to be gone once the first waiter is woken (an event in a woken task's frame).
// `abandon_after_primitive_freed_is_found` settles, wakes, frees the primitive, and then abandons.
//
// The replica: one event, one waiter (thread 0's task, which parks and is then destroyed: thread 0
// stands for the shutdown too), one settler (thread 1); cancellation is left out (sync_waiter.cpp), the
// loops are a count of queued wake-ups, and the lists are intrusive_list's shape in cells.
#include "replica.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"
#include "prelude.hpp"

namespace weft::model {
namespace {

enum class outcome { waiting, satisfied };
/// fixed: a frame that abandon found settled is freed once the settler has returned (weft's shutdown
/// order). free_in_wake_window: freed at once. primitive_freed: the settler (or a task it woke) destroys
/// the event after set(); the waiter's frame is destroyed after that.
enum class variant { fixed, free_in_wake_window, primitive_freed };
enum class abandoned { not_parked, unlinked, settled };

struct event;
struct waiter_list;

struct waiter {  // sync_waiter, in the waiting task's frame
  replica::lifetime frame;
  cell<waiter*> prev, next;
  cell<waiter_list*> list;  // non-null while linked on the primitive
  cell<event*> lock;        // w->lock (the primitive's spin lock)
  cell<int> handle, ctx, home;
  cell<outcome> result{outcome::waiting};

  // Every access to the waiter is an access to its frame.
  template <class T>
  T get(const cell<T>& c) {
    frame.touch();
    return c.get();
  }
  template <class T>
  void set(cell<T>& c, T v) {
    frame.touch();
    c.set(v);
  }
};

// intrusive_list<sync_waiter> over the waiters' prev/next.
struct intrusive {
  cell<waiter*> head, tail;

  void push_back(waiter* x) {
    x->set(x->next, static_cast<waiter*>(nullptr));
    x->set(x->prev, tail.get());
    if (waiter* t = tail.get()) {
      t->set(t->next, x);
    } else {
      head.set(x);
    }
    tail.set(x);
  }
  void remove(waiter* x) {
    waiter* p = x->get(x->prev);
    waiter* n = x->get(x->next);
    if (p != nullptr) p->set(p->next, n); else head.set(n);
    if (n != nullptr) n->set(n->prev, p); else tail.set(p);
    x->set(x->prev, static_cast<waiter*>(nullptr));
    x->set(x->next, static_cast<waiter*>(nullptr));
  }
  waiter* pop_front() {
    waiter* x = head.get();
    if (x != nullptr) remove(x);
    return x;
  }
};

struct waiter_list {
  intrusive items;
  void push_back(waiter* w) {
    w->set(w->list, this);
    items.push_back(w);
  }
  void remove(waiter* w) {
    items.remove(w);
    w->set(w->list, static_cast<waiter_list*>(nullptr));
  }
};

struct event {
  replica::lifetime memory;
  replica::spin_lock lock_;
  waiter_list waiters;
  atomic<bool> flag{false};  // set_

  void lock() {
    memory.atomic_access([&] { lock_.lock(); });
  }
  void unlock() {
    memory.atomic_access([&] { lock_.unlock(); });
  }
};

constexpr int task_handle = 7, task_ctx = 8, task_home = 1;

struct state {
  event ev;
  waiter w;
  atomic<int> queued{0};  // wake_on: wake-ups queued on the waiter's loop (dropped at shutdown)
  abandoned how = abandoned::not_parked;
};

// event::suspend (without the cancellation check) and park.
bool suspend(event& ev, waiter* w) {
  ev.lock();
  bool parked = !ev.memory.atomic_access([&] { return ev.flag.load(std::memory_order_acquire); });
  if (parked) {
    w->set(w->lock, &ev);
    w->set(w->handle, task_handle);
    w->set(w->ctx, task_ctx);
    w->set(w->home, task_home);
    w->set(w->result, outcome::waiting);
    ev.waiters.push_back(w);
  }
  ev.unlock();
  return parked;
}

// event::set: settle_all under the lock, wake_settled after it.
void set(state& s) {
  event& ev = s.ev;
  ev.memory.atomic_access([&] { ev.flag.store(true, std::memory_order_release); });
  intrusive wakes;  // wake_list: the settler's own
  ev.lock();
  while (waiter* w = ev.waiters.items.head.get()) {
    ev.waiters.remove(w);
    w->set(w->result, outcome::satisfied);  // settle
    wakes.push_back(w);
  }
  ev.unlock();
  while (waiter* w = wakes.pop_front()) {  // wake_settled
    int home = w->get(w->home);
    int handle = w->get(w->handle);
    int ctx = w->get(w->ctx);
    require(home == task_home && handle == task_handle && ctx == task_ctx, "wake_settled reads what park wrote");
    s.queued.fetch_add(1, std::memory_order_acq_rel);  // wake_on
  }
}

abandoned abandon(waiter* w) {
  event* lock = w->get(w->lock);
  if (lock == nullptr) return abandoned::not_parked;
  lock->lock();
  waiter_list* l = w->get(w->list);
  if (l != nullptr) l->remove(w);
  lock->unlock();
  return l != nullptr ? abandoned::unlinked : abandoned::settled;
}

void accounted(state& s) {
  int queued = s.queued.load();
  switch (s.how) {
    case abandoned::not_parked:
      require(queued == 0, "a waiter that never parked gets no wake-up");
      break;
    case abandoned::unlinked:
      require(queued == 0, "a waiter that abandon unlinked is never woken");
      break;
    case abandoned::settled:
      require(queued == 1, "a settled waiter is woken exactly once");
      break;
  }
}

// Thread 0 is the waiting task, then the shutdown that destroys its frame; thread 1 sets the event.
template <variant V>
report abandon_model(std::string_view name, options opts) {
  return check<state>(
      name,
      [](state& s) {
        if constexpr (V == variant::primitive_freed) {
          require(suspend(s.ev, &s.w), "the waiter parks (no one has set the event yet)");
          thread setter([&s] {
            set(s);
            s.ev.memory.free();  // the event's frame ends (the header allows it once a waiter is woken)
          });
          setter.join();  // the threads have stopped; the wake-up queued is dropped with the run queue
          s.how = abandon(&s.w);
          s.w.frame.free();
        } else {
          thread setter([&s] { set(s); });
          suspend(s.ev, &s.w);
          // The task's frame is destroyed while it waits.
          s.how = abandon(&s.w);
          if (V == variant::fixed && s.how == abandoned::settled) setter.join();
          s.w.frame.free();
          if (setter.joinable()) setter.join();
        }
      },
      accounted, std::move(opts));
}

WEFT_MODEL_CASE(fixed, "replica/sync_waiter_abandon/abandon_vs_set") { return abandon_model<variant::fixed>(name, {}); }

// The same with the plain accesses interleaved as well.
WEFT_MODEL_CASE(fixed_cell_steps, "replica/sync_waiter_abandon/abandon_vs_set_cell_steps") {
  options opts;
  opts.cell_steps = true;
  return abandon_model<variant::fixed>(name, opts);
}

// A settled waiter's frame freed while its settler is still in wake_settled: the free races its reads.
WEFT_MODEL_CASE(wake_window_races, "replica/sync_waiter_abandon/free_in_wake_window_races") {
  auto run = [&](options opts) { return abandon_model<variant::free_in_wake_window>(name, std::move(opts)); };
  return expect_failure(run({}), "data race", run);
}

// Past the race: wake_settled reads the freed waiter.
WEFT_MODEL_CASE(wake_window_use_after_free, "replica/sync_waiter_abandon/free_in_wake_window_use_after_free") {
  auto run = [&](options opts) {
    opts.detect_races = false;
    opts.cell_steps = true;
    return abandon_model<variant::free_in_wake_window>(name, std::move(opts));
  };
  return expect_failure(run({}), "touched after it was freed", run);
}

// abandon of a settled, never resumed waiter locks a primitive that may be gone.
WEFT_MODEL_CASE(primitive_freed, "replica/sync_waiter_abandon/abandon_after_primitive_freed_is_found") {
  auto run = [&](options opts) { return abandon_model<variant::primitive_freed>(name, std::move(opts)); };
  return expect_failure(run({}), "touched after it was freed", run);
}

}  // namespace
}  // namespace weft::model
