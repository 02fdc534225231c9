// A join_handle is move-only: copying one must not compile.
#include <weft/spawn.hpp>

void misuse(weft::join_handle<int>& h) {
#ifdef WEFT_EXPECT_OK
  weft::join_handle<int> copy = std::move(h);
#else
  weft::join_handle<int> copy = h;
#endif
  (void)copy;
}
