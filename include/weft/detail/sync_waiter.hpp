// What weft's thread-safe primitives (weft/sync/) share: a small lock, and tasks parked in FIFO order.
//
// Protocol:
// - A primitive guards its state and its waiter lists with one spin_lock.
// - A task that must wait fills a sync_waiter (its coroutine, context and loop), links it into a list
//   and arms its cancellation, all under the lock.
// - Whoever satisfies it — on any thread — unlinks it and records the outcome under the lock (`settle`,
//   into a local `wake_list`), then wakes it after unlocking (`wake_settled`): onto its own loop's run queue,
//   or posted to that loop if it is another thread's. The task always resumes on the loop it parked
//   on, which keeps its timers and sockets single-threaded. Waking only after unlocking matters: a
//   woken task may destroy the primitive at once (an event that lived in its frame), so nothing may
//   touch the primitive after the first wake-up.
// - Cancellation runs on the waiter's loop (the context tree is that loop's). A settler and a canceller
//   may race for the same waiter; `claim` decides, one compare-exchange each, and the loser stands back:
//   a settler that lost skips the waiter (a permit or a value goes to the next one), a canceller that
//   lost leaves the waiter to its wake-up, which is on its way, and returns "not cut": an outcome that
//   happened is never reported as cancelled. A canceller that won still has to unlink the waiter, under
//   the primitive's lock. The primitive is alive then: either the waiter is still linked (no settler has
//   reached it, and a primitive outlives its linked waiters), or a settler unlinked it, lost, and waits
//   for the canceller before it returns (`wake_list::pending`), so that the primitive cannot be freed
//   under the canceller by whoever set it. A canceller that lost never touches the primitive: once a
//   waiter is settled, its primitive may be gone (an event that lived in the frame of the task that set
//   it and returned).
// - `list` means "parked on the primitive" and nothing else: a settled waiter sits on the settler's
//   wake_list, which is the settler's own (no lock guards it), and its `list` is null.
// - A waiter destroyed while linked (its frame destroyed at shutdown) unlinks itself. One destroyed
//   after it was settled, before it resumed, leaves its primitive alone: that may be gone already.
//   (A settler outside the runtime still between settle and wake_settled when the runtime is destroyed
//   would read the destroyed waiter: tests/model/sync_waiter_abandon.cpp shows that window. weft's own
//   threads have all stopped by then.)
#pragma once

#include <coroutine>
#include <cstdint>

#include "weft/detail/atomic.hpp"
#include "weft/detail/context.hpp"
#include "weft/detail/intrusive_list.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/error.hpp"

namespace weft::detail {

class worker;

// What the protocol needs of the loops (src/runtime/worker.cpp and src/sync/wake.cpp; in the model
// build, the models' own loops: tests/model/loop.hpp). Nothing else of the runtime is used here, so
// the model build compiles this protocol as weft runs it.
/// The loop running on this thread, or null outside a runtime (also declared in spawn_state.hpp).
worker* current_worker() noexcept;
/// Queues `h` to be resumed on the current loop, which must exist (also declared in spawn_state.hpp).
void schedule(std::coroutine_handle<> h, context* ctx) noexcept;
/// Resumes the coroutine `h` (of context `ctx`) on loop `home`, from any thread.
void wake_on(worker* home, std::coroutine_handle<> h, context* ctx) noexcept;

/// A test-and-test-and-set lock for critical sections of a few dozen instructions. It yields the CPU
/// after a short spin, so a holder preempted on an oversubscribed machine does not stall the rest.
class spin_lock {
 public:
  void lock() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire)) wait_until_free();
  }
  bool try_lock() noexcept { return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  void wait_until_free() noexcept;
  atomic<bool> locked_{false};
};

enum class wait_outcome : std::uint8_t { waiting, satisfied, closed, cancelled };

/// Who decided a parked waiter's fate (sync_waiter::claim): nobody yet, a settler, or a canceller.
enum class waiter_claim : std::uint8_t { open, settled, cancelling };

struct waiter_list;
struct wake_list;

struct sync_waiter : cancel_waiter {
  sync_waiter* prev = nullptr;
  sync_waiter* next = nullptr;
  waiter_list* list = nullptr;  // non-null while linked
  spin_lock* lock = nullptr;    // the primitive's
  std::coroutine_handle<> handle;
  context* ctx = nullptr;
  worker* home = nullptr;
  wait_outcome outcome = wait_outcome::waiting;
  bool armed = false;  // park armed ctx's cancellation (not for a wait through cancellation)
  atomic<waiter_claim> claim{waiter_claim::open};  // see the protocol above
  wake_list* settler = nullptr;  // under the lock: the settler that lost `claim` and waits for the canceller
};

template <class Owner>
struct void_wait_awaiter;

