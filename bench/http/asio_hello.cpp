// The Boost.Asio peer: C++20 coroutines (co_spawn per connection, awaitable reads and writes), one
// io_context on one thread. Like raw_epoll it counts request heads and answers each with a prebuilt
// "Hello, World!", so it measures Asio's runtime, not an HTTP parser.
//
//   asio_hello PORT
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>
#include <string>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

asio::awaitable<void> session(tcp::socket s) {
  s.set_option(tcp::no_delay(true));
  char buf[16384];
  std::string out;
  int matched = 0;
  try {
    for (;;) {
      std::size_t n = co_await s.async_read_some(asio::buffer(buf), asio::use_awaitable);
      int heads = 0;
      for (std::size_t k = 0; k < n; ++k) {
        char want = "\r\n\r\n"[matched];
        matched = buf[k] == want ? matched + 1 : (buf[k] == '\r' ? 1 : 0);
        if (matched == 4) {
          ++heads;
          matched = 0;
        }
      }
      out.clear();
      for (int i = 0; i < heads; ++i) out += response;
      co_await asio::async_write(s, asio::buffer(out), asio::use_awaitable);
    }
  } catch (const std::exception&) {
  }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(acceptor.get_executor(), session(std::move(s)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  asio::io_context ctx(1);
  tcp::acceptor acceptor(ctx, {tcp::v4(), static_cast<unsigned short>(std::atoi(argv[1]))});
  asio::co_spawn(ctx, listen(acceptor), asio::detached);
  ctx.run();
}
