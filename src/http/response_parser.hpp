// The glue between a client connection's read buffer and llhttp (strict mode), for one response.
//
// start() begins a response; feed() takes the unparsed bytes until it says `complete` (it pauses llhttp
// right after the message, so anything after it stays unconsumed) or `failed`. Body bytes are appended
// to the response's body as they are parsed; a streaming reader takes them from there after each feed. At end of stream,
// finish() completes a body delimited by the close, or fails a response cut short. Interim 1xx
// responses (100 Continue, 103 Early Hints) are skipped: the response is the final one.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <string>

#include "http/field_gatherer.hpp"
#include "weft/error.hpp"
#include "weft/http/client.hpp"

namespace weft::http::detail {

class response_parser {
 public:
  enum class state { need_more, complete, failed };

  response_parser() noexcept;
  response_parser(const response_parser&) = delete;
  response_parser& operator=(const response_parser&) = delete;

  /// Begins parsing the response to a request; `no_body`: it was a HEAD request (the response's
  /// Content-Length then describes a body that is not sent).
  void start(client_response& res, bool no_body, std::size_t max_header_bytes, std::size_t max_body_bytes) noexcept;
  state feed(const char* data, std::size_t len, std::size_t& consumed) noexcept;
  /// The peer closed the connection: `complete` for a close-delimited body, `failed` otherwise.
  state finish() noexcept;

  /// Some byte of the response has been parsed.
  bool began() const noexcept { return began_; }
  /// The final response's header section has been parsed (its body may follow).
  bool headers_complete() const noexcept { return headers_done_; }
  /// After `complete`: whether the connection may carry another request.
  bool keep_alive() const noexcept { return keep_alive_; }
  /// After `failed`: errc::bad_response, errc::too_large or errc::end_of_stream (cut short).
  std::error_code error() const noexcept { return error_; }
  /// After `failed`: llhttp's reason, or weft's.
  const char* error_reason() const noexcept { return reason_; }

 private:
  static int on_message_begin(llhttp_t* p) noexcept;
  static int on_header_field(llhttp_t* p, const char* at, std::size_t len) noexcept;
  static int on_header_value(llhttp_t* p, const char* at, std::size_t len) noexcept;
  static int on_header_value_complete(llhttp_t* p) noexcept;
  static int on_headers_complete(llhttp_t* p) noexcept;
  static int on_body(llhttp_t* p, const char* at, std::size_t len) noexcept;
  static int on_message_complete(llhttp_t* p) noexcept;
  static const llhttp_settings_t settings;
  int reject(errc e, const char* reason) noexcept;
  int count_head(std::size_t len) noexcept;
  state failed_from_llhttp() noexcept;

  llhttp_t parser_;
  client_response* res_ = nullptr;
  field_gatherer fields_;
  std::size_t head_bytes_ = 0;
  static constexpr int max_interim_responses = 16;
  int interim_ = 0;  // 1xx responses before the final one
  std::size_t max_header_bytes_ = 0;
  std::size_t max_body_bytes_ = 0;
  bool no_body_ = false;
  bool began_ = false;
  bool headers_done_ = false;
  bool complete_ = false;
  bool keep_alive_ = false;
  std::error_code error_;
  const char* reason_ = "";
};

}  // namespace weft::http::detail
