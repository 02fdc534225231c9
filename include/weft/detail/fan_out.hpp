// The machinery shared by when_all, when_any, all_settled and first_success.
//
// A fan-out starts N child tasks, each in its own cancellation context linked under the awaiting
// task's, and resumes the awaiting task once all N have finished — also for when_any and
// first_success, which cancel the losers as soon as the winner is known: nothing is left running
// behind the caller's back. Children are started inline, one after another, each running until its
// first suspension; the last one to finish transfers control straight back to the awaiting task.
#pragma once

#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "weft/aggregate_error.hpp"
#include "weft/detail/context.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/error.hpp"
#include "weft/task.hpp"

namespace weft::detail {

enum class fan_mode : std::uint8_t {
  all,            // finished when all finish; the first exception cancels the rest
  settled,        // finished when all finish; nothing is cancelled
  any,            // the first to finish wins; the rest are cancelled
  first_success,  // the first to succeed wins; the rest are cancelled
};

struct fan_out;

struct fan_slot {
  context ctx;
  fan_out* owner = nullptr;
  std::coroutine_handle<> handle;
  promise_base* promise = nullptr;
  /// Null if the child succeeded; else its exception, or its error result as a std::system_error.
  std::exception_ptr (*failure)(promise_base*) = nullptr;
};

struct fan_out {
  fan_slot* slots = nullptr;
  std::size_t count = 0;
  std::size_t remaining = 0;
  std::ptrdiff_t chosen = -1;  // all: first failure; any: first finished; first_success: first success
  std::coroutine_handle<> parent;
  fan_mode mode = fan_mode::all;

  /// Starts every child; returns what the awaiting coroutine's await_suspend should transfer to.
  std::coroutine_handle<> start(std::coroutine_handle<> awaiting, context* parent_ctx) noexcept;
  /// The exceptions of every failed child, and failed results as std::system_error, in slot order.
  std::vector<std::exception_ptr> failures() const;
  /// Whether child i ended with a value: no exception, and no error inside a result<T>.
  bool succeeded(std::size_t i) const noexcept { return slots[i].failure(slots[i].promise) == nullptr; }
  /// A loser of when_any / first_success whose cancel cut nothing and that ended with a value: its
  /// outcome happened in the same turn as the winner's (or it was running when the cancel came).
  bool finished_anyway(std::size_t i) const noexcept {
    // was_cut: a loser whose cancel cut an await short (then, or later on another loop); one whose
    // cancel cut nothing had its outcome on the way.
    return static_cast<std::ptrdiff_t>(i) != chosen && !slots[i].ctx.was_cut() && succeeded(i);
  }
  template <class F>
  void for_each_finished_anyway(F&& f) const {
    for (std::size_t i = 0; i < count; ++i) {
      if (finished_anyway(i)) f(i);
    }
  }
};

template <class T>
using non_void_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

}  // namespace weft::detail

namespace weft {

/// What the variadic when_any and first_success return: the winner's value, as a std::variant whose
/// index() says which task won (std::get, std::visit and holds_alternative work on it), and the losers
/// that still ended with a value.
template <class... T>
struct any_variant : std::variant<detail::non_void_t<T>...> {
  using variant = std::variant<detail::non_void_t<T>...>;
  any_variant(variant winner, std::vector<variant> also) : variant(std::move(winner)), also_finished(std::move(also)) {}
  /// Losers whose cancel cut nothing and that ended with a value: an outcome that happened in the same
  /// turn as the winner's (a value received, a permit granted), before the cancel could cut it, or a
  /// loser that was running when the cancel came. Whatever they hold was consumed: handle it, or drop
  /// it knowingly. Empty in the common case.
  std::vector<variant> also_finished;
};

}  // namespace weft

