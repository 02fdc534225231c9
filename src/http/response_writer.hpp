// Serializing responses: status line, the server's own headers (Date, Content-Length, Connection)
// and the body, appended to a connection's output buffer.
#pragma once

#include <string>
#include <string_view>

#include "weft/http/message.hpp"

namespace weft::http::detail {

/// The header line "Date: <IMF-fixdate>\r\n" for now ("Date: Wed, 25 Nov 2026 21:00:00 GMT\r\n"),
/// recomputed at most once a second per thread.
std::string_view date_line() noexcept;

/// 1xx, 204 and 304 responses never carry a body.
inline bool status_has_body(int status) noexcept { return status >= 200 && status != 204 && status != 304; }

/// Appends `r` to `out`. `head_only`: a HEAD request (Content-Length stays, the body is left out).
/// For a streamed response (r.stream set) only the head is appended; returns true if the body must
/// then be sent chunked.
bool write_response(const response& r, bool keep_alive, bool head_only, std::string& out);

/// Appends a short plain-text error response that closes the connection.
void write_error(int status, std::string_view reason, std::string& out);

}  // namespace weft::http::detail
