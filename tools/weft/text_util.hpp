// Small text codecs the httpbin endpoints need: query strings, base64, header-name casing, cookies.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::tool {

using pairs = std::vector<std::pair<std::string, std::string>>;

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`); malformed escapes stay as they are.
std::string percent_decode(std::string_view s, bool plus_is_space = true);
/// "a=1&b=2&a=3" into ordered pairs, decoded; empty parts are skipped, "a" alone gives {"a", ""}.
pairs parse_query(std::string_view query);
/// "a=1; b=2" into ordered pairs.
pairs parse_cookies(std::string_view header);
/// Werkzeug's spelling of a header name: "request-id" → "Request-Id", "x-b3-traceid" → "X-B3-Traceid".
std::string title_case(std::string_view name);

std::string base64_encode(std::string_view bytes);
/// Standard or URL-safe alphabet, padding optional; nullopt if malformed.
std::optional<std::string> base64_decode(std::string_view text);

/// True if `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s) noexcept;

/// zlib-compresses `data`: `gzip` selects the gzip wrapper, otherwise the zlib one ("deflate" in HTTP).
std::string compress(std::string_view data, bool gzip);

}  // namespace weft::tool
