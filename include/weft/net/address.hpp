// IP addresses and endpoints (address + port).
//
//     auto ep = weft::net::endpoint::parse("127.0.0.1:8080");        // result<endpoint>
//     auto v6 = weft::net::endpoint::parse("[::1]:443");
//     weft::net::endpoint any{weft::net::ip_address::any_v4(), 0};  // port 0: the kernel picks one
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/error.hpp"

namespace weft::net {

/// An IPv4 or IPv6 address, held by value (no allocation).
class ip_address {
 public:
  enum class family : std::uint8_t { v4, v6 };

  /// 0.0.0.0.
  constexpr ip_address() noexcept = default;
  static constexpr ip_address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept {
    ip_address ip;
    ip.bytes_ = {a, b, c, d};
    return ip;
  }
  /// From 16 bytes in network order.
  static constexpr ip_address v6(const std::array<std::uint8_t, 16>& bytes) noexcept {
    ip_address ip;
    ip.family_ = family::v6;
    ip.bytes_ = bytes;
    return ip;
  }
  static constexpr ip_address loopback_v4() noexcept { return v4(127, 0, 0, 1); }
  static constexpr ip_address any_v4() noexcept { return {}; }
  static constexpr ip_address loopback_v6() noexcept {
    std::array<std::uint8_t, 16> b{};
    b[15] = 1;
    return v6(b);
  }
  static constexpr ip_address any_v6() noexcept { return v6({}); }

  /// Parses dotted IPv4 ("10.0.0.1") or IPv6 ("::1", "fe80::1"); errc::invalid_argument otherwise.
  static result<ip_address> parse(std::string_view text);

  family kind() const noexcept { return family_; }
  bool is_v4() const noexcept { return family_ == family::v4; }
  bool is_v6() const noexcept { return family_ == family::v6; }
  bool is_loopback() const noexcept;
  /// Network-order bytes: the first 4 for IPv4, all 16 for IPv6.
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  std::string to_string() const;

  friend bool operator==(const ip_address&, const ip_address&) = default;

 private:
  family family_ = family::v4;
  std::array<std::uint8_t, 16> bytes_{};
};

/// An address and a port.
struct endpoint {
  ip_address address;
  std::uint16_t port = 0;

  /// "1.2.3.4:80" or "[::1]:80"; errc::invalid_argument otherwise.
  static result<endpoint> parse(std::string_view text);
  /// "1.2.3.4:80" or "[::1]:80".
  std::string to_string() const;

  friend bool operator==(const endpoint&, const endpoint&) = default;
};

}  // namespace weft::net
