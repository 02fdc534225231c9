#include "http/response_parser.hpp"

namespace weft::http::detail {

namespace {
response_parser& self(llhttp_t* p) noexcept { return *static_cast<response_parser*>(p->data); }
}  // namespace

const llhttp_settings_t response_parser::settings = [] {
  llhttp_settings_t s;
  llhttp_settings_init(&s);
  s.on_message_begin = &response_parser::on_message_begin;
  s.on_header_field = &response_parser::on_header_field;
  s.on_header_value = &response_parser::on_header_value;
  s.on_header_value_complete = &response_parser::on_header_value_complete;
  s.on_headers_complete = &response_parser::on_headers_complete;
  s.on_body = &response_parser::on_body;
  s.on_message_complete = &response_parser::on_message_complete;
  return s;
}();

response_parser::response_parser() noexcept {
  llhttp_init(&parser_, HTTP_RESPONSE, &settings);
  parser_.data = this;
}

void response_parser::start(client_response& res, bool no_body, std::size_t max_header_bytes,
                            std::size_t max_body_bytes) noexcept {
  llhttp_reset(&parser_);
  res.status = 0;
  res.headers.clear();
  res.trailers.clear();
  res.body.clear();
  res_ = &res;
  fields_.reset();
  head_bytes_ = 0;
  interim_ = 0;
  max_header_bytes_ = max_header_bytes;
  max_body_bytes_ = max_body_bytes;
  no_body_ = no_body;
  began_ = headers_done_ = complete_ = keep_alive_ = false;
  error_.clear();
  reason_ = "";
}

response_parser::state response_parser::feed(const char* data, std::size_t len, std::size_t& consumed) noexcept {
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) {
    consumed = len;
    return state::need_more;
  }
  if (err == HPE_PAUSED && complete_) {
    consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
    return state::complete;
  }
  consumed = len;
  return failed_from_llhttp();
}

response_parser::state response_parser::finish() noexcept {
  // llhttp_finish completes a body that runs to the close; anything else unfinished was cut short.
  if (began_ && llhttp_finish(&parser_) == HPE_OK && complete_) return state::complete;
  if (complete_) return state::complete;
  reject(errc::end_of_stream, began_ ? "closed before the response ended" : "closed before the response began");
  return state::failed;
}

response_parser::state response_parser::failed_from_llhttp() noexcept {
  if (!error_) {
    error_ = errc::bad_response;
    reason_ = llhttp_get_error_reason(&parser_);
  }
  return state::failed;
}

int response_parser::reject(errc e, const char* reason) noexcept {
  error_ = e;
  reason_ = reason;
  return -1;  // HPE_USER: llhttp stops and reports an error
}

int response_parser::count_head(std::size_t len) noexcept {
  head_bytes_ += len;
  if (head_bytes_ > max_header_bytes_) return reject(errc::too_large, "response header section too large");
  return 0;
}

int response_parser::on_message_begin(llhttp_t* p) noexcept {
  self(p).began_ = true;
  return 0;
}

int response_parser::on_header_field(llhttp_t* p, const char* at, std::size_t len) noexcept {
  response_parser& s = self(p);
  s.fields_.name_piece(s.res_->headers, !s.headers_done_, at, len);
  return s.count_head(len);
}

int response_parser::on_header_value(llhttp_t* p, const char* at, std::size_t len) noexcept {
  response_parser& s = self(p);
  s.fields_.value_piece(s.res_->headers, !s.headers_done_, at, len);
  return s.count_head(len);
}

int response_parser::on_header_value_complete(llhttp_t* p) noexcept {
  response_parser& s = self(p);
  s.fields_.finish(s.headers_done_ ? s.res_->trailers : s.res_->headers, !s.headers_done_);
  return s.count_head(4);
}

int response_parser::on_headers_complete(llhttp_t* p) noexcept {
  response_parser& s = self(p);
  s.res_->status = llhttp_get_status_code(p);
  s.res_->version_minor = llhttp_get_http_minor(p);
  if (llhttp_get_http_major(p) != 1) return s.reject(errc::bad_response, "not an HTTP/1.x response");
  if (s.res_->status == 101) return s.reject(errc::bad_response, "unexpected protocol switch");
  if (s.res_->status >= 100 && s.res_->status < 200) return 0;  // interim: no body, the final one follows
  if ((p->flags & F_CONTENT_LENGTH) != 0 && !s.no_body_ && p->content_length > s.max_body_bytes_) {
    return s.reject(errc::too_large, "response body too large");
  }
  s.headers_done_ = true;
  return s.no_body_ ? 1 : 0;  // 1: llhttp expects no body (the answer to HEAD)
}

int response_parser::on_body(llhttp_t* p, const char* at, std::size_t len) noexcept {
  response_parser& s = self(p);
  if (s.res_->body.size() + len > s.max_body_bytes_) return s.reject(errc::too_large, "response body too large");
  s.res_->body.append(at, len);
  return 0;
}

int response_parser::on_message_complete(llhttp_t* p) noexcept {
  response_parser& s = self(p);
  if (s.res_->status >= 100 && s.res_->status < 200) {
    // An interim response: forget it and parse the final one. Their fields count against the header
    // limit together, and a server may send only so many: one that sends 1xx forever gets an error,
    // not a wait as long as its stream (Go allows 5; 103 Early Hints may come a few times).
    s.res_->headers.clear();
    if (++s.interim_ > max_interim_responses) return s.reject(errc::bad_response, "too many interim responses");
    return 0;
  }
  s.complete_ = true;
  s.keep_alive_ = llhttp_should_keep_alive(p) != 0;
  return HPE_PAUSED;
}

}  // namespace weft::http::detail
