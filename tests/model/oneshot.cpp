// A replica of weft::oneshot (weft/sync/oneshot.hpp) over the waiter protocol of weft/detail/sync_waiter.hpp:
// send, dropping an unsent sender, the receiver's await (with cancellation while it is parked), and
// dropping the receiver, racing one another across two threads.
//
// The protocol: one slot under a spin lock, shared by the two ends, freed by the second end to let go
// (`refs`, acq_rel). send() marks the sender gone and, unless the receiver is gone, stores the value
// and settles a parked receiver (unlinks it and records `satisfied`) under the lock, wakes it after
// unlocking, then drops its reference; when the receiver is gone the value goes back to the caller.
// Dropping an unsent sender settles a parked receiver `closed`. The receiver's await parks under the
// lock unless a value is there or the sender is gone; once resumed it takes the value under the lock
// (none: `channel_closed`). A cancel on the receiver's loop unlinks a receiver still parked and wakes
// it `cancelled`; one already settled is left alone (its wake-up is on its way). Dropping the receiver
// marks it gone under the lock and drops its reference.
//
// Properties:
// - The value is received exactly once, or handed back to the sender (send failed), or, when the
//   receiver went away after a successful send, destroyed with the slot: exactly one of them. A
//   receiver that awaits without being cancelled gets the value if it was sent, `closed` if not.
// - A parked receiver is resumed exactly once (a deadlock if never).
// - The slot is freed exactly once, after every access of either end (a cell checks that the free is
//   ordered after them).
//
// The replica: the value is an int; the receiver's awaiter is a waiter with its own cells (a list link,
// the outcome) and a resume count, which the receiver waits on as its loop would resume it; the wake list
// of the settler is a local pointer. Left out: try_receive, a receiver cancelled before it parks (it does
// not touch the slot), an awaiter destroyed while parked (runtime shutdown).
//
// The defect the checker must find (`relaxed_unref`): dropping a reference with a relaxed fetch_sub,
// so the end that frees the slot is not ordered after the other end's last access to it.
#include <mutex>

#include "replica.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"
#include "prelude.hpp"

namespace weft::model {
namespace {

enum class outcome { waiting, satisfied, closed, cancelled };
enum class variant { fixed, relaxed_unref };

struct waiter {  // the receiver's awaiter (a sync_waiter)
  cell<bool> linked{false};
  cell<outcome> result{outcome::waiting};
  atomic<int> resumes{0};  // wake-ups: each queues the receiver on its loop once
};

template <variant V>
struct oneshot_state {
  replica::lifetime memory;
  replica::spin_lock lock;
  cell<bool> has_value{false};
  cell<int> value;
  cell<waiter*> parked;  // the waiter list: at most one
  cell<bool> sender_gone{false};
  cell<bool> receiver_gone{false};
  atomic<int> refs{2};

  // What became of the value (plain: counts for the final check).
  int received = 0, handed_back = 0, destroyed = 0;
  bool sent = false;
  outcome receive_result = outcome::waiting;  // of the receiver's await, if it awaited

  void lock_slot() {
    memory.atomic_access([&] { lock.lock(); });
  }
  void unlock_slot() {
    memory.atomic_access([&] { lock.unlock(); });
  }
  void unref() {
    constexpr auto order = V == variant::relaxed_unref ? relaxed : acq_rel;
    int before = memory.atomic_access([&] { return refs.fetch_sub(1, order); });
    if (before != 1) return;
    if (has_value.get()) ++destroyed;  // ~optional<T> in ~oneshot_state
    memory.free();
  }

  // settle_all(&waiter, o, wakes): under the lock; returns the wake list (here: at most one waiter).
  waiter* settle(outcome o) {
    waiter* w = parked.get();
    if (w == nullptr) return nullptr;
    parked.set(nullptr);
    w->linked.set(false);
    w->result.set(o);
    return w;
  }
  static void wake_settled(waiter* w) {
    if (w != nullptr) {
      w->resumes.fetch_add(1, acq_rel);
      w->resumes.notify_one();
    }
  }

  // oneshot_sender::send(42)
  void send() {
    sent = true;
    bool delivered = false;
    lock_slot();
    sender_gone.set(true);
    waiter* wakes = nullptr;
    if (!receiver_gone.get()) {
      value.set(42);
      has_value.set(true);
      delivered = true;
      wakes = settle(outcome::satisfied);
    }
    unlock_slot();
    wake_settled(wakes);
    unref();
    if (!delivered) ++handed_back;  // send_result carries the value back
  }

  // ~oneshot_sender() of an unsent sender
  void drop_sender() {
    lock_slot();
    sender_gone.set(true);
    waiter* wakes = settle(outcome::closed);
    unlock_slot();
    wake_settled(wakes);
    unref();
  }

