// The glue between a connection's read buffer and llhttp (strict mode): one request at a time.
//
// Protocol: start(req) clears `req` and begins a message; feed() is called with the unparsed bytes of
// the buffer until it returns `complete` (it pauses llhttp right after a message, so pipelined bytes
// stay unconsumed for the next start/feed) or `failed` (then error_status() says 400, 413, 414 or 431
// and the connection must close: the stream's framing can no longer be trusted).
// Header names and values are copied into req.headers as they arrive, so the read buffer can be
// compacted or refilled between feeds. Trailer fields go to req.trailers, never into req.headers.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <string>

#include "http/field_gatherer.hpp"
#include "weft/http/message.hpp"

namespace weft::http::detail {

struct parse_limits {
  std::size_t max_header_bytes;  // the header section and the trailers together
  std::size_t max_request_line;
  std::size_t max_body_bytes;
  std::size_t max_header_fields = 100;  // header and trailer fields together
};

/// Chunk extensions (`1;name=value`) of one message, in bytes: weft ignores them, but llhttp hands them
/// over, and unbounded they would let a client send endless bytes that count as no body (CVE-2024-22019).
inline constexpr std::size_t max_chunk_extension_bytes = 16 * 1024;

/// Bytes of chunked framing (sizes, zero padding, extensions, CRLFs) a body may carry beyond 8 per byte
/// of data: a 1-byte chunk costs 5, and "0000...5" must not bring endless bytes that are no body.
inline constexpr std::size_t max_chunk_framing_bytes = 64 * 1024;

class request_parser {
 public:
  /// `head`: the header section is complete and the request's route streams its body (see
  /// set_stream_probe); feed on to get the body into chunk(), until `complete`.
  enum class state { need_more, head, complete, failed };
  /// Asked at the end of each header section whether this request's body is to be streamed.
  using stream_probe = bool (*)(const void* ctx, const request& req) noexcept;

  explicit request_parser(parse_limits limits) noexcept;
  request_parser(const request_parser&) = delete;
  request_parser& operator=(const request_parser&) = delete;

  /// Makes a parser fit for a new connection, with these limits (parsers are pooled).
  void reuse(const parse_limits& limits) noexcept;
  void set_stream_probe(stream_probe probe, const void* ctx) noexcept {
    probe_ = probe;
    probe_ctx_ = ctx;
  }
  /// The current message's body is being streamed: body bytes go to chunk(), not req.body.
  bool streaming() const noexcept { return streaming_; }
  /// Body bytes parsed since the chunk was last cleared (streaming only).
  std::string& chunk() noexcept { return chunk_; }
  /// The current message is complete.
  bool message_done() const noexcept { return complete_; }
  void start(request& req) noexcept;
  /// Parses up to `len` bytes; `consumed` says how many were used.
  state feed(const char* data, std::size_t len, std::size_t& consumed) noexcept;

  /// After `failed`: the status to answer with.
  int error_status() const noexcept { return error_status_; }
  /// After `failed`: llhttp's reason, or weft's.
  const char* error_reason() const noexcept { return error_reason_; }
  /// After `complete`: whether the client allows another request on this connection.
  bool keep_alive() const noexcept { return keep_alive_; }
  /// The request has `Expect: 100-continue` and its body has not arrived yet.
  bool wants_continue() const noexcept { return expect_continue_ && !complete_; }
  /// The current message's header section is complete (its body may still be arriving).
  bool headers_done() const noexcept { return headers_done_; }
  /// Some byte of the current message has been parsed.
  bool in_message() const noexcept { return began_; }

 private:
  static int on_message_begin(llhttp_t* p) noexcept;
  static int on_url(llhttp_t* p, const char* at, std::size_t len) noexcept;
  static int on_header_field(llhttp_t* p, const char* at, std::size_t len) noexcept;
  static int on_header_value(llhttp_t* p, const char* at, std::size_t len) noexcept;
  static int on_header_value_complete(llhttp_t* p) noexcept;
  static int on_headers_complete(llhttp_t* p) noexcept;
  static int on_body(llhttp_t* p, const char* at, std::size_t len) noexcept;
  static int on_version(llhttp_t* p, const char* at, std::size_t len) noexcept;
  static int on_chunk_extension(llhttp_t* p, const char* at, std::size_t len) noexcept;
  static int on_chunk_extension_name(llhttp_t* p, const char* at, std::size_t len) noexcept;
  static int on_chunk_extension_name_complete(llhttp_t* p) noexcept;
  static int on_chunk_header(llhttp_t* p) noexcept;
  static int on_message_complete(llhttp_t* p) noexcept;
  static const llhttp_settings_t settings;

  int reject(int status, const char* reason) noexcept;
  int count_head(std::size_t len) noexcept;
  bool folded_before(const char* at) const noexcept;
  bool one_space_before(const char* at, std::size_t back) const noexcept;
  int check_framing_field(std::string_view name, std::string_view value) noexcept;

  llhttp_t parser_;
  parse_limits limits_;
  request* req_ = nullptr;
  field_gatherer fields_;
  std::string chunk_;
  stream_probe probe_ = nullptr;
  const void* probe_ctx_ = nullptr;
  std::size_t head_bytes_ = 0;
  std::size_t fields_seen_ = 0;
  // Where the current feed() began, and the last byte before it that was not SP or HTAB: to tell a
  // value's first byte after ':' from one after a line break (obs-fold).
  const char* feed_begin_ = nullptr;
  char before_feed_ = '\n';
  // The last bytes fed before this feed, while in the head (one_space_before looks back into them).
  char tail_[8] = {};
  std::size_t tail_len_ = 0;
  // Head bytes as received, blank lines and whitespace included (the callbacks see neither).
  std::size_t raw_head_before_feed_ = 0;
  const char* head_reached_ = nullptr;  // the end of the last head piece seen in this feed
  std::size_t extension_bytes_ = 0;
  std::size_t body_raw_ = 0;   // bytes fed while in a chunked body (from the feed after the head's)
  std::size_t body_seen_ = 0;  // body bytes llhttp handed over
  const char* error_reason_ = "";
  int error_status_ = 0;
  bool began_ = false;
  bool headers_done_ = false;
  bool complete_ = false;
  bool keep_alive_ = false;
  bool expect_continue_ = false;
  bool has_host_ = false;
  bool has_transfer_encoding_ = false;
  bool close_asked_ = false;  // a Connection field holds "close" (llhttp 8.1.0 misses "close<TAB>")
  bool streaming_ = false;
  bool version_seen_ = false;     // the request line's version has begun (its spaces were checked)
  bool extension_named_ = false;  // the current chunk extension's name has a byte
};

}  // namespace weft::http::detail
