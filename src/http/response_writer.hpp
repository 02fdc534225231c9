// Serializing responses: status line, the server's own headers (Date, Content-Length, Connection)
// and the body, appended to a connection's output buffer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "weft/http/message.hpp"

namespace weft::http::detail {

/// The header line "Date: <IMF-fixdate>\r\n" for now ("Date: Wed, 25 Nov 2026 21:00:00 GMT\r\n"),
/// recomputed at most once a second per thread.
std::string_view date_line() noexcept;

/// 1xx, 204 and 304 responses never carry a body.
inline bool status_has_body(int status) noexcept { return status >= 200 && status != 204 && status != 304; }

/// Why `r` cannot go out as the handler built it, or null: a field name that is not a token, a name or
/// value holding CR, LF or NUL (response splitting), a Content-Length that is not a decimal number, a
/// status that is not a final one (a 1xx, or outside 200 to 999).
const char* response_problem(const response& r) noexcept;

/// The Content-Length a handler set to frame a streamed body, if any (response_problem checked it).
std::optional<std::size_t> declared_length(const response& r) noexcept;

/// Appends `r` to `out`. The server owns the framing: the handler's Connection and Transfer-Encoding
/// are dropped, and its Content-Length is replaced by the body's, kept only where it frames a streamed
/// body or a HEAD response without one. `head_only`: a HEAD request (the body is left out). For a
/// streamed response (r.stream set) only the head is appended; returns true if the body must then be
/// sent chunked. `http10`: the request was HTTP/1.0, which must not get chunked (RFC 9112 §6.1): a
/// streamed body without a length is then sent as it comes, and the connection closes after it
/// (`keep_alive` false). `body_apart`: the head only, framed for r.body, which the caller sends itself
/// (a large body goes out from the response, never copied).
bool write_response(const response& r, bool keep_alive, bool head_only, bool http10, std::string& out,
                    bool body_apart = false);

/// Appends a short plain-text error response that closes the connection.
void write_error(int status, std::string_view reason, std::string& out);

}  // namespace weft::http::detail
