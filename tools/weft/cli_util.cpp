#include "cli_util.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <weft/error.hpp>

namespace weft::tool {

clock::duration seconds(double s) {
  return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

std::optional<clock::duration> parse_duration(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  double value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !(value >= 0)) return std::nullopt;
  std::string_view unit(end);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "ms") scale = 1e-3;
  else if (unit == "m") scale = 60;
  else if (unit == "h") scale = 3600;
  else return std::nullopt;
  return seconds(value * scale);
}

void raise_descriptor_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

std::optional<http::headers> parse_header_options(const std::vector<std::string>& options, const char* command) {
  http::headers h;
  for (const std::string& o : options) {
    auto colon = o.find(':');
    std::string_view name = std::string_view(o).substr(0, colon);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (colon == std::string::npos || name.empty()) {
      std::fprintf(stderr, "weft %s: -H wants 'Name: value', not '%s'\n", command, o.c_str());
      return std::nullopt;
    }
    std::string_view value = std::string_view(o).substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (const char* problem = http::field_problem(name, value)) {
      std::fprintf(stderr, "weft %s: -H '%s': %s\n", command, o.c_str(), problem);
      return std::nullopt;
    }
    h.add(name, value);
  }
  return h;
}

std::string with_index(std::string_view text, std::size_t index) {
  std::string out;
  std::string i = std::to_string(index);
  for (std::size_t at = 0;;) {
    std::size_t found = text.find("{i}", at);
    out.append(text.substr(at, found - at));
    if (found == std::string_view::npos) return out;
    out.append(i);
    at = found + 3;
  }
}

bool has_index(const std::vector<std::string>& texts) {
  for (const auto& t : texts) {
    if (t.find("{i}") != std::string::npos) return true;
  }
  return false;
}

bool skip_tls_verification(http::client_options& options, const char* command) {
  auto ctx = net::tls_context::client();
  if (!ctx) {
    std::fprintf(stderr, "weft %s: cannot set up TLS: %s\n", command, ctx.error().message().c_str());
    return false;
  }
  ctx->insecure_skip_verify();
  options.tls = std::move(*ctx);
  return true;
}

std::string error_kind(std::error_code ec) {
  if (ec == std::errc::connection_refused) return "refused";
  if (ec == std::errc::connection_reset || ec == std::errc::broken_pipe) return "reset";
  if (ec == errc::timed_out || ec == std::errc::timed_out) return "timed out";
  if (ec == errc::tls_handshake_failed || ec == errc::tls_error) return "tls";
  if (ec == errc::bad_response) return "bad response";
  if (ec == errc::too_many_redirects) return "too many redirects";
  if (ec == errc::invalid_request) return "invalid request";
  if (ec == errc::end_of_stream) return "cut short";
  if (ec == errc::too_large) return "too large";
  if (ec == errc::host_not_found || ec == errc::dns_failure) return "host not found";
  if (ec == errc::operation_canceled) return "canceled";
  if (ec == std::errc::too_many_files_open) return "out of descriptors";
  return ec.message();
}

progress_line::progress_line() : enabled_(isatty(STDERR_FILENO) == 1) {}

void progress_line::draw(const std::string& text) {
  if (!enabled_) return;
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void progress_line::clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

std::string bar(std::size_t done, std::size_t total, int width) {
  std::size_t filled = total == 0 ? 0 : done * static_cast<std::size_t>(width) / total;
  std::string b = "[";
  b.append(filled, '#');
  b.append(static_cast<std::size_t>(width) - filled, '.');
  b += ']';
  return b;
}

}  // namespace weft::tool
