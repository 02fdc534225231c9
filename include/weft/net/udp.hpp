// UDP: datagrams to and from endpoints.
//
//     auto sock = weft::net::udp_socket::bind({weft::net::ip_address::loopback_v4(), 0});
//     co_await sock->send_to("ping", peer);                      // result<size_t>
//     char buf[1500];
//     auto got = co_await sock->receive_from(buf);               // result<datagram>: size and sender
//
// A datagram larger than the buffer is truncated (the rest is lost), as with recvfrom. Errors and
// cancellation as for every socket (weft/net/socket.hpp).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>
#include <string_view>

#include "weft/error.hpp"
#include "weft/net/address.hpp"
#include "weft/net/socket.hpp"
#include "weft/time.hpp"

namespace weft::net {

/// One received datagram: how many bytes landed in the buffer, and who sent it.
struct datagram {
  std::size_t size = 0;
  endpoint from;
};

namespace detail {

struct receive_from_op : io_op {
  receive_from_op(io_state* state, std::span<char> buf, clock::duration timeout) noexcept;
  weft::result<datagram> outcome() const noexcept;
  static bool attempt(io_op* op) noexcept;
  char* data;
  std::size_t size;
  sockaddr_storage from{};
};

struct send_to_op : io_op {
  send_to_op(io_state* state, std::string_view data, const endpoint* to) noexcept;
  weft::result<std::size_t> outcome() const noexcept;
  static bool attempt(io_op* op) noexcept;
  std::string_view data;
  sockaddr_storage to{};
  socklen_t to_len = 0;  // 0: the connected peer
};

}  // namespace detail

using receive_from_awaitable = detail::io_awaitable<detail::receive_from_op>;
using send_to_awaitable = detail::io_awaitable<detail::send_to_op>;

class udp_socket : public basic_socket {
 public:
  udp_socket() noexcept = default;

  /// A socket bound to `at` (port 0: the kernel picks one).
  static result<udp_socket> bind(const endpoint& at) noexcept;
  /// Sets the default peer: send() goes there, and only its datagrams are received.
  result<void> connect(const endpoint& peer) noexcept;

  /// Sends one datagram to `to`; returns the bytes sent (all of them, for UDP).
  send_to_awaitable send_to(std::string_view data, const endpoint& to) noexcept { return {io_, data, &to}; }
  /// Sends one datagram to the connected peer.
  send_to_awaitable send(std::string_view data) noexcept { return {io_, data, nullptr}; }
  /// Waits for one datagram (at most `timeout`, zero: no limit).
  receive_from_awaitable receive_from(std::span<char> buf, clock::duration timeout = clock::duration::zero()) noexcept {
    return {io_, buf, timeout};
  }

  result<endpoint> local_endpoint() const noexcept;

 private:
  explicit udp_socket(detail::io_state* io) noexcept : basic_socket(io) {}
};

}  // namespace weft::net
