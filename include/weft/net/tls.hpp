// TLS over TCP, on OpenSSL.
//
//     auto ctx = weft::net::tls_context::client();                      // verifies against the system CAs
//     auto tcp = co_await weft::net::tcp_stream::connect("example.com", 443);
//     auto tls = co_await weft::net::tls_stream::connect(std::move(*tcp), *ctx, "example.com");
//     co_await tls->write_all("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
//
//     auto server_ctx = weft::net::tls_context::server("cert.pem", "key.pem");
//     auto conn = co_await weft::net::tls_stream::accept(std::move(*accepted), *server_ctx);
//
// A client sends SNI and checks the certificate's name (DNS name, or IP address for an IP literal).
// Errors: errc::tls_handshake_failed (including an untrusted or mismatched certificate),
// errc::tls_error afterwards, plus the socket's own (reset, timed out, canceled). The details of a TLS
// failure are in last_error_detail().
//
// OpenSSL writes to the socket itself, without MSG_NOSIGNAL: creating a tls_context sets SIGPIPE to
// "ignore" for the process (as nginx and most servers run), so a peer that vanishes gives EPIPE.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "weft/error.hpp"
#include "weft/net/tcp.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace weft::net {

/// Settings shared by many TLS connections (an SSL_CTX). Copies share the same context.
class tls_context {
 public:
  /// A client context: TLS 1.2 or later, peers verified against the system's CAs.
  static result<tls_context> client();
  /// A server context presenting the PEM certificate chain and private key in these files.
  static result<tls_context> server(const std::string& cert_file, const std::string& key_file);

  /// Also trusts the CA certificates in `pem_file` (a private CA, a test's own).
  result<void> trust(const std::string& pem_file);
  /// A client that accepts any certificate: for tests against throwaway servers only.
  void insecure_skip_verify() noexcept;

  ssl_ctx_st* native_handle() const noexcept { return ctx_.get(); }

 private:
  explicit tls_context(ssl_ctx_st* ctx) noexcept;
  std::shared_ptr<ssl_ctx_st> ctx_;
};

/// A TLS connection over a tcp_stream. Move-only; destroying it closes the connection (without a
/// close_notify: call shutdown() first for a clean close).
class tls_stream {
 public:
  tls_stream() noexcept = default;
  tls_stream(tls_stream&& other) noexcept;
  tls_stream& operator=(tls_stream&& other) noexcept;
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;
  ~tls_stream();

  /// Client handshake on a connected stream, for server name `host` (SNI and verification).
  static task<result<tls_stream>> connect(tcp_stream s, const tls_context& ctx, std::string host,
                                          clock::duration timeout = std::chrono::seconds(30));
  /// Server handshake on an accepted stream.
  static task<result<tls_stream>> accept(tcp_stream s, const tls_context& ctx,
                                         clock::duration timeout = std::chrono::seconds(30));

  /// Reads decrypted bytes, waiting until some are there (at most `timeout`; zero: no limit); 0 is the
  /// end of the stream.
  task<result<std::size_t>> read_some(std::span<char> buf, clock::duration timeout = clock::duration::zero());
  /// Reads what is there now without waiting, or `std::errc::operation_would_block`.
  result<std::size_t> try_read_some(std::span<char> buf) noexcept;
  /// After try_read_some said would-block: waits until reading can make progress.
  task<result<void>> wait_readable(clock::duration timeout = clock::duration::zero());
  /// Encrypts and sends all of `data`. `stall_timeout` (zero: none): give up with `errc::timed_out` once
  /// the socket has taken no byte for that long (a peer that stopped reading); closing then resets the
  /// connection, as stream_socket::write_all's does.
  task<result<void>> write_all(std::string_view data, clock::duration stall_timeout = clock::duration::zero());
  /// Encrypts and sends all the parts, in order (`stall_timeout` as above).
  task<result<void>> write_all(std::span<const std::string_view> parts,
                               clock::duration stall_timeout = clock::duration::zero());
  /// Sends close_notify (the peer reads end of stream); the stream can still be read.
  task<result<void>> shutdown();

  /// The negotiated protocol version ("TLSv1.3"), or "" before a handshake.
  std::string_view version() const noexcept;
  /// OpenSSL's description of the last TLS failure on this stream, or "".
  const std::string& last_error_detail() const noexcept { return detail_; }
  tcp_stream& lower() noexcept { return tcp_; }

 private:
  static task<result<tls_stream>> handshake(tls_stream t, clock::duration timeout);
  /// One non-blocking SSL_read: true with `got` (0: end of stream) or an error; false if it would block
  /// (then `rc` says what OpenSSL waits for).
  bool read_once(std::span<char> buf, std::size_t& got, std::error_code& error, int& rc) noexcept;
  /// Waits for what OpenSSL asked for after `rc` (a want-read or want-write), or fails.
  task<result<void>> wait_for(int rc, errc failure, clock::time_point deadline);

  tcp_stream tcp_;
  ssl_st* ssl_ = nullptr;
  std::string detail_;
};

}  // namespace weft::net
