// The HTTP client: URL parsing, per-origin pools, and one request/response exchange on a connection.
//
// Idle connections are kept per worker (the loop that last used them): a socket then never has its
// readiness tracked by one loop while another reads it, and taking one needs only the pool's lock,
// never a registration move. The per-origin limit (a semaphore) is shared by all workers.
#include "weft/detail/atomic.hpp"
#include "weft/http/client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <atomic>
#include <charconv>
#include <iterator>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/response_parser.hpp"
#include "runtime/worker.hpp"
#include "weft/net/tcp.hpp"
#include "weft/sync/semaphore.hpp"
#include "weft/timeout.hpp"

namespace weft::http {

// ---------------------------------------------------------------------------------------------- url

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

result<url> url::parse(std::string_view text) {
  url u;
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return fail(errc::invalid_argument);
  u.scheme = lower(text.substr(0, sep));
  if (u.scheme == "http") {
    u.port = 80;
  } else if (u.scheme == "https") {
    u.port = 443;
  } else {
    return fail(errc::invalid_argument);
  }
  std::string_view rest = text.substr(sep + 3);
  std::size_t auth_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, auth_end);
  if (authority.find('@') != std::string_view::npos) return fail(errc::invalid_argument);  // no credentials in URLs
  std::string_view port_text;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(errc::invalid_argument);
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(errc::invalid_argument);
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    u.host = lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) return fail(errc::invalid_argument);
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return fail(errc::invalid_argument);
    }
    u.port = static_cast<std::uint16_t>(port);
  }
  std::string_view target = rest.substr(auth_end);
  target = target.substr(0, target.find('#'));
  // A space or a control character would break the request line (in the target) or the Host field.
  auto breaks_the_head = [](std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
  };
  if (breaks_the_head(target) || breaks_the_head(u.host)) return fail(errc::invalid_argument);
  u.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return u;
}

std::string url::origin() const { return scheme + "://" + host + ":" + std::to_string(port); }

std::string url::to_string() const { return scheme + "://" + host_header() + target; }

namespace {

/// RFC 3986 section 3.1: a scheme, then ':', before any '/', '?' or '#'.
bool has_scheme(std::string_view ref) {
  auto colon = ref.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon > ref.find_first_of("/?#")) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(ref[0])) return false;
  for (char c : ref.substr(1, colon - 1)) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

/// RFC 3986 section 5.2.4: "/a/b/../c/./d" -> "/a/c/d".
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  bool trailing = false;
  while (!path.empty()) {
    if (path.front() == '/') path.remove_prefix(1);
    std::string_view seg = path.substr(0, path.find('/'));
    path.remove_prefix(seg.size());
    trailing = path.empty() && (seg == "." || seg == "..");
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (seg != ".") {
      out.push_back(seg);
    }
  }
  std::string joined;
  for (auto seg : out) joined.append("/").append(seg);
  if (joined.empty() || trailing) joined += '/';
  return joined;
}

}  // namespace

result<url> url::resolve(std::string_view location) const {
  location = location.substr(0, location.find('#'));  // a fragment never reaches the server
  if (has_scheme(location)) return parse(location);
  if (location.starts_with("//")) return parse(scheme + ":" + std::string(location));
  std::string base = scheme + "://" + host_header();
  std::string_view path = std::string_view(target).substr(0, target.find('?'));
  if (location.empty()) return parse(base + target);  // the same resource
  if (location.starts_with('?')) return parse(base + std::string(path) + std::string(location));
  std::string_view query;
  if (auto q = location.find('?'); q != std::string_view::npos) {
    query = location.substr(q);
    location = location.substr(0, q);
  }
  std::string merged = location.starts_with('/')
                           ? std::string(location)
                           : std::string(path.substr(0, path.rfind('/') + 1)) + std::string(location);
  return parse(base + remove_dot_segments(merged) + std::string(query));
}

std::string url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (scheme == "https" ? 443 : 80)) h += ":" + std::to_string(port);
  return h;
}

// ----------------------------------------------------------------------------------------- the pool