  // co_await std::move(rx); `cancel`: the receiver's loop cancels it if it parks.
  void receive(waiter& w, bool cancel) {
    lock_slot();
    bool park = !has_value.get() && !sender_gone.get();
    if (park) {
      w.linked.set(true);
      parked.set(&w);
    }
    unlock_slot();
    if (park) {
      if (cancel) {  // cancel_parked, on the receiver's loop while it is suspended
        lock_slot();
        if (w.linked.get()) {
          parked.set(nullptr);
          w.linked.set(false);
          w.result.set(outcome::cancelled);
          w.resumes.fetch_add(1, acq_rel);
        }
        unlock_slot();
      }
      w.resumes.wait(0, acquire);
    }
    // await_resume
    if (w.result.get() == outcome::cancelled) {
      receive_result = outcome::cancelled;
      return;
    }
    lock_slot();
    if (has_value.get()) {
      require(value.get() == 42, "the receiver gets the value that was sent");
      has_value.set(false);
      ++received;
      receive_result = outcome::satisfied;
    } else {
      receive_result = outcome::closed;
    }
    unlock_slot();
  }

  // ~oneshot_receiver()
  void drop_receiver() {
    lock_slot();
    receiver_gone.set(true);
    unlock_slot();
    unref();
  }
};

template <variant V>
void accounted(oneshot_state<V>& s, const waiter& w, bool awaited, bool cancel) {
  require(s.memory.frees() == 1, "the slot is freed exactly once");
  if (s.sent) {
    require(s.received + s.handed_back + s.destroyed == 1,
            "the value is received, handed back to the sender, or destroyed with the slot: exactly one");
  } else {
    require(s.received == 0 && s.destroyed == 0, "no value appears that was not sent");
  }
  if (awaited) {
    require(w.resumes.load() <= 1, "a parked receiver is resumed exactly once (not twice)");
    if (!cancel) {
      require(s.receive_result == (s.sent ? outcome::satisfied : outcome::closed),
              "an await that is not cancelled gets the value if it was sent, channel_closed if not");
    }
  }
}

enum class receiver_does { await_then_drop, await_cancel_then_drop, drop };
enum class sender_does { send, drop };

template <variant V, receiver_does R, sender_does S>
report oneshot_model(std::string_view name, options opts) {
  struct state {
    oneshot_state<V> slot;
    waiter w;
  };
  constexpr bool awaited = R != receiver_does::drop;
  constexpr bool cancel = R == receiver_does::await_cancel_then_drop;
  return check<state>(
      name,
      [](state& s) {
        thread sender([&s] {
          if (S == sender_does::send) {
            s.slot.send();
          } else {
            s.slot.drop_sender();
          }
        });
        if (awaited) s.slot.receive(s.w, cancel);
        s.slot.drop_receiver();
        sender.join();
      },
      [](state& s) { accounted(s.slot, s.w, awaited, cancel); }, std::move(opts));
}

WEFT_MODEL_CASE(send_vs_await, "replica/oneshot/send_vs_await") {
  return oneshot_model<variant::fixed, receiver_does::await_then_drop, sender_does::send>(name, {});
}
WEFT_MODEL_CASE(send_vs_cancelled_await, "replica/oneshot/send_vs_cancelled_await") {
  return oneshot_model<variant::fixed, receiver_does::await_cancel_then_drop, sender_does::send>(name, {});
}
// The same with the plain accesses interleaved as well.
WEFT_MODEL_CASE(send_vs_cancelled_await_cell_steps, "replica/oneshot/send_vs_cancelled_await_cell_steps") {
  options opts;
  opts.cell_steps = true;
  return oneshot_model<variant::fixed, receiver_does::await_cancel_then_drop, sender_does::send>(name, opts);
}
WEFT_MODEL_CASE(send_vs_drop_receiver, "replica/oneshot/send_vs_drop_receiver") {
  return oneshot_model<variant::fixed, receiver_does::drop, sender_does::send>(name, {});
}
WEFT_MODEL_CASE(drop_sender_vs_await, "replica/oneshot/drop_sender_vs_await") {
  return oneshot_model<variant::fixed, receiver_does::await_then_drop, sender_does::drop>(name, {});
}
WEFT_MODEL_CASE(relaxed_unref, "replica/oneshot/relaxed_unref_races") {
  auto run = [&](options opts) {
    return oneshot_model<variant::relaxed_unref, receiver_does::await_then_drop, sender_does::send>(name,
                                                                                                 std::move(opts));
  };
  return expect_failure(run({}), "data race", run);
}

}  // namespace
}  // namespace weft::model
