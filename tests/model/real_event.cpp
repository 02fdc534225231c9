// weft::event and weft::wait_group themselves (weft/sync/event.hpp, wait_group.hpp, src/sync/event.cpp)
// over weft's waiter protocol (src/sync/sync_waiter.cpp, context::cancel in src/runtime/context.cpp),
// with the model build's loops (loop.hpp) in place of the runtime's. The cases are about lifetime: the
// event.hpp header lets whoever saw an event set destroy it at once, and a setter may destroy it once
// set() returned. The model build marks every atomic, lock and cell destroyed with its object, and an
// access after that fails the run ("use after free"), as ASan would on freed memory.
//
// - set_vs_waiter_that_destroys: a task on thread 0's loop waits; a plain thread sets the event; once
//   the task has ended, its loop destroys the event. set() must be done with it by then (it used to store
//   the flag and then lock: the waiter saw the flag, and set() locked a destroyed event).
// - done_vs_waiter_that_destroys: the same for wait_group::done().
// - set_and_destroy_vs_cancel: a plain thread sets the event and destroys it at once; the waiting
//   task's loop cancels the task meanwhile (as a timeout would). A cancel that finds the waiter already
//   settled must leave the (maybe destroyed) event alone: it used to lock it.
//
// Each also checks the waiter resumes exactly once, with the event's outcome or, cancelled, with
// operation_canceled.
#include <optional>

#include "loop.hpp"
#include "weft/detail/model.hpp"
#include "weft/sync/wait_group.hpp"

namespace weft::model {
namespace {

template <class Waitable>
model_task wait_on(Waitable& w, std::optional<result<void>>& got) {
  got = co_await w.wait();
}

template <class Primitive>
struct waiter_run {
  weft::detail::worker loop;
  std::optional<Primitive> primitive;
  model_task waiter;
  std::optional<result<void>> got;
};

// A plain thread signals (`signal`) while a task on thread 0's loop waits, starting before, while or
// after the signal (it may see it without parking); once the task has ended, its loop destroys the
// primitive, as the headers allow whoever saw it signalled.
template <class Primitive, class Make, class Signal>
report waiter_that_destroys(std::string_view name, Make make, Signal signal) {
  return check<waiter_run<Primitive>>(
      name,
      [make, signal](waiter_run<Primitive>& s) {
        make(s.primitive);
        thread signaller([&s, signal] { signal(*s.primitive); });
        s.loop.bind();
        s.waiter = wait_on(*s.primitive, s.got);
        s.waiter.start();
        s.loop.run_until([&s] { return s.waiter.done(); });
        s.primitive.reset();
        signaller.join();
      },
      [](waiter_run<Primitive>& s) {
        require(s.got.has_value() && s.got->has_value(), "the waiter saw the primitive signalled");
        require(s.loop.idle(), "no wake-up is left over (the waiter is woken exactly once)");
      },
      every_schedule());
}

WEFT_MODEL_CASE(set_vs_waiter_that_destroys, "real_event/set_vs_waiter_that_destroys") {
  return waiter_that_destroys<event>(
      name, [](std::optional<event>& e) { e.emplace(); }, [](event& e) { e.set(); });
}

WEFT_MODEL_CASE(done_vs_waiter_that_destroys, "real_event/done_vs_waiter_that_destroys") {
  return waiter_that_destroys<wait_group>(
      name, [](std::optional<wait_group>& g) { g.emplace(1); }, [](wait_group& g) { g.done(); });
}

WEFT_MODEL_CASE(set_and_destroy_vs_cancel, "real_event/set_and_destroy_vs_cancel") {
  return check<waiter_run<event>>(
      name,
      [](waiter_run<event>& s) {
        s.primitive.emplace();
        s.loop.bind();
        s.waiter = wait_on(*s.primitive, s.got);
        s.waiter.start();  // parked before the setter exists: it never waits on a destroyed event
        thread setter([&s] {
          s.primitive->set();
          s.primitive.reset();  // set() returned: the event may go (it lived in the setter's frame, say)
        });
        s.waiter.ctx().cancel();
        s.loop.run_until([&s] { return s.waiter.done(); });
        setter.join();
      },
      [](waiter_run<event>& s) {
        require(s.got.has_value(), "the waiter ran to its end");
        require(s.got->has_value() || s.got->error() == make_error_code(errc::operation_canceled),
                "the waiter saw the event set, or was cancelled before it was");
        require(s.loop.idle(), "no wake-up is left over (the waiter is woken exactly once)");
      },
      every_schedule());
}

}  // namespace
}  // namespace weft::model
