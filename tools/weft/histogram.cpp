#include "histogram.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

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
  // The rank as HdrHistogram counts it (the product rounded to nearest), so that weft's percentiles and
  // those any HdrHistogram tool reads from `--hdr-log` agree. (A ceiling here made 99.9% of 3,000 the
  // 2,998th value: 0.999 × 3000 is a hair above 2997 in floating point.)
  double wanted = std::clamp(percent, 0.0, 100.0) / 100.0 * static_cast<double>(count_) + 0.5;
  std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets; ++i) {
    seen += (*counts_)[i];
    if (seen >= rank) return std::min(highest_in(i), max_);
  }
  return max_;
}

namespace {

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

/// ZigZag, then LEB128: HdrHistogram's variable-length count (our counts stay below 2^56, where its
/// nine-byte form and plain LEB128 agree).
void put_zigzag(std::string& out, std::int64_t v) {
  std::uint64_t u = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  while (u >= 0x80) {
    out.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u));
}

std::string base64(std::string_view bytes) {
  static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(digits[(n >> 18) & 63]);
    out.push_back(digits[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? digits[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? digits[n & 63] : '=');
  }
  return out;
}

constexpr std::uint32_t hdr_v2_cookie = 0x1c849303 | 0x10;             // V2, LEB128 counts
constexpr std::uint32_t hdr_v2_compressed_cookie = 0x1c849304 | 0x10;  // the same, deflated

}  // namespace

std::string latency_histogram::hdr_compressed_base64() const {
  // The header, big-endian: cookie, payload length, normalizing index offset, significant digits,
  // lowest discernible value, highest trackable value, integer-to-double ratio. Then the counts up to
  // the highest one recorded, a run of zeros written as its negated length.
  std::string payload;
  std::size_t end = count_ == 0 ? 0 : index_of(max_) + 1;
  for (std::size_t i = 0; i < end;) {
    std::uint64_t n = (*counts_)[i++];
    if (n != 0) {
      put_zigzag(payload, static_cast<std::int64_t>(n));
      continue;
    }
    std::int64_t zeros = 1;
    while (i < end && (*counts_)[i] == 0) ++zeros, ++i;
    put_zigzag(payload, zeros > 1 ? -zeros : 0);
  }
  std::string plain;
  put_be(plain, hdr_v2_cookie, 4);
  put_be(plain, payload.size(), 4);
  put_be(plain, 0, 4);
  put_be(plain, 3, 4);
  put_be(plain, 1, 8);
  put_be(plain, std::uint64_t{1} << top_bit, 8);
  double ratio = 1.0;
  std::uint64_t ratio_bits;
  std::memcpy(&ratio_bits, &ratio, sizeof ratio);
  put_be(plain, ratio_bits, 8);
  plain += payload;

  uLongf packed_size = compressBound(static_cast<uLong>(plain.size()));
  std::vector<Bytef> packed(packed_size);
  compress2(packed.data(), &packed_size, reinterpret_cast<const Bytef*>(plain.data()), static_cast<uLong>(plain.size()),
            Z_DEFAULT_COMPRESSION);
  std::string framed;
  put_be(framed, hdr_v2_compressed_cookie, 4);
  put_be(framed, packed_size, 4);
  framed.append(reinterpret_cast<const char*>(packed.data()), packed_size);
  return base64(framed);
}

std::string latency_histogram::to_bytes() const {
  std::string out;
  std::uint64_t head[4] = {count_, min_, max_, sum_};
  out.append(reinterpret_cast<const char*>(head), sizeof head);
  out.append(reinterpret_cast<const char*>(counts_->data()), sizeof(*counts_));
  return out;
}

bool latency_histogram::merge_bytes(std::string_view bytes) {
  std::uint64_t head[4];
  static_assert(byte_size() == sizeof head + sizeof(std::array<std::uint64_t, buckets>));
  if (bytes.size() != byte_size()) return false;
  std::memcpy(head, bytes.data(), sizeof head);
  latency_histogram other;
  std::memcpy(other.counts_->data(), bytes.data() + sizeof head, sizeof(*counts_));
  other.count_ = head[0];
  other.min_ = head[1];
  other.max_ = head[2];
  other.sum_ = head[3];
  merge(other);
  return true;
}

}  // namespace weft::tool
