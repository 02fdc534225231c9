// Thread-safe, awaitable synchronisation: for tasks on one loop or on several workers, and (for the
// non-waiting calls) plain threads. A task that waits holds no thread; it resumes on its own loop.
#pragma once

#include "weft/sync/channel.hpp"
#include "weft/sync/event.hpp"
#include "weft/sync/oneshot.hpp"
#include "weft/sync/semaphore.hpp"
#include "weft/sync/wait_group.hpp"
