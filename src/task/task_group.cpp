#include "weft/task_group.hpp"

#include <exception>
#include <stdexcept>
#include <string>

#include "runtime/worker.hpp"

namespace weft {

namespace {
std::string summarize(const std::vector<std::exception_ptr>& errors) {
  std::string what = std::to_string(errors.size()) + (errors.size() == 1 ? " task failed" : " tasks failed");
  if (!errors.empty()) {
    try {
      std::rethrow_exception(errors.front());
    } catch (const std::exception& e) {
      what += "; first: ";
      what += e.what();
    } catch (...) {
    }
  }
  return what;
}
}  // namespace

aggregate_error::aggregate_error(std::vector<std::exception_ptr> errors)
    : std::runtime_error(summarize(errors)), errors_(std::move(errors)) {}

task_group::~task_group() {
  if (running_ == 0) return;
  detail::worker* w = detail::current_worker();
  ctx_.cancel();
  if (w == nullptr || w->shutting_down()) {
    // Runtime shutdown destroys every frame, the children's included; or there is no loop to run
    // them on. Unhook them: nothing of theirs may point into this group while they are destroyed.
    if (w != nullptr) w->unhook_group_children(this);
    return;
  }
  // Scope left without join(): by an exception (the usual way, and not a bug), or by a forgotten
  // join (a bug, reported). Either way the children may refer to locals of that scope, so they must
  // not outlive it: cancelled, they are run to their end here, before the scope's locals go.
  if (std::uncaught_exceptions() == 0) {
    w->report_exception("task_group", std::make_exception_ptr(std::logic_error(
                                          "task_group destroyed with " + std::to_string(running_) +
                                          " task(s) still running, without join(); they were cancelled and "
                                          "waited for")));
  }
  ctx_.detach();  // the cancel stays with this group, not with whoever it was last joined under
  w->run_nested_until([this] { return running_ == 0; });
  if (running_ != 0) {  // the runtime stops meanwhile: its shutdown destroys the children, unhooked
    w->unhook_group_children(this);
    return;
  }
  // Failures nobody will see now: to the unhandled-exception hook, each.
  for (std::exception_ptr& e : failures_) w->report_exception("task_group", std::move(e));
}

void task_group::suspend_joiner(std::coroutine_handle<> h, detail::context* ctx) noexcept {
  joiner_ = h;
  ctx_.attach(ctx);
  detail::note_suspend(detail::suspend_reason::join);
}

void task_group::finish_join() {
  ctx_.detach();
  if (failures_.empty()) return;
  std::vector<std::exception_ptr> failures = std::move(failures_);
  failures_.clear();
  if (policy_ == policy::fail_fast) std::rethrow_exception(failures.front());
  throw aggregate_error(std::move(failures));
}

namespace detail {

void group_child_started(task_group* g, spawn_state_base* s) noexcept {
  s->group = g;
  s->ctx.attach(&g->ctx_);
  ++g->running_;
}

context* group_joiner_context(task_group* g) noexcept { return &g->ctx_; }

std::coroutine_handle<> group_child_done(task_group* g, spawn_state_base* s) noexcept {
  if (s->promise->exception) {
    s->outcome_seen = true;
    g->failures_.push_back(s->promise->exception);
    if (g->policy_ == task_group::policy::fail_fast) g->ctx_.cancel();
  }
  s->ctx.detach();
  if (--g->running_ == 0 && g->joiner_) return std::exchange(g->joiner_, {});
  return std::noop_coroutine();
}

}  // namespace detail
}  // namespace weft
