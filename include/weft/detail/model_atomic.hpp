// The model build's weft::detail::atomic<T>, mutex, condition_variable, thread and cell<T> (see
// weft/detail/atomic.hpp, which includes this header only when WEFT_MODEL_CHECK=1; elsewhere it is empty).
//
// Each operation first stops at a scheduling point (hook::step), where the checker may run other
// threads, and then happens at once: no other thread runs until the next scheduling point. By default
// every atomic operation is sequentially consistent in value, and its memory order decides only which
// happens-before edges it creates (hook::load/store/read_modify_write), and so which cell<T> accesses
// are races. Under options::weak_memory a load may read an older store (hook::weak_load: the engine
// keeps the last few stores of each atomic of up to 8 bytes). Not modelled: spurious failures of
// compare_exchange_weak, spurious wake-ups of wait() and condition_variable::wait().
#pragma once

#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <climits>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <utility>

#include "weft/detail/model.hpp"

namespace weft::detail {

inline constexpr bool model_build = true;

template <class T>
class atomic {
  static_assert(std::is_trivially_copyable_v<T>, "atomic<T> needs a trivially copyable T");

 public:
  constexpr atomic() noexcept : value_{} {}
  constexpr atomic(T value) noexcept : value_(value) {}  // implicit, as std::atomic's
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;
  ~atomic() { model::hook::destroyed(sync_); }  // an access after this fails the run (a use after free)

  T load(std::memory_order order = std::memory_order_seq_cst) const noexcept {
    model::hook::step("load", this);
    unsigned age = model::hook::weak_load(sync_, order);
    if (age == 0) return value_;
    return from_bits(sync_.history->at_age(age).bits);
  }
  void store(T value, std::memory_order order = std::memory_order_seq_cst) noexcept {
    model::hook::step("store", this);
    model::hook::store(sync_, order, kept, bits(value_), bits(value));
    value_ = value;
  }
  T exchange(T value, std::memory_order order = std::memory_order_seq_cst) noexcept {
    model::hook::step("exchange", this);
    model::hook::read_modify_write(sync_, order, kept, bits(value_), bits(value));
    return std::exchange(value_, value);
  }

  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure) noexcept {
    model::hook::step("compare_exchange", this);
    if (std::memcmp(&value_, &expected, sizeof(T)) == 0) {
      model::hook::read_modify_write(sync_, success, kept, bits(value_), bits(desired));
      value_ = desired;
      return true;
    }
    model::hook::load(sync_, failure);
    expected = value_;
    return false;
  }
  bool compare_exchange_strong(T& expected, T desired,
                               std::memory_order order = std::memory_order_seq_cst) noexcept {
    return compare_exchange_strong(expected, desired, order, failure_order(order));
  }
  // Never fails spuriously here: the retry loops around it are explored through the values instead.
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order failure) noexcept {
    return compare_exchange_strong(expected, desired, success, failure);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order order = std::memory_order_seq_cst) noexcept {
    return compare_exchange_strong(expected, desired, order, failure_order(order));
  }

  T fetch_add(T v, std::memory_order order = std::memory_order_seq_cst) noexcept
    requires std::is_integral_v<T>
  {
    return modify("fetch_add", order, [v](T x) { return static_cast<T>(x + v); });
  }
  T fetch_sub(T v, std::memory_order order = std::memory_order_seq_cst) noexcept
    requires std::is_integral_v<T>
  {
    return modify("fetch_sub", order, [v](T x) { return static_cast<T>(x - v); });
  }
  T fetch_or(T v, std::memory_order order = std::memory_order_seq_cst) noexcept
    requires std::is_integral_v<T>
  {
    return modify("fetch_or", order, [v](T x) { return static_cast<T>(x | v); });
  }
  T fetch_and(T v, std::memory_order order = std::memory_order_seq_cst) noexcept
    requires std::is_integral_v<T>
  {
    return modify("fetch_and", order, [v](T x) { return static_cast<T>(x & v); });
  }

  /// Blocks while the value equals `old` (a futex wait: the compare and the sleep are one step); only a
  /// notify wakes it, so a change without a notify is found as a deadlock.
  void wait(T old, std::memory_order order = std::memory_order_seq_cst) const noexcept {
    model::hook::step("wait", this);
    for (;;) {
      model::hook::load(sync_, order);
      if (std::memcmp(&value_, &old, sizeof(T)) != 0) return;
      model::hook::block_on(this, "atomic wait");
    }
  }
  void notify_one() noexcept {
    model::hook::step("notify_one", this);
    model::hook::wake(this, false);
  }
  void notify_all() noexcept {
    model::hook::step("notify_all", this);
    model::hook::wake(this, true);
  }

  operator T() const noexcept { return load(); }  // implicit, as std::atomic's
  T operator=(T value) noexcept {
    store(value);
    return value;
  }

 private:
  static constexpr std::memory_order failure_order(std::memory_order o) noexcept {
    if (o == std::memory_order_acq_rel) return std::memory_order_acquire;
    if (o == std::memory_order_release) return std::memory_order_relaxed;
    return o;
  }
  template <class F>
  T modify(const char* op, std::memory_order order, F f) noexcept {
    model::hook::step(op, this);
    T next = f(value_);
    model::hook::read_modify_write(sync_, order, kept, bits(value_), bits(next));
    return std::exchange(value_, next);
  }
  // Atomics of up to 8 bytes keep their older stores for weak memory (model.hpp, store_history).
  static constexpr bool kept = sizeof(T) <= sizeof(std::uint64_t);
  static std::uint64_t bits(const T& v) noexcept {
    std::uint64_t b = 0;
    if constexpr (kept) std::memcpy(&b, &v, sizeof(T));
    return b;
  }
  static T from_bits(std::uint64_t b) noexcept {
    std::array<unsigned char, sizeof(T)> raw{};
    if constexpr (kept) std::memcpy(raw.data(), &b, sizeof(T));
    return std::bit_cast<T>(raw);
  }

  T value_;
  mutable model::sync_state sync_;
};

