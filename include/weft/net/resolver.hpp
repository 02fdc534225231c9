// Name resolution: host names to IP addresses, asynchronously, on the current loop.
//
//     auto addrs = co_await weft::net::resolve("example.com");   // result<std::vector<ip_address>>
//     if (!addrs) { /* errc::host_not_found, errc::timed_out, errc::dns_failure, ... */ }
//
// Queries go through c-ares, driven by the loop's reactor: resolving never blocks the loop (no
// getaddrinfo). /etc/hosts is consulted first, then the DNS servers of /etc/resolv.conf (or those
// given to set_dns_servers). An IP literal ("127.0.0.1", "::1") resolves at once, without a query.
// Answers are cached per loop for their DNS TTL (at most max_cache_ttl; /etc/hosts answers for
// that long).
//
// Cancellation: cancelling the awaiting task, or the timeout, completes resolve() at once with
// errc::operation_canceled / errc::timed_out; the query itself finishes quietly in the background.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "weft/error.hpp"
#include "weft/net/address.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::net {

struct resolve_options {
  enum class family { any, v4, v6 };
  family families = family::any;
  clock::duration timeout = std::chrono::seconds(5);
  bool use_cache = true;
};

/// The longest an answer is cached, whatever its TTL.
inline constexpr clock::duration max_cache_ttl = std::chrono::minutes(5);

/// The addresses of `host`, in the order the resolver gave them, never empty on success.
/// Errors: errc::host_not_found, errc::timed_out, errc::operation_canceled, errc::dns_failure (the
/// servers failed or answered nonsense), errc::invalid_argument (an empty or malformed name).
task<result<std::vector<ip_address>>> resolve(std::string host, resolve_options options = {});

/// Sends this loop's queries to `servers` ("127.0.0.1:5353", comma-separated; "[::1]:53" for IPv6)
/// instead of /etc/resolv.conf's, and empties its cache. For tests and unusual networks.
result<void> set_dns_servers(std::string_view servers);

/// Empties this loop's resolver cache.
void clear_dns_cache() noexcept;

}  // namespace weft::net
