#!/usr/bin/env python3
"""Mutation testing of the model checker (`make mutants`): each mutant is a known-bad edit of weft's
real sources (a defect once shipped, or an ordering weakened). For each, the script applies the edit to
a copy of the tree, rebuilds the model build there, and runs the models that should find it: a mutant
is caught when one of them FAILs (an INCOMPLETE check is not a catch). Ends with
`mutants: N caught, M missed` and exits non-zero on a miss.

Usage: scripts/mutants.py [BUILD_DIR]   (default build-mutants; the copy of the tree lives there too)
WEFT_MUTANTS=name,name runs only those (while writing a mutant or the model that should catch it).

A filter that starts with `runtime/` runs in weft_runtime_models (whole runtimes built from the real
sources: worker.cpp, scheduler.cpp, spawn.cpp, ...); the others in weft_models. Defects that no model can
reach yet are listed at the end, not counted.
"""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, file, the text as it is, the mutant's text, the models to run (name filters), why it is bad.
MUTANTS = [
    ("event_flag_before_settling", "src/sync/event.cpp",
     """  {
    std::lock_guard guard(lock_);
    set_locked(wakes);
  }  // lifetime""",
     """  {
    std::lock_guard guard(lock_);
    set_.set(true);
  }
  {
    std::lock_guard guard(lock_);
    set_locked(wakes);
  }  // lifetime""",
     ["real_event/"],
     "issue 22, defect 1: the flag is visible before set() is done with the event"),
    ("cancel_locks_before_its_claim", "src/sync/sync_waiter.cpp",
     """  waiter_claim open = waiter_claim::open;
  if (!w->claim.compare_exchange_strong(open, waiter_claim::cancelling,""",
     """  {
    std::lock_guard guard(*w->lock);
    if (w->list == nullptr) return false;
  }
  waiter_claim open = waiter_claim::open;
  if (!w->claim.compare_exchange_strong(open, waiter_claim::cancelling,""",
     ["real_event/"],
     "issue 22, defect 4: a cancel locks the primitive of a waiter that may be settled, and the primitive gone"),
    ("settled_waiter_left_on_its_list", "src/sync/sync_waiter.cpp",
     """  while (sync_waiter* w = list->pop_front()) {""",
     """  while (sync_waiter* w = list->pop_front()) {
    w->list = list;  // mutant: `list` left set while the waiter is on the settler's wake list""",
     ["real_semaphore/", "real_channel/", "real_oneshot/"],
     "the last round's defect 1 (57819e6): a cancel unlinks a settled waiter from a list another thread walks"),
    ("settler_skips_the_claim", "src/sync/sync_waiter.cpp",
     """    if (w->claim.compare_exchange_strong(open, waiter_claim::settled, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      return w;
    }""",
     """    (void)open;
    return w;  // mutant: settled whatever the canceller did""",
     ["real_semaphore/", "real_event/"],
     "a settler hands a permit or a value to a waiter whose cancel already won"),
    ("spin_lock_relaxed_unlock", "include/weft/detail/sync_waiter.hpp",
     "void unlock() noexcept { locked_.store(false, std::memory_order_release); }",
     "void unlock() noexcept { locked_.store(false, std::memory_order_relaxed); }",
     ["real_semaphore/"],
     "the spin lock's unlock does not order the critical section before the next holder's"),
    ("steal_queue_relaxed_tail", "src/runtime/steal_queue.hpp",
     "tail_.store(tail + 1, std::memory_order_release);",
     "tail_.store(tail + 1, std::memory_order_relaxed);",
     ["steal_queue/"],
     "a thief may take a slot whose item is not yet visible"),
    ("oneshot_relaxed_unref", "include/weft/sync/oneshot.hpp",
     "if (s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete s;",
     "if (s->refs.fetch_sub(1, std::memory_order_relaxed) == 1) delete s;",
     ["real_oneshot/send_vs_drop_receiver"],
     "the slot is freed without the other end's accesses ordered before the free"),
    ("last_look_misses_posts", "src/runtime/worker.cpp",
     """    if (has_posted_.load() ||""",
     """    if (false ||""",
     ["runtime/post_from_outside"],
     "a loop about to sleep does not look for work posted to it: the post's wake-up check ran before `sleeping_`"),
    ("wake_check_before_publishing", "src/runtime/worker.cpp",
     """  has_posted_.store(true);  // ordering: seq_cst, paired with sleeping_ in poll() (see the protocol above)
  chaos_pause();  // between the push and the wake check, where a lost wake-up would hide""",
     """  bool asleep = sleeping_.load();  // mutant: the wake check reads `sleeping_` before publishing
  has_posted_.store(true);
  if (asleep) reactor_->wake();
  return;""",
     ["runtime/post_from_outside"],
     "post() reads `sleeping_` before it sets `has_posted_`: a loop going to sleep in between misses both"),
    ("idle_count_leaks", "src/runtime/worker.cpp",
     """  if (went_idle) {
    if (sched_ != nullptr) sched_->leave_idle();""",
     """  if (timeout_ms != 0) {
    if (sched_ != nullptr) sched_->leave_idle();""",
     ["runtime/block_on_spawns_and_joins", "runtime/post_from_outside"],
     "the last round's defect 2 (57819e6): a poll whose last look found work stays counted idle"),
    ("posted_join_cancel_reports_cut", "src/runtime/spawn.cpp",
     """  (void)spawn_request_cancel(s);
  return false;""",
     """  return spawn_request_cancel(s);""",
     ["runtime/timeout_keeps_a_received_value"],
     "issue 22, defect 2: a join cancel posted to another worker answers 'cut', and timeout drops a received value"),
    ("nested_loop_keeps_the_search", "src/runtime/worker.cpp",
     """  if (sched_ != nullptr && notified_.load(std::memory_order_relaxed) && notified_.exchange(false) &&
      sched_->leave_searching()) {
    sched_->notify_one();
  }""",
     "",
     ["runtime/nested_loop_passes_the_search_on"],
     "issue 22, defect 5: ~task_group's nested loop takes notify_one's wake-up and never searches"),
    ("chunks_outlive_the_frame", "src/parallel/parallel.cpp",
     """      if (job.finished.load(std::memory_order_acquire) != 0) return;  // the usual way: all ended
      job.failed.store(true, std::memory_order_relaxed);
      while (job.finished.load(std::memory_order_acquire) == 0) job.finished.wait(0, std::memory_order_acquire);""",
     """      (void)job;  // mutant: the frame goes without waiting for its chunks""",
     ["runtime/shutdown_waits_for_running_chunks"],
     "issue 22, defect 3: parallel_for_async's frame destroyed at shutdown while chunks still run in it"),
    ("finished_before_done", "src/parallel/parallel.cpp",
     """  job->done.set();
  job->finished.store(1, std::memory_order_release);
  job->finished.notify_all();""",
     """  job->finished.store(1, std::memory_order_release);
  job->finished.notify_all();
  job->done.set();""",
     ["runtime/shutdown_waits_for_running_chunks"],
     "the last runner releases the frame's wait before it wakes the task: the wake-up lands on a destroyed loop"),
    ("depot_taken_outside_its_lock", "src/runtime/frame_alloc.cpp",
     """    d.lock();
    if (unsigned n = d.count.get(); n > 0) {
      if (n > depot_keep) depot_over.fetch_sub(1, std::memory_order_relaxed);
      frame_free_list parked = d.lists[n - 1].get();
      d.count.set(n - 1);
      l = {parked.head, frame_max_cached - parked.count};
    }
    d.unlock();""",
     """    if (unsigned n = d.count.get(); n > 0) {
      if (n > depot_keep) depot_over.fetch_sub(1, std::memory_order_relaxed);
      frame_free_list parked = d.lists[n - 1].get();
      d.count.set(n - 1);
      l = {parked.head, frame_max_cached - parked.count};
    }""",
     ["runtime/frame_cache/"],
     "an allocation takes a list from the frame cache's depot without its lock: two threads take the same list"),
    ("depot_relaxed_unlock", "src/runtime/frame_alloc.cpp",
     "void unlock() noexcept { locked.store(false, std::memory_order_release); }",
     "void unlock() noexcept { locked.store(false, std::memory_order_relaxed); }",
     ["runtime/frame_cache/"],
     "the depot lock's unlock releases nothing: the next holder may read a stale count and list"),
    ("trim_claims_before_its_lock", "src/runtime/frame_alloc.cpp",
     """      d.lock();
      unsigned n = d.count.get();
      if (n <= depot_keep) {
        d.unlock();
        break;
      }
      frame_free_list l = d.lists[n - 1].get();
      d.count.set(n - 1);
      depot_over.fetch_sub(1, std::memory_order_relaxed);
      d.unlock();""",
     """      if (depot_over.load(std::memory_order_relaxed) == 0) break;
      depot_over.fetch_sub(1, std::memory_order_relaxed);  // mutant: for a list it does not hold yet
      d.lock();
      unsigned n = d.count.get();
      if (n <= depot_keep) {
        d.unlock();
        break;
      }
      frame_free_list l = d.lists[n - 1].get();
      d.count.set(n - 1);
      d.unlock();""",
     ["runtime/frame_cache/"],
     "trimming counts a list off depot_over before it holds the lock: an allocation may take that list first"),
    ("thread_lists_die_with_the_thread", "src/runtime/frame_alloc.cpp",
     """    if (!park_in_depot(c, {l.head, frame_max_cached - l.room}, depot_keep)) free_blocks(l.head);""",
     """    (void)park_in_depot;  // mutant: the thread's blocks are dropped""",
     ["runtime/frame_cache/", "runtime/block_on_spawns_and_joins"],
     "issue 22, defect 7: a thread's cached frames die with it, and every runtime leaks its workers' share"),
    ("non_worker_threads_not_watched", "src/runtime/frame_alloc.cpp",
     """  if (!watched) model::hook::at_thread_exit(release_at_exit);""",
     """  (void)release_at_exit;  // mutant: only the workers give their lists back""",
     ["runtime/frame_cache/", "runtime/spawn_from_outside"],
     "a thread that spawns onto a runtime from outside keeps the frames it freed when it ends: a leak per thread"),
]

