// owned_counter: a counter that one thread writes and any thread reads (metrics). The writer adds with
// a plain load and store, not an atomic read-modify-write: no lock prefix, and the cache line stays
// with its owner until a reader looks. Readers see a value from a moment ago, never a torn one.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "weft/detail/atomic.hpp"
#include "weft/metrics.hpp"

namespace weft::detail {

class owned_counter {
 public:
  /// The owning thread only.
  void add(std::uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  /// The owning thread only: for a depth or a size, not a count.
  void set(std::uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  /// Any thread.
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  metric_atomic<std::uint64_t> v_{0};
};

/// A duration_histogram that one thread records into and any thread snapshots.
class owned_histogram {
 public:
  void record(std::chrono::nanoseconds d) noexcept {
    counts_[duration_histogram::bucket_of(d)].add();
    sum_ns_.add(static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count()));
  }
  /// Adds this histogram's counts to `into`.
  void read(duration_histogram& into) const noexcept {
    for (std::size_t i = 0; i < duration_histogram::buckets; ++i) into.counts[i] += counts_[i].get();
    into.sum += std::chrono::nanoseconds(static_cast<std::int64_t>(sum_ns_.get()));
  }

 private:
  std::array<owned_counter, duration_histogram::buckets> counts_;
  owned_counter sum_ns_;
};

}  // namespace weft::detail
