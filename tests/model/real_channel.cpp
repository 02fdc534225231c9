// weft::channel itself (weft/sync/channel.hpp) over weft's waiter protocol (src/sync/sync_waiter.cpp,
// context::cancel in src/runtime/context.cpp): the real code, compiled with the model build's loops
// (loop.hpp) in place of the runtime's. A task's loop cancels the task's context right after the task
// first suspends (as a timeout on that loop would), then runs until the task ends.
//
// Properties:
// - Every task is resumed exactly once (never: a deadlock; twice: a finished task resumed).
// - Every value sent is accounted for exactly once: received by a task, left in the channel, or handed
//   back to its sender (a failed send's send_result). A cancel never takes back a value already handed
//   over, nor loses one; close() wakes every waiter.
// - abandon at shutdown (the loops stopped, their queued wake-ups dropped, then the suspended frames
//   destroyed, as ~worker does): no destroyed waiter is left on the channel's lists, so a later send is
//   buffered, and no wake-up reaches a stopped loop.
#include <array>
#include <optional>

#include "loop.hpp"
#include "weft/detail/model.hpp"
#include "weft/sync/channel.hpp"

namespace weft::model {
namespace {

model_task receive(channel<int>& ch, std::optional<result<int>>& got) { got = co_await ch.receive(); }

model_task send(channel<int>& ch, int v, std::optional<int>& handed_back, bool& done) {
  send_result<int> r = co_await ch.send(v);
  if (!r) handed_back = r.take_back();
  done = true;
}

// Counts value v once per place it is found in.
struct tally {
  std::array<int, 3> seen{};
  void add(int v) {
    require(v >= 1 && v <= 2, "only the values sent are received");
    if (v >= 1 && v <= 2) ++seen[static_cast<std::size_t>(v)];
  }
  void add(const std::optional<result<int>>& got) {
    if (got && *got) add(**got);
  }
  void drain(channel<int>& ch) {
    while (result<int> v = ch.try_receive()) add(*v);
  }
};

// Rendezvous (capacity 0): a receiving task on loop 0 and a sending task on loop 1, each cancelled by
// its own loop (`Cancel`: which of them). The receiver's loop closes the channel once its task ended,
// so that a sender left waiting gets its value back.
enum class cancels { receiver, both };

struct rendezvous {
  channel<int> ch{0};
  weft::detail::worker rloop, sloop;
  model_task receiver, sender;
  std::optional<result<int>> got;
  std::optional<int> back;
  bool sent_done = false;
};

template <cancels Cancel>
report rendezvous_model(std::string_view name) {
  return check<rendezvous>(
      name,
      [](rendezvous& s) {
        thread sending([&s] {
          s.sloop.bind();
          s.sender = send(s.ch, 1, s.back, s.sent_done);
          s.sender.start();
          if (Cancel == cancels::both) s.sender.ctx().cancel();
          s.sloop.run_until([&s] { return s.sender.done(); });
        });
        s.rloop.bind();
        s.receiver = receive(s.ch, s.got);
        s.receiver.start();
        s.receiver.ctx().cancel();
        s.rloop.run_until([&s] { return s.receiver.done(); });
        s.ch.close();
        sending.join();
      },
      [](rendezvous& s) {
        require(s.receiver.done() && s.got.has_value() && s.sender.done() && s.sent_done,
                "both tasks ran to their end");
        require(s.rloop.idle() && s.sloop.idle(), "no wake-up is left over (a waiter is woken exactly once)");
        require(*s.got || s.got->error() == make_error_code(errc::operation_canceled),
                "the receive got the value or was cancelled");
        tally t;
        t.add(s.got);
        if (s.back) t.add(*s.back);
        t.drain(s.ch);
        require(t.seen[1] == 1, "the value is received once or handed back to its sender, exactly one of them");
      },
      schedules_within(6));
}

WEFT_MODEL_CASE(rendezvous_receiver_cancelled, "real_channel/rendezvous_send_vs_cancelled_receive") {
  return rendezvous_model<cancels::receiver>(name);
}

WEFT_MODEL_CASE(rendezvous_both_cancelled, "real_channel/rendezvous_cancelled_send_vs_cancelled_receive") {
  return rendezvous_model<cancels::both>(name);
}

// Capacity 1: receiving tasks on loops 1 (cancelled) and 2; a plain thread (thread 0) tries to send
// two values, then closes the channel.
struct two_receivers {
  channel<int> ch{1};
  weft::detail::worker aloop, cloop;
  model_task a, c;
  std::optional<result<int>> agot, cgot;
  std::array<std::optional<int>, 3> back;
};

void run_receiver(weft::detail::worker& loop, model_task& t, channel<int>& ch, std::optional<result<int>>& got,
                  bool cancel) {
  loop.bind();
  t = receive(ch, got);
  t.start();
  if (cancel) t.ctx().cancel();
  loop.run_until([&t] { return t.done(); });
}

WEFT_MODEL_CASE(try_send_close_vs_two_receivers, "real_channel/try_send_close_vs_two_receivers") {
  return check<two_receivers>(
      name,
      [](two_receivers& s) {
        thread a([&s] { run_receiver(s.aloop, s.a, s.ch, s.agot, true); });
        thread c([&s] { run_receiver(s.cloop, s.c, s.ch, s.cgot, false); });
        for (int v = 1; v <= 2; ++v) {
          send_result<int> r = s.ch.try_send(v);
          if (!r) s.back[static_cast<std::size_t>(v)] = r.take_back();
        }
        s.ch.close();
        a.join();
        c.join();
      },
      [](two_receivers& s) {
        require(s.a.done() && s.agot.has_value() && s.c.done() && s.cgot.has_value(), "both tasks ran to their end");
        require(s.aloop.idle() && s.cloop.idle(), "no wake-up is left over (a waiter is woken exactly once)");
        require(*s.cgot || s.cgot->error() == make_error_code(errc::channel_closed),
                "the receiver that is not cancelled gets a value or channel_closed");
        tally t;
        t.add(s.agot);
        t.add(s.cgot);
        for (const std::optional<int>& b : s.back) {
          if (b) t.add(*b);
        }
        t.drain(s.ch);
        require(t.seen[1] == 1 && t.seen[2] == 1,
                "each value is received, left in the channel or handed back: exactly one of them");
      });
}

// Abandon at shutdown: receiving tasks wait on loops 1 and 2, a plain thread sends one value; then the
// threads have stopped, the loops drop their queued wake-ups, and the frames still suspended are
// destroyed (their awaiters' abandon). The one that was handed the value loses it with its frame (as
// at any shutdown); the other, still parked, must leave the channel's list.
struct shutdown_state {
  channel<int> ch{1};
  weft::detail::worker aloop, cloop;
  model_task a, c;
  std::optional<result<int>> agot, cgot;
};

void start_only(weft::detail::worker& loop, model_task& t, channel<int>& ch, std::optional<result<int>>& got) {
  loop.bind();
  t = receive(ch, got);
  t.start();
}

WEFT_MODEL_CASE(abandon_at_shutdown, "real_channel/abandon_at_shutdown") {
  return check<shutdown_state>(
      name,
      [](shutdown_state& s) {
        thread a([&s] { start_only(s.aloop, s.a, s.ch, s.agot); });
        thread c([&s] { start_only(s.cloop, s.c, s.ch, s.cgot); });
        require(static_cast<bool>(s.ch.try_send(1)), "a capacity-1 channel takes the first value");
        a.join();
        c.join();
        s.aloop.stop();
        s.cloop.stop();
        s.a.destroy();
        s.c.destroy();
        // With no waiter left, a value sent now is buffered, and received back.
        require(static_cast<bool>(s.ch.try_send(2)), "the second value is buffered");
        result<int> v = s.ch.try_receive();
        require(v && *v == 2, "no destroyed waiter is left on the channel's list: the value waits in it");
      },
      [](shutdown_state&) {});
}

}  // namespace
}  // namespace weft::model
