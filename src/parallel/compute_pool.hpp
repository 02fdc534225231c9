// The compute pool: a process-wide weft runtime with one worker per core (at least two), created on
// first use, where offload() and the parallel algorithms run CPU-bound work. It is apart from the
// runtimes that serve I/O so that their loops keep answering while it computes.
// WEFT_COMPUTE_THREADS=N sets its size (read once, at first use).
#pragma once

#include <cstddef>

#include "weft/task.hpp"

namespace weft {
class runtime;
}

namespace weft::detail {

/// Starts `t` on the compute pool, detached: on the calling worker if it is one of the pool's, else
/// through the pool's injection queue.
void compute_spawn(task<void> t);
/// The number of compute workers.
std::size_t compute_workers();
/// True on one of the compute pool's worker threads.
bool on_compute_pool() noexcept;

/// The model build's hook (tests/model/runtime_parallel.cpp): from now on the compute pool is `rt`
/// (null: the process-wide one again). A model makes its pool afresh in each run and destroys it
/// before the run ends, which the process-wide pool, made once and never destroyed, cannot be.
/// Nothing else calls it.
void use_compute_pool_for_models(weft::runtime* rt) noexcept;

}  // namespace weft::detail
