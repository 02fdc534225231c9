// A latency histogram in HdrHistogram's manner: counts in buckets whose width grows with the value, so
// any value from 1 µs to days is kept within 0.1% in a fixed 256 KiB, recording is an index and an
// increment, and histograms from several threads merge by adding counts.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace weft::tool {

class latency_histogram {
 public:
  latency_histogram();

  /// Counts one value (in microseconds: the unit is the caller's; values past 2^40 count as 2^40).
  void record(std::uint64_t value) noexcept;
  /// Adds every count of `other` to this one.
  void merge(const latency_histogram& other) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  /// The value at or below which `percent` % of the recorded values lie (0 when nothing was recorded),
  /// as the highest value of its bucket, and never above max(): the value of rank round(percent × count
  /// / 100), at least 1, as HdrHistogram ranks it.
  std::uint64_t percentile(double percent) const noexcept;

  /// This histogram in HdrHistogram's V2 compressed encoding, in Base64: what a histogram log's interval
  /// line carries. The buckets are HdrHistogram's own for 3 significant digits and a lowest
  /// discernible value of 1, so any HdrHistogram library decodes the same counts.
  std::string hdr_compressed_base64() const;
  /// Every count and statistic, as bytes for another process (another MPI rank) ...
  std::string to_bytes() const;
  /// ... as many as this ...
  static constexpr std::size_t byte_size() noexcept { return 4 * sizeof(std::uint64_t) + buckets * sizeof(std::uint64_t); }
  /// ... which merges them into its own; false if `bytes` is not what to_bytes wrote.
  bool merge_bytes(std::string_view bytes);

 private:
  // Values below 2048 count exactly; above, each power of two is split into 1024 buckets.
  static constexpr int exact_bits = 11;
  static constexpr int top_bit = 40;
  static constexpr std::size_t buckets = (1u << exact_bits) + (top_bit - exact_bits + 1) * (1u << (exact_bits - 1));

  static std::size_t index_of(std::uint64_t value) noexcept;
  static std::uint64_t highest_in(std::size_t index) noexcept;

  std::unique_ptr<std::array<std::uint64_t, buckets>> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
};

}  // namespace weft::tool
