// What every model uses: the wrapper types (weft/detail/atomic.hpp) and short names for the memory
// orders, so that a model's protocol code reads like the code it follows.
#pragma once

#include <atomic>

#include "weft/detail/atomic.hpp"

namespace weft::model {

using weft::detail::atomic;
using weft::detail::cell;

inline constexpr auto relaxed = std::memory_order_relaxed;
inline constexpr auto acquire = std::memory_order_acquire;
inline constexpr auto release = std::memory_order_release;
inline constexpr auto acq_rel = std::memory_order_acq_rel;
inline constexpr auto seq_cst = std::memory_order_seq_cst;

}  // namespace weft::model
