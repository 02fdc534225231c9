// A task is awaited once, as an rvalue: `co_await t` on a named task must not compile, so it cannot
// be awaited twice by accident.
#include <weft/task.hpp>

weft::task<int> make() { co_return 1; }

weft::task<int> misuse() {
  weft::task<int> t = make();
#ifdef WEFT_EXPECT_OK
  co_return co_await std::move(t);
#else
  co_return co_await t;
#endif
}
