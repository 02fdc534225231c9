#include "weft/detail/fan_out.hpp"

namespace weft::detail {
namespace {

void cancel_others(fan_out& f, std::size_t winner) noexcept {
  for (std::size_t i = 0; i < f.count; ++i) {
    if (i != winner) f.slots[i].ctx.cancel();
  }
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
  if (--f.remaining == 0) return f.parent;
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
  if (--remaining == 0) return awaiting;
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
