// Everything weft offers, in one include.
#pragma once

#include "weft/aggregate_error.hpp"
#include "weft/all_settled.hpp"
#include "weft/error.hpp"
#include "weft/first_success.hpp"
#include "weft/net/address.hpp"
#include "weft/net/tcp.hpp"
#include "weft/runtime.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"
#include "weft/task_group.hpp"
#include "weft/time.hpp"
#include "weft/timeout.hpp"
#include "weft/when_all.hpp"
#include "weft/when_any.hpp"
#include "weft/yield.hpp"