namespace {

struct connection {
  explicit connection(weft::detail::atomic<std::size_t>& count) noexcept : open(count) { open.fetch_add(1, std::memory_order_relaxed); }
  ~connection() { open.fetch_sub(1, std::memory_order_relaxed); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  weft::detail::atomic<std::size_t>& open;
  net::tcp_stream tcp;
  std::optional<net::tls_stream> tls;
  clock::time_point idle_until;
  // The read buffer starts at a page and grows when a read fills it: 10,000 connections with small
  // responses then take 40 MB, not 160 (and as many fewer page faults), while a big body is still
  // read 64 KiB at a time.
  std::unique_ptr<char[]> buffer;
  std::size_t buffer_size = 0;

  /// A plain-TCP connection back from the pool that the server has since closed, or written to
  /// unasked (bytes after its last response: it cannot be trusted to frame the next one). One peek;
  /// for TLS the check is the retry on a connection closed meanwhile (records such as session tickets
  /// may arrive while it idles).
  bool spoiled_while_idle() const noexcept {
    if (tls) return false;
    char b;
    ssize_t n = ::recv(tcp.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }

  std::span<char> read_buffer(std::size_t last_read) {
    constexpr std::size_t first = 4 * 1024;
    constexpr std::size_t most = 64 * 1024;
    if (!buffer || (last_read == buffer_size && buffer_size < most)) {
      buffer_size = buffer ? buffer_size * 4 : first;
      buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
    }
    return {buffer.get(), buffer_size};
  }
};

using connection_ptr = std::unique_ptr<connection>;

struct origin_pool {
  explicit origin_pool(std::size_t limit) : slots(limit) {}
  semaphore slots;
  // Idle connections by the worker that last used them (see the top of this file).
  std::vector<std::pair<const void*, std::vector<connection_ptr>>> idle;

  std::vector<connection_ptr>& idle_of(const void* worker) {
    for (auto& [w, list] : idle) {
      if (w == worker) return list;
    }
    return idle.emplace_back(worker, std::vector<connection_ptr>{}).second;
  }
};

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS" ||
         method == "TRACE";
}

/// How long the server keeps an idle connection, from `Keep-Alive: timeout=N`, if it says.
std::optional<clock::duration> keep_alive_timeout(const http::headers& h) {
  auto v = h.get("Keep-Alive");
  if (!v) return std::nullopt;
  auto at = v->find("timeout=");
  if (at == std::string_view::npos) return std::nullopt;
  unsigned seconds = 0;
  const char* first = v->data() + at + 8;
  if (std::from_chars(first, v->data() + v->size(), seconds).ec != std::errc()) return std::nullopt;
  return std::chrono::seconds(seconds);
}

/// A slot of an origin's semaphore, released when the permit goes.
class permit {
 public:
  explicit permit(semaphore* slots) noexcept : slots_(slots) {}
  permit(permit&& other) noexcept : slots_(std::exchange(other.slots_, nullptr)) {}
  permit& operator=(permit&&) = delete;
  ~permit() { release(); }
  void release() noexcept {
    if (slots_ != nullptr) std::exchange(slots_, nullptr)->release();
  }

 private:
  semaphore* slots_;
};

}  // namespace

namespace {

/// The time for idle bookkeeping: the loop's cached clock (a turn late at most, which an idle timeout
/// of seconds does not notice; each request then reads the clock two times fewer).
clock::time_point idle_clock() noexcept {
  weft::detail::worker* w = weft::detail::current_worker();
  return w != nullptr ? w->loop_now() : clock::now();
}

}  // namespace

struct client::state {
  explicit state(client_options o) : options(std::move(o)) {}
  ~state() { close_idle(); }

  client_options options;
  weft::detail::atomic<std::size_t> open{0};
  weft::detail::mutex lock;  // guards pools and tls
  std::unordered_map<std::string, std::unique_ptr<origin_pool>> pools;
  std::optional<net::tls_context> tls;

  origin_pool& pool_for(const std::string& origin) {
    std::lock_guard guard(lock);
    auto& p = pools[origin];
    if (!p) p = std::make_unique<origin_pool>(options.max_connections_per_host);
    return *p;
  }

  /// An idle connection of this worker that has not outstayed its welcome, or null.
  connection_ptr take_idle(origin_pool& pool) {
    connection_ptr c;
    std::vector<connection_ptr> expired;  // closed after unlocking
    {
      std::lock_guard guard(lock);
      auto& list = pool.idle_of(weft::detail::current_worker());
      clock::time_point now = idle_clock();
      while (!list.empty()) {
        connection_ptr last = std::move(list.back());
        list.pop_back();
        if (last->idle_until > now) {
          c = std::move(last);
          break;
        }
        expired.push_back(std::move(last));
      }
    }
    return c;
  }

