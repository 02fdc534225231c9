// The process-wide reaper: collects the exit status of children nobody waits for any more, so none
// stays a zombie. One thread, started on first use, polls their pidfds.
#pragma once

namespace weft::process {

/// Reaps the child behind `pidfd` once it ends. Takes a duplicate; the caller still closes its own.
void reap_later(int pidfd) noexcept;

}  // namespace weft::process
