// Which descriptors a spawned child inherits: its three standard streams, nothing else.
#pragma once

#include <spawn.h>

namespace weft::detail {

/// Adds to `actions` what closes, in the child, every descriptor from 3 up (after the dup2s onto 0, 1
/// and 2 that come before it in `actions`), including those the program opened without close-on-exec.
/// With glibc 2.34 or later: one closefrom action (close_range in the child, where the kernel has it).
/// Before: close_by_listing. Returns 0 or an errno value.
int close_inherited(posix_spawn_file_actions_t* actions) noexcept;

/// The fallback, compiled on every glibc so that it is tested: lists /proc/self/fd now and adds a close
/// action for each descriptor from 3 up that lacks close-on-exec (those with it close at exec anyway).
/// A descriptor another thread opens without close-on-exec between this call and the spawn is
/// inherited: weft opens all of its own with close-on-exec. Returns 0 or an errno value.
int close_by_listing(posix_spawn_file_actions_t* actions) noexcept;

}  // namespace weft::detail
