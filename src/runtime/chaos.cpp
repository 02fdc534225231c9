#include "runtime/chaos.hpp"

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

std::uint64_t chaos::seed_or_env(std::uint64_t seed) noexcept {
  if (seed != 0) return seed;
  if (const char* env = std::getenv("WEFT_CHAOS")) return std::strtoull(env, nullptr, 10);
  return 0;
}

void chaos::pause_a_moment(std::uint64_t seed) noexcept {
  thread_local chaos rng(seed, std::hash<std::thread::id>{}(std::this_thread::get_id()));
  std::uint64_t roll = rng.next();
  switch (roll % 8) {
    case 0: {  // spin up to ~20 µs
      auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds((roll >> 8) % 20000);
      while (std::chrono::steady_clock::now() < until) cpu_relax();
      break;
    }
    case 1:
      std::this_thread::yield();
      break;
    default:
      break;
  }
}

}  // namespace weft::detail
