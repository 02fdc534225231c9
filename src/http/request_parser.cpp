#include "http/request_parser.hpp"

#include <algorithm>
#include <cstring>

namespace weft::http::detail {

namespace {
request_parser& self(llhttp_t* p) noexcept { return *static_cast<request_parser*>(p->data); }

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/// Host = uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2): a bracketed IP literal, or a
/// reg-name of unreserved characters, sub-delims and %HH escapes (an IPv4 address is one too); the
/// port is digits. Empty is allowed (a target without an authority).
bool valid_host(std::string_view v) noexcept {
  std::size_t i = 0;
  if (!v.empty() && v[0] == '[') {
    std::size_t close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : v.substr(1, close - 1)) {
      if (!is_hex(c) && c != ':' && c != '.' && c != 'v' && c != 'V') return false;
    }
    i = close + 1;
  } else {
    constexpr std::string_view allowed = "-._~!$&'()*+,;=";
    while (i < v.size() && v[i] != ':') {
      char c = v[i];
      if (c == '%') {
        if (i + 2 >= v.size() || !is_hex(v[i + 1]) || !is_hex(v[i + 2])) return false;
        i += 3;
        continue;
      }
      bool alnum = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (!alnum && allowed.find(c) == std::string_view::npos) return false;
      ++i;
    }
  }
  if (i == v.size()) return true;
  if (v[i] != ':') return false;
  for (char c : v.substr(i + 1)) {
    if (!is_digit(c)) return false;
  }
  return true;
}
}  // namespace

const llhttp_settings_t request_parser::settings = [] {
  llhttp_settings_t s;
  llhttp_settings_init(&s);
  s.on_message_begin = &request_parser::on_message_begin;
  s.on_url = &request_parser::on_url;
  s.on_header_field = &request_parser::on_header_field;
  s.on_header_value = &request_parser::on_header_value;
  s.on_header_value_complete = &request_parser::on_header_value_complete;
  s.on_headers_complete = &request_parser::on_headers_complete;
  s.on_body = &request_parser::on_body;
  s.on_version = &request_parser::on_version;
  s.on_chunk_extension_name = &request_parser::on_chunk_extension_name;
  s.on_chunk_extension_name_complete = &request_parser::on_chunk_extension_name_complete;
  s.on_chunk_extension_value = &request_parser::on_chunk_extension;
  s.on_chunk_header = &request_parser::on_chunk_header;
  s.on_message_complete = &request_parser::on_message_complete;
  return s;
}();

request_parser::request_parser(parse_limits limits) noexcept : limits_(limits) {
  llhttp_init(&parser_, HTTP_REQUEST, &settings);
  parser_.data = this;
}

void request_parser::reuse(const parse_limits& limits) noexcept {
  limits_ = limits;
  probe_ = nullptr;
  // A parser left waiting for a message it has not begun, without an error, is as good as new (the usual
  // end of a keep-alive burst); otherwise reset it, which keeps the settings and forgets the last
  // connection's message, upgrade or error.
  bool fresh = !began_ && error_status_ == 0 && llhttp_get_errno(&parser_) == HPE_OK;
  if (!fresh) {
    llhttp_reset(&parser_);
    error_status_ = 0;
    error_reason_ = "";
  }
}

void request_parser::start(request& req) noexcept {
  req.method.clear();
  req.target.clear();
  req.headers.clear();
  req.trailers.clear();
  req.body.clear();
  req.params.clear();
  req_ = &req;
  fields_.reset();
  head_bytes_ = fields_seen_ = extension_bytes_ = raw_head_before_feed_ = body_raw_ = body_seen_ = 0;
  began_ = headers_done_ = complete_ = keep_alive_ = expect_continue_ = has_host_ = has_transfer_encoding_ = close_asked_ =
      streaming_ = version_seen_ = extension_named_ = false;
  before_feed_ = '\n';
  tail_len_ = 0;
  chunk_.clear();
}

