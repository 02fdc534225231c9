// A real weft HTTP server on 127.0.0.1 in a thread of its own, for tests that talk to it with real
// clients (curl, Python's urllib, Node's http, raw sockets) from the test's thread.
#pragma once

#include <weft/weft.hpp>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace weft::test {

class http_fixture {
 public:
  explicit http_fixture(http::router routes, http::server_options options = {}) {
    std::promise<std::uint16_t> ready;
    auto port = ready.get_future();
    thread_ = std::thread([this, &ready, routes = std::move(routes), options]() mutable {
      runtime rt(test::options());
      rt_ = &rt;
      rt.block_on([&]() -> task<void> {
        http::server srv(std::move(routes), options);
        auto l = srv.listen({net::ip_address::loopback_v4(), 0});
        server_ = &srv;
        ready.set_value(l ? srv.local_endpoint().port : 0);
        if (l) co_await srv.serve();
        server_ = nullptr;
      }());
      stopped_.set_value();
      // Keep the runtime alive until the destructor is done posting to it.
      done_.get_future().wait();
    });
    port_ = port.get();
  }
  ~http_fixture() {
    stop();
    done_.set_value();
    thread_.join();
  }
  http_fixture(const http_fixture&) = delete;
  http_fixture& operator=(const http_fixture&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  /// Asks the server to shut down gracefully and waits until serve() returned.
  void stop() {
    if (stopped_wait_) return;
    stopped_wait_ = true;
    rt_->post([this] {
      if (server_ != nullptr) server_->shutdown();
    });
    stopped_.get_future().wait();
  }
  /// Runs `fn(server)` on the server's loop and waits for it.
  template <class F>
  auto on_loop(F fn) {
    std::promise<decltype(fn(*server_))> p;
    rt_->post([&] { p.set_value(fn(*server_)); });
    return p.get_future().get();
  }
  /// The server's counters (server::metrics()), read on its loop.
  http::server_metrics metrics() {
    return on_loop([](http::server& s) { return s.metrics(); });
  }

 private:
  std::thread thread_;
  runtime* rt_ = nullptr;
  http::server* server_ = nullptr;
  std::uint16_t port_ = 0;
  std::promise<void> stopped_;
  std::promise<void> done_;
  bool stopped_wait_ = false;
};

/// Runs a shell command; returns its stdout (and its exit status through `status`).
inline std::string shell(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  int st = pclose(f);
  if (status != nullptr) *status = st;
  return out;
}

/// A blocking client socket for byte-exact requests: connect, send, read until the server closes
/// (or `limit` bytes, or a 5 s receive timeout).
class raw_client {
 public:
  /// `receive_buffer` (bytes, 0: the kernel's): a small one makes what the client does not read queue
  /// up on the server's side.
  explicit raw_client(std::uint16_t port, int receive_buffer = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~raw_client() { close(fd_); }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  bool connected() const { return connected_; }
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  /// Reads until EOF, an error, or `limit` bytes.
  std::string read_all(std::size_t limit = 1 << 20) {
    std::string out;
    char buf[4096];
    while (out.size() < limit) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  /// Reads until `marker` has been seen `count` times (or EOF).
  std::string read_until(std::string_view marker, int count = 1) {
    std::string out;
    char buf[4096];
    for (;;) {
      int seen = 0;
      for (auto at = out.find(marker); at != std::string::npos; at = out.find(marker, at + marker.size())) ++seen;
      if (seen >= count) break;
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

/// A request for GET /hello (the test servers answer "Hello, World!") that closes its connection.
inline constexpr const char* good_request = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Sends `bytes` on a fresh connection and returns everything the server answers before closing.
inline std::string exchange(std::uint16_t port, std::string_view bytes) {
  raw_client c(port);
  EXPECT_TRUE(c.connected());
  c.send(bytes);
  return c.read_all();
}

/// The first line of a response.
inline std::string status_line(const std::string& response) { return response.substr(0, response.find("\r\n")); }

/// The TCP sockets the kernel holds on local port `port`, besides listeners: accepted, queued for
/// accept, or closing (FIN_WAIT1 and the like). Their lines of /proc/net/tcp and /proc/net/tcp6
/// ("sl local rem st tx_queue:rx_queue ..."), which say why a socket is still there.
inline std::vector<std::string> tcp_sockets_on_port(std::uint16_t port) {
  std::vector<std::string> found;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::FILE* f = std::fopen(table, "r");
    if (f == nullptr) continue;
    char line[512];
    std::fgets(line, sizeof line, f);  // the header
    while (std::fgets(line, sizeof line, f) != nullptr) {
      // "  sl  local_address rem_address   st ...": "0: 0100007F:1F90 0100007F:C350 01 ..."
      char local[64];
      char remote[64];
      unsigned state = 0;
      if (std::sscanf(line, " %*[^:]: %63s %63s %x", local, remote, &state) != 3) continue;
      const char* colon = std::strrchr(local, ':');
      constexpr unsigned listen = 0x0A;
      if (colon != nullptr && std::strtoul(colon + 1, nullptr, 16) == port && state != listen) found.emplace_back(line);
    }
    std::fclose(f);
  }
  return found;
}

/// A fresh connection still gets its answer: whatever the test did to others cost only them.
inline void expect_still_serving(std::uint16_t port) {
  std::string r = exchange(port, good_request);
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("Hello, World!"), std::string::npos);
}

}  // namespace weft::test
