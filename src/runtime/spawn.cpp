// The spawned-task lifecycle; see weft/detail/spawn_state.hpp for the protocol.
#include <cstring>
#include <system_error>

#include "runtime/worker.hpp"
#include "weft/task_group.hpp"

namespace weft::detail {
namespace {

std::coroutine_handle<> spawn_done(void* arg) noexcept {
  auto* s = static_cast<spawn_state_base*>(arg);
  worker* w = s->home;
  s->status = task_status::done;
  w->forget(s);

  std::coroutine_handle<> next = std::noop_coroutine();
  if (s->group != nullptr) next = group_child_done(s->group, s);
  if (std::coroutine_handle<> j = std::exchange(s->joiner, {})) {
    s->joiner_ctx->disarm();
    if (next == std::noop_coroutine()) {
      next = j;
    } else {
      w->schedule(j, s->joiner_ctx);
    }
  }
  if (!s->handle_alive && s->group == nullptr && s->promise->exception) {
    s->outcome_seen = true;
    w->report_exception(s->ctx.name(), s->promise->exception);
  }
  if (--s->refs == 0) w->bury(s);
  return next;
}

void cancel_joined(cancel_waiter* w) noexcept;

}  // namespace

void spawn_start(worker* w, spawn_state_base* s, std::coroutine_handle<> frame, promise_base& p,
                 std::string_view name, task_group* group) {
  s->frame = frame;
  s->promise = &p;
  if (!name.empty()) {
    s->name = std::make_unique<char[]>(name.size());
    std::memcpy(s->name.get(), name.data(), name.size());
    s->ctx.set_name(std::string_view(s->name.get(), name.size()));
  }
  p.ctx = &s->ctx;
  p.on_done = &spawn_done;
  p.on_done_arg = s;
  w->adopt(s);
  if (group != nullptr) group_child_started(group, s);
  w->schedule(frame, &s->ctx);
}

void spawn_release_handle(spawn_state_base* s) noexcept {
  s->handle_alive = false;
  if (s->status == task_status::done && s->group == nullptr && !s->outcome_seen && s->promise->exception) {
    s->outcome_seen = true;
    if (worker* w = current_worker()) w->report_exception(s->ctx.name(), s->promise->exception);
  }
  if (--s->refs == 0) delete s;
}

void spawn_join_suspend(join_waiter* w, context* joiner_ctx) noexcept {
  spawn_state_base* s = w->s;
  s->joiner = w->waiting;
  s->joiner_ctx = joiner_ctx;
  if (joiner_ctx->cancelled()) {
    s->ctx.cancel();
    return;
  }
  w->on_cancel = &cancel_joined;
  joiner_ctx->arm(w);
}

void spawn_join_abandon(join_waiter* w) noexcept {
  spawn_state_base* s = w->s;
  if (s->joiner == w->waiting) {
    s->joiner = {};
    s->joiner_ctx->disarm();
  }
}

[[noreturn]] void throw_abandoned() {
  throw std::system_error(make_error_code(errc::operation_canceled), "task destroyed by runtime shutdown");
}

namespace {
void cancel_joined(cancel_waiter* w) noexcept {
  // The joiner stays suspended: it still waits for the task, which now ends sooner.
  static_cast<join_waiter*>(w)->s->ctx.cancel();
}
}  // namespace

}  // namespace weft::detail
