// TLS on OpenSSL, with OpenSSL doing its own reads and writes on the non-blocking socket (SSL_set_fd).
//
// Every SSL_* call is tried first; on SSL_ERROR_WANT_READ the socket had nothing (OpenSSL got EAGAIN),
// so we wait for the next read edge; on SSL_ERROR_WANT_WRITE, for writability. Reads and writes may
// interleave on one loop (OpenSSL allows that from one thread), one of each at a time.
#include "weft/net/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <utility>

#include "net/socket_impl.hpp"
#include "reactor/io.hpp"

namespace weft::net {
namespace {

std::string take_openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

/// A context with what clients and servers share: TLS 1.2 or later, an unexpected EOF read as end of
/// stream, SIGPIPE ignored. Null if OpenSSL cannot make one.
SSL_CTX* new_context(const SSL_METHOD* method) {
  detail::ignore_sigpipe_once();
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  return ctx;
}

}  // namespace

tls_context::tls_context(ssl_ctx_st* ctx) noexcept : ctx_(ctx, &SSL_CTX_free) {}

result<tls_context> tls_context::client() {
  SSL_CTX* ctx = new_context(TLS_client_method());
  if (ctx == nullptr) return fail(errc::tls_error);
  tls_context c(ctx);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) return fail(errc::tls_error);
  return c;
}

result<tls_context> tls_context::server(const std::string& cert_file, const std::string& key_file) {
  SSL_CTX* ctx = new_context(TLS_server_method());
  if (ctx == nullptr) return fail(errc::tls_error);
  tls_context c(ctx);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return fail(errc::invalid_argument);
  }
  return c;
}

result<void> tls_context::trust(const std::string& pem_file) {
  if (SSL_CTX_load_verify_locations(ctx_.get(), pem_file.c_str(), nullptr) != 1) {
    ERR_clear_error();
    return fail(errc::invalid_argument);
  }
  return {};
}

void tls_context::insecure_skip_verify() noexcept { SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr); }

tls_stream::tls_stream(tls_stream&& other) noexcept
    : tcp_(std::move(other.tcp_)), ssl_(std::exchange(other.ssl_, nullptr)), detail_(std::move(other.detail_)) {}

tls_stream& tls_stream::operator=(tls_stream&& other) noexcept {
  if (this != &other) {
    if (ssl_ != nullptr) SSL_free(ssl_);
    tcp_ = std::move(other.tcp_);
    ssl_ = std::exchange(other.ssl_, nullptr);
    detail_ = std::move(other.detail_);
  }
  return *this;
}

tls_stream::~tls_stream() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

task<result<tls_stream>> tls_stream::connect(tcp_stream s, const tls_context& ctx, std::string host,
                                             clock::duration timeout) {
  tls_stream t;
  t.ssl_ = SSL_new(ctx.native_handle());
  if (t.ssl_ == nullptr) co_return fail(errc::tls_error);
  t.tcp_ = std::move(s);
  SSL_set_fd(t.ssl_, t.tcp_.native_handle());
  SSL_set_connect_state(t.ssl_);
  if (auto ip = ip_address::parse(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t.ssl_), host.c_str());
  } else {
    // SSL_set_tlsext_host_name, without the macro's old-style cast.
    SSL_ctrl(t.ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, host.data());
    SSL_set1_host(t.ssl_, host.c_str());
  }
  co_return co_await handshake(std::move(t), timeout);
}

task<result<tls_stream>> tls_stream::accept(tcp_stream s, const tls_context& ctx, clock::duration timeout) {
  tls_stream t;
  t.ssl_ = SSL_new(ctx.native_handle());
  if (t.ssl_ == nullptr) co_return fail(errc::tls_error);
  t.tcp_ = std::move(s);
  SSL_set_fd(t.ssl_, t.tcp_.native_handle());
  SSL_set_accept_state(t.ssl_);
  co_return co_await handshake(std::move(t), timeout);
}

task<result<tls_stream>> tls_stream::handshake(tls_stream t, clock::duration timeout) {
  clock::time_point deadline = weft::deadline_after(clock::now(), timeout);
  for (;;) {
    ERR_clear_error();
    int rc = SSL_do_handshake(t.ssl_);
    if (rc == 1) co_return std::move(t);
    auto waited = co_await t.wait_for(rc, errc::tls_handshake_failed, deadline);
    if (!waited) co_return fail(waited.error());
  }
}

