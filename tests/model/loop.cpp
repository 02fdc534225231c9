// The model build's definitions of what the waiter protocol needs of the runtime (see loop.hpp):
// current_worker(), schedule() and wake_on(), over the models' loops. wake_on is weft's own
// (src/sync/wake.cpp), restated over this `worker`: the same choice between the local and the remote queue.
#include "loop.hpp"

#include "weft/detail/coop.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "model/fiber.hpp"

namespace weft::detail {
namespace {

struct binding {
  worker* loop;
  std::uintptr_t mark;  // an address on that loop's fiber stack, near its top
};
std::vector<binding>& marks() {
  static std::vector<binding> m;
  return m;
}

// Whether `a` lies on the fiber stack that holds `mark`: fiber stacks are separate mappings of
// stack_size bytes each (with a guard page), and `mark` is near the top of its stack, so the frames
// of that thread lie below it, at most a few KiB above (frames shallower than bind()'s).
bool same_stack(std::uintptr_t a, std::uintptr_t mark) noexcept {
  constexpr std::uintptr_t above = 16 * 1024;
  return a <= mark + above && mark - a < weft::model::engine::stack_pool::stack_size - above;
}

std::uintptr_t address_here() noexcept {
  char here = 0;
  return reinterpret_cast<std::uintptr_t>(&here);
}

}  // namespace

worker* current_worker() noexcept {
  std::uintptr_t here = address_here();
  for (const binding& b : marks()) {
    if (same_stack(here, b.mark)) return b.loop;
  }
  return nullptr;
}

void schedule(std::coroutine_handle<> h, context* ctx) noexcept {
  worker* w = current_worker();
  model::require(w != nullptr, "schedule() runs on a loop");
  if (w != nullptr) w->schedule(h, ctx);
}

// The models' loops keep no cooperative budget: an await point that completes at once goes on, as the
// runtime's does while the budget lasts (a yield is one more queued resume, which the models' own
// schedules already cover): the slow path, should a model thread's counter reach zero, goes on too.
bool yield_when_budget_spent(std::coroutine_handle<>, context*) noexcept { return false; }

void wake_on(worker* home, std::coroutine_handle<> h, context* ctx) noexcept {
  if (worker* here = current_worker(); here == home) {
    here->schedule(h, ctx);
  } else {
    home->remote_schedule(h, ctx);
  }
}

void worker::bind() noexcept {
  std::uintptr_t mark = address_here();
  auto& m = marks();
  std::erase_if(m, [this, mark](const binding& b) { return b.loop == this || same_stack(mark, b.mark); });
  m.push_back({this, mark});
}

worker::~worker() {
  std::erase_if(marks(), [this](const binding& b) { return b.loop == this; });
}

void worker::schedule(std::coroutine_handle<> h, context*) {
  model::require(current_worker() == this, "schedule() is called on the loop's own thread");
  local_.push_back(h);
}

void worker::remote_schedule(std::coroutine_handle<> h, context*) {
  std::lock_guard lock(mu_);
  model::require(!stopped_.get(), "no wake-up reaches a loop after it stopped (its frames are destroyed)");
  remote_.with_mut([h](std::deque<std::coroutine_handle<>>& q) { q.push_back(h); });
  cv_.notify_one();
}

void worker::stop() {
  std::lock_guard lock(mu_);
  stopped_.set(true);
  remote_.with_mut([](std::deque<std::coroutine_handle<>>& q) { q.clear(); });
  local_.clear();
}

void worker::resume(std::coroutine_handle<> h) {
  model::require(!h.done(), "a waiter is woken exactly once (a second wake-up resumes a finished task)");
  if (!h.done()) h.resume();
}

}  // namespace weft::detail
