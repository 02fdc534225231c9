// weft::oneshot itself (weft/sync/oneshot.hpp) over weft's waiter protocol (src/sync/sync_waiter.cpp,
// context::cancel in src/runtime/context.cpp): the real code, compiled with the model build's loops
// (loop.hpp) in place of the runtime's. Thread 0 is the receiver's loop: a task awaits the receiver,
// then the loop cancels the task's context (as a timeout on that loop would), then runs until the task
// ends. Thread 1 is a plain thread outside the runtime that sends the value, or drops the sender unsent.
//
// Properties:
// - The receiving task is resumed exactly once (never: a deadlock; twice: a finished task resumed).
// - send: the value is received exactly once, or the task was cancelled and the value is still in the
//   slot (try_receive gets it): a cancel never takes back a value already handed over, nor loses one.
//   The send succeeds (the receiver is not gone).
// - dropped sender: the task gets channel_closed, or operation_canceled if the cancel came first.
#include <optional>

#include "loop.hpp"
#include "weft/detail/model.hpp"
#include "weft/sync/oneshot.hpp"

namespace weft::model {
namespace {

model_task receive(oneshot_receiver<int>& rx, std::optional<result<int>>& got) { got = co_await std::move(rx); }

struct oneshot_run {
  weft::detail::worker loop;
  std::pair<oneshot_sender<int>, oneshot_receiver<int>> ends = make_oneshot<int>();
  model_task receiver;
  std::optional<result<int>> got;
  std::optional<bool> sent;
};

enum class sender_does { send, drop };

template <sender_does What>
report oneshot_model(std::string_view name) {
  return check<oneshot_run>(
      name,
      [](oneshot_run& s) {
        thread sender([&s] {
          if constexpr (What == sender_does::send) {
            s.sent = static_cast<bool>(s.ends.first.send(42));
          } else {
            oneshot_sender<int> gone = std::move(s.ends.first);
          }
        });
        s.loop.bind();
        s.receiver = receive(s.ends.second, s.got);
        s.receiver.start();
        s.receiver.ctx().cancel();
        s.loop.run_until([&s] { return s.receiver.done(); });
        sender.join();
      },
      [](oneshot_run& s) {
        require(s.receiver.done() && s.got.has_value(), "the receiving task ran to its end");
        require(s.loop.idle(), "no wake-up is left over (a waiter is woken exactly once)");
        const result<int>& got = *s.got;
        result<int> left = s.ends.second.try_receive();
        if constexpr (What == sender_does::send) {
          require(s.sent == true, "the send succeeded (the receiver is not gone)");
          bool received = got && *got == 42 && !left && left.error() == make_error_code(errc::channel_closed);
          bool kept = !got && got.error() == make_error_code(errc::operation_canceled) && left && *left == 42;
          require(received || kept,
                  "the value is received exactly once, or the task was cancelled and the slot still holds it");
        } else {
          bool closed = !got && (got.error() == make_error_code(errc::channel_closed) ||
                                 got.error() == make_error_code(errc::operation_canceled));
          require(closed, "a dropped sender closes the await (or the cancel came first)");
          require(!left && left.error() == make_error_code(errc::channel_closed), "no value appears");
        }
      },
      every_schedule());
}

WEFT_MODEL_CASE(send_vs_cancelled_receive, "real_oneshot/send_vs_cancelled_receive") {
  return oneshot_model<sender_does::send>(name);
}

WEFT_MODEL_CASE(drop_sender_vs_cancelled_receive, "real_oneshot/drop_sender_vs_cancelled_receive") {
  return oneshot_model<sender_does::drop>(name);
}

// Both ends let go at once on two threads: a send, and the receiver dropped unread. Whichever drops
// the last reference frees the slot, and every access of the other end must be ordered before that
// free (the model counts the free as a write to every cell of the slot): what the reference count's
// acq_rel is for. The send either delivers (and the value is destroyed with the slot) or is handed
// back, the receiver being gone.
struct drop_run {
  std::pair<oneshot_sender<int>, oneshot_receiver<int>> ends = make_oneshot<int>();
  std::optional<bool> sent;
};

WEFT_MODEL_CASE(send_vs_drop_receiver, "real_oneshot/send_vs_drop_receiver") {
  return check<drop_run>(
      name,
      [](drop_run& s) {
        thread sender([&s] { s.sent = static_cast<bool>(s.ends.first.send(42)); });
        { oneshot_receiver<int> gone = std::move(s.ends.second); }
        sender.join();
      },
      [](drop_run& s) { require(s.sent.has_value(), "the send returned"); }, every_schedule());
}

}  // namespace
}  // namespace weft::model
