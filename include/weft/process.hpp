// Child processes, the pipes to them, and a pool that runs commands N at a time.
#pragma once

#include "weft/process/child.hpp"
#include "weft/process/pipe.hpp"
#include "weft/process/pool.hpp"
