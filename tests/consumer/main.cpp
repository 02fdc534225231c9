// A program built against an installed weft, through find_package(weft).
#include <weft/weft.hpp>

#include <chrono>

weft::task<int> twice(int x) {
  co_await weft::sleep_for(std::chrono::milliseconds(1));
  co_return 2 * x;
}

weft::task<int> async_main() {
  auto [a, b] = co_await weft::when_all(twice(10), twice(11));
  co_return a + b == 42 ? 0 : 1;
}

int main() { return weft::run(async_main()); }
