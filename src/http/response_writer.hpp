// Serializing responses: status line, the server's own headers (Date, Content-Length, Connection)
// and the body, appended to a connection's output buffer.
#pragma once

#include <string>
#include <string_view>

#include "weft/http/message.hpp"

namespace weft::http::detail {

/// The current time as an IMF-fixdate ("Wed, 25 Nov 2026 21:00:00 GMT"), recomputed at most once a
/// second per thread.
std::string_view http_date() noexcept;

/// Appends `r` to `out`. `head_only`: a HEAD request (Content-Length stays, the body is left out).
void write_response(const response& r, bool keep_alive, bool head_only, std::string& out);

/// Appends a short plain-text error response that closes the connection.
void write_error(int status, std::string_view reason, std::string& out);

}  // namespace weft::http::detail