inline void atomic_thread_fence(std::memory_order order) noexcept {
  model::hook::step("fence", nullptr);
  model::hook::fence(order);
}

inline void invariant(bool ok, const char* what) noexcept { model::require(ok, what); }

inline void cpu_relax() noexcept { model::yield_now(); }
inline void thread_yield() noexcept { model::yield_now(); }

class mutex {
 public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  ~mutex() { model::hook::destroyed(state_.sync); }

  void lock() noexcept { model::hook::lock(state_); }
  bool try_lock() noexcept { return model::hook::try_lock(state_); }
  void unlock() noexcept { model::hook::unlock(state_); }

 private:
  friend class condition_variable;
  model::lock_state state_;
};

/// Waits with its mutex released. notify_one wakes the lowest-numbered waiting thread (which one is not
/// explored).
class condition_variable {
 public:
  void wait(std::unique_lock<mutex>& lock) noexcept { model::hook::wait(this, lock.mutex()->state_); }
  template <class Predicate>
  void wait(std::unique_lock<mutex>& lock, Predicate ready) {
    while (!ready()) wait(lock);
  }
  /// Waits until `ready()` or until the model clock has moved on by `d` (hook::wait_until).
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::unique_lock<mutex>& lock, std::chrono::duration<Rep, Period> d, Predicate ready) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    std::int64_t now = model::hook::now_ns();
    std::int64_t deadline = ns > INT64_MAX - now ? INT64_MAX : now + ns;
    while (!ready()) {
      if (!model::hook::wait_until(this, lock.mutex()->state_, deadline)) return ready();
    }
    return true;
  }
  void notify_one() noexcept {
    model::hook::step("notify_one", this);
    model::hook::wake(this, false);
  }
  void notify_all() noexcept {
    model::hook::step("notify_all", this);
    model::hook::wake(this, true);
  }
};

using thread = model::thread;

template <class Tag, class T>
class per_thread {
 public:
  static T& get() noexcept {
    // Slot 0: outside the model's threads. A slot last used by another thread (of this run or an
    // earlier one, which may have been cut short) starts afresh.
    auto t = static_cast<std::size_t>(model::hook::current_thread() + 1);
    std::uint64_t serial = model::hook::thread_serial();
    if (serials_[t] != serial) {
      values_[t] = T{};
      serials_[t] = serial;
    }
    return values_[t];
  }

 private:
  static inline std::array<T, model::max_threads + 1> values_{};
  static inline std::array<std::uint64_t, model::max_threads + 1> serials_{};
};

inline std::chrono::steady_clock::time_point steady_clock_now() noexcept {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(model::hook::now_ns()));
}

template <class T>
class cell {
 public:
  constexpr cell() = default;
  constexpr explicit cell(T value) : value_(std::move(value)) {}
  ~cell() { model::hook::destroyed(state_); }

  T get() const {
    model::hook::cell_read(state_);
    return value_;
  }
  void set(T value) {
    model::hook::cell_write(state_);
    value_ = std::move(value);
  }
  template <class F>
  decltype(auto) with(F&& f) const {
    model::hook::cell_read(state_);
    return std::forward<F>(f)(static_cast<const T&>(value_));
  }
  template <class F>
  decltype(auto) with_mut(F&& f) {
    model::hook::cell_write(state_);
    return std::forward<F>(f)(value_);
  }

 private:
  T value_{};
  mutable model::cell_state state_;
};

}  // namespace weft::detail

#endif
