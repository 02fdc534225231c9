// weft's error vocabulary: one enum, one category, one result type.
//
// Expected failures on I/O and wait paths come back as values (`result<T>`), never as exceptions.
// The codes are generated from one table, WEFT_ERRC_MAP, so the enum, the messages and the docs
// cannot drift apart.
#pragma once

#include <exception>
#include <string>
#include <system_error>
#include <type_traits>

#include <tl/expected.hpp>

namespace weft {

// X(name, message)
#define WEFT_ERRC_MAP(X)                                                     \
  X(operation_canceled, "operation canceled")                               \
  X(timed_out, "operation timed out")                                       \
  X(channel_closed, "channel closed")                                       \
  X(not_in_runtime, "called outside a weft runtime")                        \
  X(invalid_argument, "invalid argument")                                   \
  X(end_of_stream, "end of stream")                                         \
  X(operation_in_progress, "another operation of this kind is in progress") \
  X(closed, "the socket or object was closed")                              \
  X(host_not_found, "host not found")                                       \
  X(dns_failure, "DNS lookup failed")                                       \
  X(tls_handshake_failed, "TLS handshake failed")                           \
  X(tls_error, "TLS error")                                                 \
  X(too_large, "more data than the given limit")                           \
  X(bad_response, "the server's response is not valid HTTP")                \
  X(too_many_redirects, "more redirects than allowed")                      \
  X(invalid_request, "the request's method or a header field cannot go into HTTP (not a token, or CR, LF or NUL in a value)")

/// The error codes weft produces itself. Codes from the operating system keep their own category.
enum class errc : int {
  ok = 0,
#define WEFT_ERRC_ENUM(name, message) name,
  WEFT_ERRC_MAP(WEFT_ERRC_ENUM)
#undef WEFT_ERRC_ENUM
};

/// The `std::error_category` of `weft::errc`; its name is "weft".
const std::error_category& error_category() noexcept;

/// Makes a `std::error_code` of weft's category; found by ADL, so `std::error_code ec = errc::timed_out;` works.
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// The outcome of an operation that can fail in an expected way: a `T`, or a `std::error_code`.
///
///     weft::result<void> r = co_await weft::sleep_for(1s);
///     if (!r) std::puts(r.error().message().c_str());   // "operation canceled"
template <class T>
using result = tl::expected<T, std::error_code>;

/// Builds the error side of a `result`: `return weft::fail(errc::timed_out);`.
inline tl::unexpected<std::error_code> fail(std::error_code ec) noexcept { return tl::unexpected(ec); }
inline tl::unexpected<std::error_code> fail(errc e) noexcept { return tl::unexpected(make_error_code(e)); }

/// What an exception says: what() of a std::exception, "unknown exception" for anything else (for
/// reports: the slow-task report, the HTTP server's log of a handler that threw, weft::mpi's remote_error).
std::string exception_message(std::exception_ptr e);

/// True where `T` is some `result<U>`.
template <class T>
inline constexpr bool is_result_v = false;
template <class T>
inline constexpr bool is_result_v<tl::expected<T, std::error_code>> = true;

}  // namespace weft

template <>
struct std::is_error_code_enum<weft::errc> : std::true_type {};
