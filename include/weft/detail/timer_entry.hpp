// A node of the timer wheel, embedded in the awaitable that waits on it: arming a timer allocates nothing.
#pragma once

#include <cstdint>

namespace weft::detail {

struct timer_entry {
  timer_entry* next = nullptr;
  timer_entry* prev = nullptr;
  std::uint64_t tick = 0;  // deadline, in wheel ticks
  void (*fire)(timer_entry* self) noexcept = nullptr;
  std::uint8_t level = 0;
  std::uint8_t slot = 0;

  bool linked() const noexcept { return next != nullptr; }
};

}  // namespace weft::detail