task<result<void>> tls_stream::wait_for(int rc, errc failure, clock::time_point deadline) {
  clock::duration left = clock::duration::zero();
  if (deadline != clock::time_point{}) {
    left = deadline - clock::now();
    if (left <= clock::duration::zero()) co_return fail(errc::timed_out);
  }
  switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ: {
      auto r = co_await tcp_.wait_read_edge(left);
      co_return r;
    }
    case SSL_ERROR_WANT_WRITE: {
      auto r = co_await tcp_.wait_writable(left);
      co_return r;
    }
    case SSL_ERROR_SYSCALL:
      detail_ = take_openssl_errors();
      if (errno != 0) co_return fail(std::error_code(errno, std::system_category()));
      co_return fail(failure);
    default:
      detail_ = take_openssl_errors();
      if (long v = SSL_get_verify_result(ssl_); v != X509_V_OK) {
        detail_ += (detail_.empty() ? "" : "; ") + std::string(X509_verify_cert_error_string(v));
      }
      co_return fail(failure);
  }
}

bool tls_stream::read_once(std::span<char> buf, std::size_t& got, std::error_code& error, int& rc) noexcept {
  ERR_clear_error();
  rc = SSL_read_ex(ssl_, buf.data(), buf.size(), &got);
  if (rc == 1) return true;
  got = 0;
  int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_ZERO_RETURN) return true;  // close_notify: end of stream
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
  detail_ = take_openssl_errors();
  error = e == SSL_ERROR_SYSCALL && errno != 0 ? std::error_code(errno, std::system_category())
                                               : std::error_code(errc::tls_error);
  return true;
}

task<result<std::size_t>> tls_stream::read_some(std::span<char> buf, clock::duration timeout) {
  if (ssl_ == nullptr) co_return fail(errc::closed);
  clock::time_point deadline = timeout > clock::duration::zero() ? weft::deadline_after(clock::now(), timeout) : clock::time_point{};
  for (;;) {
    std::size_t got = 0;
    std::error_code error;
    int rc = 0;
    if (read_once(buf, got, error, rc)) {
      if (error) co_return fail(error);
      co_return got;
    }
    auto waited = co_await wait_for(rc, errc::tls_error, deadline);
    if (!waited) co_return fail(waited.error());
  }
}

result<std::size_t> tls_stream::try_read_some(std::span<char> buf) noexcept {
  if (ssl_ == nullptr) return fail(errc::closed);
  std::size_t got = 0;
  std::error_code error;
  int rc = 0;
  if (!read_once(buf, got, error, rc)) return fail(std::make_error_code(std::errc::operation_would_block));
  if (error) return fail(error);
  return got;
}

task<result<void>> tls_stream::wait_readable(clock::duration timeout) {
  if (ssl_ == nullptr) co_return fail(errc::closed);
  if (SSL_pending(ssl_) > 0) co_return result<void>{};
  auto r = co_await tcp_.wait_read_edge(timeout);
  co_return r;
}

task<result<void>> tls_stream::write_all(std::span<const std::string_view> parts, clock::duration stall_timeout) {
  for (std::string_view p : parts) {
    auto w = co_await write_all(p, stall_timeout);
    if (!w) co_return w;
  }
  co_return result<void>{};
}

task<result<void>> tls_stream::write_all(std::string_view data, clock::duration stall_timeout) {
  if (ssl_ == nullptr) co_return fail(errc::closed);
  while (!data.empty()) {
    ERR_clear_error();
    std::size_t sent = 0;
    int rc = SSL_write_ex(ssl_, data.data(), data.size(), &sent);
    if (rc == 1) {
      data.remove_prefix(sent);
      continue;
    }
    // Each wait follows an attempt: a full period with no byte taken is a stall.
    clock::time_point deadline = stall_timeout > clock::duration::zero()
                                     ? weft::deadline_after(clock::now(), stall_timeout)
                                     : clock::time_point{};
    auto waited = co_await wait_for(rc, errc::tls_error, deadline);
    if (!waited) {
      if (waited.error() == errc::timed_out) weft::detail::reset_on_close(tcp_.native_handle());
      co_return fail(waited.error());
    }
  }
  co_return result<void>{};
}

task<result<void>> tls_stream::shutdown() {
  if (ssl_ == nullptr) co_return fail(errc::closed);
  for (;;) {
    ERR_clear_error();
    int rc = SSL_shutdown(ssl_);
    if (rc >= 0) co_return result<void>{};  // close_notify sent (0: the peer's not seen yet; fine)
    auto waited = co_await wait_for(rc, errc::tls_error, clock::time_point{});
    if (!waited) co_return fail(waited.error());
  }
}

std::string_view tls_stream::version() const noexcept { return ssl_ != nullptr ? SSL_get_version(ssl_) : ""; }

}  // namespace weft::net