  void put_idle(origin_pool& pool, connection_ptr c, clock::time_point now) {
    std::vector<connection_ptr> expired;  // closed after unlocking
    {
      std::lock_guard guard(lock);
      auto& list = pool.idle_of(weft::detail::current_worker());
      // The oldest idle connections sit at the front (take_idle takes from the back): close those past
      // their time as the list is touched, so a pool that shrinks in use does not hold sockets open.
      std::size_t old = 0;
      while (old < list.size() && list[old]->idle_until <= now) ++old;
      if (old > 0) {
        std::move(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(old), std::back_inserter(expired));
        list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(old));
      }
      list.push_back(std::move(c));
    }
  }

  result<net::tls_context> tls_context() {
    std::lock_guard guard(lock);
    if (!tls) {
      if (options.tls) {
        tls = options.tls;
      } else {
        auto made = net::tls_context::client();
        if (!made) return fail(made.error());
        tls = std::move(*made);
      }
    }
    return *tls;
  }

  void close_idle() noexcept {
    std::vector<connection_ptr> all;
    {
      std::lock_guard guard(lock);
      for (auto& [origin, pool] : pools) {
        for (auto& [worker, list] : pool->idle) {
          for (auto& c : list) all.push_back(std::move(c));
          list.clear();
        }
      }
    }
  }
};

namespace {

using state = client::state;

/// With the trace on: when each phase of one request ended, drawn as spans inside the task that sent it
/// (trace.hpp): the request, and within it connect (with the name lookup's "dns" span inside it, from
/// tcp_stream::connect), tls, send, wait (to the response's header section) and body. A phase that did not happen (a reused connection) is left out.
struct request_trace {
  using time_point = std::chrono::steady_clock::time_point;
  static time_point now() noexcept { return std::chrono::steady_clock::now(); }

  std::string label;  // "GET http://host:port/target"
  time_point begin, connected, secured, sent, first_byte;
  bool reused = false;

  /// Records the spans on the calling loop's recorder (a no-op off the loop, or with the trace off).
  void record(int status, bool complete) const {
    weft::detail::worker* w = weft::detail::current_worker();
    if (w == nullptr || w->tracer() == nullptr) return;
    weft::detail::trace::recorder& r = *w->tracer();
    std::uint64_t task = w->running_task();
    time_point end = now();
    std::string args = "\"status\":" + std::to_string(status) + ",\"reused\":" + (reused ? "true" : "false") +
                       ",\"complete\":" + (complete ? "true" : "false");
    r.span(task, begin, end, label, args);
    time_point at = begin;
    auto phase = [&](const char* name, time_point until) {
      if (until == time_point{}) return;
      r.span(task, at, until, name, {});
      at = until;
    };
    phase("connect", connected);
    phase("tls", secured);
    phase("send", sent);
    phase("wait", first_byte);
    if (first_byte != time_point{}) phase("body", end);
  }
};

task<result<connection_ptr>> connect(state& s, const url& u, request_trace* trace) {
  auto tcp = co_await net::tcp_stream::connect(u.host, u.port, s.options.connect_timeout);
  if (!tcp) co_return fail(tcp.error());
  if (trace != nullptr) trace->connected = request_trace::now();
  (void)tcp->set_nodelay(true);  // a request goes out in one write: never wait for an ACK
  auto c = std::make_unique<connection>(s.open);
  if (u.scheme == "https") {
    auto ctx = s.tls_context();
    if (!ctx) co_return fail(ctx.error());
    auto t = co_await net::tls_stream::connect(std::move(*tcp), *ctx, u.host, s.options.connect_timeout);
    if (!t) co_return fail(t.error());
    if (trace != nullptr) trace->secured = request_trace::now();
    c->tls = std::move(*t);
  } else {
    c->tcp = std::move(*tcp);
  }
  co_return c;
}


std::string request_head(const client_request& req, const url& u) {
  std::string head;
  head.reserve(128 + req.headers.bytes() + 4 * req.headers.size());
  head.append(req.method).append(" ").append(u.target).append(" HTTP/1.1\r\nHost: ").append(u.host_header());
  head.append("\r\n");
  bool has_agent = false;
  bool has_accept = false;
  for (auto [name, value] : req.headers) {
    if (iequals(name, "host") || iequals(name, "content-length")) continue;
    has_agent = has_agent || iequals(name, "user-agent");
    has_accept = has_accept || iequals(name, "accept");
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (!has_agent) head.append("User-Agent: weft\r\n");
  if (!has_accept) head.append("Accept: */*\r\n");
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    head.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
  }
  head.append("\r\n");
  return head;
}

/// One request and its response on one connection, from the permit to the connection's return to the
/// pool. send() reads the whole body through it; a response_stream hands out the body piece by piece.
struct exchange {
  exchange(std::shared_ptr<state> st, origin_pool& p, permit held) noexcept
      : s(std::move(st)), pool(&p), slot(std::move(held)) {}
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;
  ~exchange() {
    if (trace) trace->record(res.status, complete);
  }

