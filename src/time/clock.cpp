#include "runtime/worker.hpp"
#include "weft/time.hpp"

namespace weft {

clock::time_point clock::now() noexcept {
  if (detail::worker* w = detail::current_worker()) return w->now();
  return time_point(detail::steady_clock_now().time_since_epoch());
}

}  // namespace weft
