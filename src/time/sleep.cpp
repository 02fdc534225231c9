#include "runtime/worker.hpp"
#include "weft/detail/coop.hpp"
#include "weft/time.hpp"
#include "weft/timeout.hpp"

namespace weft {

sleep_awaitable::~sleep_awaitable() {
  // The frame holding a pending sleep is being destroyed (runtime shutdown): release the timer.
  if (timer_entry::linked()) detail::current_worker()->disarm_timer(this);
  if (ctx_ != nullptr && waiting_) ctx_->disarm();
}

bool sleep_awaitable::suspend(std::coroutine_handle<> h, detail::context* ctx) noexcept {
  if (ctx->cut_if_cancelled()) {
    canceled_ = true;
    return detail::yield_if_budget_spent(h, ctx);
  }
  detail::worker* w = detail::current_worker();
  if (deadline_ <= w->now()) return detail::yield_if_budget_spent(h, ctx);  // sleep_for(0), a due tick
  waiting_ = h;
  ctx_ = ctx;
  fire = &sleep_awaitable::fired;
  on_cancel = &sleep_awaitable::cut_short;
  w->arm_timer(this, deadline_);
  ctx->arm(this);
  detail::note_suspend(detail::suspend_reason::timer);
  return true;
}

void sleep_awaitable::fired(detail::timer_entry* e) noexcept {
  auto* self = static_cast<sleep_awaitable*>(e);
  self->ctx_->disarm();
  detail::schedule(std::exchange(self->waiting_, {}), self->ctx_);
}

bool sleep_awaitable::cut_short(detail::cancel_waiter* w) noexcept {
  auto* self = static_cast<sleep_awaitable*>(w);
  detail::current_worker()->disarm_timer(self);
  self->canceled_ = true;
  detail::schedule(std::exchange(self->waiting_, {}), self->ctx_);
  return true;
}

result<void> sleep_awaitable::await_resume() noexcept {
  if (canceled_) return fail(errc::operation_canceled);
  return {};
}

sleep_awaitable interval::tick() noexcept {
  clock::time_point due = next_;
  next_ += period_;
  clock::time_point now = clock::now();
  if (next_ <= now) {
    // Missed ticks are skipped: stay on the grid, at the first tick after now.
    next_ += ((now - next_) / period_ + 1) * period_;
  }
  return sleep_awaitable(due);
}

void advance::suspend(std::coroutine_handle<> h, detail::context* ctx) const noexcept {
  detail::worker* w = detail::current_worker();
  w->advance_paused(by);
  w->schedule(h, ctx);
}

}  // namespace weft

namespace weft::detail {

void timeout_timer::arm(clock::time_point deadline, context* child) noexcept {
  child_ = child;
  fire = &timeout_timer::on_fire;
  current_worker()->arm_timer(this, deadline);
}

void timeout_timer::disarm() noexcept {
  if (linked()) current_worker()->disarm_timer(this);
}

void timeout_timer::on_fire(timer_entry* e) noexcept {
  auto* self = static_cast<timeout_timer*>(e);
  self->fired_ = true;
  self->child_->cancel();
}

}  // namespace weft::detail
