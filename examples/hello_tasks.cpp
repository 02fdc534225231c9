// The README's tour, compiled: sequential, concurrent, and cancelled with a timeout.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

// A stand-in for real I/O: some work that takes a while.
weft::task<std::string> fetch(std::string what, weft::clock::duration takes) {
  co_await weft::sleep_for(takes);
  co_return what;
}

weft::task<void> tour() {
  auto start = weft::clock::now();
  auto elapsed = [&] { return std::chrono::duration<double, std::milli>(weft::clock::now() - start).count(); };

  // Sequential: do this and then do that.
  std::string a = co_await fetch("user", 100ms);
  std::string b = co_await fetch("feed", 100ms);
  std::printf("sequential: %s + %s after %.0f ms\n", a.c_str(), b.c_str(), elapsed());

  // Concurrent: do this and do that without waiting between.
  start = weft::clock::now();
  auto [c, d] = co_await weft::when_all(fetch("user", 100ms), fetch("feed", 100ms));
  std::printf("concurrent: %s + %s after %.0f ms\n", c.c_str(), d.c_str(), elapsed());

  // Bounded: give up after 50 ms; the slow fetch is cancelled and cleaned up.
  start = weft::clock::now();
  weft::result<std::string> slow = co_await weft::timeout(50ms, fetch("archive", 10s));
  std::printf("timeout:    %s after %.0f ms\n", slow ? slow->c_str() : slow.error().message().c_str(), elapsed());
}

int main() { weft::run(tour()); }
