// JSON as text, for what the tool serves and prints.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace weft::tool {

/// `j` as JSON text (`indent` < 0: on one line). Bytes that are not UTF-8 (a %ff in a query string,
/// obs-text in a header value) become U+FFFD, as httpbin's do: nlohmann's plain dump() throws on them.
inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace weft::tool
