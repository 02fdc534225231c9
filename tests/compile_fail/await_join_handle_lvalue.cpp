// A join_handle is awaited once, as an rvalue: `co_await h` on a named handle must not compile.
#include <weft/spawn.hpp>

weft::task<int> misuse(weft::join_handle<int> h) {
#ifdef WEFT_EXPECT_OK
  co_return co_await std::move(h);
#else
  co_return co_await h;
#endif
}
