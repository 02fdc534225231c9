#include "weft/net/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "net/sockaddr.hpp"

namespace weft::net {

result<ip_address> ip_address::parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return fail(errc::invalid_argument);
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::uint8_t, 16> bytes{};
  if (inet_pton(AF_INET, buf, bytes.data()) == 1) return v4(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (inet_pton(AF_INET6, buf, bytes.data()) == 1) return v6(bytes);
  return fail(errc::invalid_argument);
}

bool ip_address::is_loopback() const noexcept {
  if (is_v4()) return bytes_[0] == 127;
  return *this == loopback_v6();
}

std::string ip_address::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

result<endpoint> endpoint::parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(errc::invalid_argument);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail(errc::invalid_argument);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return fail(errc::invalid_argument);  // bare IPv6
  }
  auto ip = ip_address::parse(host);
  if (!ip) return fail(ip.error());
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return fail(errc::invalid_argument);
  }
  return endpoint{*ip, static_cast<std::uint16_t>(value)};
}

std::string endpoint::to_string() const {
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

namespace detail {

socklen_t to_sockaddr(const endpoint& ep, sockaddr_storage& out) noexcept {
  std::memset(&out, 0, sizeof out);
  if (ep.address.is_v4()) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&out);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(ep.port);
    std::memcpy(&sa->sin_addr, ep.address.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sa = reinterpret_cast<sockaddr_in6*>(&out);
  sa->sin6_family = AF_INET6;
  sa->sin6_port = htons(ep.port);
  std::memcpy(&sa->sin6_addr, ep.address.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

endpoint from_sockaddr(const sockaddr_storage& in) noexcept {
  endpoint ep;
  if (in.ss_family == AF_INET) {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(&in);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&sa->sin_addr);
    ep.address = ip_address::v4(b[0], b[1], b[2], b[3]);
    ep.port = ntohs(sa->sin_port);
  } else if (in.ss_family == AF_INET6) {
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(&in);
    std::array<std::uint8_t, 16> b{};
    std::memcpy(b.data(), &sa->sin6_addr, 16);
    ep.address = ip_address::v6(b);
    ep.port = ntohs(sa->sin6_port);
  }
  return ep;
}

}  // namespace detail
}  // namespace weft::net
