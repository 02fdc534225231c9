// A hierarchical timing wheel: 6 levels of 64 slots over 1 ms ticks (about 2.2 years of range).
//
// Level L holds the timers whose deadline differs from `elapsed` first in bits [6L, 6L+6). The lowest
// occupied level therefore holds the earliest timers, and a slot at level L > 0 is "cascaded" (its
// timers re-inserted, landing lower) when time reaches the slot's start. Insert and remove are O(1):
// each slot is a circular intrusive list with a sentinel, plus one occupancy bit per slot.
//
// Invariant: every linked entry has tick > elapsed(), except transiently inside advance().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "weft/detail/timer_entry.hpp"

namespace weft::detail {

class timer_wheel {
 public:
  static constexpr int levels = 6;
  static constexpr int slots = 64;
  static constexpr std::uint64_t max_ticks = (std::uint64_t{1} << (6 * levels)) - 1;

  timer_wheel() noexcept;
  timer_wheel(const timer_wheel&) = delete;
  timer_wheel& operator=(const timer_wheel&) = delete;

  /// Links `e`; a deadline at or before elapsed() is moved to the next tick; one past the range waits
  /// at its end and is filed again from there (it never fires early).
  void insert(timer_entry* e) noexcept;
  /// Unlinks `e` if linked.
  void remove(timer_entry* e) noexcept;
  /// The tick at which the next slot needs processing (a firing or a cascade), if any timer is linked.
  std::optional<std::uint64_t> next_expiration() const noexcept;
  /// Moves time to `now` (ticks), calling `fire` for each entry due, in deadline order per slot.
  void advance(std::uint64_t now) noexcept;

  std::uint64_t elapsed() const noexcept { return elapsed_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  struct found {
    int level;
    int slot;
    std::uint64_t deadline;
  };
  std::optional<found> next_slot() const noexcept;
  timer_entry& head(int level, int slot) noexcept { return heads_[level][slot]; }

  std::array<std::array<timer_entry, slots>, levels> heads_;
  std::array<std::uint64_t, levels> occupied_{};
  timer_entry due_;  // sentinel of the slot being fired
  std::uint64_t elapsed_ = 0;
  std::size_t size_ = 0;
};

}  // namespace weft::detail