request_parser::state request_parser::feed(const char* data, std::size_t len, std::size_t& consumed) noexcept {
  feed_begin_ = data;
  head_reached_ = data;
  bool in_head = !headers_done_;
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (len > 0) {
    const char* last = data + len - 1;
    while (last > data && (*last == ' ' || *last == '\t')) --last;
    if (*last != ' ' && *last != '\t') before_feed_ = *last;
  }
  if (!headers_done_) {  // the request line's last bytes, for a check that straddles two feeds
    std::size_t keep = std::min(len, sizeof tail_);
    std::size_t old = std::min(tail_len_, sizeof tail_ - keep);
    std::memmove(tail_, tail_ + tail_len_ - old, old);
    std::memcpy(tail_ + old, data + len - keep, keep);
    tail_len_ = old + keep;
  }
  if (in_head && err == HPE_OK && !version_seen_ && !req_->target.empty() && std::memchr(data, '\n', len) != nullptr) {
    // A line break after the target and no version: HTTP/0.9 ("GET /" then CRLF). llhttp would wait for
    // header fields, which such a client never sends; it is refused now, not at the headers timeout. (A
    // line break can end nothing else here: llhttp refuses one inside the request line.)
    reject(400, "HTTP/0.9 request");
    consumed = len;
    return state::failed;
  }
  if (in_head && !headers_done_ && err == HPE_OK) {
    // All of it was head: count it as received (the callbacks miss blank lines and whitespace).
    raw_head_before_feed_ += len;
    if (raw_head_before_feed_ > limits_.max_header_bytes) {
      reject(431, "request header fields too large");
      consumed = len;
      return state::failed;
    }
  }
  if (!in_head && (parser_.flags & F_CHUNKED) != 0 && (err == HPE_OK || err == HPE_PAUSED)) {
    body_raw_ += err == HPE_OK ? len : static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
    if (body_raw_ > body_seen_ + 8 * body_seen_ + max_chunk_framing_bytes) {
      reject(400, "chunked framing too long");
      consumed = len;
      return state::failed;
    }
  }
  switch (err) {
    case HPE_OK:
      consumed = len;
      return state::need_more;
    case HPE_PAUSED:
    case HPE_PAUSED_UPGRADE:
      consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
      if (err == HPE_PAUSED_UPGRADE) keep_alive_ = false;  // no upgrades: answer, then close
      llhttp_resume(&parser_);
      return complete_ ? state::complete : state::head;
    default:
      consumed = len;
      if (error_status_ == 0) {
        error_status_ = 400;
        error_reason_ = llhttp_get_error_reason(&parser_);
      }
      return state::failed;
  }
}

int request_parser::reject(int status, const char* reason) noexcept {
  error_status_ = status;
  error_reason_ = reason;
  return -1;  // HPE_USER: llhttp stops and reports an error
}

// llhttp 8.1.0 folds a field line that starts with SP or HTAB into the field before it (obs-fold). RFC
// 9112 §5.2 lets a server reject that or replace it with SP; folding instead hides the line from this
// hop while another may read it as a field of its own (" Content-Length: 5", CVE-2024-27982, fixed in
// llhttp 8.1.2 and 9.2.1). A value piece whose nearest byte before it, past SP and HTAB, is LF begins
// on a continuation line: reject it.
bool request_parser::folded_before(const char* at) const noexcept {
  const char* p = at;
  while (p > feed_begin_ && (p[-1] == ' ' || p[-1] == '\t')) --p;
  char c = p > feed_begin_ ? p[-1] : before_feed_;
  return c == '\n';
}

// RFC 9112 §3: one SP between the request line's parts. llhttp 8.1.0 takes any run of spaces; a hop
// that splits on single spaces would read "GET  /x" differently (an empty target), and the RFC warns
// that lenient request-line parsing is a smuggling risk (§11.2). Whether the part that begins `back`
// bytes before `at` follows exactly one SP (the bytes before the feed come from tail_).
bool request_parser::one_space_before(const char* at, std::size_t back) const noexcept {
  auto byte = [&](std::size_t k) -> char {  // the k-th byte before `at`
    auto here = static_cast<std::size_t>(at - feed_begin_);
    if (k <= here) return at[-static_cast<std::ptrdiff_t>(k)];
    return k - here <= tail_len_ ? tail_[tail_len_ - (k - here)] : '\n';
  };
  char after = byte(back + 2);
  return byte(back + 1) == ' ' && after != ' ' && after != '\t';
}

// Fields that decide where a message ends, and what it means, checked as they pass.
int request_parser::check_framing_field(std::string_view name, std::string_view value) noexcept {
  if (name.empty()) return reject(400, "empty header field name");
  if (name.size() == 4 && iequals(name, "host")) {
    if (has_host_) return reject(400, "more than one Host");  // RFC 9112 §3.2
    if (!valid_host(value)) return reject(400, "invalid Host");
    has_host_ = true;
  } else if (name.size() == 17 && iequals(name, "transfer-encoding")) {
    // weft decodes chunked only; any other coding (gzip, identity, ...) would reach the handler still
    // encoded, or be framed differently by another hop (RFC 9112 §6.1: 501).
    // A list (RFC 9110 §5.6.1): empty elements and the whitespace around elements do not count, so
    // ", chunked" is "chunked". llhttp must have read it so too: on_headers_complete checks that.
    bool chunked = false;
    std::size_t codings = 0;
    for (std::size_t at = 0; at <= value.size();) {
      std::size_t comma = std::min(value.find(',', at), value.size());
      std::string_view element = value.substr(at, comma - at);
      while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) element.remove_prefix(1);
      while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) element.remove_suffix(1);
      if (!element.empty()) {
        ++codings;
        chunked = iequals(element, "chunked");
      }
      at = comma + 1;
    }
    if (codings == 0) return reject(400, "empty Transfer-Encoding");
    if (!chunked || codings > 1 || has_transfer_encoding_) return reject(501, "transfer coding not implemented");
    has_transfer_encoding_ = true;
  }
  return 0;
}

