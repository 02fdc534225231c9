#include "time/timer_wheel.hpp"

#include <bit>

namespace weft::detail {
namespace {

int level_for(std::uint64_t elapsed, std::uint64_t when) noexcept {
  std::uint64_t masked = (elapsed ^ when) | (timer_wheel::slots - 1);
  if (masked > timer_wheel::max_ticks) masked = timer_wheel::max_ticks;
  return (63 - std::countl_zero(masked)) / 6;
}

int slot_for(std::uint64_t when, int level) noexcept {
  return static_cast<int>((when >> (6 * level)) & (timer_wheel::slots - 1));
}

}  // namespace

timer_wheel::timer_wheel() noexcept {
  for (auto& level : heads_) {
    for (auto& h : level) h.next = h.prev = &h;
  }
  due_.next = due_.prev = &due_;
}

void timer_wheel::insert(timer_entry* e) noexcept {
  if (e->tick <= elapsed_) e->tick = elapsed_ + 1;
  // A deadline past the wheel's range is filed at the range's end, keeping its own tick: when that
  // slot comes up, advance() finds it not due and files it again, further on. It never fires early.
  std::uint64_t at = e->tick - elapsed_ > max_ticks ? elapsed_ + max_ticks : e->tick;
  int level = level_for(elapsed_, at);
  int slot = slot_for(at, level);
  timer_entry& h = head(level, slot);
  e->level = static_cast<std::uint8_t>(level);
  e->slot = static_cast<std::uint8_t>(slot);
  e->prev = h.prev;
  e->next = &h;
  h.prev->next = e;
  h.prev = e;
  occupied_[level] |= std::uint64_t{1} << slot;
  ++size_;
}

void timer_wheel::remove(timer_entry* e) noexcept {
  if (!e->linked()) return;
  e->prev->next = e->next;
  e->next->prev = e->prev;
  e->next = e->prev = nullptr;
  // An entry popped into `due_` keeps its level and slot; clearing an empty slot's bit is harmless.
  timer_entry& h = head(e->level, e->slot);
  if (h.next == &h) occupied_[e->level] &= ~(std::uint64_t{1} << e->slot);
  --size_;
}

std::optional<timer_wheel::found> timer_wheel::next_slot() const noexcept {
  for (int level = 0; level < levels; ++level) {
    std::uint64_t occ = occupied_[level];
    if (occ == 0) continue;
    int now_slot = slot_for(elapsed_, level);
    int slot = (now_slot + std::countr_zero(std::rotr(occ, now_slot))) & (slots - 1);
    std::uint64_t slot_range = std::uint64_t{1} << (6 * level);
    std::uint64_t level_range = slot_range << 6;
    std::uint64_t deadline = (elapsed_ & ~(level_range - 1)) + static_cast<std::uint64_t>(slot) * slot_range;
    // A clamped far deadline can sit "behind" the current slot: it belongs to the next rotation.
    if (deadline < elapsed_) deadline += level_range;
    return found{level, slot, deadline};
  }
  return std::nullopt;
}

std::optional<std::uint64_t> timer_wheel::next_expiration() const noexcept {
  if (auto f = next_slot()) return f->deadline;
  return std::nullopt;
}

void timer_wheel::advance(std::uint64_t now) noexcept {
  while (auto f = next_slot()) {
    if (f->deadline > now) break;
    elapsed_ = f->deadline;
    // Move the slot's entries to `due_` and pop them one by one: firing one may remove another
    // (a timeout cancelling a sleep due in the same slot), and remove() works on `due_` as on any slot.
    timer_entry& h = head(f->level, f->slot);
    due_.next = h.next;
    due_.prev = h.prev;
    due_.next->prev = &due_;
    due_.prev->next = &due_;
    h.next = h.prev = &h;
    occupied_[f->level] &= ~(std::uint64_t{1} << f->slot);
    while (due_.next != &due_) {
      timer_entry* e = due_.next;
      due_.next = e->next;
      e->next->prev = &due_;
      e->next = e->prev = nullptr;
      --size_;
      if (e->tick <= elapsed_) {
        e->fire(e);
      } else {
        insert(e);
      }
    }
  }
  if (now > elapsed_) elapsed_ = now;
}

}  // namespace weft::detail
