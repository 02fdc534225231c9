#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace weft::tool {

namespace {
constexpr std::uint64_t half = 1u << 10;  // buckets per power of two above the exact range
}

latency_histogram::latency_histogram() : counts_(std::make_unique<std::array<std::uint64_t, buckets>>()) {}

std::size_t latency_histogram::index_of(std::uint64_t value) noexcept {
  value = std::min<std::uint64_t>(value, std::uint64_t{1} << top_bit);
  if (value < (1u << exact_bits)) return static_cast<std::size_t>(value);
  int shift = static_cast<int>(std::bit_width(value)) - exact_bits;  // keeps the value's top 11 bits: [1024, 2047] << shift
  std::uint64_t top = value >> shift;
  return static_cast<std::size_t>((1u << exact_bits) + (shift - 1) * half + (top - half));
}

std::uint64_t latency_histogram::highest_in(std::size_t index) noexcept {
  if (index < (1u << exact_bits)) return index;
  std::size_t above = index - (1u << exact_bits);
  int shift = static_cast<int>(above / half) + 1;
  std::uint64_t top = above % half + half;
  return ((top + 1) << shift) - 1;
}

void latency_histogram::record(std::uint64_t value) noexcept {
  ++(*counts_)[index_of(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (std::size_t i = 0; i < buckets; ++i) (*counts_)[i] += (*other.counts_)[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

std::uint64_t latency_histogram::percentile(double percent) const noexcept {
  if (count_ == 0) return 0;
  double wanted = std::ceil(std::clamp(percent, 0.0, 100.0) / 100.0 * static_cast<double>(count_));
  std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets; ++i) {
    seen += (*counts_)[i];
    if (seen >= rank) return std::min(highest_in(i), max_);
  }
  return max_;
}

}  // namespace weft::tool