int request_parser::count_head(std::size_t len) noexcept {
  head_bytes_ += len;
  if (head_bytes_ > limits_.max_header_bytes) return reject(431, "request header fields too large");
  return 0;
}

int request_parser::on_message_begin(llhttp_t* p) noexcept {
  self(p).began_ = true;
  return 0;
}

int request_parser::on_url(llhttp_t* p, const char* at, std::size_t len) noexcept {
  request_parser& s = self(p);
  s.head_reached_ = at + len;
  if (s.req_->target.empty() && !s.one_space_before(at, 0)) return s.reject(400, "more than one space before the target");
  s.req_->target.append(at, len);
  if (s.req_->target.size() > s.limits_.max_request_line) return s.reject(414, "request line too long");
  return s.count_head(len);
}

int request_parser::on_header_field(llhttp_t* p, const char* at, std::size_t len) noexcept {
  request_parser& s = self(p);
  s.head_reached_ = at + len;
  s.fields_.name_piece(s.req_->headers, !s.headers_done_, at, len);
  return s.count_head(len);
}

int request_parser::on_header_value(llhttp_t* p, const char* at, std::size_t len) noexcept {
  request_parser& s = self(p);
  // An empty value ("Accept:" then CRLF) is a piece of no bytes that llhttp marks at the next line's
  // start: it is allowed (RFC 9110 §5.5), not a fold.
  if (len > 0 && s.folded_before(at)) return s.reject(400, "obsolete line folding");
  s.head_reached_ = at + len;
  s.fields_.value_piece(s.req_->headers, !s.headers_done_, at, len);
  return s.count_head(len);
}

int request_parser::on_header_value_complete(llhttp_t* p) noexcept {
  request_parser& s = self(p);
  bool in_head = !s.headers_done_;
  headers& h = s.req_->headers;
  s.fields_.finish(in_head ? h : s.req_->trailers, in_head);
  if (in_head) {
    // The fields the server itself acts on, checked and noted here rather than searched for later.
    auto [name, value] = h[h.size() - 1];
    if (int r = s.check_framing_field(name, value); r != 0) return r;
    if (name.size() == 10 && iequals(name, "connection") && iequals(value, "close")) s.close_asked_ = true;
    if (name.size() == 6 && iequals(name, "expect")) {
      if (!iequals(value, "100-continue")) return s.reject(417, "unsupported expectation");
      s.expect_continue_ = true;
    }
  } else if (s.req_->trailers[s.req_->trailers.size() - 1].name.empty()) {
    return s.reject(400, "empty trailer field name");
  }
  if (++s.fields_seen_ > s.limits_.max_header_fields) return s.reject(431, "too many header fields");
  return s.count_head(4);  // ": " and CRLF
}

