// The atomics, locks and threads that weft's cross-thread protocols use, behind thin names so that a
// model-checking build can run each protocol under a controlled scheduler (tests/model/, `make model`).
//
// - Normal build: atomic<T> is std::atomic<T>, mutex is std::mutex, and so on; cell<T> is a plain T
//   behind get()/set()/with()/with_mut(). Nothing costs more than the standard type it names.
// - WEFT_MODEL_CHECK=1: the same names come from weft/detail/model_atomic.hpp and report every operation
//   to the checker (weft/detail/model.hpp): each is a scheduling point, and each access to a cell<T> is
//   checked against the happens-before the atomics and locks establish.
//
// A protocol's plain fields that other threads touch (the ones a lock or an acquire/release pair is
// meant to protect) belong in cell<T>: then the model build reports a data race where the protection
// is missing. A spin loop calls cpu_relax(), which in the model build lets the other threads run first.
#pragma once

#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK

#include "weft/detail/model_atomic.hpp"

#else

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

namespace weft::detail {

/// True in the model build (make model). For the few places where a loop must take a shorter path
/// there to be checkable, each says why; never to change what the code does.
inline constexpr bool model_build = false;

template <class T>
using atomic = std::atomic<T>;
using mutex = std::mutex;
using condition_variable = std::condition_variable;
using thread = std::thread;

inline void atomic_thread_fence(std::memory_order order) noexcept { std::atomic_thread_fence(order); }

/// A spin-wait hint: tells the core a spin loop is running (and, in the model build, lets others run).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/// A property of a protocol that the model build checks in every run it explores (model::require);
/// nothing here. For the invariants only a whole runtime can break: counts that must come back to zero.
inline void invariant(bool, const char*) noexcept {}

/// Gives up the CPU (std::this_thread::yield); a scheduling point in the model build. (Not
/// weft::yield_now, the awaitable that lets other tasks of the loop run.)
inline void thread_yield() noexcept { std::this_thread::yield(); }

/// One T per thread, value-initialised: a thread_local behind an accessor, per_thread<Tag, T>::get()
/// (Tag names the variable). In the model build, one per model thread, fresh for each thread of each
/// run: its threads are fibers on one OS thread, which would share a thread_local.
template <class Tag, class T>
class per_thread {
 public:
  static T& get() noexcept { return value_; }

 private:
  static inline thread_local T value_{};
};

/// std::chrono::steady_clock::now(). In the model build, the checker's clock (model.hpp, hook::now_ns),
/// so that what the runtime does by the clock replays with the schedule.
inline std::chrono::steady_clock::time_point steady_clock_now() noexcept { return std::chrono::steady_clock::now(); }

/// A plain field shared between threads under some protocol (a lock, a release/acquire pair). Reads
/// and writes go through get()/set() or with()/with_mut(), which the model build checks for races.
template <class T>
class cell {
 public:
  constexpr cell() = default;
  constexpr explicit cell(T value) : value_(std::move(value)) {}

  T get() const { return value_; }
  void set(T value) { value_ = std::move(value); }
  /// Calls f(const T&): a read.
  template <class F>
  decltype(auto) with(F&& f) const {
    return std::forward<F>(f)(value_);
  }
  /// Calls f(T&): a read and a write.
  template <class F>
  decltype(auto) with_mut(F&& f) {
    return std::forward<F>(f)(value_);
  }

 private:
  T value_{};
};

}  // namespace weft::detail

#endif

namespace weft::detail {

/// An atomic that only counts or samples, for the metrics and runtime::live_tasks(): written by the
/// thread that owns it, read by whoever asks, never part of a protocol between threads. It is a
/// std::atomic in every build; the model build leaves it out of its search (its operations are not
/// scheduling points: they commute with everything a model checks, and would multiply the schedules to
/// search by their number; a run of a whole runtime does some hundred of them).
template <class T>
using metric_atomic = std::atomic<T>;
/// A fence between metric_atomic operations only (a sequence lock's).
inline void metric_fence(std::memory_order order) noexcept { std::atomic_thread_fence(order); }

}  // namespace weft::detail
