// The HTTP server's metrics in the Prometheus text format: weft_http_server_* families.
#include <string>

#include "weft/http/server.hpp"

namespace weft::http {

std::string_view rejection_name(rejection r) noexcept {
  switch (r) {
    case rejection::bad_request: return "bad_request";
    case rejection::uri_too_long: return "uri_too_long";
    case rejection::headers_too_large: return "headers_too_large";
    case rejection::body_too_large: return "body_too_large";
    case rejection::request_timeout: return "request_timeout";
    case rejection::too_many_connections: return "too_many_connections";
    case rejection::handler_timeout: return "handler_timeout";
  }
  return "unknown";
}

std::uint64_t server_metrics::responses_total() const noexcept {
  std::uint64_t n = 0;
  for (std::uint64_t r : responses) n += r;
  return n;
}

void append_prometheus(std::string& out, const server_metrics& m) {
  out.append(
      "# HELP weft_http_server_connections_accepted_total Connections accepted.\n"
      "# TYPE weft_http_server_connections_accepted_total counter\n");
  out.append("weft_http_server_connections_accepted_total ").append(std::to_string(m.connections_accepted)).append("\n");
  out.append(
      "# HELP weft_http_server_abandoned_total Requests whose client left while their handler waited (cancelled, unanswered).\n"
      "# TYPE weft_http_server_abandoned_total counter\n");
  out.append("weft_http_server_abandoned_total ").append(std::to_string(m.abandoned)).append("\n");
  out.append(
      "# HELP weft_http_server_connections_open Connections open now.\n"
      "# TYPE weft_http_server_connections_open gauge\n");
  out.append("weft_http_server_connections_open ").append(std::to_string(m.connections_open)).append("\n");
  out.append(
      "# HELP weft_http_server_responses_total Responses written, by status class.\n"
      "# TYPE weft_http_server_responses_total counter\n");
  for (std::size_t i = 0; i < m.responses.size(); ++i) {
    out.append("weft_http_server_responses_total{class=\"").append(std::to_string(i + 1)).append("xx\"} ");
    out.append(std::to_string(m.responses[i])).append("\n");
  }
  out.append(
      "# HELP weft_http_server_rejections_total Requests and connections the server refused itself, by reason.\n"
      "# TYPE weft_http_server_rejections_total counter\n");
  for (std::size_t i = 0; i < rejection_count; ++i) {
    out.append("weft_http_server_rejections_total{reason=\"").append(rejection_name(static_cast<rejection>(i)));
    out.append("\"} ").append(std::to_string(m.rejected[i])).append("\n");
  }
  append_prometheus_histogram(out, "weft_http_server_request_duration_seconds",
                              "From a request's head arriving to its response being written.", m.latency);
}

}  // namespace weft::http