  std::shared_ptr<state> s;
  origin_pool* pool;
  permit slot;
  connection_ptr c;
  detail::response_parser parser;
  client_response res;  // after the header section, `res.body` holds the body parsed but not yet taken
  std::size_t last_read = 0;
  bool complete = false;
  bool keep = false;  // after `complete`: the connection may carry another request
  bool write_failed = false;  // the server stopped taking the request: never pool the connection
  std::unique_ptr<request_trace> trace;  // only with the trace on

  /// Reads once from the connection and parses what came.
  task<result<void>> read_more() {
    std::span<char> buf = c->read_buffer(last_read);
    result<std::size_t> n;  // (awaited in place, tcp or tls: a helper coroutine would cost a frame per read)
    if (c->tls) {
      n = co_await c->tls->read_some(buf, s->options.response_timeout);
    } else {
      n = co_await c->tcp.read_some(buf, s->options.response_timeout);
    }
    if (!n) co_return fail(n.error());
    last_read = *n;
    if (*n == 0) {
      if (parser.finish() != detail::response_parser::state::complete) co_return fail(parser.error());
      complete = true;  // a body delimited by the close
      co_return result<void>();
    }
    std::size_t consumed = 0;
    auto st = parser.feed(buf.data(), *n, consumed);
    if (st == detail::response_parser::state::failed) co_return fail(parser.error());
    if (st == detail::response_parser::state::complete) {
      complete = true;
      // Bytes after the response we asked for: the server is confused; do not trust the connection.
      keep = parser.keep_alive() && consumed == *n && !write_failed;
    }
    co_return result<void>();
  }

