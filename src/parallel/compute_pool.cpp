#include "parallel/compute_pool.hpp"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "runtime/worker.hpp"
#include "weft/runtime.hpp"

namespace weft::detail {
namespace {

std::size_t pool_size() {
  if (const char* env = std::getenv("WEFT_COMPUTE_THREADS")) {
    long n = std::strtol(env, nullptr, 10);
    if (n > 0) return std::max<std::size_t>(2, static_cast<std::size_t>(n));
  }
  return std::max<std::size_t>(2, std::thread::hardware_concurrency());
}

runtime* pool_for_models = nullptr;  // use_compute_pool_for_models

runtime& pool() {
  if (pool_for_models != nullptr) return *pool_for_models;
  // Leaked on purpose: worker threads must not be torn down by static destruction while another
  // static's destructor (or a detached thread) may still offload work.
  static runtime* rt = [] {
    runtime_options o;
    o.workers = pool_size();
    return new runtime(std::move(o));
  }();
  return *rt;
}

}  // namespace

void compute_spawn(task<void> t) { pool().spawn(std::move(t)).detach(); }

std::size_t compute_workers() { return pool().workers(); }

bool on_compute_pool() noexcept { return current_worker() != nullptr && pool().is_current(); }

void use_compute_pool_for_models(runtime* rt) noexcept { pool_for_models = rt; }

}  // namespace weft::detail
