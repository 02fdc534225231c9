// A standalone model of the waiter protocol of weft's sync primitives (weft/detail/sync_waiter.hpp,
// src/sync/sync_waiter.cpp), reduced to a oneshot: one value, one waiter, its own simplified types.
//
// The protocol: a primitive guards its state and its waiter list with a spin lock. The waiter's loop
// parks it (under the lock: takes the value if there is one, else links the waiter). The settler
// (send) unlinks the waiter under the lock, hands it the value and records the outcome (`settle`, into a
// local list of wake-ups), and wakes it after unlocking (`wake_settled`). Cancellation (on the waiter's
// loop, `cancel_parked`) takes the lock; a waiter still parked is unlinked and woken cancelled, one
// already settled is left alone: its wake-up is on its way.
//
// Property: the waiter is resumed exactly once, and the value is delivered exactly once: the waiter has
// it (satisfied), or the waiter was cancelled and the primitive still holds it.
//
// The defect (`buggy`): settle puts the waiter on the local wake list with the same links as a
// primitive's list, which sets `list` again. cancel_parked takes any non-null `list` for "still parked",
// so between the settler's unlock and its wake_settled a cancel unlinks the waiter from the settler's
// local list and wakes it cancelled: the value handed over is lost, or the waiter is resumed twice. The
// fix (`fixed`): a settled waiter is on no list (`list` stays null after the unlink), and the wake list
// links through a field of its own that only the settler touches.
#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"
#include "prelude.hpp"

namespace weft::model {
namespace {

class spin_lock {  // weft's test-and-test-and-set shape
 public:
  void lock() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) weft::detail::cpu_relax();
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  atomic<bool> locked_{false};
};

enum class outcome { waiting, satisfied, cancelled };

struct waiter_list;

struct waiter {
  cell<waiter*> prev, next;
  cell<waiter_list*> list;   // non-null while linked (parked, or in `buggy` also while settled)
  cell<waiter*> wake_next;   // `fixed`: the settler's wake list
  cell<outcome> result{outcome::waiting};
  cell<int> value;
  atomic<int> resumes{0};    // wake-ups: each queues the task on its loop once
};

struct waiter_list {
  cell<waiter*> head, tail;

  void push_back(waiter* w) {
    w->list.set(this);
    w->prev.set(tail.get());
    w->next.set(nullptr);
    if (waiter* t = tail.get()) {
      t->next.set(w);
    } else {
      head.set(w);
    }
    tail.set(w);
  }
  void remove(waiter* w) {
    waiter* p = w->prev.get();
    waiter* n = w->next.get();
    if (p != nullptr) p->next.set(n); else head.set(n);
    if (n != nullptr) n->prev.set(p); else tail.set(p);
    w->list.set(nullptr);
  }
  waiter* pop_front() {
    waiter* w = head.get();
    if (w != nullptr) remove(w);
    return w;
  }
};

void resume(waiter* w) { w->resumes.fetch_add(1, std::memory_order_acq_rel); }

struct oneshot {
  spin_lock lock;
  waiter_list waiters;
  cell<bool> has_value{false};
  cell<int> value;
};

enum class variant { buggy, fixed };

// The settler's local list of wake-ups, in either form.
template <variant V>
struct wake_list;
template <>
struct wake_list<variant::buggy> {
  waiter_list list;
  void settle(waiter* w, outcome o) {
    w->result.set(o);
    list.push_back(w);  // the defect: sets w->list to this local list
  }
  void wake_settled() {
    while (waiter* w = list.pop_front()) resume(w);
  }
};
template <>
struct wake_list<variant::fixed> {
  waiter* head = nullptr;
  void settle(waiter* w, outcome o) {
    w->result.set(o);
    w->wake_next.set(head);  // w->list stays null: it was unlinked under the lock
    head = w;
  }
  void wake_settled() {
    for (waiter* w = head; w != nullptr;) {
      waiter* next = w->wake_next.get();  // copy out first: once woken, w may be gone
      resume(w);
      w = next;
    }
  }
};

struct state {
  oneshot chan;
  waiter w;
};

template <variant V>
void send(oneshot& c, int value) {
  wake_list<V> wakes;
  c.lock.lock();
  if (waiter* w = c.waiters.pop_front()) {
    w->value.set(value);
    wakes.settle(w, outcome::satisfied);
  } else {
    c.value.set(value);
    c.has_value.set(true);
  }
  c.lock.unlock();
  wakes.wake_settled();
}

// Returns whether the waiter parked; the fast path takes the value and counts as its one resumption.
bool park(oneshot& c, waiter* w) {
  c.lock.lock();
  bool parked = !c.has_value.get();
  if (parked) {
    c.waiters.push_back(w);
  } else {
    w->value.set(c.value.get());
    c.has_value.set(false);
    w->result.set(outcome::satisfied);
    resume(w);
  }
  c.lock.unlock();
  return parked;
}

void cancel_parked(oneshot& c, waiter* w) {
  c.lock.lock();
  if (waiter_list* l = w->list.get()) {
    l->remove(w);
    w->result.set(outcome::cancelled);
    resume(w);
  }
  c.lock.unlock();
}

void delivered_once(state& s) {
  require(s.w.resumes.load() == 1, "the waiter is resumed exactly once");
  bool delivered = s.w.result.get() == outcome::satisfied && s.w.value.get() == 42 && !s.chan.has_value.get();
  bool kept = s.w.result.get() == outcome::cancelled && s.w.value.get() == 0 && s.chan.has_value.get() &&
              s.chan.value.get() == 42;
  require(delivered || kept, "the value is delivered exactly once (to the waiter, or kept if it is cancelled)");
}

// Thread 0 is the waiter's loop: it parks the waiter while a second thread sends. If the waiter parked,
// a third thread cancels it (in weft cancellation runs on the waiter's loop, after the park; a thread
// started after the park meets the settler in the same interleavings).
template <variant V>
report oneshot_model(std::string_view name, options opts) {
  return check<state>(
      name,
      [](state& s) {
        thread settler([&s] { send<V>(s.chan, 42); });
        if (park(s.chan, &s.w)) {
          thread canceller([&s] { cancel_parked(s.chan, &s.w); });
          canceller.join();
        }
        settler.join();
      },
      delivered_once, std::move(opts));
}

WEFT_MODEL_CASE(buggy_races, "replica/sync_waiter/buggy_settle_is_a_data_race") {
  auto run = [&](options opts) { return oneshot_model<variant::buggy>(name, std::move(opts)); };
  return expect_failure(run({}), "data race", run);
}

WEFT_MODEL_CASE(buggy_breaks_delivery, "replica/sync_waiter/buggy_settle_breaks_delivery") {
  auto run = [&](options opts) {
    opts.detect_races = false;  // past the race: what it does to the property, with the plain
    opts.cell_steps = true;     // accesses interleaved too
    return oneshot_model<variant::buggy>(name, std::move(opts));
  };
  return expect_failure(run({}), "requirement failed", run);
}

WEFT_MODEL_CASE(fixed, "replica/sync_waiter/fixed_settle") { return oneshot_model<variant::fixed>(name, {}); }

// The fix again with its plain accesses interleaved as well: no race, and the property holds.
WEFT_MODEL_CASE(fixed_cell_steps, "replica/sync_waiter/fixed_settle_cell_steps") {
  options opts;
  opts.cell_steps = true;
  return oneshot_model<variant::fixed>(name, opts);
}

}  // namespace
}  // namespace weft::model