  /// After `complete`: the connection goes back to the pool if it may carry another request, and the
  /// origin's slot is free for another request.
  void finish() noexcept {
    slot.release();
    if (!keep || !c) return;
    clock::duration idle = s->options.idle_timeout;
    // Leave a server's own idle timeout a margin: reusing a connection as it closes costs a retry.
    // (9/10 as a subtraction: `* 9` overflows for `timeout=2000000000`.)
    if (auto server_says = keep_alive_timeout(res.headers)) idle = std::min(idle, *server_says - *server_says / 10);
    clock::time_point now = idle_clock();
    c->idle_until = deadline_after(now, idle);  // saturates: idle_timeout = duration::max() is no limit
    s->put_idle(*pool, std::move(c), now);
  }
};

/// Sends `req` on a pooled or new connection of `x`'s origin and reads up to the end of the response's
/// header section. A request on a reused connection that the server had closed meanwhile (nothing
/// received) goes once more on a fresh connection if its method is idempotent.
task<result<void>> start(exchange& x, const client_request& req, const url& u, std::size_t max_body_bytes) {
  state& s = *x.s;
  // What would break the request's framing is refused, never sent: a field value with CR or LF would
  // put fields of its own on the wire (header injection).
  if (!is_token(req.method)) co_return fail(errc::invalid_request);
  for (auto [name, value] : req.headers) {
    if (field_problem(name, value) != nullptr) co_return fail(errc::invalid_request);
  }
  std::string head = request_head(req, u);
  if (weft::detail::worker* w = weft::detail::current_worker(); w != nullptr && w->tracer() != nullptr) [[unlikely]] {
    x.trace = std::make_unique<request_trace>();
    x.trace->label = req.method;
    x.trace->label.append(" ").append(u.scheme).append("://").append(u.host_header()).append(u.target);
    x.trace->begin = request_trace::now();
  }
  for (int attempt = 0;; ++attempt) {
    x.c = attempt == 0 ? s.take_idle(*x.pool) : nullptr;  // a retry goes on a fresh connection
    while (x.c && x.c->spoiled_while_idle()) x.c = s.take_idle(*x.pool);
    bool reused = x.c != nullptr;
    if (!x.c) {
      auto fresh = co_await connect(s, u, x.trace.get());
      if (!fresh) co_return fail(fresh.error());
      x.c = std::move(*fresh);
    }
    x.parser.start(x.res, req.method == "HEAD", s.options.max_header_bytes, max_body_bytes);
    x.last_read = 0;
    std::array<std::string_view, 2> parts{head, req.body};
    std::span<const std::string_view> request(parts);
    result<void> sent;
    if (x.c->tls) {
      sent = co_await x.c->tls->write_all(request, s.options.send_timeout);
    } else {
      sent = co_await x.c->tcp.write_all(request, s.options.send_timeout);
    }
    if (x.trace) {
      x.trace->reused = reused;
      x.trace->sent = request_trace::now();
    }
    std::error_code ec = sent ? std::error_code() : sent.error();
    if (ec == std::errc::connection_reset || ec == std::errc::broken_pipe) {
      // The server answered before it took the whole body (a 413, say) and closed: its answer may be
      // waiting to be read all the same, and it is the better report.
      x.write_failed = true;
      std::error_code read_error;
      while (!read_error && !x.complete && !x.parser.headers_complete()) {
        auto r = co_await x.read_more();
        if (!r) read_error = r.error();
      }
      if (!read_error) ec = {};
    }
    while (!ec && !x.complete && !x.parser.headers_complete()) {
      auto r = co_await x.read_more();
      if (!r) ec = r.error();
    }
    if (!ec) {
      if (x.trace) x.trace->first_byte = request_trace::now();
      co_return result<void>();
    }
    x.c.reset();
    bool stale = reused && !x.parser.began() && ec != errc::operation_canceled && ec != errc::timed_out;
    if (stale && attempt == 0 && idempotent(req.method)) continue;  // the server closed it while idle
    co_return fail(ec);
  }
}

task<result<client_response>> send_on_pool(std::shared_ptr<state> sp, const client_request& req) {
  auto u = url::parse(req.url);
  if (!u) co_return fail(u.error());
  origin_pool& pool = sp->pool_for(u->origin());
  if (auto a = co_await pool.slots.acquire(); !a) co_return fail(a.error());
  exchange e(std::move(sp), pool, permit(&pool.slots));
  if (auto r = co_await start(e, req, *u, e.s->options.max_body_bytes); !r) co_return fail(r.error());
  while (!e.complete) {
    if (auto r = co_await e.read_more(); !r) co_return fail(r.error());
  }
  e.finish();
  co_return std::move(e.res);
}

}  // namespace

// ------------------------------------------------------------------------------------ response_stream

struct response_stream::impl : exchange {
  using exchange::exchange;
  std::error_code failed;  // once a read failed, every later next() says so
};

response_stream::response_stream(std::unique_ptr<impl> x) : x_(std::move(x)) {
  status = x_->res.status;
  version_minor = x_->res.version_minor;
  headers = x_->res.headers;  // a copy: the connection's idle time is read from the response's
}

response_stream::response_stream(response_stream&&) noexcept = default;
response_stream& response_stream::operator=(response_stream&&) noexcept = default;
response_stream::~response_stream() = default;

bool response_stream::done() const noexcept { return x_ && x_->complete && x_->res.body.empty(); }

task<result<std::string_view>> response_stream::next() {
  impl& x = *x_;
  for (;;) {
    if (x.failed) co_return fail(x.failed);
    if (!x.res.body.empty()) {
      piece_.swap(x.res.body);  // both keep their capacity: no allocation once warmed up
      x.res.body.clear();
      if (x.complete) x.finish();  // the last piece: the connection is free now, not at the next call
      co_return std::string_view(piece_);
    }
    if (x.complete) {
      x.finish();
      co_return std::string_view();
    }
    auto r = co_await x.read_more();
    if (!r) {
      x.failed = r.error();
      x.c.reset();  // a connection whose response broke off carries nothing more
    }
  }
}

// ------------------------------------------------------------------------------------------- client

client::client(client_options options) : s_(std::make_shared<state>(std::move(options))) {}

client::~client() = default;