namespace weft::detail {

/// A task's outcome for all_settled: its value, or the exception it threw.
template <class T>
using settled_t = tl::expected<T, std::exception_ptr>;

template <class T>
std::exception_ptr task_failure(promise_base* p) {
  if (p->exception) return p->exception;
  if constexpr (is_result_v<T>) {
    auto& r = *static_cast<task_promise<T>*>(p)->value;
    if (!r) return std::make_exception_ptr(std::system_error(r.error()));
  }
  return nullptr;
}

template <class T>
void bind_slot(fan_slot& slot, fan_out& f, task<T>& t) noexcept {
  slot.owner = &f;
  slot.handle = t.handle();
  slot.promise = &t.handle().promise();
  slot.failure = &task_failure<T>;
}

template <class T>
non_void_t<T> take_value(task<T>& t) {
  if constexpr (std::is_void_v<T>) {
    t.handle().promise().take();
    return {};
  } else {
    return t.handle().promise().take();
  }
}

template <class T>
settled_t<T> take_settled(task<T>& t) {
  auto& p = t.handle().promise();
  if (p.exception) return tl::unexpected(p.exception);
  if constexpr (std::is_void_v<T>) {
    return {};
  } else {
    return std::move(*p.value);
  }
}

[[noreturn]] void throw_all_failed(const fan_out& f);

/// Awaits a fixed set of tasks of possibly different types.
template <fan_mode Mode, class... T>
class fan_tuple {
 public:
  explicit fan_tuple(task<T>... ts) : tasks_(std::move(ts)...) {}
  fan_tuple(fan_tuple&&) = delete;

  bool await_ready() const noexcept { return sizeof...(T) == 0; }
  template <weft_promise P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
    bind(std::index_sequence_for<T...>{});
    fan_.slots = slots_.data();
    fan_.count = sizeof...(T);
    fan_.mode = Mode;
    return fan_.start(h, h.promise().ctx);
  }
  auto await_resume() { return collect(std::index_sequence_for<T...>{}); }

 private:
  template <std::size_t... I>
  void bind(std::index_sequence<I...>) noexcept {
    (bind_slot(slots_[I], fan_, std::get<I>(tasks_)), ...);
  }

  template <std::size_t... I>
  auto collect(std::index_sequence<I...>) {
    if constexpr (Mode == fan_mode::all) {
      if (fan_.chosen >= 0) std::rethrow_exception(slots_[static_cast<std::size_t>(fan_.chosen)].promise->exception);
      return std::tuple<non_void_t<T>...>(take_value(std::get<I>(tasks_))...);
    } else if constexpr (Mode == fan_mode::settled) {
      return std::tuple<settled_t<T>...>(take_settled(std::get<I>(tasks_))...);
    } else {
      if (fan_.chosen < 0) throw_all_failed(fan_);
      using variant = std::variant<non_void_t<T>...>;
      std::vector<variant> also_finished;
      fan_.for_each_finished_anyway([&](std::size_t i) {
        ((i == I ? void(also_finished.emplace_back(std::in_place_index<I>, take_value(std::get<I>(tasks_))))
                 : void()),
         ...);
      });
      std::optional<variant> out;
      // Exactly one I matches the winner; its take_value() rethrows if the winner threw.
      ((static_cast<std::size_t>(fan_.chosen) == I
            ? void(out.emplace(std::in_place_index<I>, take_value(std::get<I>(tasks_))))
            : void()),
       ...);
      return any_variant<T...>(std::move(*out), std::move(also_finished));
    }
  }

  // lifetime: members die in reverse order, so the child frames (whose awaits point at the slots'
  // contexts) go first, then the slots.
  fan_out fan_;
  std::array<fan_slot, sizeof...(T)> slots_{};
  std::tuple<task<T>...> tasks_;
};

/// Awaits a run-time number of tasks of one type.
template <fan_mode Mode, class T>
class fan_range {
 public:
  explicit fan_range(std::vector<task<T>> ts) : slots_(new fan_slot[ts.size()]), tasks_(std::move(ts)) {}
  fan_range(fan_range&&) = delete;

  bool await_ready() const noexcept { return tasks_.empty(); }
  template <weft_promise P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
    for (std::size_t i = 0; i < tasks_.size(); ++i) bind_slot(slots_[i], fan_, tasks_[i]);
    fan_.slots = slots_.get();
    fan_.count = tasks_.size();
    fan_.mode = Mode;
    return fan_.start(h, h.promise().ctx);
  }
  std::ptrdiff_t chosen() const noexcept { return fan_.chosen; }
  std::vector<task<T>>& tasks() noexcept { return tasks_; }
  void await_resume() const noexcept {}
  const fan_out& fan() const noexcept { return fan_; }

 private:
  // lifetime: as in fan_tuple, the child frames die before the slots their awaits point at.
  fan_out fan_;
  std::unique_ptr<fan_slot[]> slots_;
  std::vector<task<T>> tasks_;
};

}  // namespace weft::detail
