// The cooperative budget. A task whose awaits all complete at once (a write the kernel takes whole, a
// sleep_for(0), a channel that always has a value) never gives its loop back: the loop's other tasks,
// its I/O and its timers would wait until it ends, and a request timeout would never fire. Each resume
// from the loop gives the task a budget of await points; the one that finds it spent queues the task
// behind the loop's other ready work instead of going on, as yield_now would. Its outcome is kept: the
// operation has completed, and the task sees it when it resumes (so a cancel that lands meanwhile
// loses nothing). Under chaos (runtime_options::chaos_seed) such an await point also yields at random.
//
// Cost: the budget is a counter of the thread's (the loop sets it at each resume), so an await point
// that goes on pays a decrement and a branch, inline; only the one that finds it at zero calls out.
#pragma once

#include <coroutine>
#include <cstdint>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

class context;

struct coop_budget_tag;
/// Await points the running task may still complete without waiting (worker::resume sets it; under
/// chaos, to 1, so that each such await point takes the slow path, which rolls the dice).
inline std::uint32_t& coop_budget_left() noexcept { return per_thread<coop_budget_tag, std::uint32_t>::get(); }

/// The slow path of yield_if_budget_spent (runtime/worker.cpp): the counter reached zero.
bool yield_when_budget_spent(std::coroutine_handle<> h, context* ctx) noexcept;

/// For an await point that completed without suspending, at the end of its await_suspend (after every
/// lock and wake-up of its own): false, to go on at once, while the task's budget lasts; true once it
/// is spent, with the task queued to resume later. Return what it returns.
inline bool yield_if_budget_spent(std::coroutine_handle<> h, context* ctx) noexcept {
  if (--coop_budget_left() != 0) [[likely]] return false;
  return yield_when_budget_spent(h, ctx);
}

}  // namespace weft::detail