namespace {

bool is_redirect(int status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

/// The request that follows `res` to where it redirects, or nullopt if `res` is not a redirect.
result<std::optional<client_request>> redirected(const client_request& req, const client_response& res) {
  auto location = res.headers.get("Location");
  if (!is_redirect(res.status) || !location) return std::optional<client_request>();
  auto from = url::parse(req.url);
  if (!from) return fail(from.error());
  auto to = from->resolve(*location);
  if (!to) return fail(errc::bad_response);  // a Location weft cannot follow
  client_request next;
  next.url = to->to_string();
  bool as_get = res.status == 303 || ((res.status == 301 || res.status == 302) && req.method == "POST");
  next.method = as_get && req.method != "HEAD" ? "GET" : req.method;
  if (!as_get) next.body = req.body;
  bool same_origin = to->origin() == from->origin();
  for (auto [name, value] : req.headers) {
    if (!same_origin && (iequals(name, "authorization") || iequals(name, "cookie"))) continue;
    if (as_get && (iequals(name, "content-type") || iequals(name, "content-encoding"))) continue;
    next.headers.add(name, value);
  }
  return std::optional<client_request>(std::move(next));
}

task<result<client_response>> send_following(std::shared_ptr<state> s, client_request req) {
  if (s->options.max_redirects <= 0) co_return co_await send_on_pool(s, req);  // under a total timeout
  for (int redirects = 0;; ++redirects) {
    auto res = co_await send_on_pool(s, req);
    if (!res || s->options.max_redirects <= 0) co_return res;
    auto next = redirected(req, *res);
    if (!next) co_return fail(next.error());
    if (!*next) co_return res;
    if (redirects == s->options.max_redirects) co_return fail(errc::too_many_redirects);
    req = std::move(**next);
  }
}

}  // namespace

task<result<client_response>> client::send(client_request req) {
  std::shared_ptr<state> s = s_;
  if (s->options.max_redirects <= 0 && s->options.total_timeout == clock::duration::zero()) {
    co_return co_await send_on_pool(std::move(s), req);  // the common case, one coroutine frame fewer
  }
  if (s->options.total_timeout > clock::duration::zero()) {
    co_return co_await weft::timeout(s->options.total_timeout, send_following(s, std::move(req)));
  }
  co_return co_await send_following(s, std::move(req));
}

task<result<response_stream>> client::open(client_request req) {
  std::shared_ptr<state> s = s_;
  auto u = url::parse(req.url);
  if (!u) co_return fail(u.error());
  origin_pool& pool = s->pool_for(u->origin());
  if (auto a = co_await pool.slots.acquire(); !a) co_return fail(a.error());
  auto x = std::make_unique<response_stream::impl>(s, pool, permit(&pool.slots));
  constexpr std::size_t unlimited = SIZE_MAX;  // a stream's reader decides how much to take
  result<void> started;
  if (s->options.total_timeout > clock::duration::zero()) {
    started = co_await weft::timeout(s->options.total_timeout, start(*x, req, *u, unlimited));
  } else {
    started = co_await start(*x, req, *u, unlimited);
  }
  if (!started) co_return fail(started.error());
  if (x->complete && x->res.body.empty()) x->finish();  // no body at all (204, HEAD, Content-Length: 0)
  co_return response_stream(std::move(x));
}

namespace {

client_request request_of(const char* method, std::string target, std::string body, http::headers headers) {
  client_request req;
  req.method = method;
  req.url = std::move(target);
  req.body = std::move(body);
  req.headers = std::move(headers);
  return req;
}

}  // namespace

task<result<client_response>> client::get(std::string target, http::headers headers) {
  return send(request_of("GET", std::move(target), {}, std::move(headers)));
}

task<result<client_response>> client::del(std::string target, http::headers headers) {
  return send(request_of("DELETE", std::move(target), {}, std::move(headers)));
}

task<result<client_response>> client::head(std::string target, http::headers headers) {
  return send(request_of("HEAD", std::move(target), {}, std::move(headers)));
}

task<result<client_response>> client::put(std::string target, std::string body, http::headers headers) {
  return send(request_of("PUT", std::move(target), std::move(body), std::move(headers)));
}

task<result<client_response>> client::post(std::string target, std::string body, http::headers headers) {
  return send(request_of("POST", std::move(target), std::move(body), std::move(headers)));
}

std::size_t client::open_connections() const noexcept { return s_->open.load(std::memory_order_relaxed); }

void client::close_idle() noexcept { s_->close_idle(); }

}  // namespace weft::http