NOT_YET = []


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def copy_tree(dest):
    """Brings the copy up to date with the working tree. Only files whose bytes differ are written, with
    a fresh time: the build then recompiles what changed, and nothing that a stale object of an earlier
    mutant came from keeps an older time than that object (the copy was restored after the last build)."""
    files = run(["git", "-C", ROOT, "ls-files", "-z"]).stdout.split("\0")
    for f in files:
        source = os.path.join(ROOT, f)
        if not f or f.startswith("tests/node/") or not os.path.isfile(source):
            continue
        target = os.path.join(dest, f)
        with open(source, "rb") as a:
            data = a.read()
        if os.path.isfile(target):
            with open(target, "rb") as b:
                if b.read() == data:
                    continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as b:
            b.write(data)


def main():
    work = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-mutants"))
    tree, build = os.path.join(work, "tree"), os.path.join(work, "build")
    copy_tree(tree)
    configure = run(["cmake", "-S", tree, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                     "-DWEFT_MODEL_CHECK=ON", "-DWEFT_BUILD_TESTS=OFF", "-DWEFT_BUILD_EXAMPLES=OFF",
                     "-DWEFT_BUILD_TOOLS=OFF"])
    if configure.returncode != 0:
        print(configure.stdout)
        print("mutants: the model build does not configure")
        return 2
    model_dir = os.path.join(build, "tests", "model")
    caught = missed = 0
    only = [n for n in os.environ.get("WEFT_MUTANTS", "").split(",") if n]
    for name, path, original, mutant, filters, why in MUTANTS:
        if only and name not in only:
            continue
        start = time.monotonic()
        source = os.path.join(tree, path)
        with open(source) as f:
            text = f.read()
        if text.count(original) != 1:
            print(f"MISSED {name}: the text to mutate is not in {path} exactly once (did the code change?)")
            missed += 1
            continue
        with open(source, "w") as f:
            f.write(text.replace(original, mutant))
        try:
            built = run(["cmake", "--build", build, "--target", "weft_models", "weft_runtime_models"])
            if built.returncode != 0:
                print(f"MISSED {name}: the mutant does not build\n{built.stdout[-3000:]}")
                missed += 1
                continue
            found = None
            for flt in filters:
                models = os.path.join(model_dir, "weft_runtime_models" if flt.startswith("runtime/") else "weft_models")
                out = run([models, flt], env=dict(os.environ, WEFT_MODEL_SECONDS="240"), timeout=600).stdout
                fails = [line for line in out.splitlines() if line.startswith("FAIL")]
                if fails:
                    found = fails[0].split()[1]
                    break
            seconds = time.monotonic() - start
            if found:
                caught += 1
                print(f"caught {name:34} by {found}  ({seconds:.0f}s)")
            else:
                missed += 1
                print(f"MISSED {name:34} no model of {', '.join(filters)} failed  ({seconds:.0f}s): {why}")
        finally:
            with open(source, "w") as f:
                f.write(text)
        sys.stdout.flush()
    if NOT_YET:
        print("not yet mutants (no model reaches them): " + "; ".join(NOT_YET))
    print(f"mutants: {caught} caught, {missed} missed")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