int request_parser::on_headers_complete(llhttp_t* p) noexcept {
  request_parser& s = self(p);
  request& req = *s.req_;
  req.method = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(p)));
  req.version_minor = llhttp_get_http_minor(p);
  if (llhttp_get_http_major(p) != 1) return s.reject(505, "HTTP version not supported");
  if (req.version_minor >= 1 && !s.has_host_) return s.reject(400, "HTTP/1.1 request without Host");
  // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is a sign of a message framed for another hop.
  if (req.version_minor == 0 && s.has_transfer_encoding_) return s.reject(400, "Transfer-Encoding in HTTP/1.0");
  // The framing weft checked (a lone "chunked") must be the one llhttp reads the body by.
  if (s.has_transfer_encoding_ && (p->flags & F_CHUNKED) == 0) return s.reject(400, "invalid Transfer-Encoding");
  // The head as received, blank lines and whitespace included, within max_header_bytes.
  std::size_t raw = s.raw_head_before_feed_ + static_cast<std::size_t>(s.head_reached_ - s.feed_begin_);
  if (raw > s.limits_.max_header_bytes) return s.reject(431, "request header fields too large");
  // No tunnels and no protocol switches: CONNECT is refused, and an Upgrade header is ignored, so the
  // bytes after this message are parsed as HTTP (or the connection closes), never as another protocol.
  // (RFC 9112 §3.2.3: CONNECT's target is authority-form, host and port; any other is malformed.)
  if (llhttp_get_method(p) == HTTP_CONNECT) {
    std::string_view target = req.target;
    std::size_t colon = target.rfind(':');
    bool authority_form = colon != std::string_view::npos && colon > 0 && colon + 1 < target.size() &&
                          target.find_first_of("/?#") == std::string_view::npos && valid_host(target);
    return authority_form ? s.reject(501, "CONNECT not implemented") : s.reject(400, "CONNECT without an authority-form target");
  }
  p->upgrade = 0;
  // The request-target (RFC 9112 §3.2): absolute-form is taken as the origin-form of its path (a
  // server MUST accept it); asterisk-form only for OPTIONS; a fragment is never part of it.
  std::string& target = req.target;
  if (target.find('#') != std::string::npos) return s.reject(400, "fragment in the request target");
  if (target == "*" && llhttp_get_method(p) != HTTP_OPTIONS) return s.reject(400, "asterisk-form target");
  // Its authority replaces the Host field (RFC 9112 §3.2.2: the server MUST ignore the received Host).
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() >= scheme.size() && iequals(std::string_view(target).substr(0, scheme.size()), scheme)) {
      std::size_t path = target.find_first_of("/?", scheme.size());
      std::string authority = target.substr(scheme.size(), path == std::string::npos ? std::string::npos : path - scheme.size());
      if (authority.empty() || !valid_host(authority)) return s.reject(400, "invalid authority in the request target");
      req.headers.set("Host", authority);
      target = path == std::string::npos ? "/" : (target[path] == '?' ? "/" : "") + target.substr(path);
      break;
    }
  }
  bool streams = s.probe_ != nullptr && s.probe_(s.probe_ctx_, req);
  if (!streams && (p->flags & F_CONTENT_LENGTH) != 0 && p->content_length > s.limits_.max_body_bytes) {
    return s.reject(413, "request body too large");
  }
  s.headers_done_ = true;
  if (streams) {
    s.streaming_ = true;
    return HPE_PAUSED;  // the handler runs now and reads the body itself
  }
  return 0;
}

int request_parser::on_body(llhttp_t* p, const char* at, std::size_t len) noexcept {
  request_parser& s = self(p);
  s.body_seen_ += len;
  if (s.streaming_) {
    s.chunk_.append(at, len);
    return 0;
  }
  if (s.req_->body.size() + len > s.limits_.max_body_bytes) return s.reject(413, "request body too large");
  s.req_->body.append(at, len);
  return 0;
}

int request_parser::on_version(llhttp_t* p, const char* at, std::size_t) noexcept {
  request_parser& s = self(p);
  if (s.version_seen_) return 0;
  s.version_seen_ = true;
  // llhttp's version piece starts after "HTTP/".
  return s.one_space_before(at, 5) ? 0 : s.reject(400, "more than one space before the version");
}

// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), the
// name a token. llhttp 8.1.0 lets "5;=x" through, a name left empty.
int request_parser::on_chunk_extension_name(llhttp_t* p, const char* at, std::size_t len) noexcept {
  self(p).extension_named_ = self(p).extension_named_ || len > 0;
  return on_chunk_extension(p, at, len);
}

int request_parser::on_chunk_extension_name_complete(llhttp_t* p) noexcept {
  request_parser& s = self(p);
  if (!s.extension_named_) return s.reject(400, "chunk extension without a name");
  s.extension_named_ = false;
  return 0;
}

int request_parser::on_chunk_extension(llhttp_t* p, const char*, std::size_t len) noexcept {
  request_parser& s = self(p);
  s.extension_bytes_ += len;
  if (s.extension_bytes_ > max_chunk_extension_bytes) return s.reject(400, "chunk extensions too long");
  return 0;
}

// A chunk too big for the body's limit is refused at its size line, not after its bytes arrived.
int request_parser::on_chunk_header(llhttp_t* p) noexcept {
  request_parser& s = self(p);
  if (!s.streaming_ && p->content_length > s.limits_.max_body_bytes - s.req_->body.size()) {
    return s.reject(413, "request body too large");
  }
  return 0;
}

int request_parser::on_message_complete(llhttp_t* p) noexcept {
  request_parser& s = self(p);
  s.complete_ = true;
  s.keep_alive_ = llhttp_should_keep_alive(p) != 0 && !s.close_asked_;
  return HPE_PAUSED;
}

}  // namespace weft::http::detail
