#include "http/response_writer.hpp"

#include <cassert>
#include <charconv>
#include <cstring>
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

/// Writes `n` in decimal at `at`; returns the end.
char* put_number(char* at, std::size_t n) noexcept { return std::to_chars(at, at + 20, n).ptr; }

std::size_t digits(std::size_t n) noexcept {
  std::size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

char* put(char* at, std::string_view s) noexcept {
  if (s.empty()) return at;  // its data() may be null, which memcpy must not get even for no bytes
  std::memcpy(at, s.data(), s.size());
  return at + s.size();
}

constexpr std::string_view ok_line = "HTTP/1.1 200 OK\r\n";
constexpr std::string_view close_line = "Connection: close\r\n";
// HTTP/1.0 closes after each response unless the server says otherwise (RFC 9112 §9.3, RFC 2068
// §19.7.1): a 1.0 client that asked for keep-alive and is not told so waits for the close (ab -k hung).
constexpr std::string_view keep_alive_line = "Connection: keep-alive\r\n";
constexpr std::string_view chunked_line = "Transfer-Encoding: chunked\r\n";
constexpr std::string_view length_name = "Content-Length: ";

bool is_number(std::string_view s) noexcept {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

/// What the server writes itself, whatever the handler set.
enum class field_fate { keep, drop, frame };

field_fate fate_of(std::string_view name, const response& r, bool head_only, bool bodyless) noexcept {
  if (iequals(name, "Connection") || iequals(name, "Transfer-Encoding")) return field_fate::drop;
  if (!iequals(name, "Content-Length")) return field_fate::keep;
  if (bodyless) return field_fate::drop;
  // A streamed body is framed by the handler's length; a HEAD answer without a body may describe the
  // GET's. Anywhere else the body at hand says how long it is.
  if (r.stream || (head_only && r.body.empty())) return field_fate::frame;
  return field_fate::drop;
}

}  // namespace

const char* response_problem(const response& r) noexcept {
  // A 1xx is interim: the server sends the one it needs (100 Continue) itself, and a 101 would switch to
  // a protocol it never switches to. Sent as final, the request's real answer would come after it, and
  // a peer or a proxy would read it as the next request's (a desync).
  if (r.status < 200 || r.status > 999) return "a handler's response status is not a final one (200 to 999)";
  for (auto [name, value] : r.headers) {
    if (const char* problem = field_problem(name, value)) return problem;
    if (iequals(name, "Content-Length") && !is_number(value)) return "a response Content-Length is not a number";
  }
  return nullptr;
}

std::optional<std::size_t> declared_length(const response& r) noexcept {
  std::optional<std::string_view> v = r.headers.get("Content-Length");
  if (!v || !is_number(*v)) return std::nullopt;
  std::size_t n = 0;
  std::from_chars(v->data(), v->data() + v->size(), n);
  return n;
}

// One pass to size the head and one to write it, straight into `out`: a response costs one resize
// and a memcpy per piece, not a capacity check and a call per append (this runs once per request).
bool write_response(const response& r, bool keep_alive, bool head_only, bool http10, std::string& out,
                    bool body_apart) {
  std::string_view reason = r.status == 200 ? std::string_view() : reason_phrase(r.status);
  std::size_t size =
      r.status == 200 ? ok_line.size() : 9 + digits(static_cast<std::size_t>(r.status)) + 1 + reason.size() + 2;
  bool bodyless = !status_has_body(r.status);
  bool has_date = false;
  bool has_length = false;
  for (auto [name, value] : r.headers) {
    field_fate f = fate_of(name, r, head_only, bodyless);
    if (f == field_fate::drop) continue;
    has_date = has_date || iequals(name, "Date");
    has_length = has_length || f == field_fate::frame;
    size += name.size() + 2 + value.size() + 2;
  }
  std::string_view date = has_date ? std::string_view() : date_line();
  bool chunked = !has_length && !bodyless && r.stream && !http10;
  bool add_length = !has_length && !bodyless && !r.stream;
  bool with_body = !head_only && !bodyless && !r.stream && !body_apart;
  std::string_view connection = !keep_alive ? close_line : http10 ? keep_alive_line : std::string_view();
  size += date.size() + connection.size() + (chunked ? chunked_line.size() : 0) +
          (add_length ? length_name.size() + digits(r.body.size()) + 2 : 0) + 2 + (with_body ? r.body.size() : 0);

  std::size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  if (r.status == 200) {
    p = put(p, ok_line);
  } else {
    p = put(p, "HTTP/1.1 ");
    p = put_number(p, static_cast<std::size_t>(r.status));
    *p++ = ' ';
    p = put(p, reason);
    p = put(p, "\r\n");
  }
  for (auto [name, value] : r.headers) {
    if (fate_of(name, r, head_only, bodyless) == field_fate::drop) continue;
    p = put(p, name);
    p = put(p, ": ");
    p = put(p, value);
    p = put(p, "\r\n");
  }
  p = put(p, date);
  p = put(p, connection);
  if (chunked) p = put(p, chunked_line);
  if (add_length) {
    p = put(p, length_name);
    p = put_number(p, r.body.size());
    p = put(p, "\r\n");
  }
  p = put(p, "\r\n");
  if (with_body) p = put(p, r.body);
  assert(p == out.data() + out.size());
  return chunked;
}

void write_error(int status, std::string_view reason, std::string& out) {
  response r = response::text(status, std::string(reason) + "\n");
  write_response(r, false, false, false, out);
}

}  // namespace weft::http::detail
