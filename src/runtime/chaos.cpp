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

std::uint64_t chaos::runtime_serial(bool new_runtime) noexcept {
  static atomic<std::uint64_t> serial{0};
  return new_runtime ? serial.fetch_add(1, std::memory_order_relaxed) + 1 : serial.load(std::memory_order_relaxed);
}

void chaos::pause_a_moment(std::uint64_t seed, std::uint64_t runtime) noexcept {
  // Per thread, reseeded when the runtime or its seed changes (it once kept the first runtime's).
  thread_local chaos rng;
  thread_local std::uint64_t rng_seed = 0;
  thread_local std::uint64_t rng_runtime = 0;
  if (rng_seed != seed || rng_runtime != runtime) {
    rng = chaos(seed ^ (runtime * 0x94D049BB133111EBull), std::hash<std::thread::id>{}(std::this_thread::get_id()));
    rng_seed = seed;
    rng_runtime = runtime;
  }
  std::uint64_t roll = rng.next();
  switch (roll % 8) {
    case 0: {  // spin up to ~20 µs
      auto until = steady_clock_now() + std::chrono::nanoseconds((roll >> 8) % 20000);
      while (steady_clock_now() < until) cpu_relax();
      break;
    }
    case 1:
      thread_yield();
      break;
    default:
      break;
  }
}

}  // namespace weft::detail
