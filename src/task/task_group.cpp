#include "weft/task_group.hpp"

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
  if (w != nullptr && !w->shutting_down()) {
    w->report_exception("task_group", std::make_exception_ptr(std::logic_error(
                                          "task_group destroyed with " + std::to_string(running_) +
                                          " task(s) still running; they were cancelled and detached")));
  }
  ctx_.cancel();
  // Detach our children from this group: they finish on their own, reporting their own exceptions.
  if (w != nullptr) w->unhook_group_children(this);
}

void task_group::suspend_joiner(std::coroutine_handle<> h, detail::context* ctx) noexcept {
  joiner_ = h;
  ctx_.attach(ctx);
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
