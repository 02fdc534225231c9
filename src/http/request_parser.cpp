#include "http/request_parser.hpp"

namespace weft::http::detail {

namespace {
request_parser& self(llhttp_t* p) noexcept { return *static_cast<request_parser*>(p->data); }
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
  s.on_chunk_extension_name = &request_parser::on_chunk_extension;
  s.on_chunk_extension_value = &request_parser::on_chunk_extension;
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
  head_bytes_ = fields_seen_ = extension_bytes_ = 0;
  began_ = headers_done_ = complete_ = keep_alive_ = expect_continue_ = has_host_ = streaming_ = false;
  chunk_.clear();
}

request_parser::state request_parser::feed(const char* data, std::size_t len, std::size_t& consumed) noexcept {
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
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
  s.req_->target.append(at, len);
  if (s.req_->target.size() > s.limits_.max_request_line) return s.reject(414, "request line too long");
  return s.count_head(len);
}

int request_parser::on_header_field(llhttp_t* p, const char* at, std::size_t len) noexcept {
  request_parser& s = self(p);
  s.fields_.name_piece(s.req_->headers, !s.headers_done_, at, len);
  return s.count_head(len);
}

int request_parser::on_header_value(llhttp_t* p, const char* at, std::size_t len) noexcept {
  request_parser& s = self(p);
  s.fields_.value_piece(s.req_->headers, !s.headers_done_, at, len);
  return s.count_head(len);
}

int request_parser::on_header_value_complete(llhttp_t* p) noexcept {
  request_parser& s = self(p);
  bool in_head = !s.headers_done_;
  headers& h = s.req_->headers;
  if (in_head) {
    // The two fields the server itself acts on, noted here rather than searched for later.
    std::string_view name = s.fields_.head_name(h);
    if (name.size() == 4 && iequals(name, "host")) s.has_host_ = true;
    if (name.size() == 6 && iequals(name, "expect")) {
      if (!iequals(s.fields_.head_value(h), "100-continue")) return s.reject(417, "unsupported expectation");
      s.expect_continue_ = true;
    }
  }
  s.fields_.finish(in_head ? h : s.req_->trailers, in_head);
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
  if (s.streaming_) {
    s.chunk_.append(at, len);
    return 0;
  }
  if (s.req_->body.size() + len > s.limits_.max_body_bytes) return s.reject(413, "request body too large");
  s.req_->body.append(at, len);
  return 0;
}

int request_parser::on_chunk_extension(llhttp_t* p, const char*, std::size_t len) noexcept {
  request_parser& s = self(p);
  s.extension_bytes_ += len;
  if (s.extension_bytes_ > max_chunk_extension_bytes) return s.reject(400, "chunk extensions too long");
  return 0;
}

int request_parser::on_message_complete(llhttp_t* p) noexcept {
  request_parser& s = self(p);
  s.complete_ = true;
  s.keep_alive_ = llhttp_should_keep_alive(p) != 0;
  return HPE_PAUSED;
}

}  // namespace weft::http::detail
