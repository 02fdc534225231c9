// The seed's gist, in C++: five requests with `request-id: i` to /delay/.N1, all started without
// waiting for each other; each id is printed as its JSON response arrives — so in the order of the
// delays, not of the ids.
//
//     concurrent_requests                      against an embedded server on 127.0.0.1
//     concurrent_requests http://127.0.0.1:8080   against `weft serve` (or any httpbin)
//     concurrent_requests ... SEED             another draw of the delays
#include <weft/weft.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "example_server.hpp"
#include "seed_scenarios.hpp"

namespace seed {

namespace {

// http.get(request, (res) => { ... console.log(JSON.parse(body).headers['Request-Id']) })
weft::task<void> get_and_print(weft::http::client& http, std::string url, int id, weft::clock::time_point start,
                               int& failed) {
  weft::http::headers headers;
  headers.add("request-id", std::to_string(id));
  auto res = co_await http.get(url, std::move(headers));
  double s = std::chrono::duration<double>(weft::clock::now() - start).count();
  if (!res) {
    std::printf("request %d failed: %s\n", id, res.error().message().c_str());
    ++failed;
    co_return;
  }
  auto body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  std::string got = body.is_object() && body["headers"].contains("Request-Id")
                        ? body["headers"]["Request-Id"].get<std::string>()
                        : "(no Request-Id in the response)";
  std::printf("%s      after %.2f s   %s\n", got.c_str(), s, url.substr(url.find("/delay")).c_str());
}

}  // namespace

weft::task<int> concurrent_requests(std::string base, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> digit(1, 5);  // Math.floor(Math.random() * (5 - 1 + 1)) + 1
  weft::http::client http;
  std::puts("Running concurrent requests!");
  auto start = weft::clock::now();
  int failed = 0;
  weft::task_group requests;
  for (int i = 0; i < 5; ++i) {
    // path: '/delay/.' + n + 1: a string, so "/delay/.31" waits 0.31 s
    requests.spawn("request-id " + std::to_string(i),  // the name a trace shows
                   get_and_print(http, base + "/delay/." + std::to_string(digit(rng)) + "1", i, start, failed));
  }
  co_await requests.join();
  co_return failed;
}

}  // namespace seed

#ifndef WEFT_EXAMPLE_NO_MAIN
int main(int argc, char** argv) {
  std::unique_ptr<example::server> embedded;
  std::string base;
  if (argc > 1 && *argv[1] != '\0') {  // "": the embedded server, with a seed after it
    base = argv[1];
  } else {
    embedded = std::make_unique<example::server>();
    base = embedded->base();
  }
  unsigned seed = argc > 2 ? static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10)) : std::random_device{}();
  return weft::run(seed::concurrent_requests(base, seed)) == 0 ? 0 : 1;
}
#endif
