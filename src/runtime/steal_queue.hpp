// A worker's queue of tasks that have not started yet: the owner pushes and pops, any other worker may
// steal half of it. Bounded (256); a full queue's owner moves half to the runtime's injection queue.
//
// Protocol: `head_` and `tail_` are free-running 32-bit counters. Only the owner writes `tail_` and the
// slots, and it writes slot `tail` only while `tail - head < capacity`. Poppers and thieves read the
// slots first and then claim them with one CAS on `head_`: if the CAS succeeds no one moved `head_`, so
// the owner cannot have reused those slots (it only writes below `head + capacity`), and the values read
// are the ones claimed. A failed CAS discards what was read and retries.
#pragma once

#include <array>
#include <cstdint>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

template <class T>
class steal_queue {
 public:
  static constexpr std::uint32_t capacity = 256;

  /// Owner only. False when full.
  bool push(T* item) noexcept {
    std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) >= capacity) return false;
    slots_[tail & mask].store(item, std::memory_order_relaxed);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  /// Owner only: claims up to `max` of the oldest items into `out` with one CAS; returns how many.
  std::uint32_t pop_batch(T** out, std::uint32_t max) noexcept {
    std::uint32_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      std::uint32_t available = tail_.load(std::memory_order_relaxed) - head;
      std::uint32_t n = available < max ? available : max;
      if (n == 0) return 0;
      for (std::uint32_t i = 0; i < n; ++i) out[i] = slots_[(head + i) & mask].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(head, head + n, std::memory_order_acq_rel, std::memory_order_acquire)) {
        return n;
      }
    }
  }

  /// Owner only: the oldest item, or null.
  T* pop() noexcept {
    std::uint32_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      if (head == tail_.load(std::memory_order_relaxed)) return nullptr;
      T* item = slots_[head & mask].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(head, head + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        return item;
      }
    }
  }

  /// Any thread: claims the older half (rounded up) of the items into `out` (room for capacity / 2 + 1)
  /// and returns how many.
  std::uint32_t steal_half(T** out) noexcept {
    std::uint32_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      std::uint32_t available = tail_.load(std::memory_order_acquire) - head;
      if (available == 0 || available > capacity) {
        if (available == 0) return 0;
        head = head_.load(std::memory_order_acquire);  // read across a wrap: look again
        continue;
      }
      std::uint32_t n = available - available / 2;
      for (std::uint32_t i = 0; i < n; ++i) out[i] = slots_[(head + i) & mask].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(head, head + n, std::memory_order_acq_rel, std::memory_order_acquire)) {
        return n;
      }
    }
  }

  /// Any thread; exact only on the owner's thread.
  std::uint32_t size() const noexcept {
    std::uint32_t head = head_.load(std::memory_order_acquire);  // first: then tail >= head
    return tail_.load(std::memory_order_acquire) - head;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  static constexpr std::uint32_t mask = capacity - 1;

  alignas(64) atomic<std::uint32_t> head_{0};
  alignas(64) atomic<std::uint32_t> tail_{0};
  std::array<atomic<T*>, capacity> slots_{};
};

}  // namespace weft::detail