/// Waiters in arrival order; each knows the list it is on (`sync_waiter::list`) while linked.
struct waiter_list {
  intrusive_list<sync_waiter> items;

  bool empty() const noexcept { return items.empty(); }
  void push_back(sync_waiter* w) noexcept {
    w->list = this;
    items.push_back(w);
  }
  void remove(sync_waiter* w) noexcept {
    items.remove(w);
    w->list = nullptr;
  }
  sync_waiter* pop_front() noexcept {
    sync_waiter* w = items.head;
    if (w != nullptr) remove(w);
    return w;
  }
};

/// Under `lock`: links `w` into `list` for the coroutine `h` of context `ctx` on the current loop, and
/// arms its cancellation (unless `cancellable` is false). The caller then suspends.
/// `why` is what the trace says the task waits on.
void park(sync_waiter* w, spin_lock* lock, waiter_list* list, std::coroutine_handle<> h, context* ctx,
          suspend_reason why, bool cancellable = true) noexcept;
/// Settled waiters on their way to be woken: a local of the settling call, never shared. Linked through
/// the waiters' own links (free once they left their primitive's list); `list` stays null. `pending`
/// counts the waiters this settler unlinked but lost to a canceller: wake_settled waits until each of
/// those cancellers is done with the primitive.
struct wake_list {
  intrusive_list<sync_waiter> items;
  std::uint32_t skipped = 0;         // the settler's own count of those waiters (no atomic on the usual path)
  atomic<std::uint32_t> pending{0};  // of those, the ones whose canceller is not done yet
};

/// Under the lock: unlinks waiters from the front of `list` until one is claimed for settling, and
/// returns it (null if none is left). One a canceller claimed first is unlinked and skipped, and its
/// canceller is waited for in wake_settled. The caller hands it what it is owed, then settle()s it.
sync_waiter* claim_front(waiter_list* list, wake_list& wakes) noexcept;
/// Under the lock: `w` was claimed (claim_front); records `outcome` and adds it to `wakes`.
inline void settle(sync_waiter* w, wait_outcome outcome, wake_list& wakes) noexcept {
  w->outcome = outcome;
  wakes.items.push_back(w);
}
/// Under the lock: settles every waiter of `list` with `outcome`.
inline void settle_all(waiter_list* list, wait_outcome outcome, wake_list& wakes) noexcept {
  while (sync_waiter* w = claim_front(list, wakes)) settle(w, outcome, wakes);
}
/// Waits for the cancellers that claim_front skipped (wake_settled's rare path).
void wait_for_cancellers(wake_list& wakes) noexcept;
/// After unlocking: queues every settled waiter on its own loop. Inline: a settling call that woke
/// nobody (the common case) costs two tests of plain fields, and each wake-up one call.
inline void wake_settled(wake_list& wakes) noexcept {
  while (sync_waiter* w = wakes.items.pop_front()) {
    // Read before the call: once queued, the task may run (on its own thread) and free `w`.
    wake_on(w->home, w->handle, w->ctx);
  }
  if (wakes.skipped != 0) [[unlikely]] wait_for_cancellers(wakes);
}
/// In await_resume: disarms the cancellation that park armed; the waiter is no longer linked.
inline void resumed(sync_waiter* w) noexcept {
  if (w->armed) w->ctx->disarm();
  w->lock = nullptr;
}
/// In the awaiter's destructor: unlinks a waiter whose frame is destroyed while it waits.
void abandon(sync_waiter* w) noexcept;

/// The outcome as the awaiting task sees it.
inline result<void> outcome_result(wait_outcome o) noexcept {
  if (o == wait_outcome::cancelled) return fail(errc::operation_canceled);
  if (o == wait_outcome::closed) return fail(errc::channel_closed);
  return {};
}

/// The awaiter of a primitive whose wait yields result<void>. `Owner::suspend(waiter, h, ctx)` takes
/// the fast path (returning false, the outcome set) or parks the waiter (returning true).
template <class Owner>
struct [[nodiscard]] void_wait_awaiter : sync_waiter {
  explicit void_wait_awaiter(Owner* o, bool may_cancel = true) noexcept : owner(o), cancellable(may_cancel) {}
  void_wait_awaiter(const void_wait_awaiter&) = delete;
  void_wait_awaiter& operator=(const void_wait_awaiter&) = delete;
  ~void_wait_awaiter() { abandon(this); }

  bool await_ready() const noexcept { return false; }
  template <weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    return owner->suspend(this, h, h.promise().ctx, cancellable);
  }
  result<void> await_resume() noexcept {
    resumed(this);
    return outcome_result(outcome);
  }

  Owner* owner;
  bool cancellable;  // false: waits on through cancellation (see parallel.hpp)
};

}  // namespace weft::detail
