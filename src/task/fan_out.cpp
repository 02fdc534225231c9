#include "weft/detail/fan_out.hpp"

namespace weft::detail {
namespace {

void cancel_others(fan_out& f, std::size_t winner) noexcept {
  for (std::size_t i = 0; i < f.count; ++i) {
    if (i != winner) f.slots[i].ctx.cancel();
  }
}

// when_any's winner threw, but a loser's outcome happened anyway and it ended with a value: throwing
// would drop that value, so the loser wins instead (the exception goes the way of a loser's).
void prefer_a_value(fan_out& f) noexcept {
  if (f.mode != fan_mode::any || f.chosen < 0) return;
  if (f.slots[static_cast<std::size_t>(f.chosen)].promise->exception == nullptr) return;
  for (std::size_t i = 0; i < f.count; ++i) {
    if (f.finished_anyway(i)) {
      f.chosen = static_cast<std::ptrdiff_t>(i);
      return;
    }
  }
}

std::coroutine_handle<> all_done(fan_out& f) noexcept {
  prefer_a_value(f);
  return f.parent;
}

std::coroutine_handle<> child_done(void* arg) noexcept {
  auto* slot = static_cast<fan_slot*>(arg);
  fan_out& f = *slot->owner;
  auto index = static_cast<std::size_t>(slot - f.slots);
  if (f.chosen < 0) {
    bool decided = false;
    switch (f.mode) {
      case fan_mode::all:
        decided = slot->promise->exception != nullptr;
        break;
      case fan_mode::any:
        decided = true;
        break;
      case fan_mode::first_success:
        decided = slot->failure(slot->promise) == nullptr;
        break;
      case fan_mode::settled:
        break;
    }
    if (decided) {
      f.chosen = static_cast<std::ptrdiff_t>(index);
      cancel_others(f, index);
    }
  }
  slot->ctx.detach();
  if (--f.remaining == 0) return all_done(f);
  return std::noop_coroutine();
}

}  // namespace

std::coroutine_handle<> fan_out::start(std::coroutine_handle<> awaiting, context* parent_ctx) noexcept {
  parent = awaiting;
  // One extra count for this loop itself, so no child can resume the parent while we are still starting others.
  remaining = count + 1;
  for (std::size_t i = 0; i < count; ++i) {
    fan_slot& s = slots[i];
    s.promise->ctx = &s.ctx;
    s.promise->on_done = &child_done;
    s.promise->on_done_arg = &s;
    s.ctx.attach(parent_ctx);
  }
  for (std::size_t i = 0; i < count; ++i) slots[i].handle.resume();
  if (--remaining == 0) return all_done(*this);
  note_suspend(suspend_reason::join);  // after the children's own first suspensions
  return std::noop_coroutine();
}

std::vector<std::exception_ptr> fan_out::failures() const {
  std::vector<std::exception_ptr> out;
  for (std::size_t i = 0; i < count; ++i) {
    if (std::exception_ptr e = slots[i].failure(slots[i].promise)) out.push_back(std::move(e));
  }
  return out;
}

void throw_all_failed(const fan_out& f) { throw aggregate_error(f.failures()); }

}  // namespace weft::detail
