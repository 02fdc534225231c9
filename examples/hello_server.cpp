// The smallest weft HTTP server: every request gets 200, text/plain, "Hello, World!".
//
//     hello_server 8080        then: curl http://127.0.0.1:8080/
//     hello_server 8080 2      the same on two threads (one event loop each, sharing the port)
#include <weft/weft.hpp>

#include <cstdio>
#include <cstdlib>

weft::task<int> serve(std::uint16_t port) {
  weft::http::router routes;
  routes.fallback([](weft::http::request&) -> weft::task<weft::http::response> {
    co_return weft::http::response::text(200, "Hello, World!");
  });
  weft::http::server server(std::move(routes));
  if (auto r = server.listen({weft::net::ip_address::any_v4(), port}); !r) {
    std::fprintf(stderr, "hello_server: cannot listen on port %u: %s\n", port, r.error().message().c_str());
    co_return 1;
  }
  std::printf("listening on http://127.0.0.1:%u/\n", server.local_endpoint().port);
  std::fflush(stdout);
  co_await server.serve();
  co_return 0;
}

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: hello_server PORT [THREADS]\n");
    return 2;
  }
  weft::runtime_options options;
  if (argc == 3) options.workers = static_cast<std::size_t>(std::atoi(argv[2]));
  return weft::run(serve(static_cast<std::uint16_t>(std::atoi(argv[1]))), options);
}
