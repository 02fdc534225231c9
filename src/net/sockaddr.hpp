// Conversions between weft's endpoints and the kernel's socket addresses.
#pragma once

#include <sys/socket.h>

#include "weft/net/address.hpp"

namespace weft::net::detail {

/// Fills `out` from `ep`; returns the length to pass to bind/connect.
socklen_t to_sockaddr(const endpoint& ep, sockaddr_storage& out) noexcept;
endpoint from_sockaddr(const sockaddr_storage& in) noexcept;

}  // namespace weft::net::detail
