#include "http/response_writer.hpp"

#include <charconv>
#include <ctime>

namespace weft::http::detail {

std::string_view date_line() noexcept {
  struct cache {
    std::time_t second = -1;
    char text[64];
    std::size_t len = 0;
  };
  thread_local cache c;
  std::time_t now = std::time(nullptr);
  if (now != c.second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    c.len = std::strftime(c.text, sizeof c.text, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    c.second = now;
  }
  return {c.text, c.len};
}

namespace {

void append_number(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

}  // namespace

bool write_response(const response& r, bool keep_alive, bool head_only, std::string& out) {
  out.reserve(out.size() + 160 + r.headers.bytes() + 4 * r.headers.size() + (head_only ? 0 : r.body.size()));
  if (r.status == 200) {
    out += "HTTP/1.1 200 OK\r\n";  // most responses: one copy instead of four pieces
  } else {
    out += "HTTP/1.1 ";
    append_number(out, static_cast<std::size_t>(r.status));
    out += ' ';
    out += reason_phrase(r.status);
    out += "\r\n";
  }
  bool has_date = false;
  bool has_length = false;
  for (auto [name, value] : r.headers) {
    if (iequals(name, "Connection")) continue;  // the server decides
    has_date = has_date || iequals(name, "Date");
    has_length = has_length || iequals(name, "Content-Length");
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!has_date) out += date_line();
  if (!keep_alive) out += "Connection: close\r\n";
  bool bodyless = !status_has_body(r.status);
  bool chunked = false;
  if (!has_length && !bodyless) {
    if (r.stream) {
      chunked = true;
      out += "Transfer-Encoding: chunked\r\n";
    } else {
      out += "Content-Length: ";
      append_number(out, r.body.size());
      out += "\r\n";
    }
  }
  out += "\r\n";
  if (!head_only && !bodyless && !r.stream) out += r.body;
  return chunked;
}

void write_error(int status, std::string_view reason, std::string& out) {
  response r = response::text(status, std::string(reason) + "\n");
  write_response(r, false, false, out);
}

}  // namespace weft::http::detail
