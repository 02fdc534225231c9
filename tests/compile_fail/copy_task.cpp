// A task is move-only: copying one must not compile.
#include <weft/task.hpp>

weft::task<int> make() { co_return 1; }

void misuse() {
  weft::task<int> t = make();
#ifdef WEFT_EXPECT_OK
  weft::task<int> u = std::move(t);
#else
  weft::task<int> u = t;
#endif
  (void)u;
}
